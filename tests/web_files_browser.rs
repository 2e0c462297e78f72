//! Files in and out on the terminal page (SPEC §7), in real headless
//! Chromium: files pasted or dropped on the page are uploaded byte for
//! byte and their paths typed into the session as a bracketed paste
//! (plain text pastes as before; an upload over `web.upload_max` shows
//! the server's 413 message); a watch page and a reader's page cannot
//! upload and have no Files button; the Files panel lists the session's
//! working directory, opens a subdirectory and comes back, shows a text
//! file and an image, shows the server's refusals (a symbolic link
//! leading out, a file over `web.file_view_max`), and gives the terminal
//! the focus back when it closes.
//!
//! The pastes and drops are synthetic events (`ClipboardEvent` and
//! `DragEvent` holding a `DataTransfer` with `File`s made in the page):
//! what the page does with them is what it does with a person's, apart
//! from the browser's own clipboard and drag machinery.
//!
//! Takes the picture docs/images/files.png (with `FOYER_SCREENSHOTS=1`).

mod browser_support;
mod common;
mod web_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use browser_support::{Driver, browser, wait_connected, wait_for_screen, wait_value};
use common::{BASH, PATIENCE, Server, Ssh, eventually};
use fantoccini::{Client, Locator};
use web_support::{base, link};

/// Small limits, so that the tests can pass them.
const CONFIG: &str = "[web]\nupload_max = \"64k\"\nfile_view_max = \"4k\"\n";

/// A 3x2 PNG (red, green, blue; yellow, cyan, magenta).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\
\x00\x00\x00\x03\x00\x00\x00\x02\x08\x02\x00\x00\x00\x12\x16\xf1\x4d\x00\x00\x00\x15\x49\
\x44\x41\x54\x78\x9c\x63\xf8\xcf\xc0\xc0\x00\xc1\xff\x81\xd4\x7f\x20\xf1\x1f\x00\x4a\xc9\
\x08\xf8\xee\x68\x40\xb6\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// A server (with [`CONFIG`]) where alice runs bash as `work` in
/// `~/proj`, and chromedriver. The home is the server's `HOME`.
fn server_and_driver() -> (Server, Ssh, Driver) {
    let server = Server::start_with_config(CONFIG);
    std::fs::create_dir_all(home(&server).join("proj")).unwrap();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -C proj -- {BASH}"));
    (server, alice, Driver::start())
}

fn home(server: &Server) -> PathBuf {
    server.dir.path().join("home")
}

fn uploads(server: &Server) -> PathBuf {
    home(server).join(".cache/foyer/uploads/work")
}

