//! The `/metrics` route, on the web listener and on a listener of its own
//! (`metrics.listen`): renders the recorder, after setting the
//! sessions-by-state gauge from the registry.
//!
//! Must not count anything itself beyond that gauge.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::gateway::App;
use crate::metrics::{Metrics, SESSIONS};

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
