//! The JSON API (SPEC §7) over HTTP: every endpoint with and without
//! authentication, by bearer token and by cookie, with the status codes
//! and JSON errors of docs/web.md.

mod common;
mod web_support;

use common::{BASH, Server};
use reqwest::StatusCode;
use web_support::{api_token, base, cookie_of, http, link, sign_in};

/// An API request with an optional bearer token and JSON body.
async fn api(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = http().request(method, format!("{}/api/{path}", base(server)));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_endpoint_needs_authentication_and_answers_in_json() {
    use reqwest::Method;
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let endpoints = [
        (Method::GET, "sessions"),
        (Method::POST, "sessions"),
        (Method::GET, "sessions/alice/work"),
        (Method::DELETE, "sessions/alice/work"),
        (Method::GET, "sessions/alice/work/screen"),
    ];
    for (method, path) in &endpoints {
        for token in [None, Some("not-a-token")] {
            let (status, json) = api(&server, method.clone(), path, token, Some("{}")).await;
            assert_eq!(status, 401, "{method} {path}");
            assert!(
                json["error"].as_str().unwrap().contains("not signed in"),
                "{json}"
            );
        }
    }
    let token = api_token(&alice);
    let t = Some(token.as_str());
    let (status, list) = api(&server, Method::GET, "sessions", t, None).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["name"], "work");
    assert_eq!(list[0]["access"], "owner");

    let body = r#"{"name":"made","command":["bash","--norc","--noprofile"]}"#;
    let (status, made) = api(&server, Method::POST, "sessions", t, Some(body)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["owner"].as_str(), made["name"].as_str()),
        (Some("alice"), Some("made"))
    );
    let (status, json) = api(&server, Method::POST, "sessions", t, Some(body)).await;
    assert_eq!(status, 409, "{json}");
    for bad in [
        r#"{"name":"Bad Name"}"#,
        "{not json",
        r#"{"command":["x"]}"#,
        r#"{"name":"x","colour":1}"#,
    ] {
        let (status, json) = api(&server, Method::POST, "sessions", t, Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {json}");
        assert!(json["error"].is_string());
    }
    let huge = format!(
        r#"{{"name":"huge","command":["{}"]}}"#,
        "x".repeat(100 * 1024)
    );
    assert_eq!(
        api(&server, Method::POST, "sessions", t, Some(&huge))
            .await
            .0,
        413
    );
    alice.ok("send made 'echo api-$((8*8))\\n'");
    let deadline = std::time::Instant::now() + common::PATIENCE;
    loop {
        let (status, screen) =
            api(&server, Method::GET, "sessions/alice/made/screen", t, None).await;
        assert_eq!(status, 200);
        if screen["text"].as_str().unwrap().contains("api-64") {
            assert_eq!(screen["session"], "alice/made");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the screen never showed the output: {screen}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, one) = api(&server, Method::GET, "sessions/alice/made", t, None).await;
    assert_eq!(status, 200);
    assert_eq!(one["state"], "running");
    assert!(one["participants"].is_array());

    // Bob: not found until shared; then he reads but may not kill.
    let bobs = api_token(&bob);
    let b = Some(bobs.as_str());
    assert_eq!(
        api(&server, Method::GET, "sessions/alice/made", b, None)
            .await
            .0,
        404
    );
    assert_eq!(
        api(&server, Method::GET, "sessions/alice/made/screen", b, None)
            .await
            .0,
        404
    );
    assert_eq!(
        api(&server, Method::DELETE, "sessions/alice/made", b, None)
            .await
            .0,
        404
    );
    let (_, bobs_list) = api(&server, Method::GET, "sessions", b, None).await;
    assert_eq!(bobs_list, serde_json::json!([]));
    alice.ok("share made bob");
    assert_eq!(
        api(&server, Method::GET, "sessions/alice/made", b, None)
            .await
            .0,
        200
    );
    let (status, json) = api(&server, Method::DELETE, "sessions/alice/made", b, None).await;
    assert_eq!(status, 403, "{json}");

    let (status, _) = api(&server, Method::DELETE, "sessions/alice/made", t, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        api(&server, Method::GET, "sessions/alice/made", t, None)
            .await
            .0,
        404
    );
    assert_eq!(
        api(&server, Method::GET, "nothing-here", t, None).await.0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_by_cookie_refuses_cross_origin_writes_and_guests() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = sign_in(&alice, "work").await;
    let url = format!("{}/api/sessions", base(&server));
    let listed = http()
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let body = r#"{"name":"x"}"#;
    let cross = http()
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let same = http()
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", base(&server))
        .body(r#"{"name":"x","command":["sleep","100"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);

    // A guest cookie is no sign-in for the API.
    let (guest, _) = link(&alice, "work --guest");
    let response = http().get(&guest).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/s/alice/work?watch=1");
    let guest_cookie = cookie_of(&response, "foyer_guest").unwrap();
    let api = http()
        .get(&url)
        .header("cookie", &guest_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let page = http()
        .get(format!("{}/s/alice/work", base(&server)))
        .header("cookie", &guest_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-watch=\"1\""));
    let other = http()
        .get(format!("{}/s/alice/x", base(&server)))
        .header("cookie", &guest_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

/// A screen asked for while the program exits is always given: the link
/// swaps the host for the last screen it keeps itself, and a request
/// the host was sent just before is answered all the same (it once got
/// "no session named", and `capture` failed in CI). Ten sessions exit
/// while four loops each ask for their screen as fast as answers come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_asked_for_as_the_program_exits_is_always_given() {
    use reqwest::Method;
    let server = std::sync::Arc::new(Server::start());
    let alice = server.user("alice", false);
    let token = std::sync::Arc::new(api_token(&alice));
    for n in 0..10 {
        let body = format!(r#"{{"name":"ends{n}","command":["sh","-c","sleep 1; echo bye-{n}"]}}"#);
        let (status, made) =
            api(&server, Method::POST, "sessions", Some(&token), Some(&body)).await;
        assert_eq!(status, 201, "{made}");
    }
    let mut loops = tokio::task::JoinSet::new();
    for n in 0..10 {
        for _ in 0..4 {
            let (server, token) = (server.clone(), token.clone());
            loops.spawn(async move {
                let path = format!("sessions/alice/ends{n}/screen");
                let deadline = std::time::Instant::now() + common::PATIENCE;
                let mut asked = 0;
                loop {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "ends{n} never showed bye-{n} as exited"
                    );
                    let (status, screen) =
                        api(&server, Method::GET, &path, Some(&token), None).await;
                    asked += 1;
                    assert_eq!(status, 200, "ask {asked} of ends{n}: {screen}");
                    let text = screen["text"].as_str().unwrap_or_default();
                    if text.contains(&format!("bye-{n}")) {
                        let (_, one) = api(
                            &server,
                            Method::GET,
                            &format!("sessions/alice/ends{n}"),
                            Some(&token),
                            None,
                        )
                        .await;
                        if one["state"] == "exited" {
                            return asked;
                        }
                    }
                }
            });
        }
    }
    let mut asked = 0;
    while let Some(done) = loops.join_next().await {
        asked += done.unwrap();
    }
    eprintln!(
        "foyer-test: a_screen_asked_for_as_the_program_exits_is_always_given: {asked} screens asked for, all given"
    );
}
