//! The host's side of its socket: accepts the gateway's connections and
//! serves each as its [`Open`] says: the session's control (one per
//! gateway, each sent the same statuses), one attached client, or one
//! byte-stream watcher.
//!
//! Every connection reads and writes in separate tasks, so a gateway that
//! is slow to read never stops its input (or its acknowledgements) from
//! arriving. Nothing here waits on the hub for longer than a command.
//!
//! Must not keep session state: the hub owns it; this only translates.

use std::time::Duration;

use bytes::Bytes;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::engine::AttachError;
use crate::engine::Changes;
use crate::engine::ClientMessage;
use crate::engine::HubHandle;
use crate::engine::hub::Messages;
use crate::wire::HubStatus;
use crate::wire::output_frame::ClientWriter;
use crate::wire::protocol::{
    self, FromClient, FromHost, Hello, Open, ProtocolError, Reader, ToClient, ToHost, Writer,
};

/// How long a new connection may take to say what it is for.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Control messages queued for the gateway before the control task waits.
const CONTROL_QUEUE: usize = 64;
/// How long the control connection may take, once the hub has stopped, to
/// send what is queued for the gateway (the program's exit status, for one).
const CONTROL_DRAIN: Duration = Duration::from_secs(2);

type ConnectionReader = Reader<OwnedReadHalf>;
type ConnectionWriter = Writer<OwnedWriteHalf>;
/// A client's connection: its output goes out without being copied.
type OutputWriter = ClientWriter<OwnedWriteHalf>;
/// A control connection, handed to the accept loop.
type Control = (ConnectionReader, ConnectionWriter);

/// Serves connections until the hub stops (the session was killed, or
/// its final screen was carried off).
pub(super) async fn serve(
    listener: tokio::net::UnixListener,
    hub: HubHandle,
    changes: Changes,
    hello: Hello,
) {
    // Boxed: a channel allocates room for 32 of its messages at once, and
    // every session keeps one of these.
    let (controls_tx, mut controls) = mpsc::channel::<Box<Control>>(4);
    // Every gateway's control connection: on one machine the one gateway
    // (an older one's connection closed when it went), in a cluster each
    // gateway's (docs/architecture.md, "Many machines").
    let mut running: Vec<JoinHandle<()>> = Vec::new();
    loop {
        tokio::select! {
            () = hub.closed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Some(why) = super::peer::refusal(&stream) {
                        tracing::warn!(%why, "refused a connection to the session's socket");
                        continue;
                    }
                    let (hub, hello, controls) = (hub.clone(), hello.clone(), controls_tx.clone());
                    tokio::spawn(async move {
                        if let Err(error) = open(stream, hub, hello, controls).await {
                            tracing::debug!(%error, "a gateway connection ended");
                        }
                    }.in_current_span());
                }
                Err(error) => {
                    // Out of descriptors, most likely: try again shortly.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(connection) = controls.recv() => {
                let (reader, writer) = *connection;
                running.retain(|control| !control.is_finished());
                running.push(tokio::spawn(
                    serve_control(reader, writer, hub.clone(), changes.clone()).in_current_span(),
                ));
            }
        }
    }
    // They end with the hub, after sending what they have queued: the
    // gateways must learn the exit status before this host is gone.
    let aborts: Vec<_> = running.iter().map(JoinHandle::abort_handle).collect();
    let drained = futures_util::future::join_all(running);
    if tokio::time::timeout(CONTROL_DRAIN, drained).await.is_err() {
        aborts.iter().for_each(tokio::task::AbortHandle::abort);
    }
}

/// Greets a connection and serves it as it asks.
async fn open(
    stream: UnixStream,
    hub: HubHandle,
    hello: Hello,
    controls: mpsc::Sender<Box<Control>>,
) -> Result<(), ProtocolError> {
    let (read, write) = stream.into_split();
    let (mut reader, mut writer) = (protocol::reader(read), protocol::control_writer(write));
    protocol::send(&mut writer, &hello).await?;
    let open = tokio::time::timeout(OPEN_TIMEOUT, protocol::receive::<Open, _>(&mut reader))
        .await
        .map_err(|_| ProtocolError::Closed)??;
    match open {
        Open::Control => {
            let _ = controls.send(Box::new((reader, writer))).await;
            Ok(())
        }
        Open::Attach {
            who,
            role,
            size,
            upgradable,
        } => {
            // A client's output is written without copying its bytes.
            let writer = ClientWriter::new(writer.into_inner());
            serve_attach(reader, writer, hub, &who, (role, upgradable), size).await
        }
        Open::Watch { who } => {
            let writer = ClientWriter::new(writer.into_inner());
            serve_watch(reader, writer, hub, &who).await
        }
        // Sessions are started on the owner socket, not a session's.
        Open::Start(_) | Open::Run(_) => Ok(()),
    }
}

