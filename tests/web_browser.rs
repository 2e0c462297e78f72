//! End-to-end in real headless Chromium, driven through chromedriver
//! (WebDriver): sign in with a `link` URL, type into the xterm.js
//! terminal, see SSH and browser typing reach each other, watch
//! read-only, reload to get the screen back (SPEC §7), and sign out.
//!
//! Needs Debian's `chromium` and `chromium-driver` (tools/install-test-deps
//! installs them); without them these tests fail, never skip.

mod browser_support;
mod common;
mod web_support;

use std::time::{Duration, Instant};

use browser_support::{
    Driver, browser, heading, screen_text, type_line, wait_connected, wait_for_screen,
};
use common::{BASH, PATIENCE, Server, Ssh};
use fantoccini::{Client, Locator};
use web_support::{base, link};

/// A server where alice runs bash as `work`, and a headless Chromium
/// (its chromedriver ends when the `Driver` is dropped).
async fn server_and_browser() -> (Server, Ssh, Driver, Client) {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let driver = Driver::start();
    let client = browser(&driver).await;
    (server, alice, driver, client)
}

fn capture(ssh: &Ssh) -> String {
    ssh.ok("capture work")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opens_the_terminal_in_chromium_and_typing_goes_both_ways() {
    let (_server, alice, _driver, client) = server_and_browser().await;

    // The link signs in and opens the session; typing runs a command.
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    assert_eq!(wait_connected(&client).await, "write");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/s/alice/work")
    );
    type_line(&client, "echo browser-$((6*7))").await;
    wait_for_screen(&client, "browser-42").await;
    assert!(capture(&alice).contains("browser-42"));

    // An SSH client in the same session: each sees the other's typing.
    let term = alice.term("attach work", 24, 80);
    term.wait_for_text("browser-42");
    term.type_line("echo from-ssh-$((2*3))");
    wait_for_screen(&client, "from-ssh-6").await;
    type_line(&client, "echo from-web-$((3*3))").await;
    term.wait_for_text("from-web-9");

    // A reload reconnects and restores the screen.
    client.refresh().await.unwrap();
    wait_connected(&client).await;
    wait_for_screen(&client, "from-web-9").await;
    wait_for_screen(&client, "browser-42").await;

    // A paste bigger than one WebSocket frame may be arrives whole.
    // Paste only once the terminal is out of canonical mode: a canonical
    // line holds at most 4095 bytes and the terminal driver drops the rest,
    // so a paste that wins the race would never add up to 100000. Echo is
    // off too: the driver flushes its echoes lazily, so up to 4 KiB of them
    // can land after `wc` prints and scroll the count off the screen.
    type_line(
        &client,
        "stty -icanon -echo; echo paste-ready-$((1+1)); head -c 100000 | wc -c; stty icanon echo",
    )
    .await;
    wait_for_screen(&client, "paste-ready-2").await;
    client
        .execute(
            "const data = new DataTransfer(); data.setData('text/plain', 'y'.repeat(100000)); \
             document.querySelector('.xterm-helper-textarea').dispatchEvent( \
               new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    wait_for_screen(&client, "100000").await;

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_in_chromium_shows_output_but_cannot_type() {
    let (server, alice, driver, client) = server_and_browser().await;

    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    client
        .goto(&format!("{}/s/alice/work?watch=1", base(&server)))
        .await
        .unwrap();
    assert_eq!(wait_connected(&client).await, "read");
    type_line(&client, "echo watcher-typed").await;
    alice.ok("send work 'echo marker-$((4*4))\\n'");
    wait_for_screen(&client, "marker-16").await;
    let shown = capture(&alice);
    assert!(!shown.contains("watcher-typed"), "{shown}");
    assert!(!screen_text(&client).await.contains("watcher-typed"));

    // A guest link opens the same terminal read-only, without an account.
    let (guest_url, _) = link(&alice, "work --guest");
    let guest = browser(&driver).await;
    guest.goto(&guest_url).await.unwrap();
    assert_eq!(wait_connected(&guest).await, "read");
    wait_for_screen(&guest, "marker-16").await;
    guest.close().await.unwrap();

    // The page's sign-out button signs this browser out.
    client
        .find(Locator::Css(".sign-out button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&client).await, "Signed out");
    client.goto(&format!("{}/", base(&server))).await.unwrap();
    assert_eq!(heading(&client).await, "Not signed in");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_given_write_access_types_without_reloading() {
    let (server, alice, _driver, client) = server_and_browser().await;
    let bob = server.user("bob", false);
    alice.ok("share work bob");
    let (url, _) = link(&bob, "alice/work");
    client.goto(&url).await.unwrap();
    assert_eq!(wait_connected(&client).await, "read");

    alice.ok("share work bob --write");
    wait_access(&client, "write").await;
    type_line(&client, "echo bob-typed-$((6*7))").await;
    wait_for_screen(&client, "bob-typed-42").await;

    alice.ok("share work bob");
    wait_access(&client, "read").await;
    type_line(&client, "echo bob-again").await;
    alice.ok("send work 'echo marker-$((5*5))\\n'");
    wait_for_screen(&client, "marker-25").await;
    assert!(!capture(&alice).contains("bob-again"));
    client.close().await.unwrap();
}

/// Waits until the page says this browser's access is `access`.
async fn wait_access(client: &Client, access: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let shown = client
            .execute(
                "return [document.body.dataset.access || '', \
                 document.getElementById('status').textContent];",
                vec![],
            )
            .await
            .unwrap();
        if shown[0] == access {
            return;
        }
        if Instant::now() > deadline {
            panic!("the page's access and status stayed {shown}, not {access}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP forwarder to the web port whose connections can all be cut at
/// once, as a network drop would; new connections still go through.
async fn cuttable_proxy(target: u16) -> (u16, tokio::sync::watch::Sender<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, _) = tokio::sync::watch::channel(0u64);
    let cuts = cut.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut cut = cuts.subscribe();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = cut.changed() => {}
                }
            });
        }
    });
    (port, cut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_reconnects_and_restores_the_screen() {
    let (server, alice, _driver, client) = server_and_browser().await;
    let (port, cut) = cuttable_proxy(server.web_port).await;
    let (url, _) = link(&alice, "work");
    let url = url.replace(&format!(":{}/", server.web_port), &format!(":{port}/"));
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    type_line(&client, "echo before-$((1+1))").await;
    wait_for_screen(&client, "before-2").await;

    // The network drops; output goes on meanwhile; the page comes back
    // by itself and shows the screen as it now is.
    cut.send_modify(|n| *n += 1);
    alice.ok("send work 'clear; echo during-$((2+2))\\n'");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = client
            .execute(
                "return document.getElementById('status').dataset.state;",
                vec![],
            )
            .await
            .unwrap();
        if state == "reconnecting" {
            break;
        }
        assert!(Instant::now() < deadline, "the page never noticed the drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_connected(&client).await;
    wait_for_screen(&client, "during-4").await;
    type_line(&client, "echo after-$((3+3))").await;
    wait_for_screen(&client, "after-6").await;
    client.close().await.unwrap();
}
