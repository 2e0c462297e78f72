//! Files in and out over the API (SPEC §7) for local sessions: uploads
//! land whole in `~/.cache/foyer/uploads/NAME/`, never overwrite, respect
//! `web.upload_max` and keep hostile names inside that directory; the file
//! view shows the program's working directory and refuses everything
//! outside it. Writers only. (`tests/os_users.rs` and
//! `tests/docker_runtime.rs` check the same as an OS account and inside a
//! container; `tests/web_files_browser.rs` the page.)

mod common;
mod web_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{BASH, Server, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use web_support::{api_token, base, cookie_of, http, link, upload, view_file};

/// Every file below `dir`, relative to it.
fn files_below(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found
}

fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

/// An upload whose body comes in chunks with no length given: the
/// server learns it is too large only while reading. Returns the status.
async fn chunked_upload(server: &Server, token: &str, bytes: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.web_port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/sessions/alice/work/uploads?name=chunked.bin HTTP/1.1\r\n\
         Host: 127.0.0.1\r\nAuthorization: {token}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in bytes.chunks(16 * 1024) {
        let sent = async {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await
        };
        // The server may answer and close before the body is all sent.
        if sent.await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_land_whole_never_overwrite_and_stay_in_their_directory() {
    let server = Server::start_with_config("[web]\nupload_max = \"256k\"\n");
    let alice = server.user("alice", true);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let token = format!("Bearer {}", api_token(&alice));
    let home = server.dir.path().join("home");
    let uploads = home.join(".cache/foyer/uploads/work");

    let first = random_bytes(200 * 1024);
    let (status, json) = upload(&server, &token, "alice/work", "shot.png", first.clone()).await;
    assert_eq!(status, 200, "{json}");
    let path = uploads.join("shot.png");
    assert_eq!(json["path"], path.display().to_string());
    assert_eq!(std::fs::read(&path).unwrap(), first, "byte-identical");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "uploads are private to their user");

    let second = random_bytes(1000);
    let (status, json) = upload(&server, &token, "alice/work", "shot.png", second.clone()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json["path"],
        uploads.join("shot-1.png").display().to_string()
    );
    assert_eq!(std::fs::read(uploads.join("shot-1.png")).unwrap(), second);
    assert_eq!(std::fs::read(&path).unwrap(), first, "never overwritten");

    // Over web.upload_max: 413, and nothing written, with or without a
    // declared length.
    let before = files_below(&home);
    let (status, json) = upload(
        &server,
        &token,
        "alice/work",
        "big.bin",
        random_bytes(300 * 1024),
    )
    .await;
    assert_eq!(status, 413, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("web.upload_max"),
        "{json}"
    );
    assert_eq!(
        chunked_upload(&server, &token, &random_bytes(400 * 1024)).await,
        413
    );
    assert_eq!(
        files_below(&home),
        before,
        "nothing written for refused uploads"
    );

    // Hostile names end up as plain names inside the uploads directory.
    let hostile = [
        "../../escape.txt".to_string(),
        "/etc/evil.txt".into(),
        "a\nb.txt".into(),
        "nul\0name.txt".into(),
        "..".into(),
        "x".repeat(300),
    ];
    for name in &hostile {
        let (status, json) = upload(&server, &token, "alice/work", name, b"hostile".to_vec()).await;
        assert_eq!(status, 200, "{name:?}: {json}");
        let saved = PathBuf::from(json["path"].as_str().unwrap());
        assert_eq!(
            saved.parent().unwrap(),
            uploads,
            "{name:?} saved as {saved:?}"
        );
        assert_eq!(std::fs::read(&saved).unwrap(), b"hostile");
    }
    let new: Vec<_> = files_below(&home).difference(&before).cloned().collect();
    assert_eq!(new.len(), hostile.len(), "{new:?}");
    assert!(
        new.iter()
            .all(|p| p.starts_with(".cache/foyer/uploads/work")),
        "every hostile name stayed in the uploads directory: {new:?}"
    );
    assert!(!Path::new("/etc/evil.txt").exists());

    // Readers, guests and strangers cannot upload.
    alice.ok("share work bob");
    let bob_token = format!("Bearer {}", api_token(&bob));
    let (status, json) = upload(&server, &bob_token, "alice/work", "r.txt", b"r".to_vec()).await;
    assert_eq!(status, 403, "a reader: {json}");
    let (guest_url, _) = link(&alice, "work --guest");
    let response = http().get(&guest_url).send().await.unwrap();
    let guest = cookie_of(&response, "foyer_guest").unwrap();
    let (status, json) = upload(&server, &guest, "alice/work", "g.txt", b"g".to_vec()).await;
    assert_eq!(status, 403, "a guest: {json}");
    let (status, _) = upload(&server, "Bearer nope", "alice/work", "n.txt", b"n".to_vec()).await;
    assert_eq!(status, 401);
    alice.ok("share work bob --write");
    let (status, json) = upload(&server, &bob_token, "alice/work", "w.txt", b"w".to_vec()).await;
    assert_eq!(status, 200, "a writer: {json}");
    assert_eq!(std::fs::read(uploads.join("w.txt")).unwrap(), b"w");

    let audit = alice.ok("audit work");
    assert!(
        audit.contains("upload") && audit.contains("shot-1.png (1000 bytes)"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_view_shows_the_working_directory_and_nothing_outside() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let home = server.dir.path().join("home");
    let project = home.join("proj");
    std::fs::create_dir_all(project.join("sub")).unwrap();
    std::fs::write(project.join("readme.txt"), "hello files\n").unwrap();
    let picture = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    std::fs::write(project.join("sub/shot.png"), &picture).unwrap();
    std::fs::write(project.join("big.log"), vec![b'x'; 2 << 20]).unwrap();
    std::fs::write(home.join("secret.txt"), "outside").unwrap();
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, project.join(name)).unwrap();
    };
    link("readme.txt", "inside-link");
    link("/etc/passwd", "out-absolute");
    link("..", "up");
    link("../secret.txt", "out-relative");

    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("send work 'cd proj\\n'");
    let token = format!("Bearer {}", api_token(&alice));
    let listing = |path: &'static str| {
        let (server, token) = (&server, &token);
        async move {
            let (status, kind, body) = view_file(server, token, "alice/work", path).await;
            let text = String::from_utf8_lossy(&body).into_owned();
            assert_eq!((status, kind.as_str()), (200, "application/json"), "{text}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };
    // The view follows the program into the directory it changed to.
    let mut root = serde_json::Value::Null;
    for _ in 0..100 {
        root = listing("").await;
        if root["root"].as_str().is_some_and(|r| r.ends_with("/proj")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        root["root"],
        project.canonicalize().unwrap().display().to_string()
    );
    let entries: Vec<(String, String)> = root["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().into(),
                e["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("dir", "sub"),
        ("file", "big.log"),
        ("link", "inside-link"),
        ("link", "out-absolute"),
        ("link", "out-relative"),
        ("file", "readme.txt"),
        ("link", "up"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect();
    assert_eq!(entries, expected);
    let readme = &root["entries"][5];
    assert_eq!(readme["size"], 12);
    assert!(
        readme["modified"].as_i64().unwrap() > 1_600_000_000,
        "{readme}"
    );
    let sub = listing("sub").await;
    assert_eq!(sub["path"], "sub");
    assert_eq!(sub["entries"][0]["name"], "shot.png");

    let view = |path: &'static str| view_file(&server, &token, "alice/work", path);
    let (status, kind, body) = view("readme.txt").await;
    assert_eq!(
        (status, kind.as_str(), body.as_slice()),
        (
            200,
            "text/plain; charset=utf-8",
            b"hello files\n".as_slice()
        )
    );
    let (status, kind, body) = view("./sub//shot.png").await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(body, picture);
    let (status, _, body) = view("inside-link").await;
    assert_eq!(
        (status, body.as_slice()),
        (200, b"hello files\n".as_slice())
    );

    for outside in [
        "../secret.txt",
        "/etc/passwd",
        "out-absolute",
        "out-relative",
        "up",
        "up/secret.txt",
        "sub/../../secret.txt",
    ] {
        let (status, _, body) = view(outside).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 403, "{outside}: {text}");
        assert!(
            !text.contains("outside") || text.contains("outside the session"),
            "{outside}: {text}"
        );
    }
    // Percent-encoded traversal, as a raw query.
    for query in [
        "path=%2e%2e%2fsecret.txt",
        "path=sub%2F..%2F..%2Fsecret.txt",
        "path=%2Fetc%2Fpasswd",
    ] {
        let url = format!("{}/api/sessions/alice/work/files?{query}", base(&server));
        let response = http()
            .get(url)
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{query}");
    }
    let (status, _, body) = view("big.log").await;
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("web.file_view_max"));
    let (status, _, _) = view("missing.txt").await;
    assert_eq!(status, 404);

    // A shown file cannot run anything in the page.
    let url = format!(
        "{}/api/sessions/alice/work/files?path=readme.txt",
        base(&server)
    );
    let response = http()
        .get(url)
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.starts_with("sandbox"), "{policy}");

    // Readers do not see files.
    alice.ok("share work bob");
    let bob_token = format!("Bearer {}", api_token(&bob));
    let (status, _, _) = view_file(&server, &bob_token, "alice/work", "readme.txt").await;
    assert_eq!(status, 403);
    eventually("the session to still run", || {
        alice.ok("ls").contains("running")
    });
}