/// The control connection: requests in, status and replies out.
async fn serve_control(
    mut reader: ConnectionReader,
    writer: ConnectionWriter,
    hub: HubHandle,
    changes: Changes,
) {
    // Boxed messages: a queue keeps a block of 32 slots, and a status
    // held inline made that block about 5 KiB for every session.
    let (out, queue) = mpsc::channel::<Box<FromHost>>(CONTROL_QUEUE);
    let writing = tokio::spawn(protocol::write_queued(writer, queue));
    let mut changed = changes.subscribe();
    let mut screen = hub.screen_changes();
    screen.borrow_and_update();
    // One `ScreenChanged` per preview asked for: previews are pulled.
    let mut screen_armed = true;
    let mut shown: Option<HubStatus> = None;
    // `Shutdown` while the program runs (`serve --stop-sessions` hangs it
    // up, then asks the host to end with it): the hub stops as soon as the
    // program has exited, so it is told only once the exit status has been
    // sent, or the gateway would never learn it.
    let mut shutdown_after_exit = false;
    loop {
        if !push_status(&hub, &mut shown, &out).await {
            break;
        }
        if shutdown_after_exit && shown.as_ref().is_some_and(|s| !s.running) {
            shutdown_after_exit = false;
            let _ = hub.shut_down().await;
        }
        tokio::select! {
            message = protocol::receive::<ToHost, _>(&mut reader) => {
                let Ok(message) = message else { break };
                if let ToHost::Preview { .. } = message {
                    screen.borrow_and_update();
                    screen_armed = true;
                }
                if let ToHost::Shutdown = message
                    && shown.as_ref().is_some_and(|s| s.running)
                {
                    shutdown_after_exit = true;
                    continue;
                }
                // A reply follows the status that shows what its request
                // changed, so the gateway's next `ls` shows it too.
                let Some(reply) = handle_control(message, &hub).await else { break };
                if !push_status(&hub, &mut shown, &out).await {
                    break;
                }
                if let Some(reply) = reply
                    && out.send(Box::new(reply)).await.is_err()
                {
                    break;
                }
            }
            changed = changed.changed() => if changed.is_err() { break },
            changed = screen.changed(), if screen_armed => {
                if changed.is_err() || out.send(Box::new(FromHost::ScreenChanged)).await.is_err() {
                    break;
                }
                screen_armed = false;
            }
            () = hub.closed() => break,
        }
    }
    drop(out);
    let _ = writing.await;
}

/// Sends the hub's status if it changed since last sent; false when the
/// connection or the hub is gone.
async fn push_status(
    hub: &HubHandle,
    shown: &mut Option<HubStatus>,
    out: &mpsc::Sender<Box<FromHost>>,
) -> bool {
    let Ok(status) = hub.status().await else {
        return false;
    };
    if shown.as_ref() == Some(&status) {
        return true;
    }
    *shown = Some(status.clone());
    out.send(Box::new(FromHost::Status(status))).await.is_ok()
}

/// Carries out one control request and gives its reply, if it has one;
/// `None` when the hub is gone.
async fn handle_control(message: ToHost, hub: &HubHandle) -> Option<Option<FromHost>> {
    let reply = match message {
        ToHost::Capture {
            request,
            scrollback,
            ansi,
        } => match hub.capture(scrollback, ansi).await {
            Ok(text) => Some(FromHost::Captured { request, text }),
            Err(_) => return None,
        },
        ToHost::Preview { request } => match hub.preview().await {
            Ok(preview) => Some(FromHost::Preview { request, preview }),
            Err(_) => return None,
        },
        ToHost::FinalScreen { request } => match hub.final_screen().await {
            Ok(screen) => Some(FromHost::FinalScreen { request, screen }),
            Err(_) => return None,
        },
        ToHost::Send { bytes } => {
            let _ = hub.send_input(Bytes::from(bytes)).await;
            None
        }
        ToHost::AccessChanged {
            request,
            user,
            allowed,
        } => match hub.access_changed(&user, allowed).await {
            Ok(()) => Some(FromHost::Applied { request }),
            Err(_) => return None,
        },
        ToHost::Kill => {
            let _ = hub.kill().await;
            None
        }
        ToHost::Hangup => {
            let _ = hub.hang_up().await;
            None
        }
        ToHost::Shutdown => {
            let _ = hub.shut_down().await;
            None
        }
        ToHost::Pause { paused } => {
            if let Err(error) = hub.pause(paused).await {
                tracing::debug!(%error, paused, "pause or resume not done");
            }
            None
        }
        ToHost::Notify { request, message } => {
            if let Err(error) = hub.notify(message).await {
                tracing::debug!(%error, "notify not done");
            }
            Some(FromHost::Applied { request })
        }
        ToHost::Ack { request, user } => {
            hub.ack(user).await.ok()?;
            Some(FromHost::Applied { request })
        }
        ToHost::Signal { signal } => {
            match nix::sys::signal::Signal::try_from(signal) {
                Ok(signal) => {
                    if let Err(error) = hub.signal(signal).await {
                        tracing::debug!(%error, ?signal, "signal not sent");
                    }
                }
                Err(_) => tracing::debug!(signal, "no such signal"),
            }
            None
        }
    };
    Some(reply)
}

