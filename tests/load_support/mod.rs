//! The load test's client: a russh connection signed in with a test
//! user's key, attached to a session with a PTY, whose output a task
//! reads and scans for the session's ticks (`NAME tick N`) and the answer
//! to a typed line; and the test's reading of many such clients at once.
//! Errors are returned, not panicked, so a burst can count them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use russh::client::{self, Handle, Msg};
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::watch;

use crate::common::Ssh;

/// What the program answers a typed line with (see `printer`).
pub const TYPED_ANSWER: &str = "got:typed-under-load";

/// Bytes of each chunk's end kept for the next: a tick or the answer cut
/// in two by a read is seen whole.
const CARRY: usize = 64;

/// How an attach turned out first.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The session's screen arrived.
    Screen,
    /// The channel closed first, with this exit status and stderr.
    Closed { status: Option<u32>, stderr: String },
}

/// What the reader has seen, read by the test while it runs.
#[derive(Default)]
struct Seen {
    tick: AtomicU64,
    typed: AtomicBool,
}

pub struct Client {
    session: String,
    seen: Arc<Seen>,
    first: watch::Receiver<Option<Ending>>,
    writer: ChannelWriteHalf<Msg>,
    reader: tokio::task::JoinHandle<()>,
    _handle: Handle<Accept>,
}

impl Client {
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The highest tick of its session this client has received.
    pub fn tick(&self) -> u64 {
        self.seen.tick.load(Ordering::Relaxed)
    }

    pub fn saw_typed(&self) -> bool {
        self.seen.typed.load(Ordering::Relaxed)
    }

    /// How the attach turned out: its screen, or the channel's end.
    pub async fn first_outcome(&self) -> Ending {
        let mut first = self.first.clone();
        let outcome = first.wait_for(Option::is_some).await.expect("the reader");
        outcome.clone().unwrap()
    }

    /// Waits for the session's screen; panics if the attach ended first.
    pub async fn screen(&self) {
        if let Ending::Closed { status, stderr } = self.first_outcome().await {
            panic!("attach to {} ended ({status:?}): {stderr}", self.session);
        }
    }

    pub async fn type_bytes(&self, bytes: &[u8]) {
        self.writer
            .data_bytes(bytes.to_vec())
            .await
            .expect("typing");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

pub struct Accept;

impl client::Handler for Accept {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Signs in as `ssh`'s user and runs `attach SESSION` with an 80x24 PTY.
pub async fn attach_client(ssh: &Ssh, session: &str) -> Result<Client, String> {
    let config = Arc::new(client::Config::default());
    let mut handle = client::connect(config, ("127.0.0.1", ssh.port), Accept)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let key = load_secret_key(&ssh.key, None).map_err(|e| format!("key: {e}"))?;
    let auth = handle
        .authenticate_publickey("load", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .map_err(|e| format!("sign-in: {e}"))?;
    if !auth.success() {
        return Err("sign-in refused".into());
    }
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| format!("channel: {e}"))?;
    channel
        .request_pty(false, "xterm", 80, 24, 0, 0, &[])
        .await
        .map_err(|e| format!("pty: {e}"))?;
    channel
        .exec(true, format!("attach {session}"))
        .await
        .map_err(|e| format!("exec: {e}"))?;
    let (read, writer) = channel.split();
    let seen = Arc::new(Seen::default());
    let (first_tx, first) = watch::channel(None);
    let reader = tokio::spawn(read_output(
        read,
        session.to_string(),
        seen.clone(),
        first_tx,
    ));
    Ok(Client {
        session: session.to_string(),
        seen,
        first,
        writer,
        reader,
        _handle: handle,
    })
}

/// Reads the channel to its end, recording ticks and the typed answer.
async fn read_output(
    mut read: ChannelReadHalf,
    session: String,
    seen: Arc<Seen>,
    first: watch::Sender<Option<Ending>>,
) {
    let needle = format!("{session} tick ");
    let (mut tail, mut stderr, mut status) = (Vec::new(), String::new(), None);
    while let Some(message) = read.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                tail.extend_from_slice(&data);
                if scan(&tail, &needle, &seen) && first.borrow().is_none() {
                    first.send_replace(Some(Ending::Screen));
                }
                let keep = tail.len().saturating_sub(CARRY);
                tail.drain(..keep);
            }
            ChannelMsg::ExtendedData { data, .. } => {
                stderr.push_str(&String::from_utf8_lossy(&data));
            }
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    if first.borrow().is_none() {
        first.send_replace(Some(Ending::Closed { status, stderr }));
    }
}

/// Records the ticks and the typed answer in `text`; whether it held a
/// tick of the session.
fn scan(text: &[u8], needle: &str, seen: &Seen) -> bool {
    let text = String::from_utf8_lossy(text);
    if text.contains(TYPED_ANSWER) {
        seen.typed.store(true, Ordering::Relaxed);
    }
    let mut found = false;
    for (at, _) in text.match_indices(needle) {
        let digits: String = text[at + needle.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(tick) = digits.parse() {
            seen.tick.fetch_max(tick, Ordering::Relaxed);
            found = true;
        }
    }
    found
}

/// How many clients have not yet received a tick past the highest any
/// client of their session had in `stale` (taken once all were attached).
pub fn caught_up(clients: &[Client], stale: &[u64]) -> usize {
    let mut target: HashMap<&str, u64> = HashMap::new();
    for (client, tick) in clients.iter().zip(stale) {
        let highest = target.entry(client.session()).or_default();
        *highest = (*highest).max(*tick);
    }
    clients
        .iter()
        .filter(|c| c.tick() <= target[c.session()])
        .count()
}
