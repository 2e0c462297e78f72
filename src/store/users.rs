//! Users and their SSH public keys.
//!
//! Owns: the `users` and `user_keys` tables: creating, finding, listing and
//! removing users; adding, listing and removing keys, with the rules "a
//! fingerprint belongs to one user" and "a user's own key removal never
//! removes the last key" (`remove_key_of`).
//! Must not: parse key lines (that is `keys`), decide who may do what (the
//! callers check admin rights), or print.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::db;
use super::{ParsedKey, Result, Store, StoreError, UserId, normalize_fingerprint};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub is_admin: bool,
}

/// A public key registered to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    pub id: i64,
    pub user_id: UserId,
    /// `SHA256:…`
    pub fingerprint: String,
    /// The OpenSSH line without comment: `ssh-ed25519 AAAA…`.
    pub public_key: String,
    pub comment: String,
    pub created_at: i64,
}

/// The user name rule: `[a-z_][a-z0-9_-]{0,31}` (what `useradd` accepts,
/// so a name can also be an OS account).
pub fn valid_user_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z' | b'_'))
        && bytes.len() <= 32
        && bytes[1..]
            .iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

fn user_from_row(row: &AnyRow) -> std::result::Result<User, sqlx::Error> {
    Ok(User {
        id: UserId(row.try_get(0)?),
        name: row.try_get(1)?,
        is_admin: row.try_get::<i64, _>(2)? != 0,
    })
}

fn key_from_row(row: &AnyRow) -> std::result::Result<UserKey, sqlx::Error> {
    Ok(UserKey {
        id: row.try_get(0)?,
        user_id: UserId(row.try_get(1)?),
        fingerprint: row.try_get(2)?,
        public_key: row.try_get(3)?,
        comment: row.try_get(4)?,
        created_at: row.try_get(5)?,
    })
}

