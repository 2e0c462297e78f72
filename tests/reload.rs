//! `SIGHUP` reloads without dropping anyone (SPEC §12): a renewed TLS
//! certificate reaches new HTTPS connections while an open WebSocket and
//! an attached SSH client go on; limits change; a configuration that has
//! become bad is logged and not applied; keys that need a restart are
//! named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{BASH, Server, eventually};
use futures_util::{SinkExt, StreamExt};
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_reaches_new_connections_and_drops_nobody() {
    let certs = tempfile::tempdir().unwrap();
    let first = make_certificate(certs.path(), "first");
    let second = make_certificate(certs.path(), "second");
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    install(&first, &cert, &key);
    let server = Server::start_with_config(&format!(
        "[web]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let token = alice.ok("token create").lines().next().unwrap().to_string();
    assert_eq!(presented_fingerprint(&server), fingerprint(&first.0));

    // Attached over SSH and over a WebSocket, both working.
    let mut term = alice.term("attach work", 24, 80);
    term.wait_for_text("$ ");
    let mut socket = open_websocket(&server, &token).await;
    type_and_see(&mut socket, "echo ws-before-$((2+3))\r", "ws-before-5").await;

    install(&second, &cert, &key);
    server.hang_up();
    eventually("the new certificate on a new connection", || {
        presented_fingerprint(&server) == fingerprint(&second.0)
    });

    // Nobody was dropped: the WebSocket and the SSH client still type.
    type_and_see(&mut socket, "echo ws-after-$((3+4))\r", "ws-after-7").await;
    term.wait_for_text("ws-after-7");
    term.type_line("echo ssh-after-$((4+5))");
    term.wait_for_text("ssh-after-9");
    assert!(
        server.log().contains("configuration reloaded"),
        "{}",
        server.log()
    );
    term.detach();
    assert_eq!(term.wait_exit(), 0);
}

#[test]
fn limits_change_and_a_bad_configuration_is_not_applied() {
    let server = Server::start_with_config("[sessions]\nmax_per_user = 1\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new one -d -- {BASH}"));
    let refused = alice.run(&format!("new two -d -- {BASH}"));
    assert_ne!(refused.status, 0);
    assert!(
        refused.stderr.contains("sessions.max_per_user"),
        "{}",
        refused.stderr
    );

    // A higher limit, and a listen address only a restart can change.
    std::fs::write(
        server.config_file(),
        "[sessions]\nmax_per_user = 2\n[metrics]\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    server.hang_up();
    eventually("the reload", || {
        server.log().contains("configuration reloaded")
    });
    let log = server.log();
    let restart_line = log
        .lines()
        .find(|line| line.contains("take effect at the next start"))
        .unwrap_or_else(|| panic!("no line naming what needs a restart:\n{log}"));
    assert!(restart_line.contains("metrics.listen"), "{restart_line}");
    alice.ok(&format!("new two -d -- {BASH}"));

    // A bad value: logged with its key, not applied, the server goes on.
    std::fs::write(
        server.config_file(),
        "[sessions]\nmax_per_user = \"many\"\n",
    )
    .unwrap();
    server.hang_up();
    eventually("the refused reload", || {
        server.log().contains("configuration not reloaded")
    });
    let log = server.log();
    let refusal = log
        .lines()
        .find(|line| line.contains("configuration not reloaded"))
        .unwrap();
    assert!(refusal.contains("max_per_user"), "{refusal}");
    let over = alice.run(&format!("new three -d -- {BASH}"));
    assert!(
        over.stderr.contains("you have 2 sessions"),
        "{}",
        over.stderr
    );
    assert!(alice.ok("ls").contains("two"));
}

/// A self-signed certificate and its key, named `name`.
fn make_certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", &format!("/CN={name}"), "-keyout"])
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
    (cert, key)
}

/// Puts a certificate and key where the configuration names them, each
/// file replaced whole (as a renewal tool does).
fn install((cert, key): &(PathBuf, PathBuf), cert_at: &Path, key_at: &Path) {
    for (from, to) in [(cert, cert_at), (key, key_at)] {
        let staged = to.with_extension("new");
        std::fs::copy(from, &staged).unwrap();
        std::fs::rename(&staged, to).unwrap();
    }
}

/// The SHA-256 fingerprint of a PEM certificate, as openssl prints it.
fn fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The fingerprint of the certificate a new HTTPS connection is shown.
fn presented_fingerprint(server: &Server) -> String {
    let script = format!(
        "openssl s_client -connect 127.0.0.1:{} </dev/null 2>/dev/null \
         | openssl x509 -noout -fingerprint -sha256",
        server.web_port
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// A WebSocket to alice's session over HTTPS, signed in with a token.
async fn open_websocket(server: &Server, token: &str) -> Socket {
    let address = format!("127.0.0.1:{}", server.web_port);
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let mut request = format!("wss://{address}/ws/alice/work")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("a WebSocket over HTTPS");
    socket
}

/// Types `input` into the session through `socket` and reads its output
/// until `expected` shows.
async fn type_and_see(socket: &mut Socket, input: &str, expected: &str) {
    socket
        .send(Message::Binary(input.as_bytes().to_vec().into()))
        .await
        .unwrap();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while !seen.contains(expected) {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        match next {
            Ok(Some(Ok(Message::Binary(bytes)))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the WebSocket ended ({other:?}); output so far: {seen:?}"),
            Err(_) => panic!("no `{expected}` within {:?}: {seen:?}", common::PATIENCE),
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Accepts any certificate: the test checks which one it was shown by
/// its fingerprint instead.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, signature, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, signature, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[test]
fn a_service_manager_hears_ready_reloading_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    // systemd's side of `Type=notify`: a datagram socket named by
    // NOTIFY_SOCKET.
    let socket_path = dir.path().join("notify.sock");
    let manager = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    manager.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let mut server = common::foyer_in(dir.path())
        .args([
            "serve",
            "--ssh-listen",
            "127.0.0.1:0",
            "--web-listen",
            "127.0.0.1:0",
        ])
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let next = || {
        let mut buffer = [0u8; 512];
        let n = manager.recv(&mut buffer).expect("a notification in time");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1\n");
    let signal = |signal| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.id() as i32), signal).unwrap()
    };
    signal(nix::sys::signal::Signal::SIGHUP);
    let reloading = next();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    assert_eq!(next(), "READY=1\n");
    signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(next(), "STOPPING=1\n");
    assert!(server.wait().unwrap().success());
}
