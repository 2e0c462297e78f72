//! HTTP-level tests of the web front end (SPEC §7): sign-in links and
//! their cookie, expiry and single use, guest links, API tokens (listed,
//! revoked), HTTPS, security headers. The API itself: web_api.rs.

mod common;
mod web_support;

use common::{BASH, Server};
use reqwest::StatusCode;
use web_support::{api_token, base, cookie_of, http, link, sign_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_works_once_and_sets_a_strict_http_only_cookie() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (url, id) = link(&alice, "work");
    assert!(
        url.starts_with(&format!("{}/login?token=", base(&server))),
        "{url}"
    );
    assert!(id.parse::<i64>().is_ok(), "{id}");

    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/s/alice/work");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let cookie = cookie_of(&response, "foyer_session").unwrap();

    // Used once: the same URL no longer signs anyone in.
    let again = http().get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.headers().get("set-cookie").is_none());
    // A forged token neither.
    let forged = format!(
        "{}/login?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        base(&server)
    );
    assert_eq!(http().get(&forged).send().await.unwrap().status(), 401);

    // The cookie opens the list and the terminal page.
    let index = http()
        .get(format!("{}/", base(&server)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("/s/alice/work"));
    let page = http()
        .get(format!("{}/s/alice/work", base(&server)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    // Every script is a file; none is inline.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count()
    );
    assert!(html.contains("/assets/xterm.js"), "{html}");

    // Without the cookie, or with a made-up one: not signed in.
    for cookie in [None, Some("foyer_session=made-up")] {
        let mut request = http().get(format!("{}/s/alice/work", base(&server)));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    // Another user's cookie does not show alice's session.
    let bob = server.user("bob", false);
    bob.ok(&format!("new mine -d -- {BASH}"));
    let bobs = sign_in(&bob, "mine").await;
    let page = http()
        .get(format!("{}/s/alice/work", base(&server)))
        .header("cookie", &bobs)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_links_and_tokens_are_refused() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (url, _) = link(&alice, "work --ttl 1s");
    let token = alice
        .ok("token create --ttl 1s")
        .lines()
        .next()
        .unwrap()
        .to_string();
    let (guest, _) = link(&alice, "work --guest --ttl 1s");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 401);
    assert_eq!(http().get(&guest).send().await.unwrap().status(), 401);
    let api = http()
        .get(format!("{}/api/sessions", base(&server)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);

    // Bad lifetimes are usage errors.
    let out = alice.run("link work --ttl forever");
    assert_eq!(out.status, 2, "{}", out.stderr);
    let out = alice.run("link nothing");
    assert_eq!(
        (out.status, out.stderr.as_str()),
        (1, "no session named nothing\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let server = Server::start_with_config("[web]\npublic_url = \"https://foyer.example/\"\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (url, _) = link(&alice, "work");
    let token = url
        .strip_prefix("https://foyer.example/login?token=")
        .unwrap_or_else(|| panic!("{url}"));
    let response = http()
        .get(format!("{}/login?token={token}", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_and_tokens_are_listed_and_revoked() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (_, login_id) = link(&alice, "work");
    let (_, guest_id) = link(&alice, "work --guest --ttl 2h");
    let listed = alice.ok("link --list");
    let header = listed.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("SESSION") && header.contains("LAST USE"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&login_id) && l.contains("login") && l.contains("alice/work")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&guest_id) && l.contains("guest")),
        "{listed}"
    );
    // Bob cannot see or end alice's links, nor make guest links to her session.
    assert_eq!(bob.ok("link --list").lines().count(), 1);
    let out = bob.run(&format!("link --revoke {guest_id}"));
    assert_eq!(
        (out.status, out.stderr.clone()),
        (1, format!("no link with id {guest_id}\n"))
    );
    alice.ok("share work bob");
    let out = bob.run("link alice/work --guest");
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "only the owner may make a guest link to alice/work\n"
    );
    assert_eq!(
        alice.ok(&format!("link --revoke {guest_id}")),
        format!("link {guest_id} revoked\n")
    );
    assert!(
        !alice
            .ok("link --list")
            .lines()
            .any(|l| l.starts_with(&guest_id))
    );

    let token = api_token(&alice);
    let token_id = alice
        .ok("token list")
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let ok = http()
        .get(format!("{}/api/sessions", base(&server)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        alice.ok(&format!("token revoke {token_id}")),
        format!("token {token_id} revoked\n")
    );
    let gone = http()
        .get(format!("{}/api/sessions", base(&server)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
    assert_eq!(alice.run(&format!("token revoke {token_id}")).status, 1);
}

/// GETs /assets/FILE with these request headers.
async fn asset(server: &Server, file: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = http().get(format!("{}/assets/{file}", base(server)));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_carry_an_etag_answer_304_and_come_gzipped_when_accepted() {
    use std::io::Read;
    let server = Server::start();
    for file in [
        "xterm.js",
        "addon-unicode11.js",
        "addon-web-links.js",
        "foyer.js",
    ] {
        let plain = asset(&server, file, &[]).await;
        assert_eq!(plain.status(), 200, "{file}");
        assert!(plain.headers().get("content-encoding").is_none(), "{file}");
        assert_eq!(plain.headers()["vary"], "accept-encoding", "{file}");
        assert_eq!(plain.headers()["cache-control"], "no-cache", "{file}");
        let etag = plain.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() > 10, "{file}: {etag}");
        let bytes = plain.bytes().await.unwrap();
        assert!(bytes.len() > 500, "{file} is built in");

        // The same tag asked again: 304, no body.
        let again = asset(&server, file, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{file}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        let other = asset(&server, file, &[("if-none-match", "\"elsewhere\"")]).await;
        assert_eq!(other.status(), 200, "{file}");

        // Gzipped when accepted, under a tag of its own, and the same bytes.
        let gzipped = asset(&server, file, &[("accept-encoding", "br, gzip;q=0.8")]).await;
        assert_eq!(gzipped.status(), 200, "{file}");
        assert_eq!(gzipped.headers()["content-encoding"], "gzip", "{file}");
        assert_eq!(gzipped.headers()["vary"], "accept-encoding");
        let gz_etag = gzipped.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(gz_etag, etag);
        let body = gzipped.bytes().await.unwrap();
        assert!(body.len() < bytes.len(), "{file}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert!(unzipped == bytes, "{file}: gzip gives other bytes");
        let cached = asset(
            &server,
            file,
            &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
        )
        .await;
        assert_eq!(cached.status(), 304, "{file}");
        // gzip refused: the plain bytes.
        let refused = asset(&server, file, &[("accept-encoding", "gzip;q=0")]).await;
        assert!(refused.headers().get("content-encoding").is_none());
        assert_eq!(refused.bytes().await.unwrap(), bytes);
    }
    assert_eq!(asset(&server, "nothing.js", &[]).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_assets_and_unknown_pages() {
    let server = Server::start();
    let health = http()
        .get(format!("{}/healthz", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let xterm = http()
        .get(format!("{}/assets/xterm.js", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(xterm.status(), 200);
    assert!(
        xterm.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        xterm.bytes().await.unwrap().len() > 100_000,
        "xterm.js is built in"
    );
    let missing = http()
        .get(format!("{}/nowhere", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().contains_key("content-security-policy"));
    let index = http()
        .get(format!("{}/", base(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 401);
}

#[test]
fn https_is_served_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (tools/install-test-deps installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start_with_config(&format!(
        "[web]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    let fetch = |scheme: &str| {
        std::process::Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{scheme}://127.0.0.1:{}/healthz", server.web_port))
            .output()
            .expect("curl (tools/install-test-deps installs it)")
    };
    assert_eq!(String::from_utf8_lossy(&fetch("https").stdout), "200");
    assert_ne!(String::from_utf8_lossy(&fetch("http").stdout), "200");
    // Links name https, and the cookie is Secure.
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let (url, _) = link(&alice, "work");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let headers = std::process::Command::new("curl")
        .args(["-sk", "-D", "-", "-o", "/dev/null"])
        .arg(&url)
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout).to_lowercase();
    assert!(
        headers.contains("set-cookie: foyer_session=") && headers.contains("; secure"),
        "{headers}"
    );
}
