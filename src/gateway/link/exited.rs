//! The commands a link serves while its session has exited: asked of the
//! engine hub that shows the last screen in the gateway, each in a task
//! of its own, so the link never waits on the hub.
//!
//! Must not restart or kill: the link does those itself.

use super::handle::Command;
use crate::engine::hub::HubHandle;
use crate::gateway::attachment::Attachment;
use crate::wire::control::ControlError;

/// Serves a command from the engine hub that shows an exited session: in
/// a task of its own, so the link never waits on the hub.
pub(super) fn ask_exited_hub(hub: HubHandle, command: Command) {
    tokio::spawn(async move {
        match command {
            Command::Attach {
                who,
                role,
                size,
                upgradable,
                reply,
                ..
            } => {
                let attached = hub.attach_with(&who, role, size, upgradable).await;
                let _ = reply.send(attached.map(Attachment::exited));
            }
            Command::Watch { who, reply } => {
                if let Ok(messages) = hub.watch(&who).await {
                    let _ = reply.send(messages);
                }
            }
            Command::Send(bytes) => {
                let _ = hub.send_input(bytes).await;
            }
            Command::Capture {
                scrollback,
                ansi,
                reply,
            } => {
                if let Ok(text) = hub.capture(scrollback, ansi).await {
                    let _ = reply.send(text);
                }
            }
            Command::Status(reply) => {
                if let Ok(status) = hub.status().await {
                    let _ = reply.send(status);
                }
            }
            Command::AccessChanged {
                user,
                allowed,
                reply,
            } => {
                if hub.access_changed(&user, allowed).await.is_ok() {
                    let _ = reply.send(());
                }
            }
            Command::Preview(reply) => {
                if let Ok(preview) = hub.preview().await {
                    let _ = reply.send(preview);
                }
            }
            Command::FinalScreen(reply) => {
                if let Ok(screen) = hub.final_screen().await {
                    let _ = reply.send(screen);
                }
            }
            Command::Hangup => {
                let _ = hub.hang_up().await;
            }
            Command::Shutdown => {
                let _ = hub.shut_down().await;
            }
            Command::Pause { reply, .. }
            | Command::Signal { reply, .. }
            | Command::Notify { reply, .. } => {
                let _ = reply.send(Err(ControlError::Exited));
            }
            // The program's end cleared the mark.
            Command::Ack { reply, .. } => {
                let _ = reply.send(Ok(()));
            }
            // Served by the link itself.
            Command::Kill | Command::Restart { .. } => {}
            // A late word about a host this link no longer waits for.
            Command::Reconnected(_) | Command::HostGone | Command::ExitedScreen { .. } => {}
        }
    });
}
