//! Short commands as a user's account on the swarm (the file view and
//! uploads): an exec cannot cross nodes, so the command goes to the
//! user's host task over its owner route (mutual TLS), which runs it
//! where that user's programs run and answers what it left.
//!
//! Must not start a host for it: a command needs a session running.

use std::time::Duration;

use super::SwarmRuntime;
use crate::runtime::Owner;
use crate::runtime::as_user::RunAsError;
use crate::runtime::user_command::{UserCommand, UserOutput};
use crate::transport::Route;
use crate::wire::launch::{RunCommand, RunReply};
use crate::wire::protocol::{self, Hello, Open, ProtocolError};

/// Extra time the answer may take beyond the command's own timeout.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

impl SwarmRuntime {
    /// Runs `command` in `owner`'s host task.
    pub async fn run_as(
        &self,
        owner: &Owner,
        command: UserCommand,
    ) -> Result<UserOutput, RunAsError> {
        let unavailable = |why: String| RunAsError::OnSwarm(why);
        let task = self
            .running_host(owner)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .ok_or_else(|| {
                unavailable(format!(
                    "no session of {} runs on the swarm just now",
                    owner.name
                ))
            })?;
        let timeout = command.timeout + ANSWER_MARGIN;
        let request = RunCommand {
            argv: command.argv,
            stdin: command.stdin.to_vec(),
            output_limit: command.output_limit as u64,
            timeout_ms: command.timeout.as_millis() as u64,
        };
        let address = self.address(&task.address, Route::Owner);
        let asked = async {
            let (read, write) = address.connect().await?.into_split();
            let (mut reader, mut writer) = (protocol::reader(read), protocol::writer(write));
            let _: Hello = protocol::receive(&mut reader).await?;
            protocol::send(&mut writer, &Open::Run(Box::new(request))).await?;
            protocol::receive::<RunReply, _>(&mut reader).await
        };
        let reply = tokio::time::timeout(timeout, asked)
            .await
            .map_err(|_| RunAsError::TimedOut(timeout))?
            .map_err(|e: ProtocolError| {
                unavailable(format!("the session host task did not answer: {e}"))
            })?;
        match reply {
            RunReply::Done {
                status,
                stdout,
                truncated,
                stderr,
            } => Ok(UserOutput {
                status,
                stdout,
                truncated,
                stderr,
            }),
            RunReply::Failed(why) => Err(unavailable(why)),
        }
    }
}
