//! Helpers for the web tests: sign-in through a `link` URL, HTTP
//! requests with cookies or bearer tokens, and WebSocket clients of the
//! bridge whose received bytes feed a vt100 parser.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::common::{PATIENCE, Server, Ssh};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `http://127.0.0.1:PORT`, the web listener.
pub fn base(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.web_port)
}

/// An HTTP client that does not follow redirects (tests look at them).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Runs `link ARGS` and returns the URL and the link's id.
pub fn link(ssh: &Ssh, args: &str) -> (String, String) {
    let out = ssh.ok(&format!("link {args}"));
    let mut lines = out.lines();
    let url = lines.next().expect("a URL line").to_string();
    let id = lines
        .next()
        .and_then(|l| l.strip_prefix("id: "))
        .expect("an id line")
        .to_string();
    (url, id)
}

/// Runs `token create` and returns the token.
pub fn api_token(ssh: &Ssh) -> String {
    ssh.ok("token create").lines().next().unwrap().to_string()
}

/// The `name=value` part of a response's Set-Cookie for `name`.
pub fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Signs `ssh`'s user in through a fresh `link NAME` URL; returns the
/// `Cookie` header value.
pub async fn sign_in(ssh: &Ssh, session: &str) -> String {
    let (url, _) = link(ssh, session);
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 303, "sign-in by {url}");
    cookie_of(&response, "foyer_session").expect("a sign-in cookie")
}

/// `ws://127.0.0.1:PORT/ws/PATH`, with the server's own origin.
pub fn ws_request(
    server: &Server,
    path: &str,
    cookie: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://127.0.0.1:{}/ws/{path}", server.web_port)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(&base(server)).unwrap());
    if let Some(cookie) = cookie {
        headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    request
}

/// Connects to the bridge; panics unless it upgrades.
pub async fn connect(server: &Server, path: &str, cookie: &str) -> Client {
    let (socket, _) = tokio_tungstenite::connect_async(ws_request(server, path, Some(cookie)))
        .await
        .unwrap_or_else(|e| panic!("WebSocket to {path}: {e}"));
    Client::new(socket)
}

/// The HTTP status a refused upgrade got.
pub async fn refused_status(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// A WebSocket client of the bridge: what it received, as a terminal
/// shows it, and the JSON messages.
pub struct Client {
    pub socket: Socket,
    pub screen: vt100::Parser,
    pub texts: Vec<serde_json::Value>,
    /// The close frame's code and reason, once closed.
    pub closed: Option<(u16, String)>,
}

impl Client {
    pub fn new(socket: Socket) -> Client {
        Client {
            socket,
            screen: vt100::Parser::new(nz(24), nz(80), 1000),
            texts: Vec::new(),
            closed: None,
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.socket
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .unwrap();
    }

    pub async fn resize(&mut self, cols: u32, rows: u32) {
        self.send_text(&format!(
            r#"{{"type":"resize","cols":{cols},"rows":{rows}}}"#
        ))
        .await;
    }

    /// Reads one message (false when the connection is over).
    async fn read_one(&mut self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.socket.next()).await {
            Err(_) => true,
            Ok(None) | Ok(Some(Err(_))) => {
                self.closed.get_or_insert((1006, String::new()));
                false
            }
            Ok(Some(Ok(message))) => {
                match message {
                    Message::Binary(bytes) => self.screen.process(&bytes),
                    Message::Text(text) => self.texts.push(serde_json::from_str(&text).unwrap()),
                    Message::Close(frame) => {
                        self.closed = Some(
                            frame
                                .map(|f| (u16::from(f.code), f.reason.to_string()))
                                .unwrap_or((1005, String::new())),
                        );
                        return false;
                    }
                    _ => {}
                }
                true
            }
        }
    }

    /// Reads until `check` holds; panics after [`PATIENCE`].
    pub async fn wait_for(&mut self, what: &str, check: impl Fn(&Client) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !check(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; screen:\n{}\ntexts: {:?}\nclosed: {:?}",
                    self.screen.screen().contents(),
                    self.texts,
                    self.closed
                );
            }
            if !self.read_one(Duration::from_millis(200)).await && !check(self) {
                panic!(
                    "connection closed ({:?}) while waiting for {what}; screen:\n{}",
                    self.closed,
                    self.screen.screen().contents()
                );
            }
        }
    }

    pub async fn wait_for_text(&mut self, text: &str) {
        let wanted = text.to_string();
        self.wait_for(&format!("`{text}`"), move |c| {
            c.screen.screen().contents().contains(&wanted)
        })
        .await;
    }

    /// The first JSON message of `kind` received so far.
    pub fn text_of(&self, kind: &str) -> Option<&serde_json::Value> {
        self.texts.iter().find(|t| t["type"] == kind)
    }

    /// The last participants message's `name:access` list.
    pub fn participants(&self) -> Vec<String> {
        self.texts
            .iter()
            .rev()
            .find(|t| t["type"] == "participants")
            .map(|t| {
                t["participants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        format!(
                            "{}:{}",
                            p["name"].as_str().unwrap(),
                            p["access"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn wait_closed(&mut self) -> (u16, String) {
        let deadline = Instant::now() + PATIENCE;
        while self.closed.is_none() {
            assert!(Instant::now() < deadline, "the connection stayed open");
            self.read_one(Duration::from_millis(200)).await;
        }
        self.closed.clone().unwrap()
    }
}

fn nz(value: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(value).unwrap()
}

/// `POST /api/sessions/SESSION/uploads?name=NAME` with `bytes`, by bearer
/// token or cookie (`auth` is `Bearer …` or a `Cookie` value): the status
/// and the JSON answer.
pub async fn upload(
    server: &Server,
    auth: &str,
    session: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    let url = format!("{}/api/sessions/{session}/uploads", base(server));
    let url = reqwest::Url::parse_with_params(&url, [("name", name)]).unwrap();
    let request = authorized(http().post(url), auth).body(bytes);
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

/// `GET /api/sessions/SESSION/files?path=PATH`: the status, the content
/// type and the body.
pub async fn view_file(
    server: &Server,
    auth: &str,
    session: &str,
    path: &str,
) -> (u16, String, Vec<u8>) {
    let url = format!("{}/api/sessions/{session}/files", base(server));
    let url = reqwest::Url::parse_with_params(&url, [("path", path)]).unwrap();
    let response = authorized(http().get(url), auth).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

/// `request` with `auth`: `Bearer TOKEN` as Authorization, else a cookie.
fn authorized(request: reqwest::RequestBuilder, auth: &str) -> reqwest::RequestBuilder {
    if auth.starts_with("Bearer ") {
        request.header("authorization", auth)
    } else {
        request.header("cookie", auth)
    }
}
