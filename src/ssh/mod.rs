//! The SSH front end (russh): accepts connections, authenticates keys,
//! and runs one verb per session channel (an exec command, or the default
//! for a shell request).
//!
//! `serve` is the accept loop, which alone owns the failed-sign-in
//! `limiter` and gives each unauthenticated connection `ssh.idle_timeout`;
//! `signin` decides who a connection is (keys, `certauth` certificates);
//! `handler` turns russh callbacks into events for a channel's task;
//! `channel` is that task's I/O; `verbs` parses command lines (with
//! `verb_args`, `verb_help`, `verb_escapes`); `run`
//! carries verbs out; `attach` is the attached-client loop. Must not reach
//! into a session's state except through its hub.

mod attach;
mod caller;
mod certauth;
mod channel;
mod closable;
mod handler;
pub mod hostkey;
mod limiter;
pub mod prefix;
mod quick_ack;
/// Public for the fuzz target `asciicast` (fuzz/, docs/reliability.md).
#[doc(hidden)]
pub mod replay;
mod run;
mod run_account;
mod run_attach;
mod run_audit;
mod run_control;
mod run_link;
mod run_new;
mod run_picker;
mod run_session;
mod run_share;
mod signin;
mod verb_args;
mod verb_escapes;
mod verb_help;
pub mod verbs;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use russh::keys::PrivateKey;
use russh::{MethodKind, MethodSet, Preferred, cipher, kex, mac};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::audit::AuditEvent;
use crate::config::KexAlgorithm;
use crate::gateway::App;
use certauth::TrustedCas;
use closable::Closable;
use limiter::{FailureLimiter, Verdict};
use signin::Gate;

/// russh's name for a key exchange method.
fn kex_name(algorithm: KexAlgorithm) -> kex::Name {
    match algorithm {
        KexAlgorithm::Mlkem768x25519Sha256 => kex::MLKEM768X25519_SHA256,
        KexAlgorithm::Curve25519Sha256 => kex::CURVE25519,
        KexAlgorithm::Curve25519Sha256Libssh => kex::CURVE25519_PRE_RFC_8731,
    }
}

/// The key exchange methods of `ssh.kex` in its order, then the
/// extension markers (ext-info, strict kex), which are not methods.
fn kex_offer(algorithms: &[KexAlgorithm]) -> Vec<kex::Name> {
    let mut names: Vec<kex::Name> = algorithms.iter().copied().map(kex_name).collect();
    names.extend([
        kex::EXTENSION_SUPPORT_AS_SERVER,
        kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
    ]);
    names
}

/// Only modern algorithms: no SHA-1, no CBC, no plain ssh-rsa signatures;
/// the key exchanges of `ssh.kex`.
fn preferred(kex: &[KexAlgorithm]) -> Preferred {
    use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
    Preferred {
        kex: std::borrow::Cow::Owned(kex_offer(kex)),
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

pub fn russh_config(host_key: PrivateKey, kex: &[KexAlgorithm]) -> russh::server::Config {
    russh::server::Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        preferred: preferred(kex),
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        nodelay: true,
        max_auth_attempts: 6,
        ..Default::default()
    }
}

/// Failure reports waiting for the accept loop.
const FAILURE_REPORTS: usize = 1024;
/// How long a refused connection may take to read why.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);
/// How long a client timed out before signing in gets to read why.
const DISCONNECT_GRACE: Duration = Duration::from_secs(1);
/// How long a cut connection's session may take to end.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` turns true. The loop alone owns
/// the failed-sign-in limiter: connections report failures to it through
/// a channel, and it decides each new connection's fate.
pub async fn serve(
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (failures, mut failed) = mpsc::channel(FAILURE_REPORTS);
    let mut live = app.live.clone();
    let settings = live.borrow_and_update().clone();
    let mut gate = Arc::new(Gate {
        cas: TrustedCas::from_lines(&settings.trusted_user_ca_keys),
        failures: failures.clone(),
    });
    let mut limiter = FailureLimiter::new(settings.max_failures_per_minute);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(ip) = failed.recv() => {
                note_failure(&mut limiter, ip, &app);
                continue;
            }
            Ok(()) = live.changed() => {
                // A reload: connections from now on sign in against the
                // new CAs; those signed in stay.
                let settings = live.borrow_and_update().clone();
                gate = Arc::new(Gate {
                    cas: TrustedCas::from_lines(&settings.trusted_user_ca_keys),
                    failures: failures.clone(),
                });
                limiter.set_limit(settings.max_failures_per_minute);
                continue;
            }
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
        metrics::counter!(crate::metrics::SSH_CONNECTIONS).increment(1);
        let Some(delay) = admit(&mut limiter, peer) else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            peer,
            delay,
            config: config.clone(),
            app: app.clone(),
            gate: gate.clone(),
        };
        tokio::spawn(connection.serve(stream));
    }
}

