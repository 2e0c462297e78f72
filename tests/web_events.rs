//! `GET /api/events` read directly (SPEC §7): the sessions a user can see
//! on connecting, then their changes, removals and screen signals, never
//! another user's unshared sessions, and a client that stops reading
//! holding nothing up; and the API's sharing endpoints (`shares`, `links`)
//! that the dashboard's share and guest-link buttons use.

mod common;
mod web_support;

use std::time::Instant;

use common::{BASH, PATIENCE, Server};
use web_support::{api_token, base, http};

/// `/api/events` as read so far.
struct Events {
    response: reqwest::Response,
    seen: String,
}

impl Events {
    async fn open(server: &Server, token: &str) -> Events {
        let response = http()
            .get(format!("{}/api/events", base(server)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Events {
            response,
            seen: String::new(),
        }
    }

    /// Reads until `text` came after what was read before; returns what
    /// came since.
    async fn until(&mut self, text: &str) -> String {
        let from = self.seen.len();
        let deadline = Instant::now() + PATIENCE;
        while !self.seen[from..].contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk()).await;
            let Ok(Ok(Some(chunk))) = chunk else {
                panic!("no `{text}`; the stream sent:\n{}", self.seen);
            };
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        self.seen[from..].to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_only_what_the_user_may_see() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    bob.ok(&format!("new secret -d -- {BASH}"));
    let token = api_token(&alice);
    let mut events = Events::open(&server, &token).await;

    let first = events.until("event: ready").await;
    assert!(first.contains("event: session\ndata: {"), "{first}");
    assert!(first.contains("\"name\":\"work\""), "{first}");
    assert!(
        !first.contains("secret"),
        "bob's unshared session was sent:\n{first}"
    );

    // Shared, it appears (read-only); unshared, it is removed.
    bob.ok("share secret alice");
    let shared = events.until("\"name\":\"secret\"").await;
    assert!(shared.contains("\"access\":\"read\""), "{shared}");
    assert!(shared.contains("\"owner\":\"bob\""), "{shared}");
    bob.ok("unshare secret alice");
    let removed = events.until("event: removed").await;
    assert!(
        removed.contains("\"name\":\"secret\",\"owner\":\"bob\""),
        "{removed}"
    );

    // New output on a session is signalled as `screen`.
    alice.ok("send work 'echo out\\n'");
    let screen = events.until("event: screen").await;
    assert!(screen.contains("\"name\":\"work\""), "{screen}");

    // Bob's own new sessions never reach alice.
    bob.ok(&format!("new hidden -d -- {BASH}"));
    alice.ok(&format!("new seen -d -- {BASH}"));
    let later = events.until("\"name\":\"seen\"").await;
    assert!(!later.contains("hidden"), "{later}");

    // Without a sign-in, nothing.
    let refused = http()
        .get(format!("{}/api/events", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_and_guest_links_through_the_api() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (alice_token, bob_token) = (api_token(&alice), api_token(&bob));
    let url = |tail: &str| format!("{}/api/sessions/alice/work/{tail}", base(&server));
    let post = |tail: &str, token: &str, body: serde_json::Value| {
        http().post(url(tail)).bearer_auth(token).json(&body).send()
    };

    // Only the owner shares; unknown users and the owner are refused.
    let denied = post(
        "shares",
        &bob_token,
        serde_json::json!({"user": "bob", "write": true}),
    );
    assert_eq!(
        denied.await.unwrap().status(),
        404,
        "bob cannot even see it"
    );
    let nobody = post(
        "shares",
        &alice_token,
        serde_json::json!({"user": "nobody"}),
    );
    assert_eq!(nobody.await.unwrap().status(), 400);
    let shared = post("shares", &alice_token, serde_json::json!({"user": "bob"}));
    let shared = shared.await.unwrap();
    assert_eq!(shared.status(), 200);
    let said: serde_json::Value = shared.json().await.unwrap();
    assert_eq!(said["message"], "alice/work shared with bob (read)");
    let rows = common::json_rows(&bob.ok("ls --json"));
    assert!(
        rows.iter()
            .any(|s| s["name"] == "work" && s["access"] == "read"),
        "{rows:?}"
    );
    let reader = post(
        "shares",
        &bob_token,
        serde_json::json!({"user": "bob", "write": true}),
    );
    assert_eq!(reader.await.unwrap().status(), 403, "a reader cannot share");
    let admin = server.user("root", true);
    assert!(
        admin.ok("audit").contains("bob read"),
        "the share is audited"
    );

    // A guest link opens the session read-only.
    let made = post(
        "links",
        &alice_token,
        serde_json::json!({"guest": true, "ttl": "2h"}),
    );
    let made = made.await.unwrap();
    assert_eq!(made.status(), 201);
    let link: serde_json::Value = made.json().await.unwrap();
    assert_eq!(link["expires_in"], 7200);
    let opened = http()
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.headers()["location"], "/s/alice/work?watch=1");
    let bad = post(
        "links",
        &alice_token,
        serde_json::json!({"guest": true, "ttl": "soon"}),
    );
    assert_eq!(bad.await.unwrap().status(), 400);

    // Unshared, bob no longer sees it.
    let gone = http()
        .delete(url("shares/bob"))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    assert!(!bob.ok("ls").contains("work"));
    let again = http()
        .delete(url("shares/bob"))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "nothing left to take away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_token_ends_the_stream() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let made = alice.ok("token create");
    let mut lines = made.lines();
    let token = lines.next().unwrap().to_string();
    let id = lines
        .next()
        .unwrap()
        .strip_prefix("id: ")
        .unwrap()
        .to_string();
    let mut events = Events::open(&server, &token).await;
    events.until("event: ready").await;

    alice.ok(&format!("token revoke {id}"));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.response.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None) | Err(_)) => break,
            Err(_) => panic!("the stream outlived its revoked token"),
        }
    }
}

