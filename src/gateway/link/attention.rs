//! What a link does when its session's attention changes in the status
//! its host reports: audits the raise (with its message) and the clear
//! (by whom, and how), and tells the gateway's attention stream of each
//! start. Also `notify` and `ack` while a host runs the session.
//!
//! Must not decide when a session wants attention: the hub does, in the
//! session host; the link reads the outcome.

use super::Host;
use super::host::Pending;
use crate::audit::{AuditEvent, Auditor};
use crate::engine::hub_task::HubIdentity;
use crate::gateway::attention::{AttentionEvents, AttentionRaised};
use crate::wire::HubStatus;
use crate::wire::control::ControlError;
use crate::wire::protocol::ToHost;

/// Audits and tells what changed between two statuses of one session.
pub(super) fn attention_changed(
    identity: &HubIdentity,
    (audit, events): (&Auditor, &AttentionEvents),
    before: &HubStatus,
    after: &HubStatus,
) {
    let label = &identity.label;
    if after.attention_raised > before.attention_raised {
        let message = after.attention_message.clone();
        let detail = message.clone().unwrap_or_else(|| "bell".into());
        audit.record_now(
            AuditEvent::new(None, "attention")
                .session(label.clone())
                .detail(detail),
        );
        let (owner, name) = label.split_once('/').unwrap_or(("", label));
        events.publish(AttentionRaised {
            session: identity.id,
            owner: owner.to_string(),
            name: name.to_string(),
            message,
            since: after.attention_since.unwrap_or_else(crate::clock::unix_now),
        });
    }
    let cleared = before.attention_since.is_some() && after.attention_since.is_none()
        || after.attention_raised > before.attention_raised && after.attention_since.is_none();
    if let (true, Some(how)) = (cleared, &after.attention_cleared) {
        audit.record_now(
            AuditEvent::new(how.user(), "ack")
                .session(label.clone())
                .detail(how.how()),
        );
    }
}

impl Host {
    /// Whether the host runs the program and takes `Notify` and `Ack`.
    fn takes_attention(&self) -> Result<(), ControlError> {
        if !self.status.running || self.carrying_off {
            return Err(ControlError::Exited);
        }
        if !self.status.attention_commands {
            return Err(ControlError::OldHost);
        }
        Ok(())
    }

    /// `notify`: answered once the host's status shows the mark.
    pub(super) fn notify(
        &mut self,
        message: String,
        reply: tokio::sync::oneshot::Sender<Result<(), ControlError>>,
    ) {
        if let Err(error) = self.takes_attention() {
            let _ = reply.send(Err(error));
            return;
        }
        self.request(Pending::Controlled(reply), |request| ToHost::Notify {
            request,
            message,
        });
    }

    /// `ack`: answered once the host's status shows the mark cleared;
    /// nothing to do where the program has ended (that cleared it).
    pub(super) fn ack(
        &mut self,
        user: String,
        reply: tokio::sync::oneshot::Sender<Result<(), ControlError>>,
    ) {
        match self.takes_attention() {
            Ok(()) => self.request(Pending::Controlled(reply), |request| ToHost::Ack {
                request,
                user,
            }),
            Err(ControlError::Exited) => {
                let _ = reply.send(Ok(()));
            }
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}
