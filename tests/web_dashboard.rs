//! The dashboard at `/` in real headless Chromium (SPEC §7): previews that
//! match `capture`, cards that appear, change, get the attention mark and
//! go without a reload; create, kill (with its confirm), share and guest
//! link from the page; another user's unshared sessions never in the page
//! (tests/web_events.rs reads the stream itself); desktop notifications
//! for writable sessions only, on the dashboard and the terminal page.
//! Takes the picture docs/images/dashboard.png (with `FOYER_SCREENSHOTS=1`).
//!
//! Needs Debian's `chromium` and `chromium-driver` (tools/install-test-deps
//! installs them); without them these tests fail, never skip.

mod browser_support;
mod common;
mod web_support;

use std::time::{Duration, Instant};

use browser_support::{Driver, browser_with};

use common::{BASH, PATIENCE, Server, Ssh};
use fantoccini::{Client, Locator};
use web_support::{base, http, link};

/// Headless Chromium with notifications allowed, as after the person
/// said yes, in a window wide enough for two cards side by side.
async fn browser(driver: &Driver) -> Client {
    browser_with(
        driver,
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900"],
            "prefs": { "profile.default_content_setting_values.notifications": 1 },
        }),
    )
    .await
}

/// A server where alice runs bash as `work` and bob has an unshared
/// `secret`; alice's browser signed in, on the dashboard, live.
async fn dashboard() -> (Server, Ssh, Ssh, Driver, Client) {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    bob.ok(&format!("new secret -d -- {BASH}"));
    let driver = Driver::start();
    let client = browser(&driver).await;
    let (url, _) = link(&alice, "work");
    client.goto(&url).await.unwrap();
    client.goto(&format!("{}/", base(&server))).await.unwrap();
    until(
        &client,
        "the event stream is live",
        "return document.getElementById('live').dataset.state === 'live';",
    )
    .await;
    (server, alice, bob, driver, client)
}

/// Runs `script` in the page until it returns true.
async fn until(client: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        if value == serde_json::Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what} (last: {value})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A script's value as a string.
async fn eval(client: &Client, script: &str) -> String {
    let value = client.execute(script, vec![]).await.unwrap();
    value.as_str().unwrap_or_default().to_string()
}

/// The JS expression for the card of `key` (OWNER/NAME).
fn card(key: &str) -> String {
    format!("document.querySelector('article.card[data-key=\"{key}\"]')")
}

