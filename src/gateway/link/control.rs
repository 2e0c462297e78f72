//! Pause, resume and signal while a host runs the session: checked
//! against the status the host last reported, then passed on to the host,
//! which stops, continues or signals the program's process group.
//!
//! Must not wait on the host: requests go out with `try_send`, and the
//! host's next status confirms what the link shows at once.

use super::Host;
use crate::engine::Changes;
use crate::wire::control::ControlError;
use crate::wire::protocol::ToHost;

impl Host {
    /// Whether the program runs here and its host can be asked to pause
    /// it (a host of a build before pausing reports no `paused`).
    fn controllable(&self) -> Result<bool, ControlError> {
        if !self.status.running || self.carrying_off {
            return Err(ControlError::Exited);
        }
        self.status.paused.ok_or(ControlError::OldHost)
    }

    /// Stops (`paused`) or continues the program; shown at once.
    pub(super) fn pause(&mut self, paused: bool, changes: &Changes) -> Result<(), ControlError> {
        match self.controllable()? {
            true if paused => return Err(ControlError::AlreadyPaused),
            false if !paused => return Err(ControlError::NotPaused),
            _ => {}
        }
        if !self.send(ToHost::Pause { paused }) {
            return Err(ControlError::Failed(
                "the session host is not reading".into(),
            ));
        }
        self.status.paused = Some(paused);
        changes.notify();
        Ok(())
    }

    /// Sends `signal` to the program's process group.
    pub(super) fn signal(&mut self, signal: nix::sys::signal::Signal) -> Result<(), ControlError> {
        self.controllable()?;
        if !self.send(ToHost::Signal {
            signal: signal as i32,
        }) {
            return Err(ControlError::Failed(
                "the session host is not reading".into(),
            ));
        }
        Ok(())
    }
}
