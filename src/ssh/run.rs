//! Runs one SSH channel's command: parses it (`verbs`) and hands each
//! verb to the file that carries it out (`run_session`: ls, capture,
//! send, kill, restart; `run_attach`: attach, watch; `run_new`,
//! `run_share`, `run_link`, `run_control`, `run_account`, `run_audit`,
//! `replay`; no command: `run_picker`), then turns its [`Outcome`] into
//! the exit status: 0 done, 1 refused or not found (one line on stderr),
//! 2 usage (SPEC §4).
//!
//! Must not carry out a verb itself: it only dispatches.

use std::sync::Arc;

use super::caller::{Caller, Outcome};
use super::channel::ChannelIo;
use super::replay;
use super::run_account;
use super::run_attach;
use super::run_audit;
use super::run_control;
use super::run_link;
use super::run_new;
use super::run_session;
use super::run_share;
use super::verbs::{self, Verb};
use crate::gateway::App;
use crate::store::Grant;

/// Runs a command line (or, for `None`, the shell request) and returns the
/// exit status for the channel.
pub async fn run_command(
    app: Arc<App>,
    caller: Caller,
    command: Option<String>,
    io: &mut ChannelIo,
) -> u32 {
    let Some(command) = command else {
        return match super::run_picker::run(&app, &caller, io).await {
            Outcome::Done => 0,
            _ => 1,
        };
    };
    let verb = verbs::parse(&command);
    let outcome = match verb {
        Ok(verb) => run_verb(&app, &caller, verb, io).await,
        Err(error) => Outcome::Usage(error.message()),
    };
    match outcome {
        Outcome::Done => 0,
        Outcome::Refused(message) => {
            let _ = io.err(&format!("{}\n", message.trim_end())).await;
            1
        }
        Outcome::Usage(message) => {
            let _ = io.err(&message).await;
            2
        }
    }
}

async fn run_verb(app: &App, caller: &Caller, verb: Verb, io: &mut ChannelIo) -> Outcome {
    let interactive = matches!(
        verb,
        Verb::Attach { .. } | Verb::Watch { .. } | Verb::New { .. } | Verb::Replay { .. }
    );
    if !interactive {
        io.ignore_input();
    }
    match verb {
        Verb::Help => {
            // A client that left before reading its help needs nothing more.
            let _ = io.out(&verbs::help_text()).await;
            Outcome::Done
        }
        Verb::Whoami => run_account::whoami(caller, io).await,
        Verb::Keys { action } => run_account::keys(app, caller, action, io).await,
        Verb::Ls { json } => run_session::list(app, caller, json, io).await,
        Verb::New {
            name,
            detached,
            attach_existing,
            dir,
            preset,
            command,
        } => {
            let request = run_new::NewRequest {
                name,
                detached,
                attach_existing,
                dir,
                preset,
                command,
            };
            run_new::new_session(app, caller, request, io).await
        }
        Verb::Attach { name } => run_attach::attach_verb(app, caller, &name, false, io).await,
        Verb::Watch { name } => run_attach::attach_verb(app, caller, &name, true, io).await,
        Verb::Capture {
            name,
            ansi,
            scrollback,
        } => run_session::capture(app, caller, &name, ansi, scrollback, io).await,
        Verb::Send { name, text } => run_session::send(app, caller, &name, &text).await,
        Verb::Kill { name } => run_session::kill(app, caller, &name).await,
        Verb::Restart { name } => run_session::restart(app, caller, &name).await,
        Verb::Pause { name } => run_control::pause(app, caller, &name, true).await,
        Verb::Resume { name } => run_control::pause(app, caller, &name, false).await,
        Verb::Signal { name, signal } => run_control::signal(app, caller, &name, signal).await,
        Verb::Notify { name, text } => run_control::notify(app, caller, &name, &text).await,
        Verb::Ack { name } => run_control::ack(app, caller, &name).await,
        Verb::Share { name, user, write } => {
            let grant = if write { Grant::Write } else { Grant::Read };
            run_share::share(app, caller, &name, &user, Some(grant), io).await
        }
        Verb::Unshare { name, user } => run_share::share(app, caller, &name, &user, None, io).await,
        Verb::Link {
            name,
            guest,
            ttl,
            list,
            revoke,
        } => {
            let request = run_link::LinkRequest {
                name,
                guest,
                ttl,
                list,
                revoke,
            };
            run_link::link(app, caller, request, io).await
        }
        Verb::Token { action } => run_link::token(app, caller, action, io).await,
        Verb::Replay { name } => replay::replay(app, caller, &name, io).await,
        Verb::Audit { name, json, limit } => {
            run_audit::audit(app, caller, name.as_deref(), json, limit, io).await
        }
    }
}
