//! Metric names in one place and the Prometheus recorder. Code that
//! counts something uses the `metrics` macros with a name from here;
//! `docs/metrics.md` lists them with their labels. The `/metrics` route
//! is the web front end's (`web::metrics_route`).
//!
//! Must not keep state of its own beyond the recorder, or import a layer
//! above the leaves.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::wire::Role;

/// TCP connections accepted by the SSH listener.
pub const SSH_CONNECTIONS: &str = "foyer_ssh_connections_total";
/// SSH connections open now.
pub const SSH_CONNECTIONS_OPEN: &str = "foyer_ssh_connections_open";
/// SSH sign-ins that succeeded (the handshake completed with a known key).
pub const SSH_HANDSHAKES: &str = "foyer_ssh_handshakes_total";
/// Refused sign-ins, by `reason`.
pub const AUTH_FAILURES: &str = "foyer_auth_failures_total";
/// Sessions by `state` (`running`, `exited`), read when scraped.
pub const SESSIONS: &str = "foyer_sessions";
/// Attached clients by `role` (`writer`, `observer`) and `transport`.
pub const CLIENTS: &str = "foyer_clients";
/// Terminal bytes sent to clients, by `transport`.
pub const BYTES_OUT: &str = "foyer_bytes_out_total";
/// Bytes clients typed, by `transport`.
pub const BYTES_IN: &str = "foyer_bytes_in_total";
/// Clients switched to screen sync because they fell behind.
pub const SCREEN_SYNC_SWITCHES: &str = "foyer_clients_screen_sync_total";
/// Seconds from an attach request to the restored screen being sent, by
/// `transport`.
pub const ATTACH_SECONDS: &str = "foyer_attach_seconds";
/// WebSocket connections accepted.
pub const WEBSOCKET_CONNECTIONS: &str = "foyer_websocket_connections_total";
/// Docker containers started, and starts or execs that failed.
pub const CONTAINER_STARTS: &str = "foyer_container_starts_total";
pub const CONTAINER_FAILURES: &str = "foyer_container_failures_total";
/// Recordings stopped by a write error (a full disk, for example).
pub const RECORDING_FAILURES: &str = "foyer_recording_failures_total";
/// Attention webhook notices the endpoint accepted (a 2xx answer).
pub const WEBHOOK_POSTS: &str = "foyer_webhook_posts_total";
/// Attention webhook POST attempts that failed, by `reason` (`connect`,
/// `tls`, `http`, `timeout`, `status`); each retry counts.
pub const WEBHOOK_FAILURES: &str = "foyer_webhook_failures_total";
/// Attention webhook notices never delivered, by `reason`: `retries` (every
/// attempt failed for a minute), `full` (too many sessions waiting).
pub const WEBHOOK_DROPPED: &str = "foyer_webhook_dropped_total";

/// Buckets of the attach latency histogram, in seconds.
const ATTACH_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// How often histograms are compacted.
const UPKEEP: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("cannot set up metrics: {0}")]
pub struct MetricsError(String);

/// Renders the process's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the process-wide recorder. Call once, in the server.
    pub fn install() -> Result<Metrics, MetricsError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(ATTACH_SECONDS.into()),
                ATTACH_BUCKETS,
            )
            .map_err(|e| MetricsError(e.to_string()))?
            .install_recorder()
            .map_err(|e| MetricsError(e.to_string()))?;
        describe();
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Metrics { handle })
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// `# HELP` lines for the metrics that have one.
fn describe() {
    metrics::describe_counter!(
        WEBHOOK_POSTS,
        "Attention webhook notices the endpoint accepted (2xx)."
    );
    metrics::describe_counter!(
        WEBHOOK_FAILURES,
        "Attention webhook POST attempts that failed, by reason; each retry counts."
    );
    metrics::describe_counter!(
        WEBHOOK_DROPPED,
        "Attention webhook notices never delivered, by reason (retries, full)."
    );
}

/// The label value of a role.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Writer => "writer",
        Role::Observer => "observer",
    }
}
