//! Helpers for the Docker runtime tests: a real engine is required (the
//! tests fail, loudly, without one: `tools/install-test-deps` installs and
//! starts it), the test image is built locally once per test binary
//! (`deploy/user-image/build-test-image.sh`, no registry), and every test
//! uses user names of its own and removes its containers and volumes.

#![allow(dead_code)]

use std::process::Command;
use std::sync::Once;

use crate::common::{Server, Ssh, eventually};

pub const IMAGE: &str = "foyer-test-user:latest";
/// Test containers' uids are `UID_BASE` + the user's id.
pub const UID_BASE: u32 = 200_000;

/// Fails the test unless a Docker engine answers, and builds the test image.
pub fn engine() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        let info = Command::new("docker").arg("info").output();
        let up = info.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            up,
            "the Docker runtime tests need a running Docker engine and the docker CLI \
             (tools/install-test-deps installs docker.io and starts dockerd): {:?}",
            info.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/user-image/build-test-image.sh"
        );
        let built = Command::new(script)
            .arg(IMAGE)
            .output()
            .expect("run build-test-image.sh");
        assert!(
            built.status.success(),
            "building the test image failed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
    });
}

/// Runs the docker CLI and returns its stdout; panics if it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker inspect` of one object as JSON.
pub fn inspect(object: &str) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&docker(&["inspect", object])).expect("inspect JSON");
    json[0].clone()
}

pub fn is_running(container: &str) -> bool {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Running}}", container])
        .output()
        .expect("run docker");
    String::from_utf8_lossy(&out.stdout).trim() == "true"
}

/// A user name of this test (unique across parallel tests and runs), whose
/// container and home volume are removed when dropped.
pub struct TestUser {
    pub name: String,
}

impl TestUser {
    pub fn new(tag: &str) -> TestUser {
        let name = format!("{tag}{}", std::process::id() % 100_000);
        let user = TestUser { name };
        user.clean();
        user
    }

    pub fn container(&self) -> String {
        format!("foyer-{}", self.name)
    }

    pub fn volume(&self) -> String {
        format!("foyer-test-home-{}", self.name)
    }

    fn clean(&self) {
        for args in [
            vec!["rm", "-f", &self.container()],
            vec!["rm", "-f", &format!("{}-chown", self.container())],
            vec!["volume", "rm", "-f", &self.volume()],
        ] {
            let _ = Command::new("docker").args(&args).output();
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        self.clean();
    }
}

/// A server running users' sessions in Docker, with `extra` appended to
/// its `[runtime.docker]` section.
pub fn docker_server(extra: &str) -> Server {
    docker_server_with(extra, &[])
}

/// [`docker_server`] with extra arguments to `serve`.
pub fn docker_server_with(extra: &str, serve_args: &[&str]) -> Server {
    engine();
    Server::start_with(&docker_server_config(extra), serve_args)
}

/// The configuration of [`docker_server`]: the Docker runtime with the
/// test image and small limits, `extra` appended to `[runtime.docker]`.
pub fn docker_server_config(extra: &str) -> String {
    let image = if extra.contains("image =") {
        String::new()
    } else {
        format!("image = \"{IMAGE}\"\n")
    };
    format!(
        "[runtime]\nkind = \"docker\"\n\n[runtime.docker]\n\
         {image}home_volume = \"foyer-test-home-{{user}}\"\n\
         uid_base = {UID_BASE}\nmemory = \"256m\"\ncpus = 0.5\npids = 128\n\
         tmpfs_size = \"16m\"\n{extra}\n"
    )
}

/// Starts `script` (no single quotes) in a detached session `name`, waits
/// for it to exit and returns its screen.
pub fn run_script(ssh: &Ssh, name: &str, script: &str) -> String {
    ssh.ok(&format!("new {name} -d -- sh -c '{script}'"));
    wait_exited(ssh, name);
    ssh.ok(&format!("capture {name}"))
}

/// Waits until session `name` has exited; returns its exit status.
pub fn wait_exited(ssh: &Ssh, name: &str) -> serde_json::Value {
    let mut status = serde_json::Value::Null;
    eventually(&format!("session {name} to exit"), || {
        let list: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
        let found = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned();
        match found {
            Some(session) if session["state"] == "exited" => {
                status = session["exit_status"].clone();
                true
            }
            _ => false,
        }
    });
    status
}
