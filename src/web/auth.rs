//! Who a web request is: a user signed in by cookie (`foyer_session`,
//! made from a one-time `link` URL), a user with an API bearer token, or a
//! guest holding a guest link's cookie (`foyer_guest`) for one session.
//! Cookies and tokens are checked against their hashes in the store on
//! every request, so revoking or expiring one takes effect at once.
//!
//! Must not decide what a user may do with a session beyond asking
//! `gateway::access`.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::clock::unix_now as now;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::{Access, access_of};
use crate::gateway::names::SessionRef;
use crate::store::{SessionId, StoreError, TokenId, TokenKind, User};

/// The cookie a signed-in browser holds.
pub const USER_COOKIE: &str = "foyer_session";
/// The cookie a guest link gives its holder.
pub const GUEST_COOKIE: &str = "foyer_guest";

/// How a user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Cookie,
    Bearer,
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub proof: Proof,
    /// The cookie's or bearer token's id: revoking it signs this out.
    pub token: TokenId,
}

/// A guest link's holder: may watch one session until the link ends.
#[derive(Debug, Clone)]
pub struct Guest {
    pub link: TokenId,
    pub session: SessionId,
    pub expires_at: i64,
}

/// Who looks at a session, with what access.
#[derive(Debug, Clone)]
pub enum Viewer {
    User {
        user: User,
        access: Access,
        /// The sign-in (cookie or bearer token) that admitted the user.
        token: TokenId,
    },
    Guest(Guest),
}

impl Viewer {
    /// The name other participants see.
    pub fn name(&self) -> &str {
        match self {
            Viewer::User { user, .. } => &user.name,
            Viewer::Guest(_) => "guest",
        }
    }

    pub fn can_write(&self) -> bool {
        matches!(self, Viewer::User { access, .. } if access.can_write())
    }

    /// The token that let this viewer in: when it is revoked, the viewer
    /// is out.
    pub fn admitted_by(&self) -> TokenId {
        match self {
            Viewer::User { token, .. } => *token,
            Viewer::Guest(guest) => guest.link,
        }
    }
}

/// Why a request may not see a session.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("not signed in: open a URL from `ssh HOST link NAME`")]
    Unauthenticated,
    #[error("no session named {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The bearer token of an `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The user the request is signed in as: by bearer token when it has an
/// `Authorization` header (a bad one is not replaced by a cookie), else
/// by sign-in cookie.
pub async fn signed_in(app: &App, headers: &HeaderMap) -> Result<Option<SignedIn>, StoreError> {
    let (kind, secret, proof) = if headers.contains_key(header::AUTHORIZATION) {
        match bearer(headers) {
            Some(secret) => (TokenKind::Api, secret, Proof::Bearer),
            None => return Ok(None),
        }
    } else {
        match cookie(headers, USER_COOKIE) {
            Some(secret) => (TokenKind::Cookie, secret, Proof::Cookie),
            None => return Ok(None),
        }
    };
    let token = app.store.use_token(kind, secret, now()).await?;
    Ok(token.map(|token| SignedIn {
        user: token.user,
        proof,
        token: token.id,
    }))
}

/// The guest link the request's guest cookie holds, if it is still live.
pub async fn guest(app: &App, headers: &HeaderMap) -> Result<Option<Guest>, StoreError> {
    let Some(secret) = cookie(headers, GUEST_COOKIE) else {
        return Ok(None);
    };
    let token = app.store.use_token(TokenKind::Guest, secret, now()).await?;
    Ok(token.and_then(|token| {
        Some(Guest {
            link: token.id,
            session: token.session?,
            expires_at: token.expires_at,
        })
    }))
}

/// Finds the session `owner/name` and who the request is to it: a user
/// with access, or else the holder of a guest link to it.
pub async fn viewer_of(
    app: &App,
    headers: &HeaderMap,
    owner: &str,
    name: &str,
) -> Result<(SessionEntry, Viewer), Refusal> {
    let label = format!("{owner}/{name}");
    let not_found = || Refusal::NotFound(crate::gateway::names::printable(&label));
    let user = signed_in(app, headers).await?;
    let guest = guest(app, headers).await?;
    if user.is_none() && guest.is_none() {
        return Err(Refusal::Unauthenticated);
    }
    let reference = SessionRef::parse(&label).map_err(|_| not_found())?;
    let owner = reference.owner.as_deref().unwrap_or(owner);
    let entry = app
        .registry
        .find(owner, &reference.name)
        .await
        .ok_or_else(not_found)?;
    if let Some(signed) = user
        && let Some(access) = access_of(&signed.user, &entry)
    {
        let viewer = Viewer::User {
            user: signed.user,
            access,
            token: signed.token,
        };
        return Ok((entry, viewer));
    }
    match guest {
        Some(guest) if guest.session == entry.record.id => Ok((entry, Viewer::Guest(guest))),
        _ => Err(not_found()),
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site,
/// Secure when the public URL is https.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if app.config.web.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        max_age_seconds.max(0)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_bearer_tokens_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; foyer_session=abc; foyer_guest="),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer  xyz "),
        );
        assert_eq!(cookie(&headers, USER_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, GUEST_COOKIE), None);
        assert_eq!(bearer(&headers), Some("xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(bearer(&headers), None);
    }
}
