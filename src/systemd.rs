//! Tells a service manager how the server is doing (`sd_notify`, for
//! `Type=notify` units): ready once the listeners are up, reloading while
//! a `SIGHUP` is applied, stopping at shutdown. Outside systemd
//! (`NOTIFY_SOCKET` unset) every call does nothing.
//!
//! Owns only the notification messages; it must not decide when the
//! server is ready (the binary's start-up does).

use sd_notify::NotifyState;

/// The listeners are up: the server serves.
pub fn ready() {
    send(&[NotifyState::Ready], "READY=1");
}

/// A reload starts; [`ready`] ends it.
pub fn reloading() {
    // systemd wants the monotonic clock with RELOADING=1 (since v253).
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now], "RELOADING=1"),
        Err(_) => send(&[NotifyState::Reloading], "RELOADING=1"),
    }
}

/// Shutdown has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping], "STOPPING=1");
}

fn send(states: &[NotifyState], what: &str) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot tell the service manager {what}");
    }
}
