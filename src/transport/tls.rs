//! Mutual TLS between gateways and session hosts on other machines: the
//! operator's CA, and each side's certificate and key (PEM files). A host
//! accepts only clients whose certificate chains to the CA; a gateway
//! accepts only a host whose certificate chains to the CA and names
//! [`HOST_NAME`].
//!
//! Must not read anything but the three files it is given, or open
//! connections (`connect` and the host's listener do).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The name every session host's certificate carries (a DNS subject
/// alternative name): hosts move between nodes and addresses, so the
/// gateway checks the CA and this role name, not an address.
pub const HOST_NAME: &str = "foyer-host";

/// The three files of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The operator's CA certificate (PEM), the only one trusted.
    pub ca: PathBuf,
    /// This side's certificate chain (PEM), signed by the CA.
    pub cert: PathBuf,
    /// This side's private key (PEM).
    pub key: PathBuf,
}

/// Why the TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA certificate {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("cannot read the certificate chain {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read the private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the certificates and key do not make a TLS configuration: {0}")]
    Config(String),
}

impl TlsFiles {
    /// A session host's acceptor: requires a client certificate from the CA.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let roots = Arc::new(self.roots()?);
        let provider = provider();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|error| TlsError::Config(error.to_string()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(config_error)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain()?, self.private_key()?)
            .map_err(config_error)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// A gateway's connector: presents its certificate, trusts only the CA.
    pub fn connector(&self) -> Result<TlsConnector, TlsError> {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(config_error)?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain()?, self.private_key()?)
            .map_err(config_error)?;
        Ok(TlsConnector::from(Arc::new(config)))
    }

    fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let error = |reason: String| TlsError::Ca {
            path: self.ca.clone(),
            reason,
        };
        let certificates = read_chain(&self.ca).map_err(error)?;
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates {
            roots.add(certificate).map_err(|e| TlsError::Ca {
                path: self.ca.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(roots)
    }

    fn chain(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        read_chain(&self.cert).map_err(|reason| TlsError::Certificate {
            path: self.cert.clone(),
            reason,
        })
    }

    fn private_key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_file(&self.key).map_err(|error| TlsError::Key {
            path: self.key.clone(),
            reason: error.to_string(),
        })
    }
}

/// The name a gateway checks on a host's certificate.
pub fn host_name() -> ServerName<'static> {
    ServerName::try_from(HOST_NAME).expect("HOST_NAME is a valid DNS name")
}

/// The certificates of a PEM file, in order; the reason when it holds
/// none or cannot be read (the web listener's HTTPS reads its chain so too).
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|error| error.to_string())?;
    if chain.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(chain)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(error: rustls::Error) -> TlsError {
    TlsError::Config(error.to_string())
}
