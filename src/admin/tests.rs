//! Tests of the admin commands, run through clap as `foyer user …` and
//! `foyer key …` would be, against a SQLite file in a temporary directory.
//!
//! Owns: behaviour and help-text tests of `admin`. Must not: test the store
//! itself (that is `store::tests`).

use super::*;
use crate::store::Store;
use clap::{CommandFactory, Parser};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMkDGQcIeTqdNF5m2RWx++27ZuvCJDLP5woEgFv05R6I alice@laptop";
const KEY_A_FP: &str = "SHA256:ku8f52qlzcm8gqD6nyRL9VAOQgX7aN52Yhk26BUARic";
const KEY_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP93/2pEnQZTtV/jpmdq8IHndiFdBSd9vwX0ksC4he5W bob@desk";
const KEY_C: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHKbMX/WQsRDBSy5ZJg9OIWbmoIJNu28ITUNGH7393jt";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    top: Top,
}

#[derive(clap::Subcommand)]
enum Top {
    #[command(subcommand)]
    User(UserCommand),
    #[command(subcommand)]
    Key(KeyCommand),
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/foyer.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

async fn run(store: &Store, args: &[&str]) -> anyhow::Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("foyer").chain(args.iter().copied()))?;
    let mut out = Vec::new();
    match cli.top {
        Top::User(cmd) => run_user_to(store, cmd, &mut out).await?,
        Top::Key(cmd) => run_key_to(store, cmd, &mut out).await?,
    }
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn every_argument_is_documented() {
    Cli::command().debug_assert();
    let mut cmd = Cli::command();
    let user = cmd.find_subcommand_mut("user").unwrap();
    let help = user
        .find_subcommand_mut("add")
        .unwrap()
        .render_long_help()
        .to_string();
    for text in [
        "The user name",
        "--admin",
        "administrator",
        "--key <KEY>",
        "--key-file <PATH>",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
    for top in ["user", "key"] {
        let sub = Cli::command();
        let sub = sub.find_subcommand(top).unwrap();
        for cmd in sub.get_subcommands() {
            assert!(
                cmd.get_about().is_some(),
                "{top} {} has no help",
                cmd.get_name()
            );
            for arg in cmd.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "{top} {} {}",
                    cmd.get_name(),
                    arg.get_id()
                );
            }
        }
    }
}

#[tokio::test]
async fn users_are_added_listed_and_removed() {
    let (dir, store) = store().await;
    let file = dir.path().join("authorized_keys");
    std::fs::write(
        &file,
        format!("# my keys\n\nno-port-forwarding,environment=\"A=a b\" {KEY_B}\n{KEY_A}\n"),
    )
    .unwrap();
    let out = run(
        &store,
        &[
            "user",
            "add",
            "alice",
            "--admin",
            "--key",
            KEY_A,
            "--key-file",
            file.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out, "added admin user alice with 2 keys\n");
    let out = run(&store, &["user", "add", "bob"]).await.unwrap();
    assert!(out.starts_with("added user bob with no keys yet"), "{out}");

    let out = run(&store, &["user", "list"]).await.unwrap();
    assert_eq!(
        out,
        "NAME   ADMIN  KEYS\nalice  yes    2\nbob    no     0\n"
    );

    let err = run(&store, &["user", "add", "bob"]).await.unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "cannot add user bob: a user named bob already exists"
    );
    let err = run(
        &store,
        &["user", "add", "carol", "--key", "ssh-ed25519 nope"],
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").starts_with("--key: invalid public key: the ssh-ed25519 key data"),
        "{err:#}"
    );
    std::fs::write(&file, format!("{KEY_C}\nssh-dss AAAA old\n")).unwrap();
    let err = run(
        &store,
        &["user", "add", "carol", "--key-file", file.to_str().unwrap()],
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("authorized_keys line 2: invalid public key: DSA"),
        "{err:#}"
    );
    assert!(store.user_by_name("carol").await.unwrap().is_none());

    assert_eq!(
        run(&store, &["user", "remove", "bob"]).await.unwrap(),
        "removed user bob\n"
    );
    let err = run(&store, &["user", "remove", "bob"]).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "no user named bob");
}

