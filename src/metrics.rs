//! Metric names in one place, the Prometheus recorder, and the `/metrics`
//! route (on its own listener with `metrics.listen`, and on the web
//! listener). Code that counts something uses the `metrics` macros with a
//! name from here; `docs/metrics.md` lists them with their labels.
//!
//! Must not keep state of its own beyond the recorder: gauges that
//! describe sessions are read from the registry when scraped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::App;
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

    fn render(&self) -> String {
        self.handle.render()
    }
}

/// The label value of a role.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Writer => "writer",
        Role::Observer => "observer",
    }
}

/// The `/metrics` route, for the web listener or a listener of its own.
pub fn router(app: Arc<App>, metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((app, metrics))
}

async fn scrape(State((app, metrics)): State<(Arc<App>, Metrics)>) -> impl IntoResponse {
    count_sessions(&app).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
}

/// Sets the sessions-by-state gauge from the registry.
async fn count_sessions(app: &App) {
    let (mut running, mut exited) = (0.0, 0.0);
    for entry in app.registry.list().await {
        match entry.link.status().await {
            Ok(status) if status.running => running += 1.0,
            Ok(_) => exited += 1.0,
            Err(_) => {}
        }
    }
    metrics::gauge!(SESSIONS, "state" => "running").set(running);
    metrics::gauge!(SESSIONS, "state" => "exited").set(exited);
}

/// Serves `/metrics` on `address` until the server stops.
pub async fn serve(
    address: SocketAddr,
    app: Arc<App>,
    metrics: Metrics,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(app, metrics)).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok((bound, task))
}
