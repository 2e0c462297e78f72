//! Starting an exec attached, as a raw byte stream. bollard's attached
//! start decodes a TTY stream with a decoder that takes any chunk starting
//! with byte 0, 1 or 2 for a multiplexing header (so `cat` of a binary file
//! could stall the session's output for good); a TTY exec's stream is not
//! multiplexed, so it is taken as it comes: the same request (hyper's HTTP
//! upgrade, as bollard makes it), without the decoder.
//!
//! Must not do anything but open the stream: creating, resizing and
//! inspecting execs go through bollard.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::engine::{DockerError, api_prefix};

/// The exec's output and input, as raw bytes.
pub(super) type Attached = (
    tokio::io::ReadHalf<TokioIo<hyper::upgrade::Upgraded>>,
    tokio::io::WriteHalf<TokioIo<hyper::upgrade::Upgraded>>,
);

/// Starts exec `id` attached with a TTY through the engine at `host`.
pub(super) async fn start_attached(host: &str, id: &str) -> Result<Attached, DockerError> {
    let unreachable = |detail: String| DockerError::Unreachable {
        host: host.to_string(),
        detail,
    };
    let failed = |detail: String| DockerError::Failed {
        action: "start the session's exec".into(),
        detail,
    };
    let stream = connect(host)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "exec attach connection ended");
        }
    });
    let request = hyper::Request::post(format!("{}/exec/{id}/start", api_prefix()))
        .header(HOST, "docker")
        .header(CONTENT_TYPE, "application/json")
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "tcp")
        .body(Full::new(Bytes::from_static(
            br#"{"Detach":false,"Tty":true}"#,
        )))
        .map_err(|e| failed(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status();
    if status != hyper::StatusCode::SWITCHING_PROTOCOLS && !status.is_success() {
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        let text = body.map(|b| String::from_utf8_lossy(&b).trim().to_string());
        return Err(failed(format!("{} ({status})", text.unwrap_or_default())));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(tokio::io::split(TokioIo::new(upgraded)))
}

trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// A fresh connection to the engine: `unix:///path` or `tcp://host:port`.
async fn connect(host: &str) -> std::io::Result<Box<dyn Connection>> {
    if let Some(path) = host
        .strip_prefix("unix://")
        .or_else(|| host.starts_with('/').then_some(host))
    {
        return Ok(Box::new(tokio::net::UnixStream::connect(path).await?));
    }
    let address = host
        .trim_start_matches("tcp://")
        .trim_start_matches("http://");
    Ok(Box::new(tokio::net::TcpStream::connect(address).await?))
}
