//! A session host listening for gateways on other machines (SPEC 13,
//! issue 29): the real `foyer session-host --listen` with certificates
//! made by deploy/swarm/certs.sh (openssl), reached the way a gateway
//! reaches it (`transport::HostAddress::Remote`). A gateway with a
//! certificate from the operator's CA starts a session, attaches and
//! types; a TLS client without a certificate, or with one from another
//! CA, or a plain TCP client, never gets past the handshake, and the host
//! keeps serving; a gateway refuses a host whose certificate is not from
//! its CA.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foyer::engine::ClientMessage;
use foyer::gateway::attachment::attach;
use foyer::gateway::host_connection::HostConnection;
use foyer::transport::tls::{TlsFiles, host_name};
use foyer::transport::{HostAddress, RemoteHost, Route, RouteReply, read_frame, write_frame};
use foyer::wire::launch::{Launch, LocalProgram, Program, SpawnSpec, StartReply};
use foyer::wire::protocol::{self, Hello, Open};
use foyer::wire::{HubSettings, Role, Size, SizePolicy};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, rustls};

const OWNER: i64 = 7;
const SESSION: i64 = 41;

fn certificates(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/swarm/certs.sh");
    let status = Command::new(script)
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .expect("deploy/swarm/certs.sh runs (needs openssl)");
    assert!(status.success(), "deploy/swarm/certs.sh failed");
    dir.to_path_buf()
}

fn files(dir: &Path, side: &str) -> TlsFiles {
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join(format!("{side}.pem")),
        key: dir.join(format!("{side}-key.pem")),
    }
}

