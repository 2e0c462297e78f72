//! The attention webhook (SPEC section 11, "Webhooks"; docs/attention.md):
//! with `notify.webhook_url` set, each time a session starts wanting
//! attention foyer POSTs it as JSON to that URL, at most once per session
//! per `notify.webhook_min_interval` (a notice that comes inside the
//! interval waits for its end, and only the latest one waiting is sent),
//! retried with backoff for up to a minute.
//!
//! Owns the sender's tasks: the scheduler (`schedule`: pacing and the
//! bounded state), one delivery task per notice on its way (`deliver`:
//! retries, logs, counters), one HTTP exchange per attempt (`http`) and
//! the JSON (`payload`). It must not delay anything else: it only reads
//! the attention broadcast, holds a bounded amount of state and sends from
//! its own tasks, and nothing an endpoint answers can panic it. It must
//! not import the other transports (`ssh`, `web`).

mod deliver;
mod http;
mod payload;
mod schedule;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::gateway::App;
use crate::gateway::attention::AttentionRaised;

pub use http::EndpointError;

/// How the sender paces, waits and retries, and how much it holds.
/// `Tuning::new` is what `serve` uses; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// At most one POST per session in this long
    /// (`notify.webhook_min_interval`).
    pub min_interval: Duration,
    /// One attempt (connect, TLS, request, the answer's head) gives up
    /// after this long.
    pub attempt_timeout: Duration,
    /// The wait before the first retry; it doubles after each.
    pub first_retry: Duration,
    /// No attempt starts later than this after a notice's first.
    pub retry_for: Duration,
    /// Notices on their way at once (each its own task and connection).
    pub max_sending: usize,
    /// Sessions the scheduler keeps track of at once (sending, waiting
    /// for their interval to end, or with a notice waiting); a notice of
    /// one more session is dropped, logged and counted.
    pub max_sessions: usize,
}

impl Tuning {
    /// The server's settings: 10 s per attempt, retries after 1 s, 2 s,
    /// 4 s … for up to a minute, 16 notices on their way, 1000 sessions.
    pub fn new(min_interval: Duration) -> Tuning {
        Tuning {
            min_interval,
            attempt_timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(1),
            retry_for: Duration::from_secs(60),
            max_sending: 16,
            max_sessions: 1000,
        }
    }
}

/// Starts the webhook sender when `notify.webhook_url` is set: its task,
/// which ends when the attention broadcast does.
pub fn start(app: &App) -> Result<Option<JoinHandle<()>>, EndpointError> {
    let Some(url) = &app.config.notify.webhook_url else {
        return Ok(None);
    };
    let tuning = Tuning::new(app.config.notify.webhook_min_interval);
    let public_url = app.config.web.public_url.clone();
    spawn(url, public_url, tuning, app.attention.subscribe()).map(Some)
}

/// Starts a sender POSTing to `url` the events `events` receives, with
/// session pages under `public_url`.
pub fn spawn(
    url: &str,
    public_url: String,
    tuning: Tuning,
    events: broadcast::Receiver<AttentionRaised>,
) -> Result<JoinHandle<()>, EndpointError> {
    let endpoint = http::Endpoint::new(url)?;
    Ok(start_with(endpoint, public_url, tuning, events))
}

fn start_with(
    endpoint: http::Endpoint,
    public_url: String,
    tuning: Tuning,
    events: broadcast::Receiver<AttentionRaised>,
) -> JoinHandle<()> {
    tracing::info!(endpoint = endpoint.redacted(), "attention webhook on");
    let scheduler = schedule::Scheduler::new(endpoint, public_url, tuning);
    tokio::spawn(scheduler.run(events))
}
