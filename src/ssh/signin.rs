//! Who a connection is (SPEC §2): a registered key, or an OpenSSH user
//! certificate from a trusted CA whose principal names a user (created on
//! first sign-in with `auth.auto_provision`). Every refusal is logged and
//! written to the audit log, with the reason; the client only ever sees
//! "refused". When the connection ends without signing in after trying,
//! it is reported once to the accept loop's failure limiter.
//!
//! Must not tell the client why it was refused, and must not keep any
//! state beyond this one connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use russh::keys::{Certificate, HashAlg, PublicKey};
use tokio::sync::mpsc;

use super::caller::Caller;
use super::certauth::{self, CertRefusal, TrustedCas};
use crate::audit::AuditEvent;
use crate::gateway::App;
use crate::metrics as metric;
use crate::store::{StoreError, User, valid_user_name};

/// What every connection of one server shares: the trusted CAs and the
/// way back to the failure limiter.
pub struct Gate {
    pub cas: TrustedCas,
    pub failures: mpsc::Sender<IpAddr>,
}

/// One connection's sign-in state.
pub struct SignIn {
    app: Arc<App>,
    gate: Arc<Gate>,
    peer: SocketAddr,
    /// The client asked to authenticate (the `ssh-userauth` service).
    attempted: bool,
    /// Refusals this module recorded.
    refused: u32,
    signed_in: bool,
}

impl SignIn {
    pub fn new(app: Arc<App>, gate: Arc<Gate>, peer: SocketAddr) -> SignIn {
        SignIn {
            app,
            gate,
            peer,
            attempted: false,
            refused: 0,
            signed_in: false,
        }
    }

    /// Notes that the client asked to authenticate.
    pub fn attempted(&mut self) {
        self.attempted = true;
    }

    /// Whether to let the client prove it holds `key` (RFC 4252 §7). A
    /// certificate's key arrives here too, and nothing tells it from a
    /// plain key: with trusted CAs every key may go on, and unknown plain
    /// keys are refused after their signature.
    pub async fn offer(&mut self, key: &PublicKey) -> bool {
        self.attempted = true;
        if self.user_of(key).await.is_some() || !self.gate.cas.is_empty() {
            return true;
        }
        self.refuse_unknown(key).await;
        false
    }

    /// A plain key whose signature verified.
    pub async fn key(&mut self, key: &PublicKey) -> Option<Caller> {
        self.attempted = true;
        let Some((user, fingerprint)) = self.user_of(key).await else {
            self.refuse_unknown(key).await;
            return None;
        };
        Some(self.accept(user, fingerprint, None).await)
    }

    /// A certificate whose signature and key ownership russh verified.
    pub async fn certificate(&mut self, cert: &Certificate) -> Option<Caller> {
        self.attempted = true;
        let checked = certauth::check(
            cert,
            &self.gate.cas,
            crate::clock::unix_now().max(0) as u64,
            self.peer.ip(),
        );
        let user = match checked {
            Ok(()) => self.user_for(cert).await,
            Err(refusal) => Err(refusal),
        };
        let user = match user {
            Ok(user) => user,
            Err(refusal) => {
                self.refuse_certificate(cert, &refusal).await;
                return None;
            }
        };
        let fingerprint = certauth::key_fingerprint(cert).to_string();
        let via = format!(
            "certificate \"{}\" from CA {}",
            certauth::shown(cert.key_id()),
            certauth::ca_fingerprint(cert)
        );
        Some(self.accept(user, fingerprint, Some(via)).await)
    }

