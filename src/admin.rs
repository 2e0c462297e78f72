//! The admin command line: `foyer user …` and `foyer key …`, acting directly
//! on the database (also while a server runs), and the key discovery used
//! on first start to create the admin.
//!
//! Owns: the clap definitions of these subcommands, reading key files,
//! and the plain-text output of the admin commands.
//! Must not: open the database itself (main passes a migrated `Store`),
//! talk to a running server, or exit the process (errors go back to main).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::store::{ParsedKey, Store, normalize_fingerprint, parse_key_line};

/// `foyer user …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user, optionally with public keys.
    Add {
        /// The user name: 1 to 32 characters from a-z, 0-9, _ and -, starting
        /// with a letter or _.
        name: String,
        /// Make the user an administrator (sees every session, manages users).
        #[arg(long)]
        admin: bool,
        /// A public key line, e.g. 'ssh-ed25519 AAAA… me@laptop' (quote it).
        /// May be given several times.
        #[arg(long = "key", value_name = "KEY")]
        keys: Vec<String>,
        /// A file of public keys, one per line (a .pub file or an
        /// authorized_keys file; blank lines and # comments are skipped).
        /// May be given several times.
        #[arg(long = "key-file", value_name = "PATH")]
        key_files: Vec<PathBuf>,
    },
    /// List users: name, admin or not, number of keys.
    List,
    /// Remove a user with their keys, sessions and grants.
    Remove {
        /// The user to remove.
        name: String,
    },
}

/// `foyer key …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeyCommand {
    /// Add a public key to a user.
    Add {
        /// The user who will log in with this key.
        user: String,
        /// The public key line, e.g. 'ssh-ed25519 AAAA… me@laptop' (quote it),
        /// or the path of a .pub file.
        key: String,
    },
    /// List keys: user, fingerprint, comment.
    List {
        /// Only this user's keys.
        user: Option<String>,
    },
    /// Remove a key, whoever it belongs to.
    Remove {
        /// The key's fingerprint as `key list` shows it (SHA256:…).
        fingerprint: String,
    },
}

/// Run a `foyer user …` command, printing to stdout.
pub async fn run_user(store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    run_user_to(store, cmd, &mut std::io::stdout().lock()).await
}

/// Run a `foyer key …` command, printing to stdout.
pub async fn run_key(store: &Store, cmd: KeyCommand) -> anyhow::Result<()> {
    run_key_to(store, cmd, &mut std::io::stdout().lock()).await
}

/// [`run_user`] writing to `out`.
pub async fn run_user_to(
    store: &Store,
    cmd: UserCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            admin,
            keys,
            key_files,
        } => {
            let mut parsed = Vec::new();
            for (i, line) in keys.iter().enumerate() {
                let key = parse_key_line(line).with_context(|| {
                    if keys.len() == 1 {
                        "--key".to_string()
                    } else {
                        format!("--key number {}", i + 1)
                    }
                })?;
                parsed.push(key);
            }
            for path in &key_files {
                parsed.extend(read_key_file(path)?);
            }
            let parsed = dedup_keys(parsed);
            let (user, added) = store
                .create_user_with_keys(&name, admin, &parsed)
                .await
                .with_context(|| format!("cannot add user {name}"))?;
            let role = if user.is_admin { "admin " } else { "" };
            let keys = match added.len() {
                0 => "no keys yet (add one with `foyer key add USER KEY`)".to_string(),
                1 => "1 key".to_string(),
                n => format!("{n} keys"),
            };
            writeln!(out, "added {role}user {} with {keys}", user.name)?;
        }
        UserCommand::List => {
            let users = store.list_users().await.context("cannot list users")?;
            let rows: Vec<Vec<String>> = users
                .into_iter()
                .map(|(user, keys)| {
                    let admin = if user.is_admin { "yes" } else { "no" };
                    vec![user.name, admin.to_string(), keys.to_string()]
                })
                .collect();
            write_table(out, &["NAME", "ADMIN", "KEYS"], &rows)?;
        }
        UserCommand::Remove { name } => {
            let removed = store
                .remove_user(&name)
                .await
                .with_context(|| format!("cannot remove user {name}"))?;
            if !removed {
                bail!("no user named {name}");
            }
            writeln!(out, "removed user {name}")?;
        }
    }
    Ok(())
}

