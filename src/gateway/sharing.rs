//! Two steps every transport shares, once: changing a user's grant on a
//! session (`share`/`unshare`: written, told to the session's hub so the
//! user's attached clients change at once, logged and audited) and minting
//! a browser link to a session (a one-time sign-in link or a read-only
//! guest link: the token, its URL under `web.public_url`, the audit row).
//!
//! Must not decide who may do either: the transport has checked that the
//! caller manages the session (`access::may_manage`), or, for a sign-in
//! link, may see it.

use std::time::Duration;

use super::access::access_of;
use super::names;
use super::{App, SessionEntry};
use crate::audit::AuditEvent;
use crate::clock::unix_now as now;
use crate::store::{Grant, NewToken, StoreError, TokenId, TokenKind, User};
use crate::wire::Role;

/// Why a grant was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("no user named {0}")]
    NoSuchUser(String),
    #[error("{0} owns {1}")]
    Owner(String, String),
    #[error("{0} has no access to {1} to take away")]
    NoGrant(String, String),
    #[error("no session named {0}")]
    Gone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives `user_name` `grant` on `entry` (`None`: takes their grant away)
/// for `actor`. Returns a line saying what changed.
pub async fn change_grant(
    app: &App,
    actor: &User,
    entry: &SessionEntry,
    user_name: &str,
    grant: Option<Grant>,
) -> Result<String, ShareError> {
    let Some(user) = app.store.user_by_name(user_name).await? else {
        return Err(ShareError::NoSuchUser(names::printable(user_name)));
    };
    let label = entry.label();
    if user.id == entry.record.owner_id {
        return Err(ShareError::Owner(user.name, label));
    }
    let had_grant = entry.grants.iter().any(|(holder, _)| *holder == user.id);
    if grant.is_none() && !had_grant {
        return Err(ShareError::NoGrant(user.name, label));
    }
    let Some(updated) = app
        .registry
        .set_grant(entry.record.id, user.id, grant)
        .await?
    else {
        return Err(ShareError::Gone(label));
    };
    // What the user may do now (an admin keeps reading after an unshare).
    let allowed = access_of(&user, &updated).map(|access| {
        if access.can_write() {
            Role::Writer
        } else {
            Role::Observer
        }
    });
    let _ = updated.link.access_changed(&user.name, allowed).await;
    tracing::info!(user = %actor.name, session = %label, grantee = %user.name, grant = ?grant.map(Grant::as_str), "grant changed");
    let event = match grant {
        Some(grant) => AuditEvent::new(Some(&actor.name), "share").detail(format!(
            "{} {}",
            user.name,
            grant.as_str()
        )),
        None => AuditEvent::new(Some(&actor.name), "unshare").detail(user.name.clone()),
    };
    app.audit.record(event.session(label.clone())).await;
    Ok(match grant {
        Some(grant) => format!("{label} shared with {} ({})", user.name, grant.as_str()),
        None => format!("{} no longer has access to {label}", user.name),
    })
}

/// A link just made.
pub struct MintedLink {
    pub url: String,
    pub id: TokenId,
}

/// Makes a sign-in link (`guest` false) or a read-only guest link to
/// `entry` for `actor`, working for `ttl`; audited.
pub async fn make_link(
    app: &App,
    actor: &User,
    entry: &SessionEntry,
    guest: bool,
    ttl: Duration,
) -> Result<MintedLink, StoreError> {
    let kind = if guest {
        TokenKind::Guest
    } else {
        TokenKind::Login
    };
    let new = NewToken {
        kind,
        user: actor.id,
        session: Some(entry.record.id),
        expires_at: now() + ttl.as_secs() as i64,
    };
    let minted = app.store.create_token(new).await?;
    let base = &app.config.web.public_url;
    let url = if guest {
        format!("{base}/g/{}", minted.secret)
    } else {
        format!("{base}/login?token={}", minted.secret)
    };
    tracing::info!(user = %actor.name, session = %entry.label(), link = %minted.id, kind = kind.as_str(), "link created");
    let event = AuditEvent::new(Some(&actor.name), "link")
        .session(entry.label())
        .detail(format!(
            "{} link {} for {}",
            kind.as_str(),
            minted.id,
            humantime::format_duration(ttl)
        ));
    app.audit.record(event).await;
    Ok(MintedLink { url, id: minted.id })
}
