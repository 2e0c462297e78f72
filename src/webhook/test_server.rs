//! For the webhook's tests: a real HTTP/1.1 server (hyper) on a loopback
//! port, plain or TLS, that records each request it gets (when, its path,
//! its Content-Type, its body as JSON) and answers as the test says, or
//! never.
//!
//! Must not be used outside tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// How long a test waits for something it expects before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How the server answers a request, from its JSON body: a status, or
/// `None` to never answer.
pub type Answer = fn(&serde_json::Value) -> Option<StatusCode>;

/// One request the server got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
}

pub struct Hook {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Hook {
    /// A plain HTTP server.
    pub async fn start(answer: Answer) -> Hook {
        Hook::start_with(answer, None).await
    }

    /// A server that speaks TLS with `acceptor`.
    pub async fn start_with(answer: Answer, tls: Option<TlsAcceptor>) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, tls) = (log.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, log, answer).await,
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                serve(stream, log, answer).await;
                            }
                        }
                    }
                });
            }
        });
        Hook {
            address,
            received,
            task,
        }
    }

    /// `http://ADDRESS/hook?token=secret`.
    pub fn url(&self) -> String {
        format!("http://{}/hook?token=secret", self.address)
    }

    /// Every request so far, in the order they came.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests came (at most `PATIENCE`); returns all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the hook got {} requests, not {count}: {received:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<S>(stream: S, log: Arc<Mutex<Vec<Received>>>, answer: Answer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| handle(request, log.clone(), answer));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(
    request: Request<Incoming>,
    log: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    let answered = answer(&body);
    log.lock().unwrap().push(Received {
        at: Instant::now(),
        path,
        content_type,
        body,
    });
    match answered {
        Some(status) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = status;
            Ok(response)
        }
        None => std::future::pending().await,
    }
}