/// A signed-in browser on alice's `work`, connected.
async fn alices_page(driver: &Driver, alice: &Ssh) -> Client {
    let client = browser(driver).await;
    let (url, _) = link(alice, "work");
    client.goto(&url).await.unwrap();
    assert_eq!(wait_connected(&client).await, "write");
    client
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

/// Has the session print every byte it reads visibly (`cat -v`: ESC as
/// `^[`), with bracketed paste turned on as a program such as Claude
/// Code turns it on; waits until the browser shows it is ready.
async fn show_what_is_typed(client: &Client, alice: &Ssh) -> tempfile::TempDir {
    let script = run_script(
        alice,
        "stty raw -echo\n\
         printf '\\e[?2004h\\e[2J\\e[Hpaste-ready\\r\\n'\n\
         cat -v\n",
    );
    wait_for_screen(client, "paste-ready").await;
    wait_value(
        client,
        "return window.foyerTerm.modes.bracketedPasteMode;",
        "xterm.js in bracketed paste mode",
        |v| v == true,
    )
    .await;
    script
}

/// The session's screen as one line (rows joined, so that a long path
/// wrapped over two rows is whole again).
fn screen_line(alice: &Ssh) -> String {
    alice.ok("capture work").replace('\n', "")
}

/// Waits for a bracketed paste on the session's screen (as `cat -v`
/// shows it) after `after`, and returns what was pasted.
fn wait_pasted(alice: &Ssh, after: usize) -> String {
    let mut pasted = String::new();
    eventually("a bracketed paste in the session", || {
        let line = screen_line(alice);
        let Some(rest) = line.get(after..) else {
            return false;
        };
        let Some(start) = rest.find("^[[200~") else {
            return false;
        };
        let inner = &rest[start + 7..];
        match inner.find("^[[201~") {
            Some(end) => {
                pasted = inner[..end].to_string();
                true
            }
            None => false,
        }
    });
    pasted
}

/// Builds a `DataTransfer` holding `files` ([name, type, bytes] each) in
/// the page and dispatches `kind` ("paste" or "drop") with it at the
/// element `selector`; returns whether the page took the event (called
/// `preventDefault`).
async fn send_files(
    client: &Client,
    kind: &str,
    selector: &str,
    files: &[(&str, &str, &[u8])],
) -> bool {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, kind, bytes)| serde_json::json!([name, kind, bytes]))
        .collect();
    let taken = client
        .execute(
            "const [kind, selector, files] = arguments; \
             const transfer = new DataTransfer(); \
             for (const [name, type, bytes] of files) { \
               transfer.items.add(new File([new Uint8Array(bytes)], name, { type })); \
             } \
             const init = { bubbles: true, cancelable: true }; \
             const event = kind === 'paste' \
               ? new ClipboardEvent('paste', { ...init, clipboardData: transfer }) \
               : new DragEvent('drop', { ...init, dataTransfer: transfer }); \
             if (transfer.files.length !== files.length) { \
               throw new Error('the DataTransfer holds ' + transfer.files.length + ' files'); \
             } \
             document.querySelector(selector).dispatchEvent(event); \
             return event.defaultPrevented;",
            vec![
                serde_json::json!(kind),
                serde_json::json!(selector),
                serde_json::json!(files),
            ],
        )
        .await
        .unwrap();
    taken == true
}

/// Has the page keep every line its upload status box shows, as
/// "state|text" (lines of finished uploads go after a few seconds).
async fn record_upload_lines(client: &Client) {
    client
        .execute(
            "window.seenUploads = []; \
             new MutationObserver(() => { \
               for (const l of document.querySelectorAll('#uploads .upload')) { \
                 const seen = l.dataset.state + '|' + l.querySelector('span').textContent; \
                 if (!window.seenUploads.includes(seen)) { window.seenUploads.push(seen); } \
               } \
             }).observe(document.body, \
               { subtree: true, childList: true, attributes: true, characterData: true });",
            vec![],
        )
        .await
        .unwrap();
}

/// Waits until the page's upload status has shown each of `lines`.
async fn wait_upload_lines_seen(client: &Client, lines: &[&str]) {
    wait_value(
        client,
        "return window.seenUploads;",
        &format!("the upload status to show {lines:?}"),
        |seen| {
            lines
                .iter()
                .all(|l| seen.as_array().unwrap().iter().any(|s| s == l))
        },
    )
    .await;
}

