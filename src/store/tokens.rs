//! Tokens: one-time sign-in links, browsers' sign-ins (cookies), guest
//! links and API bearer tokens. A token is 32 random bytes shown once, as
//! base64url; only its SHA-256 is stored, so a copy of the database signs
//! no one in.
//!
//! Owns: the `tokens` table, minting and hashing token secrets. Must not
//! decide what a token lets its holder do (the web module does) or talk to
//! clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::db;
use super::{Result, SessionId, Store, StoreError, User, UserId};

/// Random bytes in a token: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// A token's database id, as `link --list` and `token list` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId(pub i64);

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A one-time sign-in link (`link NAME`).
    Login,
    /// A browser's sign-in, made from a login link.
    Cookie,
    /// A read-only guest link to one session (`link NAME --guest`).
    Guest,
    /// A bearer token for the JSON API (`token create`).
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Login => "login",
            TokenKind::Cookie => "cookie",
            TokenKind::Guest => "guest",
            TokenKind::Api => "api",
        }
    }

    fn parse(text: &str) -> Option<TokenKind> {
        [
            TokenKind::Login,
            TokenKind::Cookie,
            TokenKind::Guest,
            TokenKind::Api,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub kind: TokenKind,
    /// Who made it (for cookies and API tokens: whom it signs in).
    pub user: User,
    /// The session a link opens.
    pub session: Option<SessionId>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub used_at: Option<i64>,
}

/// A token to record.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub kind: TokenKind,
    pub user: UserId,
    pub session: Option<SessionId>,
    pub expires_at: i64,
}

/// A freshly minted secret: shown once, stored only as its hash.
#[derive(Debug, Clone)]
pub struct Minted {
    pub id: TokenId,
    pub secret: String,
}

/// The stored form of a token secret: SHA-256, hex.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token query: the columns `token_from_row` reads, then `$rest`.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT t.id, t.kind, t.user_id, u.name, u.is_admin, t.session_id, ",
            "t.created_at, t.expires_at, t.last_used_at, t.used_at ",
            "FROM tokens t JOIN users u ON u.id = t.user_id ",
            $rest
        )
    };
}

fn token_from_row(row: &AnyRow, context: &'static str) -> Result<TokenRecord> {
    let kind: String = row.try_get(1).map_err(db(context))?;
    let kind = TokenKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
        context,
        detail: format!("unknown token kind {kind:?}"),
    })?;
    let is_admin: i64 = row.try_get(4).map_err(db(context))?;
    Ok(TokenRecord {
        id: TokenId(row.try_get(0).map_err(db(context))?),
        kind,
        user: User {
            id: UserId(row.try_get(2).map_err(db(context))?),
            name: row.try_get(3).map_err(db(context))?,
            is_admin: is_admin != 0,
        },
        session: row
            .try_get::<Option<i64>, _>(5)
            .map_err(db(context))?
            .map(SessionId),
        created_at: row.try_get(6).map_err(db(context))?,
        expires_at: row.try_get(7).map_err(db(context))?,
        last_used_at: row.try_get(8).map_err(db(context))?,
        used_at: row.try_get(9).map_err(db(context))?,
    })
}

/// Whether a use ends a token (a sign-in link) or leaves it live (an API
/// token, a guest link).
#[derive(Clone, Copy)]
enum Use {
    Again,
    Once,
}

impl Store {
    /// Mints a token and records its hash.
    pub async fn create_token(&self, new: NewToken) -> Result<Minted> {
        const CONTEXT: &str = "create a token";
        let secret = new_secret();
        let row = sqlx::query(
            "INSERT INTO tokens (kind, hash, user_id, session_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.kind.as_str())
        .bind(hash_secret(&secret))
        .bind(new.user.0)
        .bind(new.session.map(|s| s.0))
        .bind(crate::clock::unix_now())
        .bind(new.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        let id = TokenId(row.try_get(0).map_err(db(CONTEXT))?);
        Ok(Minted { id, secret })
    }

    /// The live token of `kind` with this secret (not expired, revoked or
    /// used up), marking it used now.
    pub async fn use_token(
        &self,
        kind: TokenKind,
        secret: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        self.mark_used(kind, secret, now, Use::Again, "check a token")
            .await
    }

    /// Uses a one-time token: only the first call for a live token gets
    /// it; every later one (or one after expiry) gets `None`.
    pub async fn use_token_once(
        &self,
        kind: TokenKind,
        secret: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        self.mark_used(kind, secret, now, Use::Once, "use a one-time token")
            .await
    }

    /// Marks a live token used in one UPDATE (so two racing uses of a
    /// one-time token cannot both win), then reads it back.
    async fn mark_used(
        &self,
        kind: TokenKind,
        secret: &str,
        now: i64,
        how: Use,
        context: &'static str,
    ) -> Result<Option<TokenRecord>> {
        let hash = hash_secret(secret);
        let query = match how {
            Use::Again => {
                "UPDATE tokens SET last_used_at = $1 WHERE hash = $2 AND kind = $3 \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1"
            }
            Use::Once => {
                "UPDATE tokens SET used_at = $1, last_used_at = $1 WHERE hash = $2 AND kind = $3 \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1"
            }
        };
        let done = sqlx::query(query)
            .bind(now)
            .bind(&hash)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await
            .map_err(db(context))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.token_by_hash(&hash, context).await
    }

    async fn token_by_hash(
        &self,
        hash: &str,
        context: &'static str,
    ) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(select_tokens!("WHERE t.hash = $1"))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(context))?;
        row.map(|row| token_from_row(&row, context)).transpose()
    }