/// How long a new connection from `peer` waits before it is served, or
/// None when its address is refused for now.
fn admit(limiter: &mut FailureLimiter, peer: SocketAddr) -> Option<Duration> {
    match limiter.check(peer.ip(), Instant::now().into_std()) {
        Verdict::Allow => Some(Duration::ZERO),
        Verdict::Slow(delay) => {
            tracing::debug!(%peer, ?delay, "connection slowed: recent failed sign-ins");
            Some(delay)
        }
        Verdict::Refuse(left) => {
            tracing::debug!(%peer, ?left, "connection refused: too many failed sign-ins");
            metrics::counter!(crate::metrics::AUTH_FAILURES, "reason" => "rate_limited")
                .increment(1);
            None
        }
    }
}

/// Counts a failed sign-in; logs and audits an address going over the limit.
fn note_failure(limiter: &mut FailureLimiter, ip: IpAddr, app: &App) {
    let Some(blocked) = limiter.record_failure(ip, Instant::now().into_std()) else {
        return;
    };
    let duration = humantime::format_duration(blocked.duration);
    tracing::warn!(
        source = %blocked.source, limit = blocked.limit, %duration,
        "too many failed sign-ins: address refused for a while"
    );
    let event = AuditEvent::new(None, "sign-in-blocked").detail(format!(
        "{} refused for {duration}: {} failed sign-ins within a minute",
        blocked.source, blocked.limit
    ));
    app.audit.record_now(event);
}

/// Closes a connection from an address over the failure limit, with a
/// line (allowed before the SSH version, RFC 4253 §4.2) that says why.
/// What the client sent is read first (a little, briefly), so the close
/// is a clean end of stream rather than a reset.
async fn refuse(mut stream: TcpStream) {
    let line = b"foyer: too many failed sign-ins from this address; try again later\r\n";
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        stream.write_all(line).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        for _ in 0..4 {
            if stream.read(&mut sink).await? == 0 {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
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

/// One accepted connection, before its SSH session starts.
struct Connection {
    peer: SocketAddr,
    /// Imposed by the failure limiter before anything is sent.
    delay: Duration,
    config: Arc<russh::server::Config>,
    app: Arc<App>,
    gate: Arc<Gate>,
}

impl Connection {
    /// Runs the SSH session. Until it signs in, the connection has
    /// `ssh.idle_timeout` from now (banner, key exchange and sign-in
    /// included); after, no deadline.
    async fn serve(self, stream: TcpStream) {
        // Every line logged for this connection carries its peer, and once
        // signed in its user (channels add the session).
        let span = tracing::info_span!("ssh", peer = %self.peer, user = tracing::field::Empty);
        self.serve_in(stream, span.clone()).instrument(span).await;
    }

    async fn serve_in(self, stream: TcpStream, span: tracing::Span) {
        let _open = OpenConnection::new();
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let peer = self.peer;
        let idle = self.app.live.borrow().idle_timeout;
        let deadline = Instant::now() + idle;
        let (handler, signed_in) = handler::ConnectionHandler::new(self.app, self.gate, peer, span);
        let (stream, closer) = Closable::new(quick_ack::QuickAck::new(stream));
        let started = russh::server::run_stream(self.config, stream, handler);
        let mut session = match tokio::time::timeout_at(deadline, started).await {
            Ok(Ok(session)) => session,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "SSH handshake failed");
                return;
            }
            Err(_) => {
                // Dropping the handshake closes the socket.
                tracing::info!(%peer, ?idle, "connection closed: no SSH banner within ssh.idle_timeout");
                return;
            }
        };
        let timed_out = tokio::select! {
            result = &mut session => {
                log_end(peer, result);
                return;
            }
            waited = tokio::time::timeout_at(deadline, signed_in) => waited.is_err(),
        };
        if !timed_out {
            log_end(peer, session.await);
            return;
        }
        tracing::info!(%peer, ?idle, "connection closed: not signed in within ssh.idle_timeout");
        // Say why to a client that got as far as the key exchange, then
        // cut the socket whatever state the session is in.
        let handle = session.handle();
        let reason = "sign-in took too long".to_string();
        let disconnect = handle.disconnect(russh::Disconnect::ByApplication, reason, "en".into());
        let _ = tokio::time::timeout(DISCONNECT_GRACE, disconnect).await;
        if tokio::time::timeout(DISCONNECT_GRACE, &mut session)
            .await
            .is_err()
        {
            closer.close();
            let _ = tokio::time::timeout(CLOSE_GRACE, session).await;
        }
    }
}

fn log_end(peer: SocketAddr, result: Result<(), russh::Error>) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
