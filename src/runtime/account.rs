//! Turns "start this command for this user" into a [`SpawnSpec`]: the
//! command (the login shell when none is given), the working directory and
//! a clean environment.
//!
//! Must not start anything; the runtime does.

use std::path::{Path, PathBuf};

use crate::runtime::SpawnSpec;
use crate::wire::Size;

/// The account programs run as: the server's OS user.
#[derive(Debug, Clone)]
pub struct HostAccount {
    pub user: String,
    pub home: PathBuf,
    pub shell: String,
}

impl HostAccount {
    /// The OS user the server runs as, from the system's user database.
    pub fn current() -> HostAccount {
        let entry = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten();
        let user = entry
            .as_ref()
            .map(|u| u.name.clone())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "foyer".into());
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .or_else(|| entry.as_ref().map(|u| u.dir.clone()))
            .unwrap_or_else(|| PathBuf::from("/"));
        let shell = entry
            .map(|u| u.shell.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty() && Path::new(s).exists())
            .unwrap_or_default();
        HostAccount { user, home, shell }
    }

    /// The login shell as a command: `SHELL -l`, or `bash -l` if unknown.
    pub fn login_shell(&self) -> Vec<String> {
        let shell = if self.shell.is_empty() {
            "bash"
        } else {
            &self.shell
        };
        vec![shell.to_string(), "-l".to_string()]
    }
}

/// Everything needed to start one session's program.
pub struct LaunchRequest<'a> {
    pub account: &'a HostAccount,
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub term: Option<String>,
    /// `OWNER/NAME`, exported as `FOYER_SESSION`.
    pub label: String,
    pub extra_env: Vec<(String, String)>,
}

pub fn spawn_spec(request: LaunchRequest<'_>) -> SpawnSpec {
    let account = request.account;
    let term = request
        .term
        .filter(|t| !t.is_empty() && t.len() < 64 && t.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "xterm-256color".into());
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let lang = std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".into());
    let shell = account.login_shell().remove(0);
    let mut env = vec![
        ("TERM".to_string(), term),
        ("COLORTERM".to_string(), "truecolor".to_string()),
        ("HOME".to_string(), account.home.display().to_string()),
        ("USER".to_string(), account.user.clone()),
        ("LOGNAME".to_string(), account.user.clone()),
        ("SHELL".to_string(), shell),
        ("PATH".to_string(), path),
        ("LANG".to_string(), lang),
        ("FOYER_SESSION".to_string(), request.label),
    ];
    for (key, value) in request.extra_env {
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }
    SpawnSpec {
        command: request.command,
        cwd: request.cwd,
        env,
        size: Size { rows: 24, cols: 80 },
    }
}
