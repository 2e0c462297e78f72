//! An SSH client attached to a session. Two loops run side by side: one
//! writes the hub's messages to the channel (waiting on the SSH window,
//! so a slow client stalls only itself), the other reads the client's
//! keystrokes and window changes and passes them to the hub, watching for
//! the prefix key.
//!
//! Must not write to the channel from anywhere but the writer task, so
//! nothing is interleaved inside an escape sequence.

use bytes::Bytes;
use russh::ChannelId;
use russh::server::Handle;
use tokio::sync::mpsc;

use super::caller::Outcome;
use super::channel::{ChannelEvent, ChannelIo};
use crate::engine::AttachError;
use crate::engine::ClientMessage;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::attach::{self, AttachRequest, ClientFeed};
use crate::gateway::forwarding;
use crate::metrics as metric;
use crate::ssh::prefix::{InputAction, PrefixReader, help_text};
use crate::store::User;

/// Extra bytes the input loop asks the writer to show (the keys help).
const LOCAL_MESSAGES: usize = 4;

/// Leaves a client's terminal usable after a session: main screen, cursor
/// shown, no mouse reporting or bracketed paste, default keys and colors.
/// (`?47l` rather than `?1049l`, which would also move the cursor, and the
/// scroll region reset inside a cursor save and restore, for the same reason.)
const LEAVE: &[u8] =
    b"\x1b[?47l\x1b7\x1b[r\x1b8\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\
\x1b[?2004l\x1b[?1l\x1b>\x1b[m\r\n";

/// How an attachment ended.
#[derive(Debug)]
pub enum AttachEnd {
    Detached,
    Exited(Option<i32>),
    Killed,
    /// The user's access was taken away while attached.
    Revoked,
    /// Refused: the session has `sessions.max_clients` clients attached.
    Full(usize),
    /// Refused: the session's host is on a machine that cannot be reached.
    Unreachable,
    ClientGone,
}

impl AttachEnd {
    /// How it ended, in a word or two, for the audit log.
    pub fn describe(&self) -> String {
        match self {
            AttachEnd::Detached => "detached".into(),
            AttachEnd::Exited(status) => {
                format!(
                    "program exited ({})",
                    status.map_or("unknown".into(), |s| s.to_string())
                )
            }
            AttachEnd::Killed => "session killed".into(),
            AttachEnd::Revoked => "access revoked".into(),
            AttachEnd::Full(limit) => format!("refused: {limit} clients attached"),
            AttachEnd::Unreachable => "refused: its machine cannot be reached".into(),
            AttachEnd::ClientGone => "connection lost".into(),
        }
    }
}

/// Attaches the channel's client to `entry` until it detaches, the
/// program exits, the session is killed or the client goes away (the
/// request's size is the channel's PTY's). The attach and the detach are
/// audited by `gateway::attach`.
pub async fn run(
    app: &App,
    user: &User,
    entry: &SessionEntry,
    mut request: AttachRequest<'_>,
    io: &mut ChannelIo,
) -> AttachEnd {
    let Some(size) = io.pty.as_ref().map(|p| p.size) else {
        return AttachEnd::ClientGone;
    };
    request.size = size;
    let mut client = match attach::attach(app, entry, request).await {
        Ok(client) => client,
        Err(AttachError::Full { limit }) => return AttachEnd::Full(limit),
        Err(AttachError::Unreachable) => return AttachEnd::Unreachable,
        Err(AttachError::Gone) => return AttachEnd::Killed,
    };
    let Some(feed) = client.take_feed() else {
        client.finish(&AttachEnd::Killed.describe()).await;
        return AttachEnd::Killed;
    };
    let forwarding = match client.attachment.notices() {
        Some(notices) => forwarding::start(app, user, entry, notices).await,
        None => None,
    };
    let (local_tx, local_rx) = mpsc::channel(LOCAL_MESSAGES);
    let mut writer = tokio::spawn(write_messages(io.handle.clone(), io.id, feed, local_rx));
    let prefix = app.config.keys.prefix;
    let mut reader = PrefixReader::new(prefix.byte);
    let mut actions = Vec::new();
    let end = loop {
        tokio::select! {
            finished = &mut writer => break finished.unwrap_or(AttachEnd::ClientGone),
            event = io.events.recv() => match event {
                Some(ChannelEvent::Data(bytes)) => {
                    actions.clear();
                    reader.feed(&bytes, &mut actions);
                    metrics::counter!(metric::INPUT_BYTES, "transport" => "ssh").increment(bytes.len() as u64);
                    if let Some(end) = act(&client.attachment, &actions, &local_tx, &prefix.name()).await {
                        break end;
                    }
                }
                Some(ChannelEvent::Resize(size)) => {
                    if let Some(pty) = io.pty.as_mut() {
                        pty.size = size;
                    }
                    let _ = client.attachment.resize(size).await;
                }
                Some(ChannelEvent::Eof) => {}
                None => break AttachEnd::ClientGone,
            },
        }
    };
    writer.abort();
    if let Some(forwarding) = forwarding {
        forwarding.abort();
    }
    client.finish(&end.describe()).await;
    if !matches!(end, AttachEnd::ClientGone) {
        let _ = io.write(Bytes::from_static(LEAVE)).await;
    }
    end
}

