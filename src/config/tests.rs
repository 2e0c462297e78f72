//! Unit tests of loading, defaults and refusals.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::*;

#[test]
fn sizes_use_binary_units() {
    assert_eq!(ByteSize::parse("1m").unwrap().0, 1 << 20);
    assert_eq!(ByteSize::parse("64k").unwrap().0, 64 << 10);
    assert_eq!(ByteSize::parse("2g").unwrap().0, 2 << 30);
    assert_eq!(ByteSize::parse("100").unwrap().0, 100);
    assert!(ByteSize::parse("lots").is_err());
}

#[test]
fn chords_parse_like_tmux() {
    assert_eq!(KeyChord::parse("C-\\").unwrap().byte, 0x1c);
    assert_eq!(KeyChord::parse("C-a").unwrap().byte, 0x01);
    assert_eq!(KeyChord::parse("C-]").unwrap().byte, 0x1d);
    assert!(KeyChord::parse("a").is_err());
    assert!(KeyChord::parse("C-ab").is_err());
    assert_eq!(KeyChord::parse("C-a").unwrap().name(), "C-a");
}

#[test]
fn unknown_key_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[sessions]\nscrolback_lines = 5\n").unwrap();
    let err = Config::load(Some(&path), Overrides::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("scrolback_lines"), "{text}");
    assert!(text.contains("foyer.toml"), "{text}");
}

#[test]
fn bad_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[sessions]\nkill_grace = \"soon\"\n").unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("sessions.kill_grace"), "{text}");
}

#[test]
fn runtime_defaults_follow_the_spec() {
    let runtime = Config::default().runtime;
    assert_eq!(runtime.kind, RuntimeKind::Local);
    assert!(!runtime.local.os_users);
    let docker = runtime.docker;
    assert_eq!(docker.memory, ByteSize(1 << 30));
    assert_eq!(docker.cpus, 1.0);
    assert_eq!(docker.pids, 512);
    assert_eq!(docker.network, "none");
    assert!(docker.read_only_root);
    assert_eq!(docker.tmpfs_size, ByteSize(64 << 20));
    assert_eq!(docker.idle_stop, Duration::from_secs(30 * 60));
    assert_eq!(docker.home_volume, "foyer-home-{user}");
}

#[test]
fn a_shared_home_volume_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[runtime.docker]\nhome_volume = \"homes\"\n").unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("runtime.docker.home_volume"), "{text}");
}

#[test]
fn auth_defaults_and_bad_ca_lines() {
    let defaults = Config::default();
    assert_eq!(defaults.ssh.idle_timeout, Duration::from_secs(60));
    assert_eq!(defaults.auth.max_failures_per_minute, 10);
    assert!(!defaults.auth.auto_provision);
    assert!(defaults.auth.trusted_user_ca_keys.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(
        &path,
        "[auth]\ntrusted_user_ca_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDZh/+pXPQ18UCpSnqmESwcXlryg6I1sSvF6ZCgyrtDw ca\", \"not a key\"]\n",
    )
    .unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("auth.trusted_user_ca_keys[1]"), "{text}");
    std::fs::write(&path, "[ssh]\nidle_timeout = \"0s\"\n").unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("ssh.idle_timeout"), "{text}");
    std::fs::write(
        &path,
        "[ssh]\nidle_timeout = \"1s\"\n[auth]\nauto_provision = true\n",
    )
    .unwrap();
    let config = Config::load(Some(&path), Overrides::default()).unwrap();
    assert_eq!(config.ssh.idle_timeout, Duration::from_secs(1));
    assert!(config.auth.auto_provision);
}

#[test]
fn kex_defaults_to_mlkem_first_and_names_only_known_methods() {
    assert_eq!(
        Config::default().ssh.kex,
        [
            KexAlgorithm::Mlkem768x25519Sha256,
            KexAlgorithm::Curve25519Sha256,
            KexAlgorithm::Curve25519Sha256Libssh
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[ssh]\nkex = [\"mlkem768x25519-sha256\"]\n").unwrap();
    let config = Config::load(Some(&path), Overrides::default()).unwrap();
    assert_eq!(config.ssh.kex, [KexAlgorithm::Mlkem768x25519Sha256]);
    for bad in ["[\"sntrup761x25519-sha512\"]", "[]"] {
        std::fs::write(&path, format!("[ssh]\nkex = {bad}\n")).unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("ssh.kex"), "{text}");
        assert!(text.contains("known: mlkem768x25519-sha256"), "{text}");
    }
}

#[test]
fn committed_default_file_parses_to_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
    let config = Config::load(Some(&path), Overrides::default()).unwrap();
    let defaults = Config::default();
    assert_eq!(config.ssh.listen, defaults.ssh.listen);
    assert_eq!(
        config.sessions.client_buffer,
        defaults.sessions.client_buffer
    );
    assert_eq!(config.keys.prefix, defaults.keys.prefix);
    assert_eq!(config.runtime.kind, defaults.runtime.kind);
    assert_eq!(config.runtime.docker.image, defaults.runtime.docker.image);
    assert_eq!(config.ssh.idle_timeout, defaults.ssh.idle_timeout);
    assert_eq!(config.ssh.kex, defaults.ssh.kex);
    assert_eq!(
        config.auth.max_failures_per_minute,
        defaults.auth.max_failures_per_minute
    );
    assert_eq!(config.web.listen, defaults.web.listen);
    assert_eq!(config.web.session_ttl, defaults.web.session_ttl);
}

#[test]
fn public_url_is_checked_and_derived() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[web]\npublic_url = \"ftp://x\"\n").unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("web.public_url"), "{text}");
    let web = WebConfig::default();
    let bound = SocketAddr::from(([0, 0, 0, 0], 9000));
    assert_eq!(web.public_base(bound), "http://localhost:9000");
    let web = WebConfig {
        public_url: "https://foyer.example/".into(),
        ..WebConfig::default()
    };
    assert_eq!(web.public_base(bound), "https://foyer.example");
}
