//! End-to-end (SPEC section 11, "Webhooks"): the real server with
//! `notify.webhook_url` set POSTs a session's attention as JSON to a real
//! endpoint (a loopback listener on a thread here), and counts it in
//! `/metrics`. docs/attention.md describes it.
//!
//! Ten notifications in a second give one POST, then the latest when the
//! interval ends; an endpoint that hangs delays no `ls`, attach or
//! typing.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::{BASH, Server, eventually};

/// A webhook endpoint: answers `204` to every request on a thread of its
/// own and keeps each request's line and JSON body.
struct Hook {
    port: u16,
    received: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Hook {
    fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if let Some(request) = read_request(stream) {
                    log.lock().unwrap().push(request);
                }
            }
        });
        Hook { port, received }
    }

    fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.received.lock().unwrap().clone()
    }
}

/// One HTTP/1.1 request: its request line and its body as JSON; answers
/// `204 No Content`.
fn read_request(mut stream: TcpStream) -> Option<(String, serde_json::Value)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .ok()?;
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Some((request_line.trim_end().to_string(), body))
}

fn config(hook: &Hook) -> String {
    format!(
        "[metrics]\nlisten = \"127.0.0.1:0\"\n[notify]\nwebhook_url = \"http://127.0.0.1:{}/hook?token=s3cret\"\nwebhook_min_interval = \"2s\"\n",
        hook.port
    )
}

/// The server starts the sender with the URL's secret kept out of its log.
#[test]
fn serve_starts_the_webhook_and_logs_only_scheme_and_host() {
    let hook = Hook::start();
    let server = Server::start_with_config(&config(&hook));
    eventually("the webhook to start", || {
        server.log().contains("attention webhook on")
    });
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("attention webhook on"))
        .unwrap();
    assert!(
        line.contains(&format!("http://127.0.0.1:{}", hook.port)),
        "{line}"
    );
    assert!(!log.contains("s3cret"), "the URL's query is in the log");
    assert!(hook.received().is_empty());
}

#[test]
fn notify_reaches_the_webhook_as_json() {
    let hook = Hook::start();
    let server = Server::start_with_config(&config(&hook));
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("notify work 'tests finished'");
    eventually("the webhook's POST", || !hook.received().is_empty());
    let (request_line, body) = hook.received()[0].clone();
    assert_eq!(request_line, "POST /hook?token=s3cret HTTP/1.1");
    assert_eq!(body["session"], "alice/work");
    assert_eq!(body["owner"], "alice");
    assert_eq!(body["name"], "work");
    assert_eq!(body["message"], "tests finished");
    assert_eq!(body["text"], "alice/work: tests finished");
    assert_eq!(
        body["url"],
        format!("http://127.0.0.1:{}/s/alice/work", server.web_port)
    );
    let since = body["since"].as_str().unwrap();
    assert!(
        since.len() == 20 && since.ends_with('Z'),
        "not RFC 3339: {since}"
    );
    let address = server
        .log()
        .lines()
        .find_map(|l| l.strip_prefix("foyer: metrics listening on "))
        .map(str::to_string)
        .expect("the metrics listener");
    eventually("the POST counted", || {
        let metrics = common::http_get(&address, "/metrics");
        metrics.contains("# HELP foyer_webhook_posts_total")
            && metrics.lines().any(|l| l == "foyer_webhook_posts_total 1")
    });
    assert!(!server.log().contains("s3cret"));

    // Ten notifications in a second: the first was posted; the rest wait
    // for the interval (2 s here), and only the latest of them is sent.
    for round in 1..=9 {
        alice.ok("ack work");
        alice.ok(&format!("notify work -- round {round}"));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(hook.received().len(), 1, "a POST inside the interval");
    eventually("the latest, once the interval ended", || {
        hook.received().len() == 2
    });
    assert_eq!(hook.received()[1].1["message"], "round 9");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(hook.received().len(), 2, "{:?}", hook.received());
}

/// How long `ssh ls` takes, the best of three.
fn ls_time(ssh: &common::Ssh) -> std::time::Duration {
    (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            ssh.ok("ls");
            start.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn an_endpoint_that_hangs_delays_nothing_else() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let holding = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            holding.lock().unwrap().push(stream);
        }
    });
    let config = format!(
        "[notify]\nwebhook_url = \"http://127.0.0.1:{port}/hook\"\nwebhook_min_interval = \"1s\"\n"
    );
    let server = Server::start_with_config(&config);
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let before = ls_time(&alice);
    for name in ["one", "two", "three", "four"] {
        alice.ok(&format!("new {name} -d -- {BASH}"));
        alice.ok(&format!("notify {name} -- stuck"));
    }
    eventually("the endpoint holds connections", || {
        !held.lock().unwrap().is_empty()
    });
    let during = ls_time(&alice);
    assert!(
        during < before * 5 + std::time::Duration::from_millis(500),
        "ls took {during:?} with the endpoint hanging, {before:?} before"
    );
    let term = alice.term("attach work", 24, 80);
    term.wait_for_text("$");
    term.type_line("echo typed-$((6*7))");
    term.wait_for_text("typed-42");
}
