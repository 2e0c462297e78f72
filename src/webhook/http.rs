//! One webhook POST: where it goes (`Endpoint`, made once from
//! `notify.webhook_url`) and a single attempt: a fresh TCP connection (TLS
//! for https, with the system's root certificates and ring), one HTTP/1.1
//! request, the answer's status, all within a timeout.
//!
//! Must not retry, wait or pace (that is `deliver` and `schedule`), and
//! must not put the URL's path, query or user info in an error or log
//! line: a webhook URL often holds its secret there (`redacted` is what
//! may be shown).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use url::{Host, Position, Url};

const AGENT: &str = concat!("foyer/", env!("CARGO_PKG_VERSION"));

/// Why the webhook cannot be set up. Never shows the URL itself.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("notify.webhook_url is not an http:// or https:// URL with a host")]
    BadUrl,
    #[error(
        "notify.webhook_url is https, but the system has no trusted root certificates (install ca-certificates, or set SSL_CERT_FILE to a PEM bundle)"
    )]
    NoRoots,
    #[error("cannot make the TLS client for notify.webhook_url: {0}")]
    Tls(#[from] rustls::Error),
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("HTTP exchange failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the connection closed before an answer")]
    Closed,
    #[error("cannot make the request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("no answer in {0:?}")]
    Timeout(Duration),
    #[error("answered {0}")]
    Status(StatusCode),
}

impl PostError {
    /// The `reason` label of `foyer_webhook_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            PostError::Connect(_) => "connect",
            PostError::Tls(_) => "tls",
            PostError::Http(_) | PostError::Closed | PostError::Request(_) => "http",
            PostError::Timeout(_) => "timeout",
            PostError::Status(_) => "status",
        }
    }
}

/// Where notices go, parsed once.
pub struct Endpoint {
    /// The host to connect to (a name, or an address without brackets).
    host: String,
    port: u16,
    /// `Host:` as the URL writes it (with the port if it is not the
    /// scheme's own).
    host_header: String,
    /// The path and query.
    target: String,
    /// `scheme://host[:port]`: what logs show.
    redacted: String,
    /// From the URL's user info: `Basic …`.
    authorization: Option<String>,
    /// For https: the connector and the name the certificate must have.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Endpoint {
    /// `url` (already checked by the configuration), with the system's
    /// root certificates for https.
    pub fn new(url: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::with_roots(url, system_roots)
    }

    /// `url`, trusting what `roots` gives for https (called only then).
    pub fn with_roots(
        url: &str,
        roots: impl FnOnce() -> Result<rustls::RootCertStore, EndpointError>,
    ) -> Result<Endpoint, EndpointError> {
        let url = Url::parse(url).map_err(|_| EndpointError::BadUrl)?;
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.to_string(),
            Some(Host::Ipv4(address)) => address.to_string(),
            Some(Host::Ipv6(address)) => address.to_string(),
            None => return Err(EndpointError::BadUrl),
        };
        let tls = match url.scheme() {
            "http" => None,
            "https" => {
                let name = ServerName::try_from(host.clone()).map_err(|_| EndpointError::BadUrl)?;
                Some((connector(roots()?)?, name))
            }
            _ => return Err(EndpointError::BadUrl),
        };
        let host_header = url[Position::BeforeHost..Position::AfterPort].to_string();
        Ok(Endpoint {
            port: url.port_or_known_default().ok_or(EndpointError::BadUrl)?,
            redacted: format!("{}://{host_header}", url.scheme()),
            target: url[Position::BeforePath..Position::AfterQuery].to_string(),
            authorization: basic_authorization(&url),
            host,
            host_header,
            tls,
        })
    }

    /// `scheme://host[:port]`, for logs.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// POSTs `body` (JSON) once: `Ok` on a 2xx answer.
    pub async fn post(&self, body: Bytes, timeout: Duration) -> Result<(), PostError> {
        match tokio::time::timeout(timeout, self.exchange(body)).await {
            Ok(Ok(status)) if status.is_success() => Ok(()),
            Ok(Ok(status)) => Err(PostError::Status(status)),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(PostError::Timeout(timeout)),
        }
    }

    async fn exchange(&self, body: Bytes) -> Result<StatusCode, PostError> {
        let request = self.request(body)?;
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(PostError::Connect)?;
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => send(stream, request).await,
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(PostError::Tls)?;
                send(stream, request).await
            }
        }
    }

    /// The request for `body` (what `post` sends).
    pub fn request(&self, body: Bytes) -> Result<Request<Full<Bytes>>, PostError> {
        let mut request = Request::post(self.target.as_str())
            .header(HOST, self.host_header.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, AGENT)
            // One notice per connection: nothing is kept open between them.
            .header(CONNECTION, "close");
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.as_str());
        }
        Ok(request.body(Full::new(body))?)
    }
}

/// One request on a fresh connection: the answer's status (its body is
/// not read; the connection closes after).
async fn send<S>(io: S, request: Request<Full<Bytes>>) -> Result<StatusCode, PostError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let mut connection = std::pin::pin!(connection);
    let mut answer = std::pin::pin!(sender.send_request(request));
    tokio::select! {
        biased;
        answered = &mut answer => return Ok(answered?.status()),
        ended = &mut connection => ended?,
    }
    // The connection ended cleanly, as `Connection: close` asks it to
    // right after the answer, which is then already waiting.
    match futures_util::FutureExt::now_or_never(answer) {
        Some(answered) => Ok(answered?.status()),
        None => Err(PostError::Closed),
    }
}

/// `https://user:password@host/…` sends HTTP basic authentication (a
/// self-hosted ntfy with access control, for example).
fn basic_authorization(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| percent_encoding::percent_decode_str(text).collect::<Vec<u8>>();
    let mut credentials = decode(url.username());
    credentials.push(b':');
    credentials.extend(decode(url.password().unwrap_or("")));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    Some(format!("Basic {encoded}"))
}

/// The system's trusted roots (rustls-native-certs: the OS store, or
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`).
fn system_roots() -> Result<rustls::RootCertStore, EndpointError> {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "cannot read a system root certificate");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "system root certificates rustls cannot use");
    }
    if roots.is_empty() {
        return Err(EndpointError::NoRoots);
    }
    Ok(roots)
}

fn connector(roots: rustls::RootCertStore) -> Result<TlsConnector, EndpointError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}