    /// Whether the token `id` is still live (not expired, revoked or used).
    pub async fn token_is_live(&self, id: TokenId, now: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT id FROM tokens WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $2",
        )
        .bind(id.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("check a token"))?;
        Ok(row.is_some())
    }

    /// `user`'s tokens of these kinds that have not expired and were not
    /// revoked, oldest first.
    pub async fn tokens_of(
        &self,
        user: UserId,
        kinds: &[TokenKind],
        now: i64,
    ) -> Result<Vec<TokenRecord>> {
        const CONTEXT: &str = "list tokens";
        let rows = sqlx::query(select_tokens!(
            "WHERE t.user_id = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 ORDER BY t.id"
        ))
        .bind(user.0)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        let tokens = rows
            .iter()
            .map(|row| token_from_row(row, CONTEXT))
            .collect::<Result<Vec<_>>>()?;
        Ok(tokens
            .into_iter()
            .filter(|t| kinds.contains(&t.kind))
            .collect())
    }

    /// Revokes `user`'s token `id` if it is one of `kinds`; returns the
    /// token as it was, or `None` when there is no such live token.
    pub async fn revoke_token(
        &self,
        user: UserId,
        id: TokenId,
        kinds: &[TokenKind],
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        const CONTEXT: &str = "revoke a token";
        let row = sqlx::query(select_tokens!(
            "WHERE t.id = $1 AND t.user_id = $2 AND t.revoked_at IS NULL"
        ))
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        let Some(token) = row.map(|r| token_from_row(&r, CONTEXT)).transpose()? else {
            return Ok(None);
        };
        if !kinds.contains(&token.kind) {
            return Ok(None);
        }
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db(CONTEXT))?;
        Ok(Some(token))
    }

    /// Forgets tokens that expired more than a day ago.
    pub async fn delete_expired_tokens(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
            .bind(now - 86_400)
            .execute(&self.pool)
            .await
            .map_err(db("delete expired tokens"))?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_user() -> (tempfile::TempDir, Store, User) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/foyer.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        let user = store.create_user("alice", false).await.unwrap();
        (dir, store, user)
    }

    fn token(kind: TokenKind, user: &User, expires_at: i64) -> NewToken {
        NewToken {
            kind,
            user: user.id,
            session: None,
            expires_at,
        }
    }

    #[tokio::test]
    async fn a_one_time_token_is_used_once_even_when_raced() {
        let (_dir, store, alice) = store_with_user().await;
        let now = crate::clock::unix_now();
        let minted = store
            .create_token(token(TokenKind::Login, &alice, now + 60))
            .await
            .unwrap();
        assert_eq!(hash_secret(&minted.secret).len(), 64);
        let tries = (0..8).map(|_| store.use_token_once(TokenKind::Login, &minted.secret, now));
        let results = futures_util::future::join_all(tries).await;
        let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        assert_eq!(winners, 1);
        // Another kind never matches; an expired token neither.
        let api = store
            .create_token(token(TokenKind::Api, &alice, now + 60))
            .await
            .unwrap();
        assert!(
            store
                .use_token(TokenKind::Cookie, &api.secret, now)
                .await
                .unwrap()
                .is_none()
        );
        let used = store
            .use_token(TokenKind::Api, &api.secret, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (used.user.name.as_str(), used.last_used_at),
            ("alice", Some(now))
        );
        assert!(
            store
                .use_token(TokenKind::Api, &api.secret, now + 61)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn revoked_tokens_stop_working_and_leave_the_list() {
        let (_dir, store, alice) = store_with_user().await;
        let bob = store.create_user("bob", false).await.unwrap();
        let now = crate::clock::unix_now();
        let minted = store
            .create_token(token(TokenKind::Api, &alice, now + 60))
            .await
            .unwrap();
        assert_eq!(
            store
                .tokens_of(alice.id, &[TokenKind::Api], now)
                .await
                .unwrap()
                .len(),
            1
        );
        let kinds = [TokenKind::Api];
        assert!(
            store
                .revoke_token(bob.id, minted.id, &kinds, now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .revoke_token(alice.id, minted.id, &[TokenKind::Guest], now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .revoke_token(alice.id, minted.id, &kinds, now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .use_token(TokenKind::Api, &minted.secret, now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!store.token_is_live(minted.id, now).await.unwrap());
        assert!(
            store
                .tokens_of(alice.id, &kinds, now)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
