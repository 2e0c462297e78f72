//! Helpers for the browser tests: chromedriver and headless Chromium
//! (Debian's `chromium` and `chromium-driver`, installed by
//! tools/install-test-deps; without them the tests fail, never skip),
//! and reading and typing into the terminal page's xterm.js.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::common::PATIENCE;

/// chromedriver on a free port, ended when dropped.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // In a process group of its own, with the browsers it starts, so
        // that a test that fails before closing its browser leaves none.
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver (install it with tools/install-test-deps)");
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

pub fn find_program(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|path| std::path::Path::new(path).exists())
        .map(|path| path.to_string())
}

pub fn chromedriver() -> String {
    find_program(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]).unwrap_or_else(
        || panic!("chromedriver is missing: run tools/install-test-deps (Debian chromium-driver)"),
    )
}

pub fn chromium() -> String {
    find_program(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]).unwrap_or_else(|| {
        panic!("chromium is missing: run tools/install-test-deps (Debian chromium)")
    })
}

/// A headless Chromium session.
pub async fn browser(driver: &Driver) -> Client {
    browser_with(driver, serde_json::json!({})).await
}

/// A headless Chromium emulating a phone: 390x844 CSS pixels, touch
/// events, and so a coarse pointer.
pub async fn phone(driver: &Driver) -> Client {
    browser_with(
        driver,
        serde_json::json!({
            "mobileEmulation": {
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
            },
        }),
    )
    .await
}

/// A headless Chromium with `extra` added to its `goog:chromeOptions`.
pub async fn browser_with(driver: &Driver, extra: serde_json::Value) -> Client {
    let mut options = serde_json::json!({
        "binary": chromium(),
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1100,800",
        ],
    });
    if let (Some(options), Some(extra)) = (options.as_object_mut(), extra.as_object()) {
        options.extend(extra.clone());
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("start headless Chromium through chromedriver")
}

/// The page's main heading.
pub async fn heading(client: &Client) -> String {
    // After a click the next page may still be loading: wait for it.
    let h1 = client.wait().for_element(Locator::Css("h1")).await.unwrap();
    h1.text().await.unwrap()
}

/// The terminal's text as xterm.js draws it.
pub async fn screen_text(client: &Client) -> String {
    let value = client
        .execute(
            "const rows = document.querySelector('.xterm-rows'); \
             return rows ? rows.innerText : '';",
            vec![],
        )
        .await
        .unwrap();
    value.as_str().unwrap_or("").replace('\u{a0}', " ")
}

pub async fn wait_for_screen(client: &Client, text: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let shown = screen_text(client).await;
        if shown.contains(text) {
            return;
        }
        if Instant::now() > deadline {
            panic!("the browser never showed `{text}`; it shows:\n{shown}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page says it is connected; returns its access.
pub async fn wait_connected(client: &Client) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = client
            .execute(
                "return [document.getElementById('status').dataset.state, \
                 document.body.dataset.access || ''];",
                vec![],
            )
            .await
            .unwrap();
        if state[0] == "connected" {
            return state[1].as_str().unwrap().to_string();
        }
        if Instant::now() > deadline {
            panic!("the page never connected: {state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Types `text` and Enter into the terminal.
pub async fn type_line(client: &Client, text: &str) {
    let input = client
        .find(Locator::Css(".xterm-helper-textarea"))
        .await
        .unwrap();
    input.send_keys(text).await.unwrap();
    input.send_keys("\u{E007}").await.unwrap();
}

/// Polls `script`'s value until `wanted` says yes; returns it.
pub async fn wait_value(
    client: &Client,
    script: &str,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        if wanted(&value) {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; last: {value}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
