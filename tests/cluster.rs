//! Many machines (SPEC 13, issue 29) on a real two-node Docker Swarm:
//! tools/swarm-lab starts a manager and a worker engine, each in its own
//! network namespace; the session host image is built on both from the
//! foyer binary under test (deploy/swarm/build-host-image.sh), the
//! certificates made by deploy/swarm/certs.sh and given to host tasks as
//! Swarm secrets; the gateway runs on this machine's root namespace, on
//! a PostgreSQL of the test's own.
//!
//! Needs root (network namespaces), docker.io, iproute2, openssl and
//! PostgreSQL's server: without them the test fails in CI and says why
//! elsewhere. It runs in `.ci/run`'s first pass only (its PostgreSQL is
//! its own, so the second pass has nothing to add).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Once;

use common::postgres::Cluster;
use common::{Server, eventually, listed};

const MANAGER: &str = "unix:///run/foyer-lab/manager.sock";
const WORKER: &str = "unix:///run/foyer-lab/worker.sock";
const IMAGE: &str = "foyer-host:test";
const SECRETS: [(&str, &str); 3] = [
    ("foyer-cluster-ca", "ca.pem"),
    ("foyer-host-cert", "host.pem"),
    ("foyer-host-key", "host-key.pem"),
];

fn repository(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program` with `args`; its stdout, or a panic naming what failed.
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn docker(engine: &str, args: &[&str]) -> String {
    let mut all = vec!["-H", engine];
    all.extend_from_slice(args);
    run("docker", &all, &[])
}

/// The lab swarm, up, with the host image on both nodes and the hosts'
/// secrets from `certs`; once per test binary.
fn lab(certs: &Path) {
    static READY: Once = Once::new();
    READY.call_once(|| {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the swarm tests need root (network namespaces and private Docker engines)"
        );
        // From a clean slate: an earlier run's swarm (or one left by a
        // machine restart) never leaks into this one.
        run(&repository("tools/swarm-lab"), &["down"], &[]);
        run(&repository("tools/swarm-lab"), &["up"], &[]);
        for engine in [MANAGER, WORKER] {
            run(
                &repository("deploy/swarm/build-host-image.sh"),
                &[IMAGE, env!("CARGO_BIN_EXE_foyer")],
                &[("DOCKER_HOST", engine)],
            );
        }
        // What an earlier run left, gone before this one counts tasks.
        for service in docker(MANAGER, &["service", "ls", "-q"]).lines() {
            docker(MANAGER, &["service", "rm", service]);
        }
        // A removed job service's container can outlive it (Docker
        // 20.10): those are removed by hand.
        for engine in [MANAGER, WORKER] {
            for container in host_containers(engine) {
                docker(engine, &["rm", "-f", &container]);
            }
        }
    });
    for (secret, file) in SECRETS {
        let _ = Command::new("docker")
            .args(["-H", MANAGER, "secret", "rm", secret])
            .output();
        let path = certs.join(file).display().to_string();
        docker(MANAGER, &["secret", "create", secret, &path]);
    }
}

fn certificates(dir: &Path) {
    run(
        &repository("deploy/swarm/certs.sh"),
        &[&dir.display().to_string()],
        &[],
    );
}

/// Both gateways' configuration: the lab's manager, the certificates,
/// and recordings in `shared` (one directory every node and gateway of
/// the lab sees, as NFS would be on many machines).
fn cluster_config(certs: &Path, shared: &Path) -> String {
    format!(
        "[sessions]\nrecord = true\n\
         [cluster]\nengine = \"{MANAGER}\"\nhost_image = \"{IMAGE}\"\n\
         ca = \"{0}/ca.pem\"\ncert = \"{0}/gateway.pem\"\nkey = \"{0}/gateway-key.pem\"\n\
         recordings = \"{1}\"\n",
        certs.display(),
        shared.display()
    )
}

/// The containers of foyer host tasks running on `engine`'s node.
fn host_containers(engine: &str) -> Vec<String> {
    docker(
        engine,
        &["ps", "--filter", "label=foyer.owner", "--format", "{{.ID}}"],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// A raw HTTP GET of the file view of `path` in `session`, with a bearer
/// token of `ssh`'s user, through `ssh`'s gateway's web port.
fn view_file(ssh: &common::Ssh, web: u16, session: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let token = ssh.ok("token create").lines().next().unwrap().to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", web)).unwrap();
    write!(
        stream,
        "GET /api/sessions/{session}/files?path={path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The same user, through another gateway.
fn through(server: &Server, ssh: &common::Ssh) -> common::Ssh {
    common::Ssh {
        port: server.port,
        ..ssh.clone()
    }
}

fn names(ssh: &common::Ssh) -> Vec<String> {
    common::json_rows(&ssh.ok("ls --json"))
        .iter()
        .map(|row| {
            format!(
                "{}/{}",
                row["owner"].as_str().unwrap_or_default(),
                row["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_session_created_through_one_gateway_runs_on_the_worker_and_is_used_through_another() {
    if common::on_postgres() {
        common::skipped(
            "cluster",
            "runs in the first pass, on a PostgreSQL of its own",
        );
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    lab(certs.path());
    let Some(postgres) = Cluster::create("cluster") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have PostgreSQL's server"
        );
        return;
    };
    let shared = tempfile::tempdir().unwrap();
    let config = cluster_config(certs.path(), shared.path());
    let first = Server::start_with_config_on(&config, &postgres.url());
    let alice = first.user("alice", false);
    let bob = first.user("bob", false);

    // Created through the first gateway: runs on the worker, in a task,
    // and the first gateway keeps its host's books.
    alice.ok("new work -d -- bash");
    alice.ok("new keep -d -- bash");
    assert_eq!(listed(&alice, "work")["state"], "running");
    let on_worker = host_containers(WORKER);
    assert_eq!(
        on_worker.len(),
        1,
        "one host task (alice's) runs on the worker: {on_worker:?}"
    );
    assert!(
        host_containers(MANAGER).is_empty(),
        "the manager runs no host task (placement node.role==worker)"
    );
    let first_keeps = format!(
        "SELECT count(*) FROM host_leases WHERE gateway LIKE '%-{}-%'",
        first.pid()
    );
    eventually("the first gateway to take the host's lease", || {
        postgres.count(&first_keeps) == 1
    });
    let second = Server::start_with_config_on(&config, &postgres.url());
    let (alice2, bob2) = (through(&second, &alice), through(&second, &bob));

    // Listed and attached through the second: typing echoes, and the
    // program runs inside the worker's task (its hostname is the task
    // container's id).
    eventually("the second gateway to list alice's session", || {
        names(&alice2).contains(&"alice/work".to_string())
    });
    assert_eq!(listed(&alice2, "work")["state"], "running");
    let term = alice2.term("attach work", 24, 80);
    term.type_line("echo $((6*7))x; cat /proc/sys/kernel/hostname");
    term.wait_for_text("42x");
    term.wait_for_text(&on_worker[0]);
    term.detach();

    // Shared through the second gateway: bob sees it through the first.
    alice2.ok("share work bob");
    eventually(
        "bob to see the shared session through the first gateway",
        || names(&bob).contains(&"alice/work".to_string()),
    );
    assert!(bob.ok("capture alice/work").contains("42x"));

    // A program that exits while the first gateway keeps the books: the
    // second shows its last screen (stored in PostgreSQL by the first).
    alice.ok("new brief -d -- bash -c 'echo last-words-here; read x; exit 4'");
    eventually("the second gateway to list the new session", || {
        names(&alice2).contains(&"alice/brief".to_string())
    });
    alice.ok("send brief 'go\\n'");
    eventually(
        "the second gateway to show the exited session's last screen",
        || {
            listed(&alice2, "brief")["state"] == "exited"
                && alice2.ok("capture brief").contains("last-words-here")
        },
    );
    assert_eq!(listed(&alice2, "brief")["exit_status"], 4);
    // Recorded by the host task into the shared directory, replayed
    // through the other gateway after its host has gone.
    let replay = alice2.term("replay brief", 24, 80);
    replay.wait_for_text("last-words-here");

    // Restarted through the first gateway: the second follows it to its
    // new program (its screen carries on from the last one).
    alice.ok("restart brief");
    let twice = || {
        alice2
            .ok("capture brief")
            .matches("last-words-here")
            .count()
            == 2
    };
    eventually("the second gateway to show the restarted session", || {
        listed(&alice2, "brief")["state"] == "running" && twice()
    });
    alice2.ok("send brief 'go\\n'");
    eventually("both gateways to show it exited again", || {
        listed(&alice, "brief")["state"] == "exited"
            && listed(&alice2, "brief")["state"] == "exited"
    });

    // Killed through the second: gone from both.
    alice2.ok("kill work");
    eventually("the first gateway to drop the killed session", || {
        !names(&alice).contains(&"alice/work".to_string())
    });
    assert!(!names(&bob2).contains(&"alice/work".to_string()));

    // The first gateway killed with SIGKILL: its sessions run on, and the
    // second takes over the host's books (after the lease's 6 s), then
    // records the session's activity and its exit.
    run("kill", &["-9", &first.pid().to_string()], &[]);
    let killed = std::time::Instant::now();
    assert_eq!(listed(&alice2, "keep")["state"], "running");
    assert_eq!(host_containers(WORKER), on_worker, "the host task runs on");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    alice2.ok("send keep 'echo still-here\\n'");
    eventually("the second gateway to record the activity", || {
        postgres.count(&format!(
            "SELECT count(*) FROM sessions WHERE name = 'keep' AND last_active_at >= {before}"
        )) == 1
    });
    alice2.ok("send keep 'exit 3\\n'");
    let recorded = "SELECT count(*) FROM sessions WHERE name = 'keep' AND state = 'exited' \
                    AND exit_status = 3";
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while postgres.count(recorded) != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second gateway did not record the exit (status*10+exited: {}; screen: {}); its log:\n{}",
            postgres.count("SELECT coalesce(exit_status, -9) * 10 + CASE WHEN state = 'exited' THEN 1 ELSE 0 END FROM sessions WHERE name = 'keep'"),
            alice2.ok("capture keep"),
            second.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!(
        "cluster: exit recorded by the second gateway {:.1} s after the first was killed",
        killed.elapsed().as_secs_f64()
    );
    let second_keeps = format!(
        "SELECT count(*) FROM host_leases WHERE gateway LIKE '%-{}-%' AND epoch = 2",
        second.pid()
    );
    assert_eq!(
        postgres.count(&second_keeps),
        1,
        "taken over under a new epoch"
    );
    eventually(
        "the worker's host task to end with its last session",
        || host_containers(WORKER).is_empty(),
    );
    cut_off_and_back(&alice2, second.web_port, (&config, &postgres.url()));
}

/// The worker's network cut for 20 s: its session shows `unreachable`,
/// then `running` again with the same program and screen; its task
/// removed for good: `exited`.
/// A third gateway, started during the cut, shows it unreachable too.
fn cut_off_and_back(alice: &common::Ssh, web: u16, (config, url): (&str, &str)) {
    alice.ok("new far -d -- bash");
    alice.ok("send far 'echo pid=$$\\n'");
    let mut pid = String::new();
    eventually("the program to print its pid", || {
        let screen = alice.ok("capture far");
        pid = screen
            .lines()
            .find_map(|l| l.strip_prefix("pid="))
            .unwrap_or_default()
            .trim()
            .to_string();
        !pid.is_empty()
    });
    let state = || {
        listed(alice, "far")["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let lab = repository("tools/swarm-lab");
    run(&lab, &["cut-on"], &[]);
    let cut = std::time::Instant::now();
    let shown = std::panic::catch_unwind(|| {
        eventually("the cut-off session to show unreachable", || {
            state() == "unreachable"
        })
    });
    let detected = cut.elapsed();
    let third = std::panic::catch_unwind(|| {
        let third = Server::start_with_config_on(config, url);
        let alice3 = through(&third, alice);
        let state = listed(&alice3, "far")["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (third, alice3, state)
    });
    std::thread::sleep(std::time::Duration::from_secs(20).saturating_sub(cut.elapsed()));
    run(&lab, &["cut-off"], &[]);
    if let Err(panic) = shown {
        std::panic::resume_unwind(panic);
    }
    let (_third, alice3, state_at_start) = third.unwrap_or_else(|p| std::panic::resume_unwind(p));
    assert_eq!(
        state_at_start, "unreachable",
        "a gateway started during the cut"
    );
    eventually("the third gateway to reach it once the cut is over", || {
        listed(&alice3, "far")["state"] == "running"
    });
    eprintln!(
        "cluster: unreachable shown {:.1} s after the cut",
        detected.as_secs_f64()
    );
    eventually("the session to be running again", || state() == "running");
    alice.ok("send far 'echo again=$$\\n'");
    eventually("the same program to answer, its screen kept", || {
        let screen = alice.ok("capture far");
        screen.contains(&format!("pid={pid}")) && screen.contains(&format!("again={pid}"))
    });

    // A file read through the gateway comes from the task (an exec
    // cannot cross nodes: the host runs the command).
    let container = host_containers(WORKER);
    assert_eq!(container.len(), 1, "{container:?}");
    alice.ok("send far 'cat /proc/sys/kernel/hostname > where.txt\\n'");
    let mut viewed = String::new();
    eventually("the file view to read the task's file", || {
        viewed = view_file(alice, web, "alice/far", "where.txt");
        viewed.contains(&container[0])
    });
    assert!(
        viewed.starts_with("HTTP/1.1 200") && viewed.contains(&container[0]),
        "the file view reads the task's file: {viewed}"
    );
    docker(WORKER, &["rm", "-f", &container[0]]);
    eventually("the session whose task is gone to show exited", || {
        state() == "exited"
    });
}