    async fn user_of(&self, key: &PublicKey) -> Option<(User, String)> {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        match self.app.store.user_by_fingerprint(&fingerprint).await {
            Ok(Some(user)) => Some((user, fingerprint)),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, "key lookup failed");
                None
            }
        }
    }

    /// The user a certificate signs in: the first principal that names an
    /// existing user; else, with `auth.auto_provision`, the first principal
    /// that is a valid user name, created now.
    async fn user_for(&self, cert: &Certificate) -> Result<User, CertRefusal> {
        let names = || {
            cert.valid_principals()
                .iter()
                .map(String::as_str)
                .filter(|name| valid_user_name(name))
        };
        for name in names() {
            if let Some(user) = self.lookup(name).await? {
                return Ok(user);
            }
        }
        let wanted = names()
            .next()
            .filter(|_| self.app.config.auth.auto_provision);
        let Some(name) = wanted else {
            return Err(CertRefusal::NoUser(certauth::principals_shown(cert)));
        };
        self.provision(name, cert).await
    }

    async fn lookup(&self, name: &str) -> Result<Option<User>, CertRefusal> {
        self.app.store.user_by_name(name).await.map_err(|error| {
            tracing::error!(peer = %self.peer, %error, "user lookup failed");
            CertRefusal::Store
        })
    }

    /// Creates the user `name` on its first certificate sign-in.
    async fn provision(&self, name: &str, cert: &Certificate) -> Result<User, CertRefusal> {
        let user = match self.app.store.create_user(name, false).await {
            Ok(user) => user,
            // Another connection created it a moment ago.
            Err(StoreError::UserExists { .. }) => {
                return self.lookup(name).await?.ok_or(CertRefusal::Store);
            }
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, user = name, "cannot create the user");
                return Err(CertRefusal::Store);
            }
        };
        tracing::info!(peer = %self.peer, user = name, "user created from a certificate principal");
        let event = AuditEvent::new(Some(name), "user-provisioned").detail(format!(
            "first sign-in from {} with certificate \"{}\" from CA {}",
            self.peer,
            certauth::shown(cert.key_id()),
            certauth::ca_fingerprint(cert)
        ));
        self.app.audit.record(event).await;
        Ok(user)
    }

    async fn accept(
        &mut self,
        user: User,
        fingerprint: String,
        certificate: Option<String>,
    ) -> Caller {
        let how = certificate.as_deref().unwrap_or("key");
        tracing::info!(peer = %self.peer, user = %user.name, %fingerprint, via = how, "signed in");
        let mut detail = format!("ssh from {} with {fingerprint}", self.peer);
        if let Some(certificate) = &certificate {
            detail.push_str(&format!(" ({certificate})"));
        }
        let event = AuditEvent::new(Some(&user.name), "sign-in").detail(detail);
        self.app.audit.record(event).await;
        metrics::counter!(metric::SSH_HANDSHAKES).increment(1);
        self.signed_in = true;
        Caller {
            user,
            fingerprint,
            peer: self.peer,
            certificate,
        }
    }

    async fn refuse_unknown(&mut self, key: &PublicKey) {
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        tracing::info!(peer = %self.peer, %fingerprint, "sign-in refused: unknown key");
        let detail = format!("unknown key {fingerprint} from {}", self.peer);
        self.record_refusal("unknown_key", detail).await;
    }

    async fn refuse_certificate(&mut self, cert: &Certificate, refusal: &CertRefusal) {
        let key_id = certauth::shown(cert.key_id());
        let principals = certauth::principals_shown(cert);
        tracing::info!(
            peer = %self.peer, %key_id, %principals, reason = %refusal,
            "sign-in refused: certificate"
        );
        let detail = format!(
            "certificate \"{key_id}\" for [{principals}] from {}: {refusal}",
            self.peer
        );
        self.record_refusal(refusal.label(), detail).await;
    }

    async fn record_refusal(&mut self, reason: &'static str, detail: String) {
        self.refused = self.refused.saturating_add(1);
        metrics::counter!(metric::AUTH_FAILURES, "reason" => reason).increment(1);
        let event = AuditEvent::new(None, "sign-in-refused").detail(detail);
        self.app.audit.record(event).await;
    }
}

impl Drop for SignIn {
    /// A connection that tried and never signed in is one failed sign-in
    /// for its address.
    fn drop(&mut self) {
        if self.signed_in || !self.attempted {
            return;
        }
        if self.refused == 0 {
            // russh refused everything itself: an expired, not yet valid or
            // badly signed certificate, or no key offered at all.
            tracing::info!(peer = %self.peer, "sign-in refused: nothing acceptable offered");
            metrics::counter!(metric::AUTH_FAILURES, "reason" => "nothing_acceptable").increment(1);
            let event = AuditEvent::new(None, "sign-in-refused").detail(format!(
                "connection from {} closed without signing in: nothing acceptable offered \
                 (no key, or a certificate outside its validity window or badly signed)",
                self.peer
            ));
            self.app.audit.record_now(event);
        }
        // Closed: the server is stopping and nobody counts any more.
        if let Err(mpsc::error::TrySendError::Full(_)) = self.gate.failures.try_send(self.peer.ip())
        {
            tracing::warn!(peer = %self.peer, "failure limiter busy; failed sign-in not counted");
        }
    }
}
