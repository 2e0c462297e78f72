//! HTTPS for the web listener: the certificate chain and key from
//! `web.tls_cert` and `web.tls_key` (PEM), served with rustls (ring).
//!
//! Must not read anything but the two files it is given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {path} (web.tls_cert): {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read the private key {path} (web.tls_key): {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Reads the PEM files and makes the acceptor for the web listener.
pub fn load_tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain =
        crate::transport::tls::read_chain(cert).map_err(|reason| TlsError::Certificate {
            path: cert.to_path_buf(),
            reason,
        })?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.to_path_buf(),
        reason: error.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, private)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
