//! The WebSocket bridge's messages (SPEC §7, docs/web.md), in one place.
//! Binary frames carry terminal bytes both ways; text frames carry these
//! JSON objects. Close codes say why the server ended a connection.
//!
//! Must not do I/O: it only says what the messages are and reads them.

use serde::{Deserialize, Serialize};

use crate::wire::Participant;

use crate::wire::Role;

use crate::wire::Size;

/// Largest frame or message accepted from a browser (bytes). Typing and
/// pasting fit easily; anything larger closes the connection with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Close codes the server sends (the page stops reconnecting on the
/// 4xxx ones).
pub mod close {
    /// The program exited (after an `exit` message).
    pub const EXITED: u16 = 4000;
    /// Access was taken away, or the guest link was revoked or expired.
    pub const REVOKED: u16 = 4001;
    /// The session was killed.
    pub const KILLED: u16 = 4009;
    /// The session has `sessions.max_clients` clients attached.
    pub const FULL: u16 = 4029;
    /// A text frame that is not one of the client messages.
    pub const MALFORMED: u16 = 1007;
    /// A frame or message over [`super::MAX_MESSAGE_BYTES`].
    pub const TOO_BIG: u16 = 1009;
}

/// What a browser sends in a text frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientText {
    /// The terminal's size (see [`ClientText::size`]).
    Resize { cols: u32, rows: u32 },
    /// A signal for the program's process group, named as `signal` takes
    /// it (`INT`, `TERM`, …, or a number); writers only.
    Signal { signal: String },
}

impl ClientText {
    /// Reads a text frame. Unknown message types are `Ok(None)` (ignored,
    /// so a newer page works with an older server); anything that is not
    /// JSON, or a known type with bad fields, is an error.
    pub fn parse(text: &str) -> Result<Option<ClientText>, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let known = matches!(
            value.get("type").and_then(|t| t.as_str()),
            Some("resize" | "signal")
        );
        if !known {
            if value.is_object() {
                return Ok(None);
            }
            return Err(serde::de::Error::custom("a message is a JSON object"));
        }
        serde_json::from_value(value).map(Some)
    }

    /// The size a resize asks for, clamped to what the hub accepts
    /// (1..=1000 each way); a zero width or height is no size at all and
    /// is ignored.
    pub fn size(cols: u32, rows: u32) -> Option<Size> {
        (cols > 0 && rows > 0).then(|| Size::new(rows, cols))
    }
}

/// What the server sends in a text frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerText {
    /// First message: which session, and whether the client may type.
    Hello {
        session: String,
        access: &'static str,
    },
    /// Who is attached, in the order they attached; sent when it changes.
    Participants { participants: Vec<ParticipantJson> },
    /// This client's access changed while attached (`share`): `write` or
    /// `read`, as in `Hello`.
    Access { access: &'static str },
    /// The program exited; the connection closes with [`close::EXITED`].
    Exit { status: Option<i32> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantJson {
    pub name: String,
    /// `write` or `read`.
    pub access: &'static str,
}

/// `write` or `read`, as the protocol writes a role.
pub fn access_word(role: Role) -> &'static str {
    match role {
        Role::Writer => "write",
        Role::Observer => "read",
    }
}

impl ServerText {
    pub fn participants(list: &[Participant]) -> ServerText {
        ServerText::Participants {
            participants: list
                .iter()
                .map(|p| ParticipantJson {
                    name: p.name.clone(),
                    access: access_word(p.role),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_or_are_refused() {
        assert_eq!(
            ClientText::parse(r#"{"type":"resize","cols":100,"rows":30}"#).unwrap(),
            Some(ClientText::Resize {
                cols: 100,
                rows: 30
            })
        );
        assert_eq!(ClientText::parse(r#"{"type":"future"}"#).unwrap(), None);
        assert!(ClientText::parse("not json").is_err());
        assert!(ClientText::parse("[1]").is_err());
        assert!(ClientText::parse(r#"{"type":"resize","cols":-1,"rows":2}"#).is_err());
        assert!(ClientText::parse(r#"{"type":"resize"}"#).is_err());
        assert_eq!(
            ClientText::parse(r#"{"type":"signal","signal":"INT"}"#).unwrap(),
            Some(ClientText::Signal {
                signal: "INT".into()
            })
        );
        assert!(ClientText::parse(r#"{"type":"signal","signal":2}"#).is_err());
        assert_eq!(ClientText::size(0, 0), None);
        assert_eq!(ClientText::size(80, 0), None);
        assert_eq!(
            ClientText::size(100_000, 100_000),
            Some(Size::new(1000, 1000))
        );
    }

    #[test]
    fn server_messages_are_as_documented() {
        let hello = ServerText::Hello {
            session: "alice/work".into(),
            access: "write",
        };
        assert_eq!(
            hello.to_json(),
            r#"{"type":"hello","session":"alice/work","access":"write"}"#
        );
        assert_eq!(
            ServerText::Access { access: "write" }.to_json(),
            r#"{"type":"access","access":"write"}"#
        );
        assert_eq!(
            ServerText::Exit { status: Some(3) }.to_json(),
            r#"{"type":"exit","status":3}"#
        );
        let people = ServerText::participants(&[Participant {
            name: "bob".into(),
            role: Role::Observer,
            client: None,
        }]);
        assert_eq!(
            people.to_json(),
            r#"{"type":"participants","participants":[{"name":"bob","access":"read"}]}"#
        );
    }
}
