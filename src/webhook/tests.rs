//! The webhook against real HTTP servers on loopback (`test_server`):
//! the JSON it POSTs, the pacing per session, retries and failures counted
//! in the process's real metrics recorder, a hanging endpoint, the bounded
//! state, and https with a certificate made by openssl.
//!
//! The tests share the process's counters, so each holds `SERIAL` and
//! compares counters before and after.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use hyper::StatusCode;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::rustls;

use super::http::Endpoint;
use super::test_server::{Hook, PATIENCE, Received};
use super::{Tuning, spawn, start_with};
use crate::gateway::attention::{AttentionEvents, AttentionRaised};
use crate::metrics::{self as metric, Metrics};
use crate::wire::SessionId;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PUBLIC_URL: &str = "https://foyer.example";

/// The process's recorder (installed once, for every test here).
fn recorder() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::install().expect("no other recorder in the lib tests"))
}

/// A counter's value now (0 before its first count).
fn counter(name: &str, reason: Option<&str>) -> u64 {
    let series = match reason {
        Some(reason) => format!("{name}{{reason=\"{reason}\"}} "),
        None => format!("{name} "),
    };
    recorder()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&series)?.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// alice's session `name` (id `id`) wants attention, since 2023-11-14T22:13:20Z.
fn event(id: i64, name: &str, message: Option<&str>) -> AttentionRaised {
    AttentionRaised {
        session: SessionId(id),
        owner: "alice".into(),
        name: name.into(),
        message: message.map(str::to_string),
        since: 1_700_000_000,
    }
}

/// Short waits, so that retrying and giving up fit in a test.
fn quick(min_interval: Duration) -> Tuning {
    Tuning {
        min_interval,
        attempt_timeout: Duration::from_millis(500),
        first_retry: Duration::from_millis(100),
        retry_for: Duration::from_secs(1),
        max_sending: 16,
        max_sessions: 100,
    }
}

/// A sender POSTing to `url`, and the broadcast it hears.
fn started(url: &str, tuning: Tuning) -> (AttentionEvents, JoinHandle<()>) {
    let events = AttentionEvents::new();
    let task = spawn(url, PUBLIC_URL.into(), tuning, events.subscribe()).unwrap();
    (events, task)
}

fn of_session<'a>(received: &'a [Received], name: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.body["name"] == name).collect()
}

#[tokio::test]
async fn the_notice_is_posted_as_json() {
    let _serial = SERIAL.lock().await;
    let posts = counter(metric::WEBHOOK_POSTS, None);
    let hook = Hook::start(|_| Some(StatusCode::NO_CONTENT)).await;
    let (events, _sender) = started(&hook.url(), quick(Duration::from_secs(60)));
    events.publish(event(1, "work", Some("build done: 3 \"tests\" failed")));
    events.publish(event(2, "tea", None));
    let received = hook.wait_for(2).await;
    let work = of_session(&received, "work")[0];
    assert_eq!(work.path, "/hook?token=secret");
    assert_eq!(work.content_type.as_deref(), Some("application/json"));
    let keys: BTreeSet<&str> = work
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        "session", "owner", "name", "message", "since", "url", "text",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(
        work.body,
        serde_json::json!({
            "session": "alice/work",
            "owner": "alice",
            "name": "work",
            "message": "build done: 3 \"tests\" failed",
            "since": "2023-11-14T22:13:20Z",
            "url": "https://foyer.example/s/alice/work",
            "text": "alice/work: build done: 3 \"tests\" failed",
        })
    );
    // A bell has no message: null, and a text that says so.
    let tea = &of_session(&received, "tea")[0].body;
    assert_eq!(tea["message"], serde_json::Value::Null);
    assert_eq!(tea["text"], "alice/tea wants attention");
    assert_eq!(tea["session"], "alice/tea");
    eventually("two posts counted", || {
        counter(metric::WEBHOOK_POSTS, None) == posts + 2
    })
    .await;
}