/// Text without trailing blanks on each line or trailing empty lines.
fn tidy(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

async fn preview(client: &Client, key: &str) -> String {
    let c = card(key);
    eval(
        client,
        &format!("const c = {c}; return c ? c.querySelector('pre.preview').textContent : '';"),
    )
    .await
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // Kept in the target directory; `FOYER_SCREENSHOTS=1` refreshes the
    // picture in docs/images/ (so that a test run leaves git clean).
    let dir = if std::env::var_os("FOYER_SCREENSHOTS").is_some() {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images")
    } else {
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_sessions_without_a_reload() {
    let (_server, alice, bob, _driver, client) = dashboard().await;
    let work = card("alice/work");
    until(
        &client,
        "alice/work has a card",
        &format!("return {work} !== null;"),
    )
    .await;

    // New output reaches the preview, which is the screen `capture` prints.
    alice.ok("send work 'echo dash-$((6*7))\\n'");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let shown = tidy(&preview(&client, "alice/work").await);
        if shown.contains("dash-42") && shown == tidy(&alice.ok("capture work")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the preview never matched capture: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A new session appears; an attention mark shows and sorts first.
    alice.ok(&format!("new another -d -- {BASH}"));
    until(
        &client,
        "alice/another has a card",
        &format!("return {} !== null;", card("alice/another")),
    )
    .await;
    // Who is attached shows, and goes.
    let another = card("alice/another");
    let attached = alice.term("attach another", 24, 80);
    until(
        &client,
        "alice shows as attached to another",
        &format!(
            "return {another}.querySelector('.who').textContent === 'attached: alice (write)';"
        ),
    )
    .await;
    attached.detach();
    until(
        &client,
        "nobody shows as attached to another",
        &format!("return {another}.querySelector('.who').textContent === 'nobody attached';"),
    )
    .await;

    alice.ok("notify work 'needs a review'");
    until(
        &client,
        "work is marked and first",
        &format!(
            "const c = {work}; return c.classList.contains('wants') \
             && c.querySelector('.attention-message').textContent === 'needs a review' \
             && document.querySelector('#cards article.card') === c;"
        ),
    )
    .await;

    // A state change shows: the program ends, the card says so.
    alice.ok("send another 'exit\\n'");
    until(
        &client,
        "another shows as exited",
        &format!(
            "return {another}.dataset.state === 'exited' \
             && {another}.querySelector('.state').textContent === 'exited';"
        ),
    )
    .await;

    // A removal shows; bob's unshared session never did.
    alice.ok("kill another");
    until(
        &client,
        "alice/another is gone",
        &format!("return {} === null;", card("alice/another")),
    )
    .await;
    let page = eval(&client, "return document.body.innerHTML;").await;
    assert!(
        !page.contains("secret"),
        "bob's session leaked into the page"
    );

    // The filter narrows the cards.
    bob.ok("share secret alice");
    until(
        &client,
        "bob/secret appears once shared",
        &format!("return {} !== null;", card("bob/secret")),
    )
    .await;
    client
        .find(Locator::Id("filter"))
        .await
        .unwrap()
        .send_keys("secr")
        .await
        .unwrap();
    until(
        &client,
        "only bob/secret is shown",
        &format!("return {work}.hidden && !{}.hidden;", card("bob/secret")),
    )
    .await;

    // The picture for docs/web.md: attention first, a read-only share.
    bob.ok("send secret 'echo from bob\\n'");
    client
        .execute(
            "const f = document.getElementById('filter'); f.value = ''; \
             f.dispatchEvent(new Event('input')); return true;",
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "both cards show, bob's preview too",
        &format!(
            "return !{work}.hidden && {}.querySelector('pre').textContent.includes('from bob');",
            card("bob/secret")
        ),
    )
    .await;
    screenshot(&client, "dashboard.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_kill_share_and_guest_link_from_the_page() {
    let (server, alice, bob, _driver, client) = dashboard().await;
    // Create: a name, then a command.
    let form = client.find(Locator::Id("new-session")).await.unwrap();
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("made")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=command]"))
        .await
        .unwrap()
        .send_keys(BASH)
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let made = card("alice/made");
    until(
        &client,
        "alice/made appears",
        &format!("return {made} !== null;"),
    )
    .await;
    assert!(alice.ok("ls").contains("made"));

    // Kill asks first: the first click only opens the confirmation.
    client
        .execute(
            &format!("{made}.querySelector('button.kill').click();"),
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "the confirmation shows",
        &format!("return !{made}.querySelector('.kill-panel').hidden;"),
    )
    .await;
    assert!(alice.ok("ls").contains("made"), "killed before confirming");
    client
        .execute(
            &format!("{made}.querySelector('button.confirm-kill').click();"),
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "alice/made is gone",
        &format!("return {made} === null;"),
    )
    .await;
    assert!(!alice.ok("ls").contains("made"));

    // Share with bob, read/write.
    let work = card("alice/work");
    client
        .execute(
            &format!("{work}.querySelector('button.share').click();"),
            vec![],
        )
        .await
        .unwrap();
    let panel = client
        .find(Locator::Css(
            "article.card[data-key=\"alice/work\"] .share-panel",
        ))
        .await
        .unwrap();
    panel
        .find(Locator::Css("input[name=user]"))
        .await
        .unwrap()
        .send_keys("bob")
        .await
        .unwrap();
    panel
        .find(Locator::Css("option[value=write]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    panel
        .find(Locator::Css("button.do-share"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &client,
        "the share is confirmed",
        &format!(
            "return {work}.querySelector('.message').textContent.includes('shared with bob');"
        ),
    )
    .await;
    let bobs = common::json_rows(&bob.ok("ls --json"));
    assert!(
        bobs.iter()
            .any(|s| s["name"] == "work" && s["access"] == "write"),
        "{bobs:?}"
    );

    // A guest link, which opens the session read-only for anyone.
    client
        .execute(
            &format!("{work}.querySelector('button.guest').click();"),
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "a guest URL shows",
        &format!("return {work}.querySelector('.guest-url').value.includes('/g/');"),
    )
    .await;
    let url = eval(
        &client,
        &format!("return {work}.querySelector('.guest-url').value;"),
    )
    .await;
    assert!(url.starts_with(&format!("{}/g/", base(&server))), "{url}");
    let opened = http().get(&url).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(opened.headers()["location"], "/s/alice/work?watch=1");
}

/// Headless Chromium shows no desktop notifications, so the page's
/// `window.Notification` is replaced by a recorder (`RECORD_NOTES`); the
/// permission itself is granted by a browser preference. What is not
/// observed is the browser's display of them, not foyer's choice of when
/// to make one, its title, body and click.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_for_a_writable_session_and_none_for_a_read_only_one() {
    let (_server, alice, bob, _driver, client) = dashboard().await;
    bob.ok("share secret alice");
    until(
        &client,
        "bob/secret is shown",
        &format!("return {} !== null;", card("bob/secret")),
    )
    .await;
    let granted = client.execute(RECORD_NOTES, vec![]).await.unwrap();
    assert_eq!(granted, "granted", "the preference grants the permission");
    // Read-only first, then writable: the stream keeps their order.
    bob.ok("notify secret 'bob needs you'");
    until(
        &client,
        "bob/secret is marked",
        &format!("return {}.classList.contains('wants');", card("bob/secret")),
    )
    .await;
    alice.ok("notify work 'build finished'");
    until(
        &client,
        "a notification was made",
        "return window.notes.length > 0;",
    )
    .await;
    let notes = client
        .execute("return window.notes.map(n => [n.title, n.body]);", vec![])
        .await
        .unwrap();
    assert_eq!(notes, serde_json::json!([["alice/work", "build finished"]]));
    client
        .execute("window.notes[0].onclick();", vec![])
        .await
        .unwrap();
    until(
        &client,
        "the click opened the session",
        "return location.pathname === '/s/alice/work';",
    )
    .await;
}

/// The recorder of `Notification`s (see the test above), installed in the
/// page; answers the browser's own permission.
const RECORD_NOTES: &str = "window.notes = []; \
    const granted = window.Notification.permission; \
    window.Notification = function (title, options) { \
      this.title = title; this.body = options.body; this.close = function () {}; \
      window.notes.push(this); }; \
    window.Notification.permission = granted; \
    return granted;";

/// The terminal page notifies too (web/notify.js, beside the terminal's
/// own script), with the browser's permission granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_page_notifies_of_another_writable_session() {
    let (server, alice, _bob, _driver, client) = dashboard().await;
    alice.ok(&format!("new other -d -- {BASH}"));
    client
        .goto(&format!("{}/s/alice/work", base(&server)))
        .await
        .unwrap();
    until(
        &client,
        "the terminal page's stream is live",
        "return !!window.FoyerNotify && window.FoyerNotify.live();",
    )
    .await;
    let granted = client.execute(RECORD_NOTES, vec![]).await.unwrap();
    assert_eq!(granted, "granted", "the preference grants the permission");
    alice.ok("notify other 'tests passed'");
    until(
        &client,
        "a notification was made",
        "return window.notes.length > 0;",
    )
    .await;
    let notes = client
        .execute("return window.notes.map(n => [n.title, n.body]);", vec![])
        .await
        .unwrap();
    assert_eq!(notes, serde_json::json!([["alice/other", "tests passed"]]));
}