/// A host process listening on a free loopback port, and that port.
struct ListeningHost {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Drop for ListeningHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_host(dir: &Path, certs: &Path) -> ListeningHost {
    std::fs::create_dir_all(dir).unwrap();
    let log = dir.join("hosts.log");
    let host = files(certs, "host");
    let mut child = Command::new(env!("CARGO_BIN_EXE_foyer"))
        .arg("session-host")
        .arg("--hosts")
        .arg(dir.join("hosts"))
        .args(["--owner", &OWNER.to_string()])
        .arg("--log")
        .arg(&log)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--tls-ca")
        .arg(&host.ca)
        .arg("--tls-cert")
        .arg(&host.cert)
        .arg("--tls-key")
        .arg(&host.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the host starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the host says where it listens");
    let address = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("the host's first line is `listening ADDRESS`, not {line:?}"))
        .to_string();
    ListeningHost {
        child,
        address,
        log,
    }
}

fn remote(address: &str, route: Route, tls: &TlsConnector) -> HostAddress {
    HostAddress::Remote(RemoteHost {
        address: address.to_string(),
        route,
        tls: tls.clone(),
    })
}

fn launch(dir: &Path) -> Launch {
    let size = Size { rows: 24, cols: 80 };
    Launch {
        session_id: SESSION,
        label: "alice/remote".into(),
        settings: HubSettings {
            scrollback_lines: 1000,
            attach_scrollback: 1000,
            size_policy: SizePolicy::Latest,
            client_buffer: 1 << 20,
            kill_grace: Duration::from_secs(2),
            sync_timeout: Duration::from_millis(200),
            max_clients: 0,
            recording: None,
        },
        program: Program::Local(LocalProgram {
            spec: SpawnSpec {
                command: vec!["/bin/sh".into()],
                cwd: dir.to_path_buf(),
                env: vec![
                    ("PATH".into(), "/usr/bin:/bin".into()),
                    ("PS1".into(), "$ ".into()),
                    ("TERM".into(), "xterm-256color".into()),
                ],
                size,
            },
            credentials: None,
            open_files: None,
        }),
        seed: None,
        log_level: "info".into(),
        log_json: false,
    }
}

/// Starts a session through the owner route, as a gateway does.
async fn start_session(address: &str, tls: &TlsConnector, dir: &Path) -> StartReply {
    let stream = remote(address, Route::Owner, tls)
        .connect()
        .await
        .expect("the owner route connects");
    let (read, write) = stream.into_split();
    let (mut reader, mut writer) = (protocol::reader(read), protocol::writer(write));
    let _hello: Hello = protocol::receive(&mut reader).await.expect("greeting");
    protocol::send(&mut writer, &Open::Start(Box::new(launch(dir))))
        .await
        .expect("asks to start");
    protocol::receive(&mut reader).await.expect("an answer")
}

/// Attaches, types `echo $((6*FACTOR))rem` and reads the output until
/// the product shows (a snapshot of earlier output cannot have it).
async fn typed_and_seen(address: &HostAddress, factor: u32) -> String {
    let want = format!("{}rem", 6 * factor);
    let size = Size { rows: 24, cols: 80 };
    let mut attached = attach(address, "test", (Role::Writer, false), size)
        .await
        .unwrap_or_else(|e| panic!("attaches over TLS: {e:?}"));
    attached
        .input(Bytes::from(format!("echo $((6*{factor}))rem\r")))
        .await
        .expect("types");
    let mut messages = attached.messages.take().expect("its messages");
    let mut receipts = attached.receipts();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains(&want) {
        let message = tokio::time::timeout_at(deadline, messages.recv())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} within 20 s; saw {seen:?}"));
        match message {
            Some(message) => {
                receipts.written(&message).await.ok();
                if let ClientMessage::Output { bytes, .. } = message {
                    seen.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            None => panic!("the attachment ended; saw {seen:?}"),
        }
    }
    seen
}

/// A TLS client of `config` sends a route and must get no answer.
async fn refused(address: &str, config: rustls::ClientConfig) -> bool {
    let tcp = TcpStream::connect(address).await.expect("TCP connects");
    let connector = TlsConnector::from(Arc::new(config));
    let Ok(mut tls) = connector.connect(host_name(), tcp).await else {
        return true;
    };
    // TLS 1.3: the client's handshake can finish before the host has
    // checked its certificate; the refusal shows on the first read.
    if write_frame(&mut tls, &Route::Session(SESSION))
        .await
        .is_err()
    {
        return true;
    }
    !matches!(
        tokio::time::timeout(
            Duration::from_secs(10),
            read_frame::<RouteReply, _>(&mut tls)
        )
        .await,
        Ok(Ok(_))
    )
}

fn client_config(
    ca: &Path,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
}

#[tokio::test]
async fn a_gateway_with_the_cas_certificate_starts_attaches_and_types_and_nobody_else_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(&dir.path().join("certs"));
    let rogue = certificates(&dir.path().join("rogue"));
    let host = start_host(dir.path(), &certs);
    let gateway_tls = files(&certs, "gateway").connector().expect("gateway TLS");

    let reply = start_session(&host.address, &gateway_tls, dir.path()).await;
    assert!(matches!(reply, StartReply::Ready), "{reply:?}");
    let session = remote(&host.address, Route::Session(SESSION), &gateway_tls);
    let control = HostConnection::connect(&session)
        .await
        .expect("control over TLS");
    assert_eq!(control.hello.session_id, SESSION);
    assert!(control.status.running, "the program runs");
    assert!(control.hello.program_pid.is_some());
    typed_and_seen(&session, 7).await;

    // No client certificate; one from another CA; a certificate from the
    // right CA used by the wrong side (the host's, not a gateway's); and
    // plain TCP.
    assert!(
        refused(
            &host.address,
            client_config(&certs.join("ca.pem")).with_no_client_auth()
        )
        .await
    );
    let rogue_gateway = files(&rogue, "gateway");
    let chain = rustls_pki_types::CertificateDer::pem_file_iter(&rogue_gateway.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&rogue_gateway.key).unwrap();
    let config = client_config(&certs.join("ca.pem"))
        .with_client_auth_cert(chain, key)
        .unwrap();
    assert!(refused(&host.address, config).await);
    let mut plain = TcpStream::connect(&host.address).await.unwrap();
    plain.write_all(&[0, 0, 0, 2, 0x92, 0x01]).await.unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut buffer)).await;
    assert!(
        !buffer.starts_with(&[0, 0, 0]),
        "plain TCP got a frame back: {buffer:?} ({read:?})"
    );

    // The refusals are logged, and the host still serves the gateway.
    let log = std::fs::read_to_string(&host.log).unwrap();
    assert!(
        log.matches("refused a gateway connection").count() >= 2,
        "the host log names the refusals:\n{log}"
    );
    typed_and_seen(&session, 9).await;

    // A route to a session that is not there is "not found", as a missing
    // socket is on one machine.
    let missing = remote(&host.address, Route::Session(SESSION + 1), &gateway_tls);
    let error = missing.connect().await.err().expect("no such session");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");

    // A gateway refuses a host whose certificate is from another CA.
    let rogue_host = start_host(&dir.path().join("rogue-host"), &rogue);
    let error = remote(&rogue_host.address, Route::Owner, &gateway_tls)
        .connect()
        .await
        .err()
        .expect("a host from another CA is refused");
    assert!(
        error.to_string().contains("certificate"),
        "the refusal names the certificate: {error}"
    );
}
