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
pub const OUTPUT_BYTES: &str = "foyer_output_bytes_total";
/// Bytes clients typed, by `transport`.
pub const INPUT_BYTES: &str = "foyer_input_bytes_total";
/// Clients switched to screen sync because they fell behind.
pub const SCREEN_SYNC_SWITCHES: &str = "foyer_clients_screen_sync_total";
/// Seconds from an attach request to the restored screen being sent, by
/// `transport`.
pub const ATTACH_SECONDS: &str = "foyer_attach_duration_seconds";
/// WebSocket connections accepted.
pub const WEBSOCKET_CONNECTIONS: &str = "foyer_websocket_connections_total";
/// Docker containers started.
pub const CONTAINER_STARTS: &str = "foyer_container_starts_total";
/// Sessions whose container or exec could not start.
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
/// 1, with the running build's `version`.
pub const BUILD_INFO: &str = "foyer_build_info";

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
        record_build_info();
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

/// The `# HELP` line (and unit) of every metric: Prometheus conventions
/// want one per family, and `promtool check metrics` checks it.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        SSH_CONNECTIONS,
        Unit::Count,
        "TCP connections accepted by the SSH listener."
    );
    describe_gauge!(
        SSH_CONNECTIONS_OPEN,
        Unit::Count,
        "SSH connections open now."
    );
    describe_counter!(
        SSH_HANDSHAKES,
        Unit::Count,
        "SSH sign-ins that completed with a known key or certificate."
    );
    describe_counter!(
        AUTH_FAILURES,
        Unit::Count,
        "Refused sign-ins and connections, by reason."
    );
    describe_gauge!(
        SESSIONS,
        Unit::Count,
        "Sessions by state (running, exited), read when scraped."
    );
    describe_gauge!(
        CLIENTS,
        Unit::Count,
        "Clients attached now, by role (writer, observer) and transport (ssh, websocket)."
    );
    describe_counter!(
        OUTPUT_BYTES,
        Unit::Bytes,
        "Terminal bytes sent to clients, by transport."
    );
    describe_counter!(
        INPUT_BYTES,
        Unit::Bytes,
        "Bytes clients typed, by transport."
    );
    describe_counter!(
        SCREEN_SYNC_SWITCHES,
        Unit::Count,
        "Times a client fell behind and was switched to screen sync."
    );
    describe_histogram!(
        ATTACH_SECONDS,
        Unit::Seconds,
        "Seconds from an attach request to the restored screen being sent, by transport."
    );
    describe_more();
}

/// The rest of [`describe`]: WebSockets, containers, recordings, the
/// webhook and the build.
fn describe_more() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(
        WEBSOCKET_CONNECTIONS,
        Unit::Count,
        "WebSocket connections accepted."
    );
    describe_counter!(
        CONTAINER_STARTS,
        Unit::Count,
        "User containers started (Docker runtime)."
    );
    describe_counter!(
        CONTAINER_FAILURES,
        Unit::Count,
        "Sessions whose container or exec could not start."
    );
    describe_counter!(
        RECORDING_FAILURES,
        Unit::Count,
        "Recordings stopped by a write error."
    );
    describe_counter!(
        WEBHOOK_POSTS,
        Unit::Count,
        "Attention webhook notices the endpoint accepted (2xx)."
    );
    describe_counter!(
        WEBHOOK_FAILURES,
        Unit::Count,
        "Attention webhook POST attempts that failed, by reason; each retry counts."
    );
    describe_counter!(
        WEBHOOK_DROPPED,
        Unit::Count,
        "Attention webhook notices never delivered, by reason (retries, full)."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label names the running build."
    );
}

/// Sets `foyer_build_info{version}` to 1.
fn record_build_info() {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The label value of a role.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Writer => "writer",
        Role::Observer => "observer",
    }
}
