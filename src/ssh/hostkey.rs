//! The server's SSH host key, a pair as sshd's are: the private key at
//! `ssh.host_key` (ed25519, mode 0600, created once and reused on every
//! later start) and its public key beside it (`.pub`, OpenSSH format,
//! written whenever it is missing or does not match), with the SHA256
//! fingerprint and the known_hosts line people check a first connection
//! against.
//!
//! Must not create a new key when one exists but cannot be read: that
//! would silently change the server's identity.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("cannot read host key {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot create host key {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot encode the host key: {0}")]
    Encode(String),
    #[error("no host key at {path} (start foyer serve, or pass --config)")]
    Missing { path: String },
}

/// Loads the host key, creating it first if the file does not exist, and
/// writes its `.pub` when missing.
pub fn load_or_create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let key = if path.exists() {
        read(path)?
    } else {
        create(path)?
    };
    write_public(path, &key)?;
    Ok(key)
}

/// Loads the existing host key (never creates one) and writes its `.pub`
/// when missing.
pub fn load(path: &Path) -> Result<PrivateKey, HostKeyError> {
    if !path.exists() {
        return Err(HostKeyError::Missing {
            path: path.display().to_string(),
        });
    }
    let key = read(path)?;
    write_public(path, &key)?;
    Ok(key)
}

/// Where the public half of the key at `path` is kept: `PATH.pub`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The key's SHA256 fingerprint as `ssh-keygen -l` prints it
/// (`SHA256:…`).
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// The known_hosts line for clients that connect to `host` on `port`
/// (`[host]:port ssh-ed25519 AAAA…`; the bare host on port 22).
pub fn known_hosts_line(key: &PrivateKey, host: &str, port: u16) -> Result<String, HostKeyError> {
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| HostKeyError::Encode(e.to_string()))?;
    let algorithm_and_key = public.split(' ').take(2).collect::<Vec<_>>().join(" ");
    let host = if port == 22 && !host.contains(':') {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    Ok(format!("{host} {algorithm_and_key}"))
}

fn read(path: &Path) -> Result<PrivateKey, HostKeyError> {
    russh::keys::load_secret_key(path, None).map_err(|e| HostKeyError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Writes `PATH.pub` (mode 0644) unless it already holds this key.
fn write_public(path: &Path, key: &PrivateKey) -> Result<(), HostKeyError> {
    let public_path = public_path(path);
    let line = key
        .public_key()
        .to_openssh()
        .map_err(|e| HostKeyError::Encode(e.to_string()))?;
    let current = std::fs::read_to_string(&public_path).unwrap_or_default();
    let same = russh::keys::PublicKey::from_openssh(current.trim())
        .is_ok_and(|existing| existing.key_data() == key.public_key().key_data());
    if same {
        return Ok(());
    }
    let shown = public_path.display().to_string();
    let create_error = |source| HostKeyError::Create {
        path: shown.clone(),
        source,
    };
    let _ = std::fs::remove_file(&public_path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&public_path)
        .map_err(create_error)?;
    file.write_all(format!("{line}\n").as_bytes())
        .map_err(create_error)?;
    tracing::info!(path = %shown, "wrote the SSH host key's public half");
    Ok(())
}

/// Creates a new key at `path` (mode 0600, its directory if missing).
fn create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let shown = path.display().to_string();
    let seed: [u8; 32] = rand::random();
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| HostKeyError::Encode(e.to_string()))?;
    let create_error = |source| HostKeyError::Create {
        path: shown.clone(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(create_error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(create_error)?;
    file.write_all(text.as_bytes()).map_err(create_error)?;
    tracing::info!(path = %shown, "created a new SSH host key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_with_mode_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/host");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        let public = std::fs::read_to_string(public_path(&path)).unwrap();
        let public = russh::keys::PublicKey::from_openssh(public.trim()).unwrap();
        assert_eq!(public.key_data(), first.public_key().key_data());
    }

    #[test]
    fn a_missing_or_stale_public_half_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host");
        let key = load_or_create(&path).unwrap();
        let written = std::fs::read_to_string(public_path(&path)).unwrap();
        std::fs::remove_file(public_path(&path)).unwrap();
        load(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(public_path(&path)).unwrap(),
            written
        );
        std::fs::write(public_path(&path), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDZh/+pXPQ18UCpSnqmESwcXlryg6I1sSvF6ZCgyrtDw other\n").unwrap();
        load(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(public_path(&path)).unwrap(),
            written
        );
        assert!(fingerprint(&key).starts_with("SHA256:"));
    }

    #[test]
    fn known_hosts_lines_bracket_other_ports() {
        let dir = tempfile::tempdir().unwrap();
        let key = load_or_create(&dir.path().join("host")).unwrap();
        let line = known_hosts_line(&key, "127.0.0.1", 2222).unwrap();
        assert!(
            line.starts_with("[127.0.0.1]:2222 ssh-ed25519 AAAA"),
            "{line}"
        );
        assert_eq!(line.split(' ').count(), 3, "{line}");
        let line = known_hosts_line(&key, "foyer.example", 22).unwrap();
        assert!(line.starts_with("foyer.example ssh-ed25519 "), "{line}");
        let line = known_hosts_line(&key, "::1", 22).unwrap();
        assert!(line.starts_with("[::1]:22 "), "{line}");
    }

    #[test]
    fn load_never_creates_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host");
        let text = load(&path).unwrap_err().to_string();
        assert!(text.starts_with("no host key at"), "{text}");
        assert!(!path.exists() && !public_path(&path).exists());
    }

    #[test]
    fn unreadable_key_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host");
        std::fs::write(&path, "garbage").unwrap();
        assert!(load_or_create(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
    }
}