/// Carries out the client's input; returns how the attachment ends, if it does.
async fn act(
    attachment: &crate::gateway::Attachment,
    actions: &[InputAction],
    local: &mpsc::Sender<Bytes>,
    prefix_name: &str,
) -> Option<AttachEnd> {
    for action in actions {
        match action {
            InputAction::Forward(bytes) => {
                if attachment
                    .input(Bytes::copy_from_slice(bytes))
                    .await
                    .is_err()
                {
                    return Some(AttachEnd::Killed);
                }
            }
            InputAction::Detach => return Some(AttachEnd::Detached),
            InputAction::Help => {
                let _ = local.try_send(Bytes::from(help_text(prefix_name)));
            }
        }
    }
    None
}

/// Writes the hub's messages (and local notices) to the client, in order.
async fn write_messages(
    handle: Handle,
    channel: ChannelId,
    mut feed: ClientFeed,
    mut local: mpsc::Receiver<Bytes>,
) -> AttachEnd {
    loop {
        let message = tokio::select! {
            message = feed.next() => message,
            Some(bytes) = local.recv() => {
                if handle.data(channel, bytes).await.is_err() {
                    return AttachEnd::ClientGone;
                }
                continue;
            }
        };
        let Some(message) = message else {
            return AttachEnd::Killed;
        };
        match &message {
            ClientMessage::Output { bytes, .. } => {
                if handle.data(channel, bytes.clone()).await.is_err() {
                    return AttachEnd::ClientGone;
                }
            }
            ClientMessage::Marker => {}
            ClientMessage::Exited { status } => return AttachEnd::Exited(*status),
            ClientMessage::Closed => return AttachEnd::Killed,
            ClientMessage::Revoked => return AttachEnd::Revoked,
        }
        if feed.written(&message).await.is_err() {
            return AttachEnd::Killed;
        }
    }
}

/// `watch` without a terminal: the program's output bytes as they come,
/// until the program ends or the client leaves.
pub async fn stream_output(who: &str, entry: &SessionEntry, io: &mut ChannelIo) -> Outcome {
    let Ok(mut messages) = entry.link.watch(who).await else {
        return Outcome::Refused(format!("no session named {}", entry.label()));
    };
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Some(ClientMessage::Output { bytes, .. }) => {
                    if io.write(bytes).await.is_err() {
                        return Outcome::Done;
                    }
                }
                Some(ClientMessage::Marker) => {}
                Some(ClientMessage::Revoked) => {
                    return Outcome::Refused(format!("your access to {} was revoked", entry.label()));
                }
                Some(ClientMessage::Exited { .. }) | Some(ClientMessage::Closed) | None => return Outcome::Done,
            },
            event = io.events.recv() => if event.is_none() {
                return Outcome::Done;
            },
        }
    }
}
