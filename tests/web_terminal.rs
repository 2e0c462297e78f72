//! The terminal page's parts beyond typing (SPEC §7), in real headless
//! Chromium: Unicode 11 widths (the browser's cursor lands where the
//! server's does after wide characters and emoji), the key bar on a
//! phone-sized touch screen (each key's bytes, the arrows in both cursor
//! key modes, none on a read-only page), and the assets coming from the
//! browser's cache, gzipped, on a reload.
//!
//! Set FOYER_SCREENSHOT_DIR to keep a picture of the phone page there
//! (docs/images/terminal-phone.png is one).

mod browser_support;
mod common;
mod web_support;

use std::time::{Duration, Instant};

use browser_support::{Driver, browser, phone, wait_connected, wait_for_screen, wait_value};
use common::{BASH, PATIENCE, Server, Ssh, eventually};
use fantoccini::{Client, Locator};
use web_support::{base, link};

/// A server where alice runs bash as `work`, and chromedriver.
fn server_and_driver() -> (Server, Ssh, Driver) {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    (server, alice, Driver::start())
}

/// Writes `script` to a file and has the session's bash run it; the
/// file goes when the returned directory is dropped.
fn run_script(ssh: &Ssh, script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.sh");
    std::fs::write(&path, script).unwrap();
    ssh.ok(&format!("send work 'bash {}\\n'", path.display()));
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_characters_and_emoji_leave_the_browsers_cursor_where_the_servers_is() {
    let (_server, alice, driver) = server_and_driver();
    let client = browser(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    let version = client
        .execute("return window.foyerTerm.unicode.activeVersion;", vec![])
        .await
        .unwrap();
    assert_eq!(version, "11");

    // Prints the text at the top left, asks the server where the cursor
    // is (foyer answers from its own screen), writes that column on row 3
    // and puts the cursor back where the browser thinks the text ended.
    // Unicode 6 widths (xterm.js without the addon) count each emoji as
    // one column and would leave the cursor two columns short.
    let _script = run_script(
        &alice,
        "stty -echo; clear\n\
         printf 'W:漢字テスト 🎉👍 x'\n\
         IFS=';' read -rsdR -p $'\\e[6n' row col\n\
         printf '\\e7\\e[3;1Hcol=%s.\\e8' \"$col\"\n\
         cat\n",
    );
    wait_for_screen(&client, "col=20.").await;
    let first_row = client
        .execute(
            "return window.foyerTerm.buffer.active.getLine(0).translateToString(true);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first_row, "W:漢字テスト 🎉👍 x");
    let cursor = wait_value(
        &client,
        "const b = window.foyerTerm.buffer.active; return [b.cursorY, b.cursorX];",
        "the cursor back on the first row",
        |v| v[0] == 0,
    )
    .await;
    // Column 20 counted from 1 is cursorX 19.
    assert_eq!(cursor, serde_json::json!([0, 19]));
    client.close().await.unwrap();
}

/// Clicks the key bar's buttons for `keys`, in order.
async fn press(client: &Client, keys: &[&str]) {
    for key in keys {
        client
            .find(Locator::Css(&format!("#keybar button[data-key=\"{key}\"]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

/// Whether the page shows its key bar.
async fn key_bar_shown(client: &Client) -> bool {
    let display = client
        .execute(
            "return getComputedStyle(document.getElementById('keybar')).display;",
            vec![],
        )
        .await
        .unwrap();
    display != "none"
}

const ALL_KEYS: &[&str] = &[
    "esc", "tab", "backtab", "ctrl-c", "left", "up", "down", "right", "enter",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_bar_sends_its_keys_on_a_phone_and_the_arrows_follow_the_cursor_mode() {
    let (server, alice, driver) = server_and_driver();
    let client = phone(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    assert_eq!(wait_connected(&client).await, "write");
    let coarse = client
        .execute("return matchMedia('(pointer: coarse)').matches;", vec![])
        .await
        .unwrap();
    assert_eq!(coarse, true, "the phone emulation has no coarse pointer");
    assert!(
        key_bar_shown(&client).await,
        "a touch screen shows the keys"
    );

    // cat -vT shows each byte it reads: ESC as ^[, Tab as ^I, Ctrl-C as ^C
    // and Enter as ^M (raw mode: neither a signal nor a newline).
    let _script = run_script(
        &alice,
        "stty raw -echo\n\
         printf 'keys-ready\\r\\n'\n\
         head -c 19 | cat -vT\n\
         printf '\\e[?1h\\r\\nkeys-app-mode\\r\\n'\n\
         cat -vT\n",
    );
    wait_for_screen(&client, "keys-ready").await;
    press(&client, ALL_KEYS).await;
    let normal = "^[^I^[[Z^C^[[D^[[A^[[B^[[C^M";
    eventually("the keys in normal cursor mode", || {
        alice.ok("capture work").contains(normal)
    });

    // After `\e[?1h` the program wants application cursor keys.
    wait_for_screen(&client, "keys-app-mode").await;
    wait_value(
        &client,
        "return window.foyerTerm.modes.applicationCursorKeysMode;",
        "xterm.js in application cursor mode",
        |v| v == true,
    )
    .await;
    press(&client, &["left", "up", "down", "right", "enter"]).await;
    eventually("the arrows in application cursor mode", || {
        alice.ok("capture work").contains("^[OD^[OA^[OB^[OC^M")
    });

    if let Some(dir) = std::env::var_os("FOYER_SCREENSHOT_DIR") {
        let png = client.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join("terminal-phone.png"), png).unwrap();
    }

    // A read-only page has no key bar: typing goes nowhere there.
    client
        .goto(&format!("{}/s/alice/work?watch=1", base(&server)))
        .await
        .unwrap();
    assert_eq!(wait_connected(&client).await, "read");
    assert!(!key_bar_shown(&client).await);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_screen_shows_the_key_bar_by_its_button() {
    let (_server, alice, driver) = server_and_driver();
    let client = browser(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    assert!(!key_bar_shown(&client).await, "a mouse needs no key bar");
    let toggle = client.find(Locator::Css("#keys-toggle")).await.unwrap();
    toggle.click().await.unwrap();
    assert!(key_bar_shown(&client).await);
    let _script = run_script(
        &alice,
        "stty raw -echo; printf 'keys-ready\\r\\n'; head -c 3 | cat -vT\n",
    );
    wait_for_screen(&client, "keys-ready").await;
    press(&client, &["backtab"]).await;
    eventually("Shift-Tab from the button", || {
        alice.ok("capture work").contains("^[[Z")
    });
    toggle.click().await.unwrap();
    assert!(!key_bar_shown(&client).await);
    client.close().await.unwrap();
}

/// The Resource Timing sizes of /assets/xterm.js as this page loaded it:
/// [transferSize, encodedBodySize, decodedBodySize].
async fn xterm_js_sizes(client: &Client) -> serde_json::Value {
    wait_value(
        client,
        "const e = performance.getEntriesByType('resource') \
           .find((e) => e.name.endsWith('/assets/xterm.js')); \
         return e ? [e.transferSize, e.encodedBodySize, e.decodedBodySize] : null;",
        "/assets/xterm.js in the page's resource timing",
        |v| !v.is_null(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_takes_the_gzipped_scripts_from_the_browsers_cache() {
    let (_server, alice, driver) = server_and_driver();
    let client = browser(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    let first = xterm_js_sizes(&client).await;
    let as_u64 = |v: &serde_json::Value, i: usize| v[i].as_u64().unwrap();
    // Sent gzipped: fewer bytes on the wire than in the script.
    assert!(as_u64(&first, 1) < as_u64(&first, 2) / 2, "{first}");
    assert!(as_u64(&first, 0) > as_u64(&first, 1), "{first}");

    client.refresh().await.unwrap();
    wait_connected(&client).await;
    let again = xterm_js_sizes(&client).await;
    // From the cache, revalidated with a 304 of headers only (or not
    // asked at all): far fewer bytes than the gzipped body.
    assert!(
        as_u64(&again, 0) < as_u64(&first, 1) / 10,
        "{first} then {again}"
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_in_the_output_opens_in_a_new_tab_without_an_opener() {
    use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let (server, alice, driver) = server_and_driver();
    let client = browser(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    wait_connected(&client).await;
    let target = format!("{}/healthz", base(&server));
    let _script = run_script(
        &alice,
        &format!("stty -echo; clear; printf '{target} '; cat\n"),
    );
    wait_for_screen(&client, &target).await;

    // Where the link's fifth cell is on the page (row 0 after `clear`).
    let spot = client
        .execute(
            "const r = document.querySelector('.xterm-screen').getBoundingClientRect(); \
             const w = r.width / window.foyerTerm.cols, h = r.height / window.foyerTerm.rows; \
             return [r.left + 4.5 * w, r.top + 0.5 * h];",
            vec![],
        )
        .await
        .unwrap();
    let (x, y) = (spot[0].as_f64().unwrap(), spot[1].as_f64().unwrap());
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        })
        .then(PointerAction::MoveTo {
            duration: None,
            x: x + 2.0,
            y,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    let first = client.window().await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    // The addon finds links as the pointer moves: click until a tab opens.
    let windows = loop {
        client.perform_actions(mouse.clone()).await.unwrap();
        let windows = client.windows().await.unwrap();
        if windows.len() > 1 {
            break windows;
        }
        assert!(Instant::now() < deadline, "clicking the link opened no tab");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let tab = windows.into_iter().find(|w| *w != first).unwrap();
    client.switch_to_window(tab).await.unwrap();
    wait_value(
        &client,
        "return location.href;",
        "the new tab at the link",
        |v| v == target.as_str(),
    )
    .await;
    let opener = client
        .execute("return window.opener;", vec![])
        .await
        .unwrap();
    assert!(opener.is_null(), "the tab can reach the terminal: {opener}");
    client.close().await.unwrap();
}
