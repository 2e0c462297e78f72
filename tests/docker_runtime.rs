//! End-to-end: sessions in users' Docker containers (SPEC §8) through the
//! real OpenSSH client, against the real Docker engine, with the test image
//! built locally. These tests fail (never skip) without an engine.

mod common;
mod docker;
mod web_support;

use common::eventually;
use docker::{TestUser, UID_BASE, docker_server, inspect, is_running, run_script, wait_exited};

#[test]
fn container_is_hardened_and_runs_as_the_users_uid() {
    let server = docker_server("");
    let user = TestUser::new("dkhard");
    // The first user of a fresh server has id 1.
    let ssh = server.user(&user.name, false);

    let screen = run_script(
        &ssh,
        "probe",
        "echo uid=$(id -u) gid=$(id -g); \
         touch /etc/probe 2>/dev/null && echo root-writable || echo root-read-only; \
         touch /tmp/probe && echo tmp-writable; \
         echo nets=$(ls /sys/class/net); echo home=$HOME pwd=$(pwd)",
    );
    let uid = UID_BASE + 1;
    assert!(screen.contains(&format!("uid={uid} gid={uid}")), "{screen}");
    assert!(screen.contains("root-read-only"), "{screen}");
    assert!(screen.contains("tmp-writable"), "{screen}");
    assert!(screen.contains("nets=lo\n"), "network none: {screen}");
    let home = format!("/home/{}", user.name);
    assert!(
        screen.contains(&format!("home={home} pwd={home}")),
        "{screen}"
    );

    let container = inspect(&user.container());
    let host = &container["HostConfig"];
    assert_eq!(container["Config"]["User"], format!("{uid}:{uid}"));
    assert_eq!(host["Memory"], 256 << 20);
    assert_eq!(host["NanoCpus"], 500_000_000);
    assert_eq!(host["PidsLimit"], 128);
    assert_eq!(host["ReadonlyRootfs"], true);
    assert_eq!(host["NetworkMode"], "none");
    assert_eq!(host["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(
        host["SecurityOpt"],
        serde_json::json!(["no-new-privileges"])
    );
    let tmpfs = host["Tmpfs"]["/tmp"].as_str().unwrap_or_default();
    assert!(tmpfs.contains(&format!("size={}", 16 << 20)), "{tmpfs}");
    assert_eq!(container["Config"]["Labels"]["foyer.managed"], "true");
    let mounts = container["Mounts"].to_string();
    assert!(mounts.contains(&user.volume()), "{mounts}");

    let list: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
    assert_eq!(list[0]["name"], "probe");
}

#[test]
fn home_survives_sessions_and_container_restarts() {
    let server = docker_server("");
    let user = TestUser::new("dkhome");
    let ssh = server.user(&user.name, false);

    let first = run_script(&ssh, "write", "echo kept > ~/note && echo written");
    assert!(first.contains("written"), "{first}");
    let second = run_script(&ssh, "read1", "cat ~/note");
    assert!(second.contains("kept"), "{second}");

    let id = inspect(&user.container())["Id"].clone();
    docker::docker(&["restart", "-t", "1", &user.container()]);
    let third = run_script(&ssh, "read2", "cat ~/note; ls /tmp | wc -l");
    assert!(third.contains("kept"), "{third}");
    assert_eq!(
        inspect(&user.container())["Id"],
        id,
        "the same container is reused"
    );

    docker::docker(&["stop", "-t", "1", &user.container()]);
    let fourth = run_script(&ssh, "read3", "cat ~/note");
    assert!(
        fourth.contains("kept"),
        "a stopped container is started again: {fourth}"
    );
}

#[test]
fn resize_reaches_the_exec() {
    let server = docker_server("");
    let user = TestUser::new("dksize");
    let ssh = server.user(&user.name, false);

    let term = ssh.term(&format!("new shell -- {}", common::BASH), 24, 80);
    term.wait_for_text("$ ");
    term.type_line("stty size");
    term.wait_for_text("24 80");
    term.resize(30, 100);
    // The size travels client → hub → exec resize asynchronously: ask until
    // the program sees it.
    let mut asked = std::time::Instant::now() - std::time::Duration::from_secs(1);
    eventually("the exec to see 30 rows and 100 columns", || {
        if asked.elapsed() > std::time::Duration::from_millis(500) {
            term.type_line("stty size");
            asked = std::time::Instant::now();
        }
        term.contents().contains("30 100")
    });
    term.type_line("echo typed-$((6*7))");
    term.wait_for_text("typed-42");
    term.detach();
    let capture = ssh.ok("capture shell");
    assert!(capture.contains("typed-42"), "{capture}");
}

#[test]
fn exit_status_kill_and_idle_stop() {
    let server = docker_server("idle_stop = \"2s\"");
    let user = TestUser::new("dkexit");
    let ssh = server.user(&user.name, false);

    ssh.ok("new seven -d -- sh -c 'echo run-$$; exit 7'");
    assert_eq!(wait_exited(&ssh, "seven"), 7);
    ssh.ok("restart seven");
    eventually("the restarted program's output", || {
        ssh.ok("capture seven").matches("run-").count() == 2
    });
    assert_eq!(wait_exited(&ssh, "seven"), 7);

    ssh.ok("new sleeper -d -- sleep 4242");
    let top = || docker::docker(&["top", &user.container()]);
    eventually("the program to run in the container", || {
        top().contains("sleep 4242")
    });
    assert!(ssh.ok("ls").contains("running"));
    ssh.ok("kill sleeper");
    eventually("the program to be gone", || !top().contains("sleep 4242"));
    assert!(!ssh.ok("ls").contains("sleeper"));

    // Only the exited `seven` is left: the container goes idle and stops.
    eventually("the idle container to stop", || {
        !is_running(&user.container())
    });
    let again = run_script(&ssh, "again", "echo back");
    assert!(again.contains("back"), "{again}");
}

#[test]
fn output_starting_with_control_bytes_passes_through() {
    let server = docker_server("");
    let user = TestUser::new("dkbytes");
    let ssh = server.user(&user.name, false);
    // A chunk starting with byte 1 and a huge "length" would stall, while
    // the program runs, a decoder that took it for a multiplexing header.
    ssh.ok(
        "new binary -d -- sh -c 'printf \"\\001\\000\\000\\000\\377\\377\\377\\377\"; \
         sleep 0.3; echo after-binary; sleep 60'",
    );
    eventually("the output after the control bytes", || {
        ssh.ok("capture binary").contains("after-binary")
    });
}

#[test]
fn kill_hangs_a_container_program_up_before_killing_it() {
    let server = docker_server("");
    let user = TestUser::new("dkhup");
    let ssh = server.user(&user.name, false);
    ssh.ok(
        "new polite -d -- bash -c 'trap \"echo got-hup > $HOME/hup.txt; exit 0\" HUP; \
         echo ready; while true; do sleep 0.1; done'",
    );
    eventually("the program to be ready", || {
        ssh.ok("capture polite").contains("ready")
    });
    ssh.ok("kill polite");
    let home = format!("/home/{}", user.name);
    // The file appears a moment after `kill` returns: until then `cat`
    // fails, which is a "not yet", not a failure.
    eventually("the program to see SIGHUP", || {
        let out = std::process::Command::new("docker")
            .args(["exec", &user.container(), "cat", &format!("{home}/hup.txt")])
            .output()
            .expect("run docker");
        String::from_utf8_lossy(&out.stdout).contains("got-hup")
    });
}

/// An image with a shell and a few tools, but no `chown` and no bash
/// (tools/install-test-deps builds it).
const MINIMAL_IMAGE: &str = "foyer-test-minimal:latest";

#[test]
fn a_minimal_image_without_chown_gets_the_whole_of_spec_8() {
    docker::engine();
    let missing = docker::docker(&[
        "run",
        "--rm",
        MINIMAL_IMAGE,
        "sh",
        "-c",
        "command -v chown || echo no-chown",
    ]);
    assert!(
        missing.contains("no-chown"),
        "the image has no chown: {missing}"
    );
    let server = docker_server(&format!("image = \"{MINIMAL_IMAGE}\"\nidle_stop = \"2s\""));
    let user = TestUser::new("dkmini");
    let ssh = server.user(&user.name, false);

    let screen = run_script(
        &ssh,
        "probe",
        "echo uid=$(id -u) gid=$(id -g); \
         echo x > /etc/probe 2>/dev/null && echo root-writable || echo root-read-only; \
         echo x > /tmp/probe && echo tmp-writable; \
         echo nets=$(ls /sys/class/net); echo home=$HOME; \
         echo kept > $HOME/note && echo note-written",
    );
    let uid = UID_BASE + 1;
    assert!(screen.contains(&format!("uid={uid} gid={uid}")), "{screen}");
    assert!(screen.contains("root-read-only"), "{screen}");
    assert!(screen.contains("tmp-writable"), "{screen}");
    assert!(screen.contains("nets=lo\n"), "network none: {screen}");
    assert!(
        screen.contains(&format!("home=/home/{}", user.name)),
        "{screen}"
    );
    assert!(
        screen.contains("note-written"),
        "the home is the user's: {screen}"
    );
    let host = &inspect(&user.container())["HostConfig"];
    assert_eq!(host["Memory"], 256 << 20);
    assert_eq!(host["PidsLimit"], 128);

    // The home outlives the container.
    docker::docker(&["rm", "-f", &user.container()]);
    let again = run_script(&ssh, "read", "cat $HOME/note");
    assert!(again.contains("kept"), "{again}");

    let term = ssh.term("new shell -- sh", 24, 80);
    term.wait_for_text("$ ");
    term.type_line("stty size");
    term.wait_for_text("24 80");
    term.type_line("exit 7");
    assert_eq!(wait_exited(&ssh, "shell"), 7);

    // The program runs as it is (no `sh` of the image around it) and is
    // hung up from outside the container.
    ssh.ok("new sleeper -d -- sleep 4242");
    let top = || docker::docker(&["top", &user.container()]);
    eventually("the program to run", || top().contains("sleep 4242"));
    assert!(
        !top().contains("foyer-exec"),
        "no pid-file wrapper: {}",
        top()
    );
    ssh.ok("kill sleeper");
    eventually("the program to be gone", || !top().contains("sleep 4242"));

    // Nothing runs: the container goes idle and stops.
    eventually("the idle container to stop", || {
        !is_running(&user.container())
    });
}

/// Files in and out inside the user's container (SPEC §7): an upload
/// lands in the container's home, owned by the user's uid and
/// byte-identical; the view lists and reads it through the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_and_out_go_through_the_container() {
    let server = docker_server("");
    let user = TestUser::new("dkfile");
    let ssh = server.user(&user.name, false);
    ssh.ok("new work -d -- sleep 600");
    let token = format!("Bearer {}", web_support::api_token(&ssh));
    let session = format!("{}/work", user.name);

    let bytes: Vec<u8> = (0..300_000).map(|i| (i * 13 % 256) as u8).collect();
    let (status, json) =
        web_support::upload(&server, &token, &session, "shot.png", bytes.clone()).await;
    assert_eq!(status, 200, "{json}");
    let path = format!("/home/{}/.cache/foyer/uploads/work/shot.png", user.name);
    assert_eq!(json["path"], path);
    let (status, json) =
        web_support::upload(&server, &token, &session, "shot.png", b"second".to_vec()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["path"], path.replace("shot.png", "shot-1.png"));

    let inside = std::process::Command::new("docker")
        .args(["exec", &user.container(), "cat", &path])
        .output()
        .unwrap();
    assert!(inside.status.success(), "{inside:?}");
    assert_eq!(inside.stdout, bytes, "byte-identical in the container");
    let owner = docker::docker(&["exec", &user.container(), "stat", "-c", "%u", &path]);
    assert_eq!(owner.trim(), (UID_BASE + 1).to_string());

    let (status, _, body) =
        web_support::view_file(&server, &token, &session, ".cache/foyer/uploads/work").await;
    let listing: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["root"], format!("/home/{}", user.name));
    let names: Vec<_> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["shot-1.png", "shot.png"]);
    let (status, _, body) = web_support::view_file(
        &server,
        &token,
        &session,
        ".cache/foyer/uploads/work/shot.png",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes, "read back through the engine");
    let (status, _, _) = web_support::view_file(&server, &token, &session, "../..").await;
    assert_eq!(status, 403);
}
