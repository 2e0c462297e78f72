//! Attaching someone to a session, once for every transport: the role
//! their access gives them, the audit of the attach and of the detach,
//! the clients gauge, and the client object the transport pumps
//! ([`Client`]: its input side, and a [`ClientFeed`] of what to write,
//! which reports receipts and counts bytes and the time to the restored
//! screen).
//!
//! Must not write to any client or read its keys: transports do, with
//! their own framing (an SSH channel, a WebSocket).

use std::net::SocketAddr;
use std::time::Instant;

use super::attachment::{Attachment, Messages, RECEIPT_DELAY, Receipts};
use super::{App, SessionEntry};
use crate::audit::{AuditEvent, Auditor};
use crate::engine::{AttachError, ClientMessage, HubGone};
use crate::metrics as metric;
use crate::wire::{Role, Size};

/// How a client reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ssh,
    Web,
}

impl Transport {
    /// The word the audit log uses (`writer over ssh`).
    pub fn word(self) -> &'static str {
        match self {
            Transport::Ssh => "ssh",
            Transport::Web => "web",
        }
    }

    /// The metrics' `transport` label.
    fn label(self) -> &'static str {
        match self {
            Transport::Ssh => "ssh",
            Transport::Web => "websocket",
        }
    }
}

/// The role someone attaches with and whether it is upgradable: a writer
/// if they may write and did not choose to watch; otherwise a reader,
/// made a writer in place when write access is given, unless they chose
/// to watch or `may_upgrade` is false (a guest).
pub fn role_for(can_write: bool, watch: bool, may_upgrade: bool) -> (Role, bool) {
    if can_write && !watch {
        (Role::Writer, false)
    } else {
        (Role::Observer, !watch && may_upgrade)
    }
}

/// The word for a role in the audit log and the logs.
pub fn role_word(role: Role) -> &'static str {
    match role {
        Role::Writer => "writer",
        Role::Observer => "observer",
    }
}

/// Who attaches, how, and at what size.
pub struct AttachRequest<'a> {
    /// The user's name (a guest's shown name), as others see it.
    pub who: &'a str,
    pub transport: Transport,
    pub peer: SocketAddr,
    pub role: Role,
    pub upgradable: bool,
    pub size: Size,
}

/// Attaches the client: audited (a refusal is audited as its detach),
/// counted in the clients gauge until the [`Client`] is finished.
pub async fn attach(
    app: &App,
    entry: &SessionEntry,
    request: AttachRequest<'_>,
) -> Result<Client, AttachError> {
    let asked = Instant::now();
    let (who, role, transport) = (request.who, request.role, request.transport);
    let mut audit = Audited {
        audit: app.audit.clone(),
        who: who.to_string(),
        label: entry.label(),
        role,
        transport,
        finished: false,
    };
    let detail = format!(
        "{} over {} from {}",
        role_word(role),
        transport.word(),
        request.peer
    );
    audit.record("attach", detail).await;
    let gauge = Counted::new(role, transport);
    let attached = entry
        .link
        .attach_with(who, role, request.size, request.upgradable)
        .await;
    let mut attachment = match attached {
        Ok(attachment) => attachment,
        Err(error) => {
            let how = match &error {
                AttachError::Full { limit } => format!("refused: {limit} clients attached"),
                AttachError::Gone => "refused: the session has ended".to_string(),
                AttachError::Unreachable => "refused: its machine cannot be reached".to_string(),
            };
            audit.finish(&how).await;
            return Err(error);
        }
    };
    let feed = attachment.messages.take().map(|messages| ClientFeed {
        receipts: attachment.receipts(),
        messages,
        bytes_out: metrics::counter!(metric::OUTPUT_BYTES, "transport" => transport.label()),
        transport,
        asked,
        restored: false,
    });
    tracing::info!(
        role = role_word(role),
        transport = transport.word(),
        "attached"
    );
    Ok(Client {
        attachment,
        feed,
        audit,
        _gauge: gauge,
    })
}

/// An attached client: its attachment (input, resizes), the feed its
/// writer takes, and its audit until [`Client::finish`].
pub struct Client {
    pub attachment: Attachment,
    feed: Option<ClientFeed>,
    audit: Audited,
    _gauge: Counted,
}

impl Client {
    /// What to write to the client; taken once, by its writer.
    pub fn take_feed(&mut self) -> Option<ClientFeed> {
        self.feed.take()
    }

    /// Detaches the client and audits how it ended (`detached`, `program
    /// exited (0)`, …).
    pub async fn finish(mut self, how: &str) {
        tracing::info!(
            role = role_word(self.attachment.role),
            end = how,
            "detached"
        );
        self.audit.finish(how).await;
    }
}

/// What a client is sent, one message at a time, with the bookkeeping
/// every transport's writer needs after writing one.
pub struct ClientFeed {
    messages: Messages,
    receipts: Receipts,
    bytes_out: metrics::Counter,
    transport: Transport,
    asked: Instant,
    /// The first output (the restored screen) has been written.
    restored: bool,
}

impl ClientFeed {
    /// The next message to write; `None` once there are no more (or the
    /// hub is gone). Bytes written wait [`RECEIPT_DELAY`] for more before
    /// they are reported. Cancel-safe.
    pub async fn next(&mut self) -> Option<ClientMessage> {
        loop {
            tokio::select! {
                message = self.messages.recv() => return message,
                () = tokio::time::sleep(RECEIPT_DELAY), if self.receipts.unreported() => {
                    self.receipts.report_unreported().await.ok()?;
                }
            }
        }
    }

    /// Reports `message` written to the client: frees its bytes from the
    /// hub's budget, counts them, and times the restored screen.
    pub async fn written(&mut self, message: &ClientMessage) -> Result<(), HubGone> {
        if let ClientMessage::Output { bytes, .. } = message {
            self.bytes_out.increment(bytes.len() as u64);
            if !self.restored {
                self.restored = true;
                metrics::histogram!(metric::ATTACH_SECONDS, "transport" => self.transport.label())
                    .record(self.asked.elapsed().as_secs_f64());
            }
        }
        self.receipts.written(message).await
    }
}

/// The attach's audit: `attach` when it starts, `detach` once.
struct Audited {
    audit: Auditor,
    who: String,
    label: String,
    role: Role,
    transport: Transport,
    finished: bool,
}

impl Audited {
    fn event(&self, action: &'static str, detail: String) -> AuditEvent {
        AuditEvent::new(Some(&self.who), action)
            .session(self.label.clone())
            .detail(detail)
    }

    async fn record(&self, action: &'static str, detail: String) {
        self.audit.record(self.event(action, detail)).await;
    }

    fn detail(&self, how: &str) -> String {
        format!(
            "{} over {}: {how}",
            role_word(self.role),
            self.transport.word()
        )
    }

    async fn finish(&mut self, how: &str) {
        self.finished = true;
        self.record("detach", self.detail(how)).await;
    }
}

impl Drop for Audited {
    fn drop(&mut self) {
        if !self.finished {
            self.audit
                .record_now(self.event("detach", self.detail("ended")));
        }
    }
}

/// Counts an attached client by role and transport while it is attached.
struct Counted(Role, Transport);

impl Counted {
    fn new(role: Role, transport: Transport) -> Counted {
        metrics::gauge!(metric::CLIENTS, "role" => metric::role_label(role), "transport" => transport.label())
            .increment(1.0);
        Counted(role, transport)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!(metric::CLIENTS, "role" => metric::role_label(self.0), "transport" => self.1.label())
            .decrement(1.0);
    }
}
