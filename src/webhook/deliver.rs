//! One notice on its way: POSTs it and, when an attempt fails (no
//! connection, no answer in time, an answer other than 2xx), tries again
//! after `first_retry`, then twice as long each time, as long as the next
//! attempt starts within `retry_for` of the first. Every failure is
//! logged (the session, the endpoint's scheme and host, the reason) and
//! counted; so is a delivery, and a notice given up.
//!
//! Must not pace notices or know other sessions (that is `schedule`); it
//! runs in a task of its own, so its waits delay nothing else.

use std::time::Instant;

use bytes::Bytes;

use super::Tuning;
use super::http::Endpoint;
use crate::metrics as metric;

/// Delivers `body` for the session `label` (`OWNER/NAME`), or gives up.
pub async fn deliver(endpoint: &Endpoint, tuning: &Tuning, label: &str, body: Bytes) {
    let started = Instant::now();
    let mut wait = tuning.first_retry;
    let mut attempt: u32 = 1;
    loop {
        let error = match endpoint.post(body.clone(), tuning.attempt_timeout).await {
            Ok(()) => {
                metrics::counter!(metric::WEBHOOK_POSTS).increment(1);
                tracing::debug!(session = label, attempt, "webhook notice delivered");
                return;
            }
            Err(error) => error,
        };
        metrics::counter!(metric::WEBHOOK_FAILURES, "reason" => error.reason()).increment(1);
        if started.elapsed() + wait > tuning.retry_for {
            metrics::counter!(metric::WEBHOOK_DROPPED, "reason" => "retries").increment(1);
            tracing::warn!(
                session = label,
                endpoint = endpoint.redacted(),
                attempt,
                %error,
                "webhook POST failed; giving this notice up"
            );
            return;
        }
        tracing::warn!(
            session = label,
            endpoint = endpoint.redacted(),
            attempt,
            %error,
            retry_in = ?wait,
            "webhook POST failed; retrying"
        );
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
        attempt += 1;
    }
}