/// [`run_key`] writing to `out`.
pub async fn run_key_to(store: &Store, cmd: KeyCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Add { user, key } => {
            let context = || format!("cannot add the key to {user}");
            let parsed = match parse_key_line(&key) {
                Ok(parsed) => parsed,
                // Not a key line: maybe the path of a .pub file.
                Err(err) if !key.contains(' ') && Path::new(&key).is_file() => {
                    let mut keys = read_key_file(Path::new(&key)).with_context(context)?;
                    if keys.len() != 1 {
                        return Err(err).with_context(|| {
                            format!("{key} holds {} keys; give one key", keys.len())
                        });
                    }
                    keys.remove(0)
                }
                Err(err) => return Err(err).with_context(context),
            };
            let owner = store
                .user_by_name(&user)
                .await
                .with_context(context)?
                .with_context(|| format!("no user named {user}"))?;
            let added = store
                .add_key(owner.id, &parsed)
                .await
                .with_context(context)?;
            writeln!(out, "added key {} to {user}", added.fingerprint)?;
        }
        KeyCommand::List { user } => {
            let keys = store
                .list_keys(user.as_deref())
                .await
                .context("cannot list keys")?;
            let rows: Vec<Vec<String>> = keys
                .into_iter()
                .map(|(owner, key)| vec![owner, key.fingerprint, key.comment])
                .collect();
            write_table(out, &["USER", "FINGERPRINT", "COMMENT"], &rows)?;
        }
        KeyCommand::Remove { fingerprint } => {
            let owner = store
                .user_by_fingerprint(&fingerprint)
                .await
                .context("cannot remove the key")?;
            let removed = store
                .remove_key(&fingerprint)
                .await
                .context("cannot remove the key")?;
            let Some(owner) = owner.filter(|_| removed) else {
                bail!("no key with fingerprint {fingerprint}");
            };
            let left = store
                .keys_of(owner.id)
                .await
                .context("cannot count the remaining keys")?
                .len();
            let note = if left == 0 {
                format!(" ({} has no keys left and cannot log in)", owner.name)
            } else {
                String::new()
            };
            let fingerprint = normalize_fingerprint(&fingerprint);
            writeln!(out, "removed key {fingerprint} of {}{note}", owner.name)?;
        }
    }
    Ok(())
}

/// The keys of the OS user whose home is `home`, for the admin created on
/// first start: `~/.ssh/authorized_keys` and `~/.ssh/*.pub`, deduplicated by
/// fingerprint. Unreadable files are skipped; each line left out (a key
/// with an option foyer cannot enforce, a certificate authority, an
/// unusable key) is logged as a warning that says why.
pub fn first_start_keys(home: &Path) -> Vec<ParsedKey> {
    let (keys, skipped) = first_start_import(home);
    for line in &skipped {
        tracing::warn!(
            file = %line.file.display(),
            line = line.number,
            "key not imported for the first admin: {}",
            line.reason
        );
    }
    keys
}

/// A key line the first-start import left out.
#[derive(Debug, Clone)]
pub struct SkippedLine {
    pub file: PathBuf,
    /// 1-based.
    pub number: usize,
    pub reason: String,
}

/// [`first_start_keys`] without logging: the keys, and the lines left out.
pub fn first_start_import(home: &Path) -> (Vec<ParsedKey>, Vec<SkippedLine>) {
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for file in first_start_files(home) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (number, line) in key_lines(&text) {
            match parse_key_line(line) {
                Ok(key) => keys.push(key),
                Err(error) => skipped.push(SkippedLine {
                    file: file.clone(),
                    number,
                    reason: error.to_string(),
                }),
            }
        }
    }
    (dedup_keys(keys), skipped)
}

/// `~/.ssh/authorized_keys`, then the `.pub` files of `~/.ssh` by name.
fn first_start_files(home: &Path) -> Vec<PathBuf> {
    let ssh = home.join(".ssh");
    let mut files = vec![ssh.join("authorized_keys")];
    if let Ok(entries) = std::fs::read_dir(&ssh) {
        let mut pubs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "pub") && p.is_file())
            .collect();
        pubs.sort();
        files.extend(pubs);
    }
    files
}

/// Every key of a key file; an unusable line is an error naming the file and line.
fn read_key_file(path: &Path) -> anyhow::Result<Vec<ParsedKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let mut keys = Vec::new();
    for (number, line) in key_lines(&text) {
        let key =
            parse_key_line(line).with_context(|| format!("{} line {number}", path.display()))?;
        keys.push(key);
    }
    if keys.is_empty() {
        bail!("key file {} holds no public keys", path.display());
    }
    Ok(keys)
}

/// Non-blank, non-comment lines with their 1-based line numbers.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// Keep the first of several keys with the same fingerprint.
fn dedup_keys(keys: Vec<ParsedKey>) -> Vec<ParsedKey> {
    let mut seen = HashSet::new();
    keys.into_iter()
        .filter(|key| seen.insert(key.fingerprint.clone()))
        .collect()
}

/// A plain table: columns padded to their widest cell, two spaces apart,
/// no trailing spaces.
fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
