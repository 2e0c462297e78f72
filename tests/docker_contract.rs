//! End-to-end against the real Docker engine (issue 30): the user can write
//! the container's tmpfs `/tmp` whatever mode the image gives its own
//! `/tmp` (SPEC §8), and a Docker session's program is paused and resumed
//! (SPEC §4). Fails (never skips) without an engine.

mod common;
mod docker;

use std::process::Command;
use std::time::Duration;

use common::{Ssh, eventually};
use docker::{TestUser, docker_server, run_script};

/// An image like the test image whose own `/tmp` has mode 755, as some
/// images have: built once, locally, without a registry.
const TMP_755_IMAGE: &str = "foyer-test-tmp755:latest";

fn tmp_755_image() {
    docker::engine();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/user-image/build-test-image.sh"
    );
    let built = Command::new(script)
        .arg(TMP_755_IMAGE)
        .env("TMP_MODE", "755")
        .output()
        .expect("run build-test-image.sh");
    assert!(
        built.status.success(),
        "building {TMP_755_IMAGE} failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
}

#[test]
fn the_user_can_write_tmp_even_when_the_images_tmp_is_755() {
    tmp_755_image();
    let server = docker_server(&format!("image = \"{TMP_755_IMAGE}\""));
    let user = TestUser::new("dktmp");
    let ssh = server.user(&user.name, false);
    let screen = run_script(
        &ssh,
        "probe",
        "ls -ldn /tmp; touch /tmp/x && echo tmp-writable; \
         mkdir /tmp/d && echo dir-made; id -u",
    );
    assert!(screen.contains("tmp-writable"), "{screen}");
    assert!(screen.contains("dir-made"), "{screen}");
}

/// The last number a counting program printed.
fn last_number(ssh: &Ssh, name: &str) -> u64 {
    ssh.ok(&format!("capture {name}"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

fn state(ssh: &Ssh, name: &str) -> String {
    common::json_rows(&ssh.ok("ls --json"))
        .into_iter()
        .find(|s| s["name"] == name)
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn a_docker_sessions_program_is_paused_and_resumed() {
    let server = docker_server("");
    let user = TestUser::new("dkpause");
    let ssh = server.user(&user.name, false);
    ssh.ok("new count -d -- bash -c 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done'");
    eventually("counting", || last_number(&ssh, "count") >= 3);
    ssh.ok("pause count");
    eventually("paused", || state(&ssh, "count") == "paused");
    std::thread::sleep(Duration::from_millis(500));
    let stopped_at = last_number(&ssh, "count");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        last_number(&ssh, "count"),
        stopped_at,
        "counted on while paused"
    );
    ssh.ok("resume count");
    eventually("running again", || state(&ssh, "count") == "running");
    eventually("counting again", || {
        last_number(&ssh, "count") > stopped_at + 2
    });
}
