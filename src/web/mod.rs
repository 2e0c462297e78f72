//! The browser front end (axum over hyper): the pages, the WebSocket
//! bridge to a session's hub, the JSON API, sign-in by link and guest
//! links, static assets built into the binary, `/metrics` (from
//! `crate::metrics`), and the listener itself (plain HTTP, or HTTPS with
//! `web.tls_cert`/`web.tls_key`).
//!
//! `auth` says who a request is; `pages` serves HTML, sign-in and guest
//! links; `bridge` is the WebSocket client of a hub; `api` the JSON API; `events` its Server-Sent
//! Events;
//! `security` the headers and the origin check; `assets` the embedded
//! files. Must not reach into a session's state except through its hub
//! and the registry, and must not decide access (`gateway::access` does).

mod api;
mod api_caller;
mod api_files;
mod api_share;
mod assets;
mod auth;
mod bridge;
mod dashboard;
mod error;
mod events;
mod html;
pub mod metrics_route;
mod pages;
/// Public for the fuzz target `websocket` (fuzz/, docs/reliability.md).
#[doc(hidden)]
pub mod protocol;
mod security;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::gateway::App;
use crate::metrics::Metrics;

pub use tls::{TlsError, load_tls};

/// Longest a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// How often expired tokens are deleted from the database.
const TOKEN_SWEEP: Duration = Duration::from_secs(3600);

/// Every route of the web front end, with `/metrics`.
pub fn router(app: Arc<App>, metrics: Metrics) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/healthz", get(pages::healthz))
        .route("/login", get(pages::login))
        .route("/logout", post(pages::logout))
        .route("/g/{token}", get(pages::guest))
        .route("/s/{owner}/{name}", get(pages::terminal))
        .route("/assets/{file}", get(assets::serve))
        .route("/ws/{owner}/{name}", get(bridge::upgrade))
        .nest("/api", api::routes())
        .fallback(pages::not_found)
        .with_state(app.clone())
        .merge(metrics_route::router(app.clone(), metrics))
        .layer(axum::middleware::from_fn_with_state(app, security::headers))
}

/// Accepts connections until `shutdown` turns true; with `tls`, each
/// connection is an HTTPS one.
pub async fn serve(
    listener: TcpListener,
    tls: watch::Receiver<Option<TlsAcceptor>>,
    app: Arc<App>,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = router(app.clone(), metrics);
    let sweeper = tokio::spawn(sweep_tokens(app));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "web accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Every line logged for this connection names its address.
        let span = tracing::info_span!("http", %peer);
        // The certificate as last (re)loaded: a reload reaches the next
        // connection, and open ones keep theirs.
        let acceptor = tls.borrow().clone();
        tokio::spawn(serve_connection(stream, peer, acceptor, router.clone()).instrument(span));
    }
    sweeper.abort();
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
) {
    let Some(tls) = tls else {
        serve_http(TokioIo::new(stream), peer, router).await;
        return;
    };
    match tokio::time::timeout(TLS_HANDSHAKE, tls.accept(stream)).await {
        Ok(Ok(stream)) => serve_http(TokioIo::new(stream), peer, router).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

async fn serve_http<I>(io: TokioIo<I>, peer: SocketAddr, router: Router)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Handlers see the peer as `ConnectInfo<SocketAddr>` (for logs and audit).
    let with_peer = tower::ServiceExt::map_request(
        router,
        move |mut request: hyper::Request<hyper::body::Incoming>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            request
        },
    );
    let service = TowerToHyperService::new(with_peer);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(io, service)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
    }
}

/// Deletes long-expired tokens now and then, so the table stays small.
async fn sweep_tokens(app: Arc<App>) {
    let mut every = tokio::time::interval(TOKEN_SWEEP);
    loop {
        every.tick().await;
        if let Err(error) = app
            .store
            .delete_expired_tokens(crate::clock::unix_now())
            .await
        {
            tracing::warn!(%error, "cannot delete expired tokens");
        }
    }
}
