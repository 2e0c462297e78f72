//! The SSH front end (russh): accepts connections, authenticates keys,
//! and runs one verb per session channel (an exec command, or the default
//! for a shell request).
//!
//! `handler` turns russh callbacks into events for a channel's task;
//! `channel` is that task's I/O; `verbs` parses command lines; `run`
//! carries verbs out; `attach` is the attached-client loop. Must not reach
//! into a session's state except through its hub.

mod attach;
mod channel;
mod handler;
pub mod hostkey;
mod replay;
mod run;
mod run_account;
mod run_audit;
mod run_link;
mod run_new;
mod run_picker;
mod run_share;
pub mod verbs;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::PrivateKey;
use russh::{MethodKind, MethodSet, Preferred, cipher, kex, mac};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;

/// Time an unauthenticated connection may take to sign in.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);

/// Only modern algorithms: no SHA-1, no CBC, no plain ssh-rsa signatures.
fn preferred() -> Preferred {
    use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
    Preferred {
        kex: std::borrow::Cow::Borrowed(&[
            kex::MLKEM768X25519_SHA256,
            kex::CURVE25519,
            kex::CURVE25519_PRE_RFC_8731,
            kex::EXTENSION_SUPPORT_AS_SERVER,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
        ]),
        key: std::borrow::Cow::Owned(vec![
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521,
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ]),
        cipher: std::borrow::Cow::Borrowed(&[
            cipher::CHACHA20_POLY1305,
            cipher::AES_256_GCM,
            cipher::AES_128_GCM,
        ]),
        mac: std::borrow::Cow::Borrowed(&[mac::HMAC_SHA512_ETM, mac::HMAC_SHA256_ETM]),
        ..Preferred::default()
    }
}

pub fn russh_config(host_key: PrivateKey) -> russh::server::Config {
    russh::server::Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        preferred: preferred(),
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        nodelay: true,
        max_auth_attempts: 6,
        ..Default::default()
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: wait, don't spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        metrics::counter!(crate::metrics::SSH_CONNECTIONS).increment(1);
        tokio::spawn(serve_connection(stream, peer, config.clone(), app.clone()));
    }
}

/// Counts an open SSH connection for as long as it lives.
struct OpenConnection;

impl OpenConnection {
    fn new() -> Self {
        metrics::gauge!(crate::metrics::SSH_CONNECTIONS_OPEN).increment(1.0);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::SSH_CONNECTIONS_OPEN).decrement(1.0);
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    config: Arc<russh::server::Config>,
    app: Arc<App>,
) {
    let _open = OpenConnection::new();
    let (handler, signed_in) = handler::ConnectionHandler::new(app, peer);
    let session = match russh::server::run_stream(config, stream, handler).await {
        Ok(session) => session,
        Err(error) => {
            tracing::debug!(%peer, %error, "SSH handshake failed");
            return;
        }
    };
    let handle = session.handle();
    // Unauthenticated connections get a deadline; after sign-in none.
    let deadline = tokio::spawn(async move {
        if tokio::time::timeout(AUTH_TIMEOUT, signed_in).await.is_err() {
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    "sign-in took too long".into(),
                    "en".into(),
                )
                .await;
        }
    });
    if let Err(error) = session.await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
    deadline.abort();
}
