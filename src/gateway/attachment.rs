//! The client object a transport pumps after an attach: the client's
//! messages to write, its input and resizes to send, and receipts to
//! report what it wrote. A running session's client is a connection to
//! its session host (messages read straight off the socket, no task
//! between it and the transport's writer); an exited session's client is
//! attached to the engine hub that shows its last screen in the gateway.
//!
//! Must not decide who may attach or record anything (`registry`, the
//! transports' callers and the link do); it only carries bytes.

use crate::transport::HostAddress;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::host_connection::{self, HostReader};
use crate::engine::{self, AttachError, ClientMessage, HubGone};
use crate::wire::protocol::{self, FromClient, Open, ToClient};
use crate::wire::{ClientId, Role, Size};

/// Below this many bytes written, receipts to a session host wait: a
/// keystroke's echo then goes to the client without a receipt written
/// (and the host woken) before it. Far below `sessions.client_buffer`'s
/// default, so a client is not taken for slow for want of them.
const RECEIPT_BATCH: usize = 16 * 1024;
/// How long a waiting receipt waits for more output before it is sent
/// anyway (the writer's [`Receipts::unreported`] branch).
pub const RECEIPT_DELAY: Duration = Duration::from_millis(2);

/// One client's attachment. Dropping it (and every copy of its receipts)
/// detaches the client.
pub struct Attachment {
    pub id: ClientId,
    pub role: Role,
    /// Taken by the task that writes to the client.
    pub messages: Option<Messages>,
    link: Link,
}

/// Where a client's input and resizes go.
enum Link {
    /// The connection to the session host; it closes when the last sender
    /// (this one and its receipts') is dropped, which detaches the client.
    Host(mpsc::Sender<FromClient>),
    /// The engine hub that shows an exited session in this process
    /// (dropping its attachment detaches the client).
    Exited(engine::Attachment),
}

impl Attachment {
    /// A client of the hub in a session host, reached through `to_host`.
    pub(crate) fn host(
        id: ClientId,
        role: Role,
        messages: HostReader,
        to_host: mpsc::Sender<FromClient>,
    ) -> Attachment {
        Attachment {
            id,
            role,
            messages: Some(Messages {
                source: Source::Host {
                    reader: messages,
                    ended: false,
                },
            }),
            link: Link::Host(to_host),
        }
    }

    /// A client of the engine hub showing an exited session.
    pub(crate) fn exited(mut attachment: engine::Attachment) -> Attachment {
        let messages = attachment.messages.take().map(|messages| Messages {
            source: Source::Exited(messages),
        });
        Attachment {
            id: attachment.id,
            role: attachment.role,
            messages,
            link: Link::Exited(attachment),
        }
    }

    pub async fn input(&self, bytes: Bytes) -> Result<(), HubGone> {
        match &self.link {
            Link::Host(to_host) => to_host
                .send(FromClient::Input(bytes.to_vec()))
                .await
                .map_err(|_| HubGone),
            Link::Exited(attachment) => attachment.input(bytes).await,
        }
    }

    pub async fn resize(&self, size: Size) -> Result<(), HubGone> {
        match &self.link {
            Link::Host(to_host) => to_host
                .send(FromClient::Resize(size))
                .await
                .map_err(|_| HubGone),
            Link::Exited(attachment) => attachment.resize(size).await,
        }
    }

    /// Where bytes for this client's terminal only go (forwarded
    /// notifications), placed by the host between the program's escape
    /// sequences; `None` for an exited session, which has no program
    /// output to place them in.
    pub fn notices(&self) -> Option<Notices> {
        match &self.link {
            Link::Host(to_host) => Some(Notices(to_host.clone())),
            Link::Exited(_) => None,
        }
    }

    /// Something for the task that writes this client's messages to report
    /// them written with.
    pub fn receipts(&self) -> Receipts {
        let to = match &self.link {
            Link::Host(to_host) => ReceiptsTo::Host(to_host.clone()),
            Link::Exited(attachment) => ReceiptsTo::Exited(attachment.receipts()),
        };
        Receipts { to, unreported: 0 }
    }
}

/// Sends notices to one attached client's host connection. Holding it
/// keeps the connection open: drop it when the client detaches.
pub struct Notices(mpsc::Sender<FromClient>);

impl Notices {
    pub async fn send(&self, bytes: Bytes) -> Result<(), HubGone> {
        self.0
            .send(FromClient::Notice(bytes.to_vec()))
            .await
            .map_err(|_| HubGone)
    }
}

