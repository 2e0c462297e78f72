//! The WebSocket bridge (SPEC §7) through a real WebSocket client: the
//! hello and participants messages, typing and output, read-only watch,
//! refused upgrades, share/unshare, guest-link revocation and sign-out on
//! open connections, exit, and bad input that closes only the sender.

mod common;
mod web_support;

use common::{BASH, Server};
use web_support::{connect, link, refused_status, sign_in, ws_request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_says_hello_carries_bytes_both_ways_and_lists_participants() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let mut client = connect(&server, "alice/work", &cookie).await;
    client.resize(80, 24).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    assert_eq!(
        client.text_of("hello").unwrap(),
        &serde_json::json!({"type": "hello", "session": "alice/work", "access": "write"})
    );
    client
        .wait_for("participants", |c| c.participants() == ["alice:write"])
        .await;
    client.send_bytes(b"echo ws-$((6*7))\r").await;
    client.wait_for_text("ws-42").await;
    let metrics = web_support::http()
        .get(format!("{}/metrics", web_support::base(&server)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("foyer_clients{")
            && l.contains("role=\"writer\"")
            && l.contains("transport=\"websocket\"")
            && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(alice.ok("capture work").contains("ws-42"));

    // An SSH client joining shows up among the participants.
    let term = alice.term("watch work", 24, 80);
    term.wait_for_text("ws-42");
    client
        .wait_for("the SSH watcher", |c| {
            c.participants() == ["alice:write", "alice:read"]
        })
        .await;
    drop(term);
    client
        .wait_for("the watcher to leave", |c| {
            c.participants() == ["alice:write"]
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_unauthenticated_and_unknown_upgrades_are_refused() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;

    let mut cross = ws_request(&server, "alice/work", Some(&cookie));
    cross
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    assert_eq!(refused_status(cross).await, 403);
    assert_eq!(
        refused_status(ws_request(&server, "alice/work", None)).await,
        401
    );
    let forged = ws_request(&server, "alice/work", Some("foyer_session=forged"));
    assert_eq!(refused_status(forged).await, 401);
    assert_eq!(
        refused_status(ws_request(&server, "alice/nothing", Some(&cookie))).await,
        404
    );
    bob.ok(&format!("new mine -d -- {BASH}"));
    let bobs = sign_in(&bob, "mine").await;
    assert_eq!(
        refused_status(ws_request(&server, "alice/work", Some(&bobs))).await,
        404
    );
    // A bearer token works for non-browser clients.
    let token = web_support::api_token(&alice);
    let mut bearer = ws_request(&server, "alice/work", None);
    bearer
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(bearer).await.unwrap();
    let mut client = web_support::Client::new(socket);
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_is_read_only() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let mut watcher = connect(&server, "alice/work?watch=1", &cookie).await;
    watcher
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    assert_eq!(watcher.text_of("hello").unwrap()["access"], "read");
    watcher.send_bytes(b"echo typed-by-watcher\r").await;
    alice.ok("send work 'echo marker-$((5*5))\\n'");
    watcher.wait_for_text("marker-25").await;
    assert!(!alice.ok("capture work").contains("typed-by-watcher"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_upgrade_downgrade_and_unshare_reach_open_websockets() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    let cookie = sign_in(&bob, "alice/work").await;
    let mut client = connect(&server, "alice/work", &cookie).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    assert_eq!(client.text_of("hello").unwrap()["access"], "read");
    client.send_bytes(b"echo not-while-reading\r").await;

    // Upgraded while attached: told so, and typing reaches the program.
    alice.ok("share work bob --write");
    client
        .wait_for("access write", |c| last_access(c) == Some("write"))
        .await;
    client.send_bytes(b"echo bob-$((20+1))\r").await;
    client.wait_for_text("bob-21").await;
    assert!(!alice.ok("capture work").contains("not-while-reading"));

    // Downgraded: told so, still watching, no longer typing.
    alice.ok("share work bob");
    client
        .wait_for("access read", |c| last_access(c) == Some("read"))
        .await;
    client.send_bytes(b"echo never-reaches\r").await;
    alice.ok("send work 'echo still-watching\\n'");
    client.wait_for_text("still-watching").await;
    assert!(!alice.ok("capture work").contains("never-reaches"));

    // Revoked: the connection closes at once, saying why.
    alice.ok("unshare work bob");
    let (code, reason) = client.wait_closed().await;
    assert_eq!(code, 4001);
    assert_eq!(reason, "your access to alice/work was revoked");
    assert_eq!(
        refused_status(ws_request(&server, "alice/work", Some(&cookie))).await,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_link_watches_as_guest_until_it_is_revoked() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok(&format!("new other -d -- {BASH}"));
    let (url, id) = link(&alice, "work --guest");
    let response = web_support::http().get(&url).send().await.unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = web_support::cookie_of(&response, "foyer_guest").unwrap();

    let mut guest = connect(&server, "alice/work", &cookie).await;
    guest
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    assert_eq!(guest.text_of("hello").unwrap()["access"], "read");
    guest
        .wait_for("the guest listed", |c| c.participants() == ["guest:read"])
        .await;
    guest.send_bytes(b"echo guest-typed\r").await;
    alice.ok("send work 'echo for-guests\\n'");
    guest.wait_for_text("for-guests").await;
    assert!(!alice.ok("capture work").contains("guest-typed"));
    // That one session only.
    assert_eq!(
        refused_status(ws_request(&server, "alice/other", Some(&cookie))).await,
        404
    );

    // A second guest connection; revoking the link closes both at once.
    let mut second = connect(&server, "alice/work", &cookie).await;
    second
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    alice.ok(&format!("link --revoke {id}"));
    for client in [&mut guest, &mut second] {
        let (code, reason) = client.wait_closed().await;
        assert_eq!(
            (code, reason.as_str()),
            (4001, "the guest link was revoked")
        );
    }
    assert_eq!(
        refused_status(ws_request(&server, "alice/work", Some(&cookie))).await,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_that_browsers_cookie_and_its_open_terminals_only() {
    let server = Server::start();
    let alice = server.user("alice", true);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let other_browser = sign_in(&alice, "work").await;
    let mut client = connect(&server, "alice/work", &cookie).await;
    let mut other = connect(&server, "alice/work", &other_browser).await;
    for c in [&mut client, &mut other] {
        c.wait_for("hello", |c| c.text_of("hello").is_some()).await;
    }
    let logout = |header: &'static str, value: String| {
        web_support::http()
            .post(format!("{}/logout", web_support::base(&server)))
            .header("cookie", &cookie)
            .header(header, value)
            .send()
    };

    // From another site: refused, and the cookie still works.
    for (header, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let forged = logout(header, value.into()).await.unwrap();
        assert_eq!(forged.status(), 403, "{header}: {value}");
    }
    client.send_bytes(b"echo kept-$((4*5))\r").await;
    client.wait_for_text("kept-20").await;

    let response = logout("origin", web_support::base(&server)).await.unwrap();
    assert_eq!(response.status(), 200);
    let cleared: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    for name in ["foyer_session=;", "foyer_guest=;"] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{cleared:?}"
        );
    }
    assert_eq!(client.wait_closed().await, (4001, "signed out".to_string()));
    assert_eq!(
        refused_status(ws_request(&server, "alice/work", Some(&cookie))).await,
        401
    );

    // The other browser is still signed in and typing.
    other.send_bytes(b"echo other-$((6*6))\r").await;
    other.wait_for_text("other-36").await;
    assert!(other.closed.is_none());
    assert!(alice.ok("audit").contains("sign-out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_is_told_then_the_connection_closes() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new short -d -- bash -c 'read line; exit 3'");
    let cookie = sign_in(&alice, "short").await;
    let mut client = connect(&server, "alice/short", &cookie).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    client.send_bytes(b"go\r").await;
    let (code, _) = client.wait_closed().await;
    assert_eq!(code, 4000);
    assert_eq!(
        client.text_of("exit").unwrap(),
        &serde_json::json!({"type": "exit", "status": 3})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_and_sizes_close_or_are_clamped_and_disturb_no_one_else() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let mut bystander = connect(&server, "alice/work?watch=1", &cookie).await;
    bystander
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;

    // Absurd sizes: 0x0 is ignored, 100000x100000 is clamped.
    let mut sizer = connect(&server, "alice/work", &cookie).await;
    sizer.resize(0, 0).await;
    sizer.resize(100_000, 100_000).await;
    sizer.send_bytes(b"stty size\r").await;
    sizer.wait_for_text("1000 1000").await;
    sizer.resize(80, 24).await;
    sizer.send_bytes(b"stty size\r").await;
    sizer.wait_for_text("24 80").await;

    // Not JSON, then a known message with bad fields: closed with 1007.
    for bad in ["{nope", r#"{"type":"resize","cols":"wide","rows":1}"#] {
        let mut client = connect(&server, "alice/work", &cookie).await;
        client
            .wait_for("hello", |c| c.text_of("hello").is_some())
            .await;
        client.send_text(bad).await;
        let (code, reason) = client.wait_closed().await;
        assert_eq!(code, 1007, "{bad}: {reason}");
        assert!(reason.starts_with("malformed message"), "{reason}");
    }
    // Unknown message types are ignored.
    sizer.send_text(r#"{"type":"future-thing"}"#).await;
    // A frame over the limit: closed with 1009.
    let mut big = connect(&server, "alice/work", &cookie).await;
    big.wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    let _ = futures_util::SinkExt::send(
        &mut big.socket,
        tokio_tungstenite::tungstenite::Message::Binary(vec![b'x'; 200 * 1024].into()),
    )
    .await;
    let (code, _) = big.wait_closed().await;
    assert!(code == 1009 || code == 1006, "closed with {code}");

    // Everyone else carries on.
    sizer.send_bytes(b"echo still-$((9*9))\r").await;
    sizer.wait_for_text("still-81").await;
    bystander.wait_for_text("still-81").await;
}

/// The server's resident memory, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_stops_reading_holds_back_no_one_and_catches_up_later() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let mut stalled = connect(&server, "alice/work", &cookie).await;
    stalled.resize(80, 24).await;
    stalled
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    let mut reader = connect(&server, "alice/work?watch=1", &cookie).await;
    reader
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    let before = resident_kib(server.pid());

    // About 24 MB of output while `stalled` reads nothing.
    alice.ok("send work 'yes flood-line | head -n 2000000; echo done-$((7*7))\\n'");
    // How long the flood takes depends on the machine (and on what else
    // runs): only a session that printed nothing for a while fails.
    tokio::task::block_in_place(|| {
        while !alice.ok("capture work").contains("done-49") {
            let rows = common::json_rows(&alice.ok("ls --json"));
            let idle = rows[0]["idle_seconds"].as_u64().unwrap();
            assert!(idle < common::PATIENCE.as_secs(), "the flood stopped");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    reader.wait_for_text("done-49").await;
    let after = resident_kib(server.pid());
    assert!(
        after < before + 100 * 1024,
        "the server grew from {before} KiB to {after} KiB"
    );
    // The stalled browser reads again and is shown the screen as it is.
    stalled.wait_for_text("done-49").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_sign_ins_links_and_attachments_are_audited() {
    let server = Server::start();
    let admin = server.user("boss", true);
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (used, _) = link(&alice, "work");
    let cookie = sign_in(&alice, "work").await;
    for _ in 0..2 {
        let _ = web_support::http().get(&used).send().await.unwrap();
    }
    let mut client = connect(&server, "alice/work", &cookie).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    drop(client);
    let rows = |text: String| -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let has = |rows: &[serde_json::Value], actor: Option<&str>, action: &str, part: &str| {
        rows.iter().any(|r| {
            r["action"] == action
                && r["actor"].as_str() == actor
                && r["detail"].as_str().unwrap_or("").contains(part)
        })
    };
    let mut all = Vec::new();
    common::eventually("the web events to be written", || {
        all = rows(admin.ok("audit --json"));
        has(&all, Some("alice"), "detach", "over web")
    });
    assert!(has(&all, Some("alice"), "link", "login link"), "{all:?}");
    assert!(has(&all, Some("alice"), "sign-in", "web link"), "{all:?}");
    assert!(
        has(&all, None, "sign-in-refused", "sign-in link"),
        "{all:?}"
    );
    assert!(
        has(
            &all,
            Some("alice"),
            "attach",
            "writer over web from 127.0.0.1"
        ),
        "{all:?}"
    );
}

/// The access the last `access` message gave, if any came.
fn last_access(client: &web_support::Client) -> Option<&str> {
    client
        .texts
        .iter()
        .rev()
        .find(|t| t["type"] == "access")
        .and_then(|t| t["access"].as_str())
}
