//! The JSON a webhook POSTs for one notice (SPEC section 11):
//! `session`, `owner`, `name`, `message` (null for a bell), `since`
//! (RFC 3339), `url` (the session's page) and `text` (one readable line,
//! what Slack shows and ntfy takes as the message).
//!
//! Must not look anything up or send anything: it only shapes the event.

use bytes::Bytes;

use crate::gateway::attention::AttentionRaised;
use crate::gateway::summary::rfc3339;

/// The body for `event`, whose session page is under `public_url`
/// (`web.public_url`, no trailing slash).
pub fn body(event: &AttentionRaised, public_url: &str) -> Bytes {
    let json = serde_json::json!({
        "session": event.label(),
        "owner": event.owner,
        "name": event.name,
        "message": event.message,
        "since": rfc3339(event.since),
        "url": format!("{public_url}/s/{}/{}", event.owner, event.name),
        "text": event.text(),
    });
    Bytes::from(json.to_string())
}