#[tokio::test]
async fn keys_are_added_listed_and_removed() {
    let (dir, store) = store().await;
    run(&store, &["user", "add", "alice"]).await.unwrap();
    run(&store, &["user", "add", "bob"]).await.unwrap();
    let out = run(&store, &["key", "add", "alice", KEY_A]).await.unwrap();
    assert_eq!(out, format!("added key {KEY_A_FP} to alice\n"));
    let pub_file = dir.path().join("id_ed25519.pub");
    std::fs::write(&pub_file, format!("{KEY_B}\n")).unwrap();
    run(&store, &["key", "add", "bob", pub_file.to_str().unwrap()])
        .await
        .unwrap();

    let err = run(&store, &["key", "add", "bob", KEY_A])
        .await
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!("cannot add the key to bob: the key {KEY_A_FP} is already registered")
    );
    let err = run(&store, &["key", "add", "nobody", KEY_C])
        .await
        .unwrap_err();
    assert_eq!(format!("{err:#}"), "no user named nobody");
    let err = run(&store, &["key", "add", "bob", "garbage"])
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("unknown key type `garbage`"),
        "{err:#}"
    );

    let out = run(&store, &["key", "list"]).await.unwrap();
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("USER   FINGERPRINT"), "{out}");
    assert!(
        lines[1].starts_with(&format!("alice  {KEY_A_FP}  alice@laptop")),
        "{out}"
    );
    assert!(
        lines[2].starts_with("bob    SHA256:") && lines[2].ends_with("bob@desk"),
        "{out}"
    );
    let out = run(&store, &["key", "list", "alice"]).await.unwrap();
    assert_eq!(out.lines().count(), 2);

    let out = run(&store, &["key", "remove", KEY_A_FP]).await.unwrap();
    assert_eq!(
        out,
        format!("removed key {KEY_A_FP} of alice (alice has no keys left and cannot log in)\n")
    );
    let err = run(&store, &["key", "remove", KEY_A_FP]).await.unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!("no key with fingerprint {KEY_A_FP}")
    );
}

#[test]
fn first_start_reads_authorized_keys_and_pub_files() {
    let home = tempfile::tempdir().unwrap();
    assert!(first_start_keys(home.path()).is_empty());
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    std::fs::write(
        ssh.join("authorized_keys"),
        format!("# comment\n\n{KEY_A}\nrestrict,pty {KEY_B}\nnot a key\n"),
    )
    .unwrap();
    std::fs::write(ssh.join("id_ed25519.pub"), format!("{KEY_A}\n")).unwrap();
    std::fs::write(ssh.join("other.pub"), format!("{KEY_C}\n")).unwrap();
    std::fs::write(
        ssh.join("id_ed25519"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    let keys = first_start_keys(home.path());
    let comments: Vec<_> = keys.iter().map(|k| k.comment.as_str()).collect();
    assert_eq!(comments, ["alice@laptop", "bob@desk", ""]);
}

#[test]
fn first_start_leaves_out_keys_with_options_it_cannot_enforce_and_says_why() {
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    // Lines as they are found in the wild: a forced command with quoted
    // spaces and commas (as GitLab writes them), source addresses, a CA.
    let text = format!(
        "# keys\n\
         command=\"/usr/bin/gitlab-shell key-1,x\",no-port-forwarding,no-X11-forwarding {KEY_A}\n\
         \n\
         from=\"10.0.0.0/8,!10.0.0.9\" {KEY_B}\n\
         cert-authority,principals=\"alice\" {KEY_C}\n\
         no-agent-forwarding,no-port-forwarding {KEY_C}\n"
    );
    std::fs::write(ssh.join("authorized_keys"), text).unwrap();
    let (keys, skipped) = first_start_import(home.path());
    let fingerprints: Vec<_> = keys.iter().map(|k| k.fingerprint.as_str()).collect();
    assert_eq!(fingerprints.len(), 1);
    assert_eq!(keys[0].comment, "", "only KEY_C, from its harmless line");
    let lines: Vec<_> = skipped.iter().map(|s| s.number).collect();
    assert_eq!(lines, [2, 4, 5]);
    assert!(skipped[0].reason.contains(KEY_A_FP), "{:?}", skipped[0]);
    assert!(
        skipped[0].reason.contains("(alice@laptop)"),
        "{:?}",
        skipped[0]
    );
    assert!(
        skipped[0]
            .reason
            .contains(r#"`command="/usr/bin/gitlab-shell key-1,x"`"#),
        "{:?}",
        skipped[0]
    );
    assert!(skipped[1].reason.contains("(bob@desk)") && skipped[1].reason.contains("`from="));
    assert!(
        skipped[2].reason.contains("`cert-authority`"),
        "{:?}",
        skipped[2]
    );
    assert!(
        skipped
            .iter()
            .all(|s| s.file == ssh.join("authorized_keys"))
    );
}

#[tokio::test]
async fn key_options_foyer_cannot_enforce_stop_user_add_and_key_add() {
    let (_dir, store) = store().await;
    let line = format!("no-pty {KEY_A}");
    let err = run(&store, &["user", "add", "alice", "--key", &line])
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("`no-pty`") && text.contains(KEY_A_FP),
        "{text}"
    );
    run(&store, &["user", "add", "alice"]).await.unwrap();
    let err = run(
        &store,
        &["key", "add", "alice", &format!("restrict {KEY_B}")],
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("`restrict`"), "{err:#}");
    let kept = format!("restrict,pty {KEY_B}");
    let out = run(&store, &["key", "add", "alice", &kept]).await.unwrap();
    assert!(out.starts_with("added key SHA256:"), "{out}");
}