impl Store {
    /// How many users exist (0 on a fresh database: time to create the admin).
    pub async fn user_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db("count users"))?;
        let count: i64 = row.try_get(0).map_err(db("count users"))?;
        Ok(count as u64)
    }

    /// Create a user without keys.
    pub async fn create_user(&self, name: &str, is_admin: bool) -> Result<User> {
        self.create_user_with_keys(name, is_admin, &[])
            .await
            .map(|(user, _)| user)
    }

    /// Create a user together with its keys, all or nothing: if any key is
    /// already registered, no user is created.
    pub async fn create_user_with_keys(
        &self,
        name: &str,
        is_admin: bool,
        keys: &[ParsedKey],
    ) -> Result<(User, Vec<UserKey>)> {
        const CONTEXT: &str = "create the user";
        if !valid_user_name(name) {
            return Err(StoreError::InvalidName {
                name: name.to_string(),
            });
        }
        let mut tx = self.pool.begin().await.map_err(db(CONTEXT))?;
        let row = sqlx::query(
            "INSERT INTO users (name, is_admin, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(is_admin as i32)
        .bind(crate::clock::unix_now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::UserExists {
                    name: name.to_string(),
                }
            } else {
                StoreError::from_sqlx(CONTEXT, e)
            }
        })?;
        let user = User {
            id: UserId(row.try_get(0).map_err(db(CONTEXT))?),
            name: name.to_string(),
            is_admin,
        };
        let mut added = Vec::with_capacity(keys.len());
        for key in keys {
            added.push(insert_key(&mut tx, user.id, key).await?);
        }
        tx.commit().await.map_err(db(CONTEXT))?;
        Ok((user, added))
    }

    /// The user with this name, if any.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        const CONTEXT: &str = "look up a user";
        let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(CONTEXT))?;
        row.as_ref()
            .map(user_from_row)
            .transpose()
            .map_err(db(CONTEXT))
    }

    /// The user with this id, if any.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        const CONTEXT: &str = "look up a user";
        let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(CONTEXT))?;
        row.as_ref()
            .map(user_from_row)
            .transpose()
            .map_err(db(CONTEXT))
    }

    /// Every user with the number of keys they have, by name.
    pub async fn list_users(&self) -> Result<Vec<(User, usize)>> {
        const CONTEXT: &str = "list users";
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.is_admin, COUNT(k.id) FROM users u \
             LEFT JOIN user_keys k ON k.user_id = u.id \
             GROUP BY u.id, u.name, u.is_admin ORDER BY u.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        rows.iter()
            .map(|row| {
                let user = user_from_row(row)?;
                let keys: i64 = row.try_get(3)?;
                Ok((user, keys as usize))
            })
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(db(CONTEXT))
    }

    /// Remove a user with their keys, sessions and grants. False if no
    /// such user. Running sessions are the caller's to stop.
    pub async fn remove_user(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db("remove the user"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Register a key to a user. [`StoreError::KeyTaken`] if the key is
    /// already registered, to anyone.
    pub async fn add_key(&self, user_id: UserId, key: &ParsedKey) -> Result<UserKey> {
        let mut tx = self.pool.begin().await.map_err(db("add the key"))?;
        let added = insert_key(&mut tx, user_id, key).await?;
        tx.commit().await.map_err(db("add the key"))?;
        Ok(added)
    }

    /// A user's keys, oldest first.
    pub async fn keys_of(&self, user_id: UserId) -> Result<Vec<UserKey>> {
        const CONTEXT: &str = "list keys";
        let rows = sqlx::query(
            "SELECT id, user_id, fingerprint, public_key, comment, created_at \
             FROM user_keys WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        rows.iter()
            .map(key_from_row)
            .collect::<std::result::Result<_, _>>()
            .map_err(db(CONTEXT))
    }

    /// Keys with their owner's name: everyone's, or one user's
    /// ([`StoreError::UserNotFound`] if that user does not exist).
    pub async fn list_keys(&self, user: Option<&str>) -> Result<Vec<(String, UserKey)>> {
        const CONTEXT: &str = "list keys";
        let rows = match user {
            Some(name) => {
                if self.user_by_name(name).await?.is_none() {
                    return Err(StoreError::UserNotFound {
                        name: name.to_string(),
                    });
                }
                sqlx::query(
                    "SELECT k.id, k.user_id, k.fingerprint, k.public_key, k.comment, \
                     k.created_at, u.name FROM user_keys k JOIN users u ON u.id = k.user_id \
                     WHERE u.name = $1 ORDER BY k.id",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT k.id, k.user_id, k.fingerprint, k.public_key, k.comment, \
                     k.created_at, u.name FROM user_keys k JOIN users u ON u.id = k.user_id \
                     ORDER BY u.name, k.id",
                )
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db(CONTEXT))?;
        rows.iter()
            .map(|row| Ok((row.try_get(6)?, key_from_row(row)?)))
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(db(CONTEXT))
    }

    /// Remove a key by fingerprint (`SHA256:…` or bare), whoever owns it,
    /// even the owner's last one (an admin's decision). False if unknown.
    pub async fn remove_key(&self, fingerprint: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM user_keys WHERE fingerprint = $1")
            .bind(normalize_fingerprint(fingerprint))
            .execute(&self.pool)
            .await
            .map_err(db("remove the key"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Remove one of a user's own keys. False if the user has no key with
    /// this fingerprint; [`StoreError::LastKey`] if it is their only key.
    pub async fn remove_key_of(&self, user_id: UserId, fingerprint: &str) -> Result<bool> {
        const CONTEXT: &str = "remove the key";
        let fingerprint = normalize_fingerprint(fingerprint);
        let mut tx = self.pool.begin().await.map_err(db(CONTEXT))?;
        // Take the write lock on the user's row first (a row lock on
        // PostgreSQL, the database write lock on SQLite), so two removals
        // at once cannot both see "two keys left".
        let locked = sqlx::query("UPDATE users SET is_admin = is_admin WHERE id = $1")
            .bind(user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db(CONTEXT))?;
        if locked.rows_affected() == 0 {
            return Ok(false);
        }
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN fingerprint = $2 THEN 1 ELSE 0 END), 0) \
             FROM user_keys WHERE user_id = $1",
        )
        .bind(user_id.0)
        .bind(&fingerprint)
        .fetch_one(&mut *tx)
        .await
        .map_err(db(CONTEXT))?;
        let total: i64 = row.try_get(0).map_err(db(CONTEXT))?;
        let matching: i64 = row.try_get(1).map_err(db(CONTEXT))?;
        if matching == 0 {
            return Ok(false);
        }
        if total <= 1 {
            return Err(StoreError::LastKey);
        }
        sqlx::query("DELETE FROM user_keys WHERE user_id = $1 AND fingerprint = $2")
            .bind(user_id.0)
            .bind(&fingerprint)
            .execute(&mut *tx)
            .await
            .map_err(db(CONTEXT))?;
        tx.commit().await.map_err(db(CONTEXT))?;
        Ok(true)
    }

    /// The user a key fingerprint belongs to: who is logging in.
    pub async fn user_by_fingerprint(&self, fingerprint: &str) -> Result<Option<User>> {
        const CONTEXT: &str = "look up a key";
        let row = sqlx::query(
            "SELECT u.id, u.name, u.is_admin FROM users u \
             JOIN user_keys k ON k.user_id = u.id WHERE k.fingerprint = $1",
        )
        .bind(normalize_fingerprint(fingerprint))
        .fetch_optional(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        row.as_ref()
            .map(user_from_row)
            .transpose()
            .map_err(db(CONTEXT))
    }
}

/// Insert one key inside a transaction, mapping constraint failures.
async fn insert_key(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: UserId,
    key: &ParsedKey,
) -> Result<UserKey> {
    let created_at = crate::clock::unix_now();
    let row = sqlx::query(
        "INSERT INTO user_keys (user_id, fingerprint, public_key, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id.0)
    .bind(&key.fingerprint)
    .bind(&key.openssh)
    .bind(&key.comment)
    .bind(created_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if StoreError::is_unique_violation(&e) {
            StoreError::KeyTaken {
                fingerprint: key.fingerprint.clone(),
            }
        } else if StoreError::is_foreign_key_violation(&e) {
            StoreError::UserIdNotFound { id: user_id }
        } else {
            StoreError::from_sqlx("add the key", e)
        }
    })?;
    Ok(UserKey {
        id: row.try_get(0).map_err(db("add the key"))?,
        user_id,
        fingerprint: key.fingerprint.clone(),
        public_key: key.openssh.clone(),
        comment: key.comment.clone(),
        created_at,
    })
}