/// The body of a chunked HTTP response (`raw` holds its head too; a
/// last, partly received chunk is left out; empty before the head is
/// whole).
fn dechunked(raw: &str) -> String {
    let Some((_, mut rest)) = raw.split_once("\r\n\r\n") else {
        return String::new();
    };
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 || after.len() < size + 2 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// The sessions an event stream's reader knows of after `text` (every
/// `session` event adds one, every `removed` event takes one away).
fn known_sessions(text: &str) -> std::collections::BTreeSet<String> {
    let mut known = std::collections::BTreeSet::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines();
        let (Some(event), Some(data)) = (lines.next(), lines.next()) else {
            continue;
        };
        let Some(data) = data.strip_prefix("data: ") else {
            continue;
        };
        if event != "event: session" && event != "event: removed" {
            continue;
        }
        // The last event may still be arriving.
        let Ok(json) = serde_json::from_str::<serde_json::Value>(data) else {
            continue;
        };
        let key = format!(
            "{}/{}",
            json["owner"].as_str().unwrap(),
            json["name"].as_str().unwrap()
        );
        if event == "event: session" {
            known.insert(key);
        } else {
            known.remove(&key);
        }
    }
    known
}

/// A stream whose client stops reading (a tiny receive buffer, nothing
/// read) holds up neither the server nor another stream; when it reads
/// again it learns the sessions as they are, whatever it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_holds_nothing_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!(
        "new noisy -d -- {BASH} -c 'while :; do seq 1 50; sleep 0.01; done'"
    ));
    let token = api_token(&alice);

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let mut stalled = socket
        .connect(([127, 0, 0, 1], server.web_port).into())
        .await
        .unwrap();
    let request = format!(
        "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stalled.write_all(request.as_bytes()).await.unwrap();

    // Meanwhile sessions come and go, and a reading stream follows them.
    let mut live = Events::open(&server, &token).await;
    live.until("event: ready").await;
    for i in 0..12 {
        alice.ok(&format!("new churn{i} -d -- {BASH}"));
        if i % 2 == 0 {
            alice.ok(&format!("kill churn{i}"));
        }
    }
    alice.ok(&format!("new last -d -- {BASH}"));
    let seen = live.until("\"name\":\"last\"").await;
    assert!(seen.contains("\"name\":\"churn11\""), "{seen}");
    assert!(alice.ok("ls").contains("last"));

    // The stalled reader reads again: what it knows is what there is.
    let mut text = String::new();
    let mut buffer = vec![0; 64 * 1024];
    let deadline = Instant::now() + PATIENCE;
    // Until the event for `last` has come whole (the response is
    // chunked: a chunk can arrive in parts).
    while !known_sessions(&dechunked(&text)).contains("alice/last") {
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, stalled.read(&mut buffer)).await;
        let Ok(Ok(n)) = read else {
            panic!("the stalled stream did not catch up:\n{text}");
        };
        assert!(n > 0, "the stream ended:\n{text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let body = dechunked(&text);
    let listed: std::collections::BTreeSet<String> = common::json_rows(&alice.ok("ls --json"))
        .iter()
        .map(|s| format!("alice/{}", s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(known_sessions(&body), listed);
}
