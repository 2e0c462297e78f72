//! The gateway's side of a host's socket: the control connection
//! ([`HostConnection`], which the session's link owns), opening a
//! connection for another purpose (a client's: `attachment` builds on
//! it), and a watcher's connection, a receiver of [`ClientMessage`].
//!
//! Each connection reads and writes in separate tasks, so a front end that
//! is slow to take output never stops its input reaching the host, and the
//! connection closes when the front end lets go of its end.
//!
//! Must not act on what a host reports (the link does).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::ClientMessage;
use crate::engine::HubGone;
use crate::runtime::swarm::HostTask;
use crate::transport::{HostAddress, HostRead, HostWrite};
use crate::wire::HubStatus;
use crate::wire::protocol::{
    self, FromHost, Hello, Open, ProtocolError, Reader, ToClient, Writer, check_version,
};

/// How long connecting and the host's greeting may take: a host that does
/// not answer in this time is treated as gone.
const GREETING_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages buffered per client between its connection and its front end.
pub(super) const CLIENT_QUEUE: usize = 64;

pub type HostReader = Reader<HostRead>;
pub type HostWriter = Writer<HostWrite>;

/// The control connection to a session host.
pub struct HostConnection {
    pub hello: Hello,
    pub address: HostAddress,
    pub reader: HostReader,
    pub writer: HostWriter,
    /// The session's status as the host first reported it (it does so as
    /// soon as the control connection opens).
    pub status: HubStatus,
    /// Held while the host runs: the user's container lease, for Docker.
    pub lease: Option<Box<dyn Send + Sync>>,
    /// The swarm task the host runs in, when it is on another machine.
    pub task: Option<HostTask>,
}

impl HostConnection {
    /// Connects to the host at `address`, and reads its first status, so
    /// that nobody is shown a guess.
    pub async fn connect(address: &HostAddress) -> Result<HostConnection, ProtocolError> {
        let (hello, mut reader, writer) = open(address, &Open::Control).await?;
        let first = tokio::time::timeout(GREETING_TIMEOUT, protocol::receive(&mut reader))
            .await
            .map_err(|_| not_answering())??;
        let FromHost::Status(status) = first else {
            return Err(ProtocolError::Closed);
        };
        Ok(HostConnection {
            hello,
            address: address.clone(),
            reader,
            writer,
            status,
            lease: None,
            task: None,
        })
    }
}

/// Connects, reads the host's greeting and says what the connection is for.
pub(super) async fn open(
    address: &HostAddress,
    purpose: &Open,
) -> Result<(Hello, HostReader, HostWriter), ProtocolError> {
    let greeting = async {
        let stream = address.connect().await?;
        let (read, write) = stream.into_split();
        let writer = match purpose {
            Open::Control => protocol::control_writer(write),
            _ => protocol::writer(write),
        };
        let (mut reader, mut writer) = (protocol::reader(read), writer);
        let hello: Hello = protocol::receive(&mut reader).await?;
        check_version(&hello)?;
        protocol::send(&mut writer, purpose).await?;
        Ok::<_, ProtocolError>((hello, reader, writer))
    };
    tokio::time::timeout(GREETING_TIMEOUT, greeting)
        .await
        .map_err(|_| not_answering())?
}

fn not_answering() -> ProtocolError {
    ProtocolError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the session host did not answer",
    ))
}

/// The program's output bytes as they come, from the host at `address`.
pub async fn watch(
    address: &HostAddress,
    who: &str,
) -> Result<mpsc::Receiver<ClientMessage>, HubGone> {
    let purpose = Open::Watch {
        who: who.to_string(),
    };
    let (_, reader, writer) = open(address, &purpose).await.map_err(|_| HubGone)?;
    let (messages_tx, messages) = mpsc::channel(CLIENT_QUEUE);
    tokio::spawn(async move {
        // The writer stays open until the reading ends: closing it would
        // tell the host the watcher left.
        read_messages(reader, messages_tx).await;
        drop(writer);
    });
    Ok(messages)
}

/// Hands the host's messages for one client to its front end. A host that
/// vanishes without a word shows as the program having exited, status
/// unknown.
async fn read_messages(mut reader: HostReader, messages: mpsc::Sender<ClientMessage>) {
    loop {
        let message = tokio::select! {
            message = crate::wire::output_frame::receive_to_client(&mut reader) => message,
            () = messages.closed() => return,
        };
        let message = match message {
            Ok(message) => message,
            Err(_) => {
                let _ = messages.send(ClientMessage::Exited { status: None }).await;
                return;
            }
        };
        let Some(message) = from_host(message) else {
            continue;
        };
        let last = matches!(
            message,
            ClientMessage::Exited { .. } | ClientMessage::Closed | ClientMessage::Revoked
        );
        if messages.send(message).await.is_err() || last {
            return;
        }
    }
}

/// A host's message for a client as the front ends take it.
pub(crate) fn from_host(message: ToClient) -> Option<ClientMessage> {
    Some(match message {
        ToClient::Output { bytes, ack } => ClientMessage::Output { bytes, ack },
        ToClient::Marker => ClientMessage::Marker,
        ToClient::Exited { status } => ClientMessage::Exited { status },
        ToClient::Closed => ClientMessage::Closed,
        ToClient::Revoked => ClientMessage::Revoked,
        ToClient::Attached { .. } | ToClient::Full { .. } => return None,
    })
}