/// Attaches a client to the hub in the host at `address`.
pub async fn attach(
    address: &HostAddress,
    who: &str,
    (role, upgradable): (Role, bool),
    size: Size,
) -> Result<Attachment, AttachError> {
    let purpose = Open::Attach {
        who: who.to_string(),
        role,
        size,
        upgradable,
    };
    let (_, mut reader, writer) = host_connection::open(address, &purpose)
        .await
        .map_err(|_| AttachError::Gone)?;
    let (id, role) = match protocol::receive::<ToClient, _>(&mut reader).await {
        Ok(ToClient::Attached { id, role }) => (id, role),
        Ok(ToClient::Full { limit }) => return Err(AttachError::Full { limit }),
        _ => return Err(AttachError::Gone),
    };
    let (to_host, queue) = mpsc::channel(host_connection::CLIENT_QUEUE);
    // Input, resizes and receipts, until the attachment (and every copy of
    // its receipts) is gone; then the connection closes.
    tokio::spawn(protocol::write_queued(writer, queue));
    Ok(Attachment::host(ClientId(id), role, reader, to_host))
}

/// What an attached client is sent, in order: read straight off its
/// connection to the session host, or from the exited session's hub.
pub struct Messages {
    source: Source,
}

enum Source {
    Host {
        reader: HostReader,
        /// The last message (an exit, a kill, a revoke) has been handed out.
        ended: bool,
    },
    Exited(engine::Messages),
}

impl Messages {
    /// The next message; `None` once there are no more. Cancel-safe (a
    /// partly read frame stays buffered). A host that vanishes without a
    /// word shows as the program having exited, status unknown.
    pub async fn recv(&mut self) -> Option<ClientMessage> {
        let (reader, ended) = match &mut self.source {
            Source::Exited(messages) => return messages.recv().await,
            Source::Host { reader, ended } => (reader, ended),
        };
        while !*ended {
            let message = match crate::wire::output_frame::receive_to_client(reader).await {
                Ok(message) => message,
                Err(_) => {
                    *ended = true;
                    return Some(ClientMessage::Exited { status: None });
                }
            };
            if let Some(message) = host_connection::from_host(message) {
                *ended = matches!(
                    message,
                    ClientMessage::Exited { .. } | ClientMessage::Closed | ClientMessage::Revoked
                );
                return Some(message);
            }
        }
        None
    }

    /// A message already waiting, without waiting for one (from the
    /// exited session's hub only).
    pub fn try_recv(&mut self) -> Option<ClientMessage> {
        match &mut self.source {
            Source::Exited(messages) => messages.try_recv(),
            Source::Host { .. } => None,
        }
    }
}

/// Reports a client's messages as written: frees their bytes from the
/// hub's outbox budget, and acknowledges those that asked for it.
#[derive(Clone)]
pub struct Receipts {
    to: ReceiptsTo,
    /// Bytes written to a host's client and not yet reported to it.
    unreported: usize,
}

#[derive(Clone)]
enum ReceiptsTo {
    Host(mpsc::Sender<FromClient>),
    Exited(engine::Receipts),
}

impl Receipts {
    pub async fn written(&mut self, message: &ClientMessage) -> Result<(), HubGone> {
        let (len, ack) = match message {
            ClientMessage::Output { bytes, ack } => (bytes.len(), *ack),
            ClientMessage::Marker => (0, true),
            _ => return Ok(()),
        };
        self.written_bytes(len, ack).await
    }

    /// Reports `len` bytes written, acknowledged if `ack`. To a session
    /// host, a small unacknowledged amount waits for more (see
    /// [`RECEIPT_BATCH`]); the writer sends it after [`RECEIPT_DELAY`]
    /// with [`Receipts::report_unreported`].
    pub async fn written_bytes(&mut self, len: usize, ack: bool) -> Result<(), HubGone> {
        match &mut self.to {
            ReceiptsTo::Exited(receipts) => receipts.written_bytes(len, ack).await,
            ReceiptsTo::Host(_) => {
                self.unreported = self.unreported.saturating_add(len);
                if ack || self.unreported >= RECEIPT_BATCH {
                    self.report(ack).await
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Whether bytes written wait to be reported.
    pub fn unreported(&self) -> bool {
        self.unreported > 0
    }

    /// Reports the bytes written that wait to be. Cancel-safe.
    pub async fn report_unreported(&mut self) -> Result<(), HubGone> {
        if self.unreported == 0 {
            return Ok(());
        }
        self.report(false).await
    }

    /// Cancel-safe: the count is taken only once there is room to send it.
    async fn report(&mut self, ack: bool) -> Result<(), HubGone> {
        let ReceiptsTo::Host(to_host) = &self.to else {
            return Ok(());
        };
        let permit = to_host.reserve().await.map_err(|_| HubGone)?;
        let bytes = std::mem::take(&mut self.unreported) as u64;
        permit.send(FromClient::Written { bytes, ack });
        Ok(())
    }
}