/// Ten notices of one session at once: the first is POSTed, the next nine
/// wait for the interval and only the last of them goes; another
/// session's notice is not held by it.
#[tokio::test]
async fn notices_within_the_interval_are_coalesced_to_the_latest() {
    let _serial = SERIAL.lock().await;
    let hook = Hook::start(|_| Some(StatusCode::OK)).await;
    let interval = Duration::from_secs(2);
    let (events, _sender) = started(&hook.url(), quick(interval));
    let published = Instant::now();
    for n in 0..10 {
        events.publish(event(1, "work", Some(&format!("message {n}"))));
    }
    events.publish(event(2, "tea", Some("kettle")));
    let received = hook.wait_for(3).await;
    let work: Vec<_> = of_session(&received, "work")
        .iter()
        .map(|r| r.body["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(work, ["message 0", "message 9"]);
    let latest = of_session(&received, "work")[1];
    assert!(
        latest.at >= published + interval,
        "the coalesced notice came {:?} after the first was published, within the interval",
        latest.at - published
    );
    let tea = of_session(&received, "tea")[0];
    assert!(
        tea.at < latest.at,
        "the other session's notice waited for this one's interval"
    );
    // Nothing more comes: the nine were one POST.
    tokio::time::sleep(interval + Duration::from_millis(500)).await;
    assert_eq!(hook.received().len(), 3, "{:?}", hook.received());
}

#[tokio::test]
async fn a_refused_connection_is_retried_counted_and_given_up() {
    let _serial = SERIAL.lock().await;
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failures = counter(metric::WEBHOOK_FAILURES, Some("connect"));
    let dropped = counter(metric::WEBHOOK_DROPPED, Some("retries"));
    let (events, _sender) = started(
        &format!("http://127.0.0.1:{port}/hook"),
        quick(Duration::from_secs(60)),
    );
    events.publish(event(1, "work", Some("hello")));
    eventually("the notice given up", || {
        counter(metric::WEBHOOK_DROPPED, Some("retries")) == dropped + 1
    })
    .await;
    let failed = counter(metric::WEBHOOK_FAILURES, Some("connect")) - failures;
    assert!(failed >= 2, "{failed} attempts: it was not retried");
}

/// An endpoint that takes the request and never answers: each attempt
/// times out and is retried, and meanwhile another session's notice is
/// POSTed and answered.
#[tokio::test]
async fn a_hanging_endpoint_is_retried_and_holds_up_no_other_session() {
    let _serial = SERIAL.lock().await;
    let hook = Hook::start(|body| (body["name"] != "stuck").then_some(StatusCode::OK)).await;
    let timeouts = counter(metric::WEBHOOK_FAILURES, Some("timeout"));
    let dropped = counter(metric::WEBHOOK_DROPPED, Some("retries"));
    let tuning = Tuning {
        attempt_timeout: Duration::from_millis(300),
        // Longer than the test waits: "stuck" is still being retried.
        retry_for: Duration::from_secs(60),
        ..quick(Duration::from_secs(60))
    };
    let (events, _sender) = started(&hook.url(), tuning);
    events.publish(event(1, "stuck", Some("one")));
    hook.wait_for(1).await;
    events.publish(event(2, "free", Some("two")));
    eventually("the other session's POST", || {
        !of_session(&hook.received(), "free").is_empty()
    })
    .await;
    eventually("retries of the hanging one, counted as timeouts", || {
        of_session(&hook.received(), "stuck").len() >= 2
            && counter(metric::WEBHOOK_FAILURES, Some("timeout")) >= timeouts + 2
    })
    .await;
    assert_eq!(counter(metric::WEBHOOK_DROPPED, Some("retries")), dropped);
}

/// At most `max_sending` on their way and `max_sessions` tracked: the
/// rest are dropped and counted, and publishing never waits.
#[tokio::test]
async fn the_state_is_bounded_and_the_rest_dropped() {
    let _serial = SERIAL.lock().await;
    let hook = Hook::start(|_| None).await;
    let full = counter(metric::WEBHOOK_DROPPED, Some("full"));
    let tuning = Tuning {
        attempt_timeout: Duration::from_secs(60),
        retry_for: Duration::from_secs(60),
        max_sending: 2,
        max_sessions: 4,
        ..quick(Duration::from_secs(60))
    };
    let (events, _sender) = started(&hook.url(), tuning);
    for id in 1..=10 {
        events.publish(event(id, &format!("s{id}"), None));
    }
    eventually("six notices dropped", || {
        counter(metric::WEBHOOK_DROPPED, Some("full")) == full + 6
    })
    .await;
    hook.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hook.received().len(),
        2,
        "more than max_sending on their way"
    );
    assert_eq!(counter(metric::WEBHOOK_DROPPED, Some("full")), full + 6);
}

#[test]
fn the_endpoint_shows_only_scheme_and_host_and_sends_basic_auth() {
    let none = || Ok(rustls::RootCertStore::empty());
    let endpoint = Endpoint::with_roots(
        "https://user:p%40ss@hooks.slack.com/services/T0/B0/SECRET?x=1",
        none,
    )
    .unwrap();
    assert_eq!(endpoint.redacted(), "https://hooks.slack.com");
    let request = endpoint.request(bytes::Bytes::new()).unwrap();
    assert_eq!(request.uri(), "/services/T0/B0/SECRET?x=1");
    assert_eq!(request.headers()["host"], "hooks.slack.com");
    // base64("user:p@ss")
    assert_eq!(request.headers()["authorization"], "Basic dXNlcjpwQHNz");
    let ipv6 = Endpoint::with_roots("http://[::1]:8080/x", none).unwrap();
    assert_eq!(ipv6.redacted(), "http://[::1]:8080");
    assert!(Endpoint::with_roots("ftp://example.com/", none).is_err());
    // ntfy's template in the query (docs/attention.md) goes as written.
    let ntfy = Endpoint::with_roots("https://ntfy.sh/team-x?tpl=1&m={{.text}}", none).unwrap();
    let request = ntfy.request(bytes::Bytes::new()).unwrap();
    assert_eq!(request.uri(), "/team-x?tpl=1&m={{.text}}");
    assert!(!request.headers().contains_key("authorization"));
}

/// https with a certificate from a CA the endpoint trusts is delivered;
/// the same server with only the system's roots is refused as TLS.
#[tokio::test]
async fn https_checks_the_certificate() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, acceptor) = tls::made_by_openssl(dir.path());
    let hook = Hook::start_with(|_| Some(StatusCode::OK), Some(acceptor)).await;
    let url = format!("https://localhost:{}/hook", hook.address.port());
    let trusted = Endpoint::with_roots(&url, || {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).unwrap();
        Ok(roots)
    })
    .unwrap();
    let events = AttentionEvents::new();
    let tuning = quick(Duration::from_secs(60));
    let _sender = start_with(
        trusted,
        PUBLIC_URL.into(),
        tuning.clone(),
        events.subscribe(),
    );
    events.publish(event(1, "work", Some("over tls")));
    let received = hook.wait_for(1).await;
    assert_eq!(received[0].body["message"], "over tls");

    let refused = counter(metric::WEBHOOK_FAILURES, Some("tls"));
    let (events, _sender) = started(&url, tuning);
    events.publish(event(2, "other", Some("not trusted")));
    eventually("a TLS failure counted", || {
        counter(metric::WEBHOOK_FAILURES, Some("tls")) > refused
    })
    .await;
    assert_eq!(hook.received().len(), 1);
}

mod tls {
    use std::path::Path;
    use std::process::Command;
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::{TlsAcceptor, rustls};

    fn openssl(dir: &Path, args: &[&str]) {
        let made = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl (tools/install-test-deps installs it)");
        assert!(
            made.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }

    /// A CA and a certificate for `localhost` it signed: the CA (to
    /// trust) and an acceptor serving the certificate.
    pub fn made_by_openssl(dir: &Path) -> (CertificateDer<'static>, TlsAcceptor) {
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            dir,
            &[
                &["req", "-x509"],
                &key[..],
                &[
                    "-days",
                    "1",
                    "-subj",
                    "/CN=test-ca",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                &["req"],
                &key[..],
                &[
                    "-subj",
                    "/CN=localhost",
                    "-keyout",
                    "leaf.key",
                    "-out",
                    "leaf.csr",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "leaf.ext",
                "-out",
                "leaf.pem",
            ],
        );
        let ca = CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap();
        let leaf = CertificateDer::from_pem_file(dir.join("leaf.pem")).unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf], key)
            .unwrap();
        (ca, TlsAcceptor::from(Arc::new(config)))
    }
}