/// The lines of the page's upload status box, as [state, text].
async fn upload_lines(client: &Client) -> Vec<(String, String)> {
    let lines = client
        .execute(
            "return Array.from(document.querySelectorAll('#uploads .upload')) \
               .map((l) => [l.dataset.state, l.querySelector('span').textContent]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(lines).unwrap()
}

async fn wait_upload_line(client: &Client, state: &str, text: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let lines = upload_lines(client).await;
        if lines.iter().any(|(s, t)| s == state && t == text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {state} line `{text}`; the status shows {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every byte value, then some text: what an upload must keep exactly.
fn awkward_bytes(extra: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice(b"\r\n\x1b[201~ not the end of a paste\n");
    bytes.extend_from_slice(extra.as_bytes());
    bytes
}

/// The paths typed by one paste: absolute, under the session's uploads
/// directory, each holding exactly the bytes given.
fn check_typed(server: &Server, pasted: &str, sent: &[&[u8]]) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = pasted.split(' ').map(PathBuf::from).collect();
    assert_eq!(paths.len(), sent.len(), "typed: {pasted:?}");
    for (path, bytes) in paths.iter().zip(sent) {
        assert!(path.is_absolute(), "{path:?}");
        assert_eq!(path.parent(), Some(uploads(server).as_path()), "{path:?}");
        assert_eq!(
            std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}")),
            *bytes,
            "{path:?} is not what was sent"
        );
    }
    paths
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_and_dropped_files_are_uploaded_and_their_paths_typed_as_a_bracketed_paste() {
    let (server, alice, driver) = server_and_driver();
    let client = alices_page(&driver, &alice).await;
    let _script = show_what_is_typed(&client, &alice).await;
    let textarea = ".xterm-helper-textarea";
    record_upload_lines(&client).await;

    // A pasted screenshot and a text file: uploaded in order, both paths
    // typed in one bracketed paste.
    let shot = awkward_bytes("shot");
    let notes = awkward_bytes("notes");
    assert!(
        send_files(
            &client,
            "paste",
            textarea,
            &[
                ("shot.png", "image/png", &shot),
                ("notes.txt", "text/plain", &notes)
            ],
        )
        .await,
        "the page let a paste of files through"
    );
    let pasted = wait_pasted(&alice, 0);
    let first = check_typed(&server, &pasted, &[&shot, &notes]);
    assert_eq!(file_name(&first[0]), "shot.png");
    assert_eq!(file_name(&first[1]), "notes.txt");
    wait_upload_lines_seen(
        &client,
        &[
            "uploading|uploading shot.png\u{2026}",
            "done|uploaded shot.png",
            "uploading|uploading notes.txt\u{2026}",
            "done|uploaded notes.txt",
        ],
    )
    .await;

    // Dropped on the terminal: the same name again is a new file.
    let after = screen_line(&alice).len();
    let again = awkward_bytes("dropped");
    assert!(
        send_files(
            &client,
            "drop",
            "#terminal",
            &[("shot.png", "image/png", &again)]
        )
        .await
    );
    let pasted = wait_pasted(&alice, after);
    let second = check_typed(&server, &pasted, &[&again]);
    assert_ne!(second[0], first[0], "an upload overwrote another");
    assert_eq!(std::fs::read(&first[0]).unwrap(), shot);

    // Plain text is pasted by xterm.js as before.
    let after = screen_line(&alice).len();
    let taken = client
        .execute(
            "const transfer = new DataTransfer(); \
             transfer.setData('text/plain', 'just-text-42'); \
             const event = new ClipboardEvent('paste', \
               { bubbles: true, cancelable: true, clipboardData: transfer }); \
             document.querySelector('.xterm-helper-textarea').dispatchEvent(event); \
             return document.querySelectorAll('#uploads .upload[data-state=uploading]').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(taken, 0, "a text paste started an upload");
    assert_eq!(wait_pasted(&alice, after), "just-text-42");
    let files = std::fs::read_dir(uploads(&server)).unwrap().count();
    assert_eq!(files, 3, "uploads: three files, no more");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_shows_the_servers_message_and_types_nothing() {
    let (server, alice, driver) = server_and_driver();
    let client = alices_page(&driver, &alice).await;
    let _script = show_what_is_typed(&client, &alice).await;
    // 64k is the limit: one byte more is refused whole.
    let big = vec![b'x'; 64 * 1024 + 1];
    let small = awkward_bytes("small");
    assert!(
        send_files(
            &client,
            "drop",
            "#terminal",
            &[
                ("big.bin", "application/octet-stream", &big),
                ("small.txt", "text/plain", &small)
            ],
        )
        .await
    );
    // What the server says to the same upload, asked from the page.
    let answer = client
        .execute(
            "const [session] = arguments; \
             const response = await fetch('/api/sessions/' + session + '/uploads?name=big.bin', \
               { method: 'POST', body: new Uint8Array(64 * 1024 + 1), \
                 referrerPolicy: 'same-origin' }); \
             return [response.status, (await response.json()).error];",
            vec![serde_json::json!("alice/work")],
        )
        .await
        .unwrap();
    assert_eq!(answer[0], 413, "{answer}");
    let message = answer[1].as_str().unwrap();
    assert!(!message.is_empty());
    wait_upload_line(&client, "error", &format!("big.bin: {message}")).await;
    // The file under the limit still goes, and only its path is typed.
    let pasted = wait_pasted(&alice, 0);
    let typed = check_typed(&server, &pasted, &[&small]);
    assert_eq!(file_name(&typed[0]), "small.txt");
    let names: Vec<String> = std::fs::read_dir(uploads(&server))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["small.txt"]);
    client.close().await.unwrap();
}

/// Whether the page shows its Files button: null when it has none.
async fn files_button(client: &Client) -> serde_json::Value {
    client
        .execute(
            "const b = document.getElementById('files-toggle'); \
             return b ? getComputedStyle(b).display !== 'none' : null;",
            vec![],
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_page_and_a_readers_page_cannot_upload_and_show_no_files_button() {
    let (server, alice, driver) = server_and_driver();
    let bob = server.user("bob", false);
    alice.ok("share work bob");
    let client = alices_page(&driver, &alice).await;
    assert_eq!(files_button(&client).await, true, "a writer has the button");
    let shot = awkward_bytes("shot");
    let shot_file = [("shot.png", "image/png", shot.as_slice())];

    // Alice watching her own session: no button, no uploads.
    client
        .goto(&format!("{}/s/alice/work?watch=1", base(&server)))
        .await
        .unwrap();
    assert_eq!(wait_connected(&client).await, "read");
    assert_eq!(files_button(&client).await, serde_json::Value::Null);
    assert!(!send_files(&client, "paste", ".xterm-helper-textarea", &shot_file).await);
    assert!(!send_files(&client, "drop", "#terminal", &shot_file).await);
    // An upload would have started inside the event (its status line
    // and its request are made before dispatchEvent returns).
    assert!(upload_lines(&client).await.is_empty());

    // Bob, who may only read: the button is hidden, nothing uploads, and
    // the server refuses him anyway.
    let bobs = browser(&driver).await;
    let (url, _) = link(&bob, "alice/work");
    bobs.goto(&url).await.unwrap();
    assert_eq!(wait_connected(&bobs).await, "read");
    assert_eq!(files_button(&bobs).await, false);
    assert!(!send_files(&bobs, "paste", ".xterm-helper-textarea", &shot_file).await);
    assert!(upload_lines(&bobs).await.is_empty());
    let statuses = bobs
        .execute(
            "const api = '/api/sessions/alice/work'; \
             const up = await fetch(api + '/uploads?name=x.txt', \
               { method: 'POST', body: 'x', referrerPolicy: 'same-origin' }); \
             const list = await fetch(api + '/files'); \
             return [up.status, list.status];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(statuses, serde_json::json!([403, 403]));
    assert!(!uploads(&server).join("shot.png").exists());
    assert!(!uploads(&server).join("x.txt").exists());

    // Made a writer while on the page, bob gets the button.
    alice.ok("share work bob --write");
    wait_value(
        &bobs,
        "const b = document.getElementById('files-toggle'); \
         return getComputedStyle(b).display !== 'none';",
        "bob's Files button once he may write",
        |v| v == true,
    )
    .await;
    bobs.close().await.unwrap();
    client.close().await.unwrap();
}

/// The panel's state: [view, path, rows as "name|kind|size" with a
/// modification time present, error text].
async fn panel(client: &Client) -> serde_json::Value {
    client
        .execute(
            "const p = document.getElementById('files'); \
             if (!p || p.hidden) { return null; } \
             const rows = Array.from(p.querySelectorAll('.files-list tbody tr')).map((r) => \
               [r.querySelector('.files-name').textContent, r.dataset.kind, \
                r.querySelector('.files-size').textContent, \
                r.querySelector('.files-modified').textContent !== ''].join('|')); \
             const error = p.querySelector('.files-error'); \
             return [p.dataset.view, p.dataset.path, rows, error ? error.textContent : null];",
            vec![],
        )
        .await
        .unwrap()
}

async fn wait_panel(client: &Client, view: &str, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = panel(client).await;
        if state[0] == view && state[1] == path {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "the panel never showed {view} {path:?}: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the entry for `path` in the panel's listing.
async fn click_entry(client: &Client, path: &str) {
    client
        .find(Locator::Css(&format!(
            "#files .files-name button[data-path=\"{path}\"]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The server's error message for GET …/files?path=PATH, asked from the page.
async fn files_error(client: &Client, path: &str) -> (u64, String) {
    let answer = client
        .execute(
            "const [path] = arguments; \
             const r = await fetch('/api/sessions/alice/work/files?path=' + \
               encodeURIComponent(path)); \
             return [r.status, (await r.json()).error];",
            vec![serde_json::json!(path)],
        )
        .await
        .unwrap();
    (
        answer[0].as_u64().unwrap(),
        answer[1].as_str().unwrap().to_string(),
    )
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // Kept in the target directory; `FOYER_SCREENSHOTS=1` refreshes the
    // picture in docs/images/ (so that a test run leaves git clean).
    let dir = if std::env::var_os("FOYER_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_panel_lists_opens_shows_and_refuses_as_the_server_says() {
    let (server, alice, driver) = server_and_driver();
    let proj = home(&server).join("proj");
    std::fs::create_dir_all(proj.join("src/deeper")).unwrap();
    std::fs::write(proj.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(proj.join("README.md"), "# proj\n\nA project.\n").unwrap();
    std::fs::write(proj.join("Cargo.toml"), "[package]\nname = \"proj\"\n").unwrap();
    let notes = "Notes\n<b>not markup</b> & \"quotes\"\n\tindented, ünïcode ✓\n";
    std::fs::write(proj.join("notes.txt"), notes).unwrap();
    std::fs::write(proj.join("pic.png"), PNG).unwrap();
    std::fs::write(proj.join("big.log"), "y".repeat(4 * 1024 + 1)).unwrap();
    std::fs::create_dir_all(home(&server).join("secret")).unwrap();
    std::fs::write(home(&server).join("secret/key.txt"), "top secret\n").unwrap();
    std::os::unix::fs::symlink("../secret", proj.join("outside")).unwrap();

    let client = alices_page(&driver, &alice).await;
    client.set_window_size(1280, 800).await.unwrap();
    browser_support::type_line(&client, "ls -l").await;
    wait_for_screen(&client, "notes.txt").await;

    // The working directory, directories first.
    client
        .find(Locator::Id("files-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let root = wait_panel(&client, "dir", "").await;
    let rows: Vec<&str> = root[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rows[0], "src/|dir||true", "{root}");
    let notes_size = format!("notes.txt|file|{} B|true", notes.len());
    for row in [
        notes_size.as_str(),
        "pic.png|file|78 B|true",
        "big.log|file|4.0 KiB|true",
    ] {
        assert!(rows.contains(&row), "no {row} in {root}");
    }
    assert!(
        rows.iter().any(|r| r.starts_with("outside")),
        "no link in {root}"
    );
    assert!(!rows.iter().any(|r| r.starts_with("..")), "above the root");
    let crumbs = client
        .find(Locator::Css("#files .files-path"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(crumbs, "proj");
    screenshot(&client, "files.png").await;

    // Into a directory, and back up.
    click_entry(&client, "src").await;
    let src = wait_panel(&client, "dir", "src").await;
    assert_eq!(
        src[2],
        serde_json::json!([
            "..|up||false",
            "deeper/|dir||true",
            "main.rs|file|13 B|true"
        ])
    );
    let crumbs = client
        .find(Locator::Css("#files .files-path"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(crumbs, "proj/src");
    click_entry(&client, "src/deeper").await;
    wait_panel(&client, "dir", "src/deeper").await;
    // The path's first part leads back to the working directory.
    client
        .find(Locator::Css("#files .files-crumb[data-path=\"\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_panel(&client, "dir", "").await;
    click_entry(&client, "src").await;
    wait_panel(&client, "dir", "src").await;
    click_entry(&client, "").await;
    wait_panel(&client, "dir", "").await;

    // A text file, as text.
    click_entry(&client, "notes.txt").await;
    wait_panel(&client, "file", "notes.txt").await;
    let shown = client
        .execute(
            "const pre = document.querySelector('#files pre.files-text'); \
             return [pre.textContent, pre.children.length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, serde_json::json!([notes, 0]));
    let download = client
        .execute(
            "const a = document.querySelector('#files a.files-download'); \
             return [a.download, a.href.startsWith('blob:')];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(download, serde_json::json!(["notes.txt", true]));

    // An image, drawn.
    click_entry_by_crumb(&client).await;
    click_entry(&client, "pic.png").await;
    wait_panel(&client, "file", "pic.png").await;
    let size = wait_value(
        &client,
        "const img = document.querySelector('#files img.files-image'); \
         return img && img.complete ? [img.naturalWidth, img.naturalHeight] : null;",
        "the image drawn",
        |v| !v.is_null(),
    )
    .await;
    assert_eq!(size, serde_json::json!([3, 2]));
    let info = wait_value(
        &client,
        "return Array.from(document.querySelectorAll('#files .files-info > *'), \
           (e) => e.textContent);",
        "the image's size beside its bytes",
        |v| v.as_array().unwrap().len() == 3,
    )
    .await;
    assert_eq!(info, serde_json::json!(["78 B", "3 \u{d7} 2", "Download"]));

    // A link leading out: the server's refusal, as it says it.
    click_entry_by_crumb(&client).await;
    click_entry(&client, "outside").await;
    let refused = wait_panel(&client, "error", "outside").await;
    let (status, message) = files_error(&client, "outside").await;
    assert_eq!(status, 403);
    assert_eq!(refused[3], format!("{message} (HTTP 403)"));
    assert!(!refused.to_string().contains("top secret"), "{refused}");
    // Back to the folder from there.
    client
        .find(Locator::Css("#files .files-back"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_panel(&client, "dir", "").await;

    // Over web.file_view_max: 413, said so.
    click_entry(&client, "big.log").await;
    let too_big = wait_panel(&client, "error", "big.log").await;
    let (status, message) = files_error(&client, "big.log").await;
    assert_eq!(status, 413);
    assert_eq!(too_big[3], format!("{message} (HTTP 413)"));

    // The Files button closes the panel, and the terminal has the focus
    // again; opened again, it shows the last folder.
    let toggle = client.find(Locator::Id("files-toggle")).await.unwrap();
    toggle.click().await.unwrap();
    wait_closed_and_terminal_focused(&client).await;
    toggle.click().await.unwrap();
    wait_panel(&client, "dir", "").await;
    // Escape closes it as well.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    wait_closed_and_terminal_focused(&client).await;

    // On a narrow screen the panel takes the whole width, below the header.
    client.set_window_size(500, 800).await.unwrap();
    toggle.click().await.unwrap();
    wait_panel(&client, "dir", "").await;
    let placed = client
        .execute(
            "const r = document.getElementById('files').getBoundingClientRect(); \
             const h = document.querySelector('header').getBoundingClientRect(); \
             return [r.left, Math.round(r.right) === document.documentElement.clientWidth, \
                     Math.round(r.top) === Math.round(h.bottom)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(placed, serde_json::json!([0, true, true]));
    // For a look (never in docs/).
    let png = client.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("files-narrow.png"),
        png,
    )
    .unwrap();
    toggle.click().await.unwrap();
    wait_closed_and_terminal_focused(&client).await;
    // Typing goes to the session again.
    browser_support::type_line(&client, "echo typed-after-$((40+2))").await;
    wait_for_screen(&client, "typed-after-42").await;
    client.close().await.unwrap();
}

/// Back to the working directory by the path's first part.
async fn click_entry_by_crumb(client: &Client) {
    client
        .find(Locator::Css("#files .files-crumb[data-path=\"\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_panel(client, "dir", "").await;
}

async fn wait_closed_and_terminal_focused(client: &Client) {
    wait_value(
        client,
        "const p = document.getElementById('files'); \
         return [p.hidden, document.activeElement.className];",
        "the panel closed and the terminal focused",
        |v| v[0] == true && v[1] == "xterm-helper-textarea",
    )
    .await;
}
