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

#[test]
fn the_config_file_is_searched_in_order() {
    use super::search::config_file;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.toml");
    let second = dir.path().join("second.toml");
    std::fs::write(&second, "").unwrap();
    let candidates = [first.as_path(), second.as_path()];
    // Without a flag or variable: the first candidate that exists.
    assert_eq!(
        config_file(None, None, &candidates).unwrap(),
        Some(second.clone())
    );
    std::fs::write(&first, "").unwrap();
    assert_eq!(
        config_file(None, None, &candidates).unwrap(),
        Some(first.clone())
    );
    // The variable wins over the candidates, the flag over the variable.
    let variable = Some(second.clone().into_os_string());
    assert_eq!(
        config_file(None, variable.clone(), &candidates).unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        config_file(Some(&first), variable, &candidates).unwrap(),
        Some(first.clone())
    );
    // None is fine; a named file that is missing is not.
    assert_eq!(config_file(None, None, &[]).unwrap(), None);
    let missing = dir.path().join("missing.toml");
    let text = config_file(None, Some(missing.clone().into_os_string()), &candidates)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("missing.toml") && text.contains("FOYER_CONFIG"),
        "{text}"
    );
    let text = config_file(Some(&missing), None, &candidates)
        .unwrap_err()
        .to_string();
    assert!(text.contains("--config"), "{text}");
}

#[test]
fn state_directory_is_the_first_of_its_list() {
    use super::search::state_directory;
    assert_eq!(
        state_directory(Some("/var/lib/foyer:/var/lib/other".into())),
        Some("/var/lib/foyer".into())
    );
    assert_eq!(state_directory(Some("".into())), None);
    assert_eq!(state_directory(None), None);
}

#[test]
fn foyer_variables_that_name_no_key_are_ignored() {
    use super::environment::{ignored_variables, names_a_key};
    for key in [
        "ssh.listen",
        "web.tls_cert",
        "runtime.docker.memory",
        "presets",
        "SSH.LISTEN",
    ] {
        assert!(names_a_key(key), "{key}");
    }
    for key in [
        "port",
        "service_host",
        "ssh.listen_port",
        "ssh.listen.x",
        "",
    ] {
        assert!(!names_a_key(key), "{key}");
    }
    let variables = [
        "FOYER_PORT",
        "FOYER_SERVICE_HOST",
        "FOYER_CONFIG",
        "FOYER_SSH__LISTEN",
        "FOYER_LOG__LEVEL",
        "PATH",
    ]
    .map(|name| (name.into(), "x".into()));
    let ignored: Vec<String> = ignored_variables(variables)
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(ignored, ["FOYER_PORT", "FOYER_SERVICE_HOST"]);
}

#[test]
fn the_sqlite_file_comes_from_the_url() {
    let mut config = Config::default();
    assert_eq!(config.sqlite_file(), Some("data/foyer.db".into()));
    config.database.url = "sqlite:///srv/foyer.db?mode=rwc".into();
    assert_eq!(config.sqlite_file(), Some("/srv/foyer.db".into()));
    config.database.url = "sqlite::memory:".into();
    assert_eq!(config.sqlite_file(), None);
    config.database.url = "postgres://db/foyer".into();
    assert_eq!(config.sqlite_file(), None);
}

#[test]
fn printed_toml_loads_back_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(
        &path,
        "[sessions]\nkill_grace = \"7s\"\n[[presets]]\nname = \"top\"\ncommand = [\"top\"]\n",
    )
    .unwrap();
    let config = Config::load(Some(&path), Overrides::default()).unwrap();
    let printed = config.to_toml().unwrap();
    std::fs::write(&path, &printed).unwrap();
    let again = Config::load(Some(&path), Overrides::default()).unwrap();
    assert_eq!(again.sessions.kill_grace, Duration::from_secs(7));
    assert_eq!(again.presets[0].command, ["top"]);
    assert_eq!(again.to_toml().unwrap(), printed);
}

#[test]
fn a_refused_value_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foyer.toml");
    std::fs::write(&path, "[sessions]\nscrollback_lines = 2000000\n").unwrap();
    let text = Config::load(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("sessions.scrollback_lines"), "{text}");
    assert!(text.contains("foyer.toml"), "{text}");
}

#[test]
fn a_cluster_needs_postgresql_and_its_certificates() {
    let off = Config::from_toml_text("").unwrap();
    assert!(!off.cluster.enabled(), "no cluster by default");
    let error = Config::from_toml_text("[cluster]\nengine = \"unix:///run/m.sock\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cluster.engine") && error.contains("PostgreSQL"),
        "{error}"
    );
    let error = Config::from_toml_text(
        "[database]\nurl = \"postgres://db/foyer\"\n[cluster]\nengine = \"unix:///run/m.sock\"\nca = \"/c/ca.pem\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("cluster.cert"), "{error}");
    let on = Config::from_toml_text(
        "[database]\nurl = \"postgres://db/foyer\"\n[cluster]\nengine = \"unix:///run/m.sock\"\n\
         ca = \"/c/ca.pem\"\ncert = \"/c/gateway.pem\"\nkey = \"/c/gateway-key.pem\"\n",
    )
    .unwrap();
    assert!(on.cluster.enabled());
    let relative = Config::from_toml_text(
        "[database]\nurl = \"postgres://db/foyer\"\n[cluster]\nengine = \"unix:///run/m.sock\"\n\
         ca = \"/c/ca.pem\"\ncert = \"/c/gateway.pem\"\nkey = \"/c/gateway-key.pem\"\nrecordings = \"rec\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(relative.contains("cluster.recordings"), "{relative}");
    assert_eq!(on.cluster.placement, vec!["node.role==worker".to_string()]);
}
