//! An OpenSSH master connection (`ssh -M`): later commands run as
//! channels of it, with no new sign-in, so they reach a server whose
//! database is stopped or gone (tests/database_stall.rs,
//! tests/faults_database.rs).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{Ssh, eventually};

/// An OpenSSH master connection: later commands run as channels of it,
/// with no new sign-in (which would ask the database).
pub struct ControlMaster {
    _dir: tempfile::TempDir,
    path: PathBuf,
    child: Child,
}

impl ControlMaster {
    /// Opens a master connection signed in as `ssh`'s user.
    pub fn open(ssh: &Ssh) -> ControlMaster {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control");
        let child = ssh
            .command()
            .args(["-M", "-N", "-S"])
            .arg(&path)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let master = ControlMaster {
            _dir: dir,
            path,
            child,
        };
        eventually("the master connection to be up", || {
            let mut check = ssh.command();
            check.arg("-S").arg(&master.path).args(["-O", "check"]);
            check
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        master
    }

    /// `ssh` through the master, running `words` as one command line.
    pub fn command(&self, ssh: &Ssh, words: &[&str]) -> Command {
        let mut command = ssh.command();
        command.arg("-S").arg(&self.path);
        if !words.is_empty() {
            command.arg(words.join(" "));
        }
        command
    }
}

impl Drop for ControlMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
