//! The `link` and `token` verbs: one-time browser sign-in URLs, read-only
//! guest links and bearer tokens for the JSON API (SPEC §7). The URL or
//! token goes alone on the first line of stdout and `id: ID` on the
//! second, so scripts can take them.
//!
//! Must not decide what a token lets its holder do (the web module does)
//! or keep secrets: only their hashes reach the database.

use std::collections::HashMap;
use std::time::Duration;

use super::caller::{Caller, Outcome, find, find_to_manage};
use super::channel::ChannelIo;
use super::verbs::TokenAction;
use crate::audit::AuditEvent;
use crate::clock::unix_now as now;
use crate::gateway::App;
use crate::gateway::summary::rfc3339;
use crate::store::{NewToken, TokenId, TokenKind, TokenRecord};

/// A sign-in link works this long unless `--ttl` says otherwise.
const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// A guest link works this long unless `--ttl` says otherwise.
const GUEST_TTL: Duration = Duration::from_secs(60 * 60);
const LINK_KINDS: &[TokenKind] = &[TokenKind::Login, TokenKind::Guest];
const API_KINDS: &[TokenKind] = &[TokenKind::Api];

/// What `link` was asked to do.
pub(super) struct LinkRequest {
    pub(super) name: Option<String>,
    pub(super) guest: bool,
    pub(super) ttl: Option<Duration>,
    pub(super) list: bool,
    pub(super) revoke: Option<i64>,
}

pub(super) async fn link(
    app: &App,
    caller: &Caller,
    request: LinkRequest,
    io: &ChannelIo,
) -> Outcome {
    let result = if request.list {
        list_links(app, caller).await
    } else if let Some(id) = request.revoke {
        revoke(app, caller, TokenId(id), LINK_KINDS, "link").await
    } else if let Some(name) = &request.name {
        make_link(app, caller, name, request.guest, request.ttl).await
    } else {
        Err(Outcome::Usage(format!(
            "error: name a session, --list or --revoke\n{}",
            super::verbs::usage_line(Some("link"))
        )))
    };
    print(result, io).await
}

pub(super) async fn token(
    app: &App,
    caller: &Caller,
    action: TokenAction,
    io: &ChannelIo,
) -> Outcome {
    let result = match action {
        TokenAction::Create { ttl } => {
            let new = NewToken {
                kind: TokenKind::Api,
                user: caller.user.id,
                session: None,
                expires_at: expiry(ttl),
            };
            match app.store.create_token(new).await {
                Ok(minted) => {
                    tracing::info!(user = %caller.user.name, token = %minted.id, "API token created");
                    let event = AuditEvent::new(Some(&caller.user.name), "token")
                        .detail(format!("API token {} created", minted.id));
                    app.audit.record(event).await;
                    Ok(format!("{}\nid: {}\n", minted.secret, minted.id))
                }
                Err(error) => Err(Outcome::refused(error.to_string())),
            }
        }
        TokenAction::List => match app.store.tokens_of(caller.user.id, API_KINDS, now()).await {
            Ok(tokens) => Ok(token_table(&tokens, None)),
            Err(error) => Err(Outcome::refused(error.to_string())),
        },
        TokenAction::Revoke { id } => revoke(app, caller, TokenId(id), API_KINDS, "token").await,
    };
    print(result, io).await
}

async fn print(result: Result<String, Outcome>, io: &ChannelIo) -> Outcome {
    match result {
        Ok(text) => {
            let _ = io.out(&text).await;
            Outcome::Done
        }
        Err(outcome) => outcome,
    }
}

fn expiry(ttl: Duration) -> i64 {
    now() + ttl.as_secs() as i64
}

async fn make_link(
    app: &App,
    caller: &Caller,
    name: &str,
    guest: bool,
    ttl: Option<Duration>,
) -> Result<String, Outcome> {
    let entry = if guest {
        find_to_manage(app, caller, name, "make a guest link to").await?
    } else {
        find(app, caller, name).await?.0
    };
    let ttl = ttl.unwrap_or(if guest { GUEST_TTL } else { LOGIN_TTL });
    let link = crate::gateway::sharing::make_link(app, &caller.user, &entry, guest, ttl)
        .await
        .map_err(|error| Outcome::refused(error.to_string()))?;
    Ok(format!("{}\nid: {}\n", link.url, link.id))
}

async fn list_links(app: &App, caller: &Caller) -> Result<String, Outcome> {
    let tokens = app
        .store
        .tokens_of(caller.user.id, LINK_KINDS, now())
        .await
        .map_err(|error| Outcome::refused(error.to_string()))?;
    let labels: HashMap<_, _> = app
        .registry
        .list()
        .await
        .into_iter()
        .map(|entry| (entry.record.id, entry.label()))
        .collect();
    Ok(token_table(&tokens, Some(&labels)))
}

async fn revoke(
    app: &App,
    caller: &Caller,
    id: TokenId,
    kinds: &[TokenKind],
    what: &str,
) -> Result<String, Outcome> {
    match app
        .store
        .revoke_token(caller.user.id, id, kinds, now())
        .await
    {
        Ok(Some(_)) => {
            tracing::info!(user = %caller.user.name, token = %id, "{what} revoked");
            let event =
                AuditEvent::new(Some(&caller.user.name), "revoke").detail(format!("{what} {id}"));
            app.audit.record(event).await;
            // Open WebSockets check the token that admitted them and close.
            app.revocations.notify();
            Ok(format!("{what} {id} revoked\n"))
        }
        Ok(None) => Err(Outcome::refused(format!("no {what} with id {id}"))),
        Err(error) => Err(Outcome::refused(error.to_string())),
    }
}

/// `ID [KIND SESSION] CREATED EXPIRES LAST-USE`, aligned; sessions only
/// for links.
fn token_table(
    tokens: &[TokenRecord],
    labels: Option<&HashMap<crate::wire::SessionId, String>>,
) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["ID".to_string()];
    if labels.is_some() {
        header.extend(["KIND".to_string(), "SESSION".to_string()]);
    }
    header.extend(["CREATED".into(), "EXPIRES".into(), "LAST USE".into()]);
    rows.push(header);
    for token in tokens {
        let mut row = vec![token.id.to_string()];
        if let Some(labels) = labels {
            let session = token
                .session
                .and_then(|id| labels.get(&id).cloned())
                .unwrap_or_else(|| "-".into());
            row.extend([token.kind.as_str().to_string(), session]);
        }
        row.push(rfc3339(token.created_at));
        row.push(rfc3339(token.expires_at));
        row.push(token.last_used_at.map_or("-".to_string(), rfc3339));
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}