/// One attached client: its input, resizes and receipts in; its output
/// out, from the hub's bounded outbox for it.
async fn serve_attach(
    mut reader: ConnectionReader,
    mut writer: OutputWriter,
    hub: HubHandle,
    who: &str,
    (role, upgradable): (crate::wire::Role, bool),
    size: crate::wire::Size,
) -> Result<(), ProtocolError> {
    let mut attachment = match hub.attach_with(who, role, size, upgradable).await {
        Ok(attachment) => attachment,
        Err(AttachError::Full { limit }) => {
            return send(&mut writer, ToClient::Full { limit }).await;
        }
        // A host's own hub is never unreachable.
        Err(AttachError::Gone | AttachError::Unreachable) => {
            return send(&mut writer, ToClient::Exited { status: None }).await;
        }
    };
    let attached = ToClient::Attached {
        id: attachment.id.0,
        role: attachment.role,
    };
    send(&mut writer, attached).await?;
    let Some(messages) = attachment.messages.take() else {
        return Ok(());
    };
    let writing = tokio::spawn(forward_messages(messages, writer));
    let mut receipts = attachment.receipts();
    loop {
        let sent = match protocol::receive::<FromClient, _>(&mut reader).await {
            Ok(FromClient::Input(bytes)) => attachment.input(Bytes::from(bytes)).await,
            Ok(FromClient::Resize(size)) => attachment.resize(size).await,
            Ok(FromClient::Notice(bytes)) => attachment.notice(Bytes::from(bytes)).await,
            Ok(FromClient::Written { bytes, ack }) => {
                receipts
                    .written_bytes(usize::try_from(bytes).unwrap_or(usize::MAX), ack)
                    .await
            }
            Err(_) => break,
        };
        if sent.is_err() {
            break;
        }
    }
    // Dropping the attachment detaches the client.
    drop(receipts);
    drop(attachment);
    writing.abort();
    Ok(())
}

/// Writes one message to a client's connection.
async fn send(writer: &mut OutputWriter, message: ToClient) -> Result<(), ProtocolError> {
    writer.feed(message)?;
    writer.flush().await
}

/// A client's messages to the gateway, until its outbox closes; what is
/// queued is written in one batch.
async fn forward_messages(mut messages: impl MessageQueue, mut writer: OutputWriter) {
    while let Some(message) = messages.next().await {
        if writer.feed(to_client(message)).is_err() {
            return;
        }
        while let Some(message) = messages.ready() {
            if writer.feed(to_client(message)).is_err() {
                return;
            }
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
}

/// A client's queue of messages: an attachment's or a watcher's.
trait MessageQueue {
    async fn next(&mut self) -> Option<ClientMessage>;
    fn ready(&mut self) -> Option<ClientMessage>;
}

impl MessageQueue for Messages {
    async fn next(&mut self) -> Option<ClientMessage> {
        self.recv().await
    }

    fn ready(&mut self) -> Option<ClientMessage> {
        self.try_recv()
    }
}

impl MessageQueue for mpsc::Receiver<ClientMessage> {
    async fn next(&mut self) -> Option<ClientMessage> {
        self.recv().await
    }

    fn ready(&mut self) -> Option<ClientMessage> {
        self.try_recv().ok()
    }
}

fn to_client(message: ClientMessage) -> ToClient {
    match message {
        ClientMessage::Output { bytes, ack } => ToClient::Output { bytes, ack },
        ClientMessage::Marker => ToClient::Marker,
        ClientMessage::Exited { status } => ToClient::Exited { status },
        ClientMessage::Closed => ToClient::Closed,
        ClientMessage::Revoked => ToClient::Revoked,
    }
}

/// A byte-stream watcher: the program's output until the session ends or
/// the gateway closes the connection.
async fn serve_watch(
    mut reader: ConnectionReader,
    writer: OutputWriter,
    hub: HubHandle,
    who: &str,
) -> Result<(), ProtocolError> {
    let Ok(messages) = hub.watch(who).await else {
        return Ok(());
    };
    let forwarding = forward_messages(messages, writer);
    tokio::select! {
        () = forwarding => {}
        _ = protocol::receive::<FromClient, _>(&mut reader) => {}
    }
    Ok(())
}
