//! Store tests against a real SQLite file in a temporary directory, and
//! against PostgreSQL when `FOYER_TEST_POSTGRES_URL` names a scratch database.
//!
//! Owns: behaviour tests of users, keys and sessions across the public API.
//! Must not: depend on anything outside the store (no SSH, no hub).

use super::keys::test_keys::*;
use super::*;

/// A migrated store in a fresh directory (kept alive by the returned guard).
/// The database sits in a subdirectory that does not exist yet, to check
/// that `open` creates it.
async fn sqlite_store() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/foyer.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    (dir, store, url)
}

/// A migrated, emptied PostgreSQL store, if one is configured for tests.
async fn postgres_store() -> Option<Store> {
    let url = std::env::var("FOYER_TEST_POSTGRES_URL").ok()?;
    let store = Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    for table in [
        "DELETE FROM audit",
        "DELETE FROM grants",
        "DELETE FROM sessions",
        "DELETE FROM host_leases",
        "DELETE FROM exited_screens",
    ] {
        sqlx::query(table).execute(store.pool()).await.unwrap();
    }
    sqlx::query("DELETE FROM user_keys")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM users")
        .execute(store.pool())
        .await
        .unwrap();
    Some(store)
}

fn key(line: &str) -> ParsedKey {
    parse_public_key(line).unwrap()
}

async fn exercise_users(store: &Store) {
    assert_eq!(store.user_count().await.unwrap(), 0);
    let alice = store.create_user("alice", true).await.unwrap();
    assert!(alice.is_admin);
    let bob = store.create_user("bob", false).await.unwrap();
    assert_eq!(store.user_count().await.unwrap(), 2);

    let err = store.create_user("alice", false).await.unwrap_err();
    assert!(matches!(err, StoreError::UserExists { .. }), "{err:?}");
    assert_eq!(err.to_string(), "a user named alice already exists");
    for bad in [
        "",
        "Alice",
        "1abc",
        "a b",
        "x".repeat(33).as_str(),
        "al/ice",
    ] {
        let err = store.create_user(bad, false).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName { .. }),
            "{bad}: {err:?}"
        );
    }
    assert!(store.create_user(&"x".repeat(32), false).await.is_ok());
    assert!(store.create_user("_svc-1", false).await.is_ok());

    assert_eq!(store.user_by_name("bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(
        store.user_by_id(alice.id).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);

    store.add_key(alice.id, &key(ED25519_A)).await.unwrap();
    store.add_key(alice.id, &key(RSA_2048)).await.unwrap();
    let listed = store.list_users().await.unwrap();
    let names: Vec<_> = listed.iter().map(|(u, n)| (u.name.as_str(), *n)).collect();
    assert_eq!(names[0], ("_svc-1", 0));
    assert_eq!(names[1], ("alice", 2));
    assert_eq!(names[2], ("bob", 0));

    assert!(store.remove_user("bob").await.unwrap());
    assert!(!store.remove_user("bob").await.unwrap());
    // Removing a user removes their keys.
    assert!(store.remove_user("alice").await.unwrap());
    assert_eq!(store.user_by_fingerprint(ED25519_A_FP).await.unwrap(), None);
    assert!(store.list_keys(None).await.unwrap().is_empty());
}

async fn exercise_keys(store: &Store) {
    let alice = store.create_user("alice", false).await.unwrap();
    let bob = store.create_user("bob", false).await.unwrap();
    let a = store.add_key(alice.id, &key(ED25519_A)).await.unwrap();
    assert_eq!(a.fingerprint, ED25519_A_FP);
    assert_eq!(a.comment, "alice@laptop");
    assert!(!a.public_key.contains("alice@laptop"));

    // The same key, for anyone, is refused.
    for owner in [alice.id, bob.id] {
        let err = store.add_key(owner, &key(ED25519_A)).await.unwrap_err();
        assert!(matches!(err, StoreError::KeyTaken { .. }), "{err:?}");
        assert!(err.to_string().contains(ED25519_A_FP), "{err}");
    }
    let err = store
        .add_key(UserId(999_999), &key(ED25519_C))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserIdNotFound { .. }), "{err:?}");

    assert_eq!(
        store.user_by_fingerprint(ED25519_A_FP).await.unwrap(),
        Some(alice.clone())
    );
    // A bare fingerprint works too.
    let bare = ED25519_A_FP.trim_start_matches("SHA256:");
    assert_eq!(
        store.user_by_fingerprint(bare).await.unwrap(),
        Some(alice.clone())
    );

    // The last key of a user is never removed by the user.
    let err = store
        .remove_key_of(alice.id, ED25519_A_FP)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LastKey), "{err:?}");
    assert!(err.to_string().contains("only key"), "{err}");
    store.add_key(alice.id, &key(ECDSA_P256)).await.unwrap();
    // Not bob's key: nothing removed.
    assert!(!store.remove_key_of(bob.id, ED25519_A_FP).await.unwrap());
    assert!(store.remove_key_of(alice.id, ED25519_A_FP).await.unwrap());
    assert_eq!(store.keys_of(alice.id).await.unwrap().len(), 1);
    assert_eq!(store.user_by_fingerprint(ED25519_A_FP).await.unwrap(), None);

    store.add_key(bob.id, &key(ED25519_B)).await.unwrap();
    let all = store.list_keys(None).await.unwrap();
    let owners: Vec<_> = all.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(owners, ["alice", "bob"]);
    let bobs = store.list_keys(Some("bob")).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].1.comment, "bob@desk");
    let err = store.list_keys(Some("nobody")).await.unwrap_err();
    assert_eq!(err.to_string(), "no user named nobody");

    // An admin may remove anyone's last key.
    let fp = bobs[0].1.fingerprint.clone();
    assert!(store.remove_key(&fp).await.unwrap());
    assert!(!store.remove_key(&fp).await.unwrap());
    assert!(store.keys_of(bob.id).await.unwrap().is_empty());

    // All or nothing: a taken key stops the user's creation.
    let taken = key(ECDSA_P256);
    let err = store
        .create_user_with_keys("carol", false, &[key(ED25519_C), taken])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::KeyTaken { .. }), "{err:?}");
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    assert_eq!(
        store
            .user_by_fingerprint(&key(ED25519_C).fingerprint)
            .await
            .unwrap(),
        None
    );
    let (carol, keys) = store
        .create_user_with_keys("carol", false, &[key(ED25519_C)])
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].user_id, carol.id);
}

fn new_session(owner: UserId, name: &str) -> NewSession {
    NewSession {
        owner_id: owner,
        name: name.to_string(),
        command: vec!["bash".into(), "-lc".into(), "echo 'hi there'".into()],
        cwd: "/home/alice".into(),
        runtime: "local".into(),
    }
}

/// The whole life of session records, in order: each step starts from
/// the records the one before left.
async fn exercise_sessions(store: &Store) {
    let alice = store.create_user("alice", false).await.unwrap();
    let bob = store.create_user("bob", false).await.unwrap();
    let s = a_new_session_is_recorded(store, alice.id).await;
    let other = session_names_are_checked(store, &alice, &bob, &s).await;
    exits_restarts_and_activity_are_recorded(store, alice.id, s.id).await;
    a_server_restart_marks_running_sessions_exited(store).await;
    deleted_sessions_are_gone_and_ids_not_reused(store, alice.id, s.id, other.id).await;
}

async fn a_new_session_is_recorded(store: &Store, alice: UserId) -> SessionRecord {
    let s = store
        .create_session(new_session(alice, "work"))
        .await
        .unwrap();
    assert_eq!(s.owner, "alice");
    assert_eq!(s.owner_id, alice);
    assert_eq!(s.name, "work");
    assert_eq!(s.command, ["bash", "-lc", "echo 'hi there'"]);
    assert_eq!(s.cwd, "/home/alice");
    assert_eq!(s.runtime, "local");
    assert_eq!(s.state, SessionState::Running);
    assert_eq!(s.exit_status, None);
    assert_eq!(s.created_at, s.last_active_at);
    s
}

/// A name is taken per owner, must be valid, and needs an existing
/// owner; returns bob's session of the same name as alice's `s`.
async fn session_names_are_checked(
    store: &Store,
    alice: &User,
    bob: &User,
    s: &SessionRecord,
) -> SessionRecord {
    let err = store
        .create_session(new_session(alice.id, "work"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NameTaken { .. }), "{err:?}");
    assert_eq!(err.to_string(), "a session named work already exists");
    let other = store
        .create_session(new_session(bob.id, "work"))
        .await
        .unwrap();
    assert_ne!(other.id, s.id);
    assert_eq!(other.owner, "bob");
    for bad in ["", "Work", "-x", ".x", "a b", &"x".repeat(64)] {
        let err = store
            .create_session(new_session(alice.id, bad))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidSessionName { .. }),
            "{bad}: {err:?}"
        );
    }
    let err = store
        .create_session(new_session(UserId(999_999), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserIdNotFound { .. }), "{err:?}");
    other
}

async fn exits_restarts_and_activity_are_recorded(store: &Store, alice: UserId, s: SessionId) {
    assert!(store.set_exited(s, Some(3), 1_000).await.unwrap());
    let got = store.session_by_id(s).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.exit_status, got.last_active_at),
        (SessionState::Exited, Some(3), 1_000)
    );
    assert!(store.set_exited(s, None, 1_001).await.unwrap());
    let got = store.session_by_id(s).await.unwrap().unwrap();
    assert_eq!((got.state, got.exit_status), (SessionState::Exited, None));
    assert!(store.set_exited(s, Some(-1), 1_002).await.unwrap());
    let got = store.session_by_id(s).await.unwrap().unwrap();
    assert_eq!(got.exit_status, Some(-1));
    assert!(store.set_running(s, 2_000).await.unwrap());
    let got = store.session_by_id(s).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.exit_status, got.last_active_at),
        (SessionState::Running, None, 2_000)
    );
    assert!(store.touch(s, 2_500).await.unwrap());
    let got = store.session_by_name(alice, "work").await.unwrap().unwrap();
    assert_eq!(got.last_active_at, 2_500);
    assert!(!store.touch(SessionId(999_999), 1).await.unwrap());
}

/// Server restart: both running sessions lost their programs.
async fn a_server_restart_marks_running_sessions_exited(store: &Store) {
    assert_eq!(store.mark_running_as_exited(3_000).await.unwrap(), 2);
    assert_eq!(store.mark_running_as_exited(3_001).await.unwrap(), 0);
    let all = store.all_sessions().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].owner.as_str(), all[1].owner.as_str()),
        ("alice", "bob")
    );
    assert!(
        all.iter()
            .all(|s| s.state == SessionState::Exited && s.exit_status.is_none())
    );
}

async fn deleted_sessions_are_gone_and_ids_not_reused(
    store: &Store,
    alice: UserId,
    s: SessionId,
    other: SessionId,
) {
    assert!(store.delete_session(s).await.unwrap());
    assert!(!store.delete_session(s).await.unwrap());
    assert_eq!(store.session_by_id(s).await.unwrap(), None);
    // Removing a user removes their sessions.
    assert!(store.remove_user("bob").await.unwrap());
    assert!(store.all_sessions().await.unwrap().is_empty());
    // Ids are not reused.
    let again = store
        .create_session(new_session(alice, "work"))
        .await
        .unwrap();
    assert!(again.id.0 > other.0);
}

#[tokio::test]
async fn sqlite_users() {
    let (_dir, store, _) = sqlite_store().await;
    exercise_users(&store).await;
}

#[tokio::test]
async fn sqlite_keys() {
    let (_dir, store, _) = sqlite_store().await;
    exercise_keys(&store).await;
}

#[tokio::test]
async fn sqlite_sessions() {
    let (_dir, store, _) = sqlite_store().await;
    exercise_sessions(&store).await;
}

#[tokio::test]
async fn sqlite_is_wal_with_foreign_keys_and_migrates_twice() {
    let (dir, store, url) = sqlite_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(dir.path().join("data/foyer.db").is_file());
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sqlx::Row::try_get::<String, _>(&row, 0).unwrap(), "wal");
    let row = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sqlx::Row::try_get::<i64, _>(&row, 0).unwrap(), 1);
    // A second process (the admin CLI) opens and migrates the same file.
    let second = Store::open(&url).await.unwrap();
    second.migrate().await.unwrap();
    second.create_user("alice", false).await.unwrap();
    assert_eq!(store.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn read_only_database_gives_a_readable_error() {
    let (_dir, store, url) = sqlite_store().await;
    store.create_user("alice", false).await.unwrap();
    // Tests run as root, which ignores file permissions: open read-only instead.
    let ro = Store::open(&format!("{url}?mode=ro")).await.unwrap();
    assert_eq!(ro.user_count().await.unwrap(), 1);
    let err = ro.create_user("bob", false).await.unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("could not create the user: the database is read-only"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_urls_are_refused_readably() {
    let err = Store::open("mysql://x/y").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unsupported database URL mysql://x/y"),
        "{err}"
    );
    // A keyword/value connection string is not supported, and its
    // password is not shown either.
    let err = Store::open("host=db user=me password=s3cret")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL host=db user=me password=***: use sqlite://PATH or postgres://…"
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/missing.db?mode=rw", dir.path().display());
    let err = Store::open(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot open the database sqlite://"),
        "{err}"
    );
}

/// Reported as ignored, not passed, until CI starts a PostgreSQL server
/// (the operations issue): run with `FOYER_TEST_POSTGRES_URL=postgres://…
/// cargo test -- --ignored`.
#[tokio::test]
#[ignore = "needs a PostgreSQL server named by FOYER_TEST_POSTGRES_URL"]
async fn postgres_when_configured() {
    let Some(store) = postgres_store().await else {
        panic!("FOYER_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server");
    };
    assert_eq!(store.backend(), Backend::Postgres);
    exercise_users(&store).await;
    let store = postgres_store().await.unwrap();
    exercise_keys(&store).await;
    let store = postgres_store().await.unwrap();
    exercise_sessions(&store).await;
    let store = postgres_store().await.unwrap();
    exercise_leases(&store).await;
    let store = postgres_store().await.unwrap();
    exercise_audit(&store).await;
}

#[tokio::test]
async fn audit_sqlite() {
    let (_dir, store, _) = sqlite_store().await;
    exercise_audit(&store).await;
}

/// A batch lands whole and in its order, read back newest first; a
/// session's rows are read apart from the others.
async fn exercise_audit(store: &Store) {
    let row = |action, session, detail| NewAuditRow {
        at: 1_000,
        actor: Some("alice"),
        action,
        session,
        detail,
    };
    let before = store.audit_rows(None, 10_000).await.unwrap().len();
    store
        .append_audit(&[
            row("new", Some("alice/batch"), "one"),
            row("sign-in", None, "two"),
            row("kill", Some("alice/batch"), "three"),
        ])
        .await
        .unwrap();
    store.append_audit(&[]).await.unwrap();
    let all = store.audit_rows(None, 10_000).await.unwrap();
    assert_eq!(all.len(), before + 3);
    let details: Vec<&str> = all[..3].iter().map(|r| r.detail.as_str()).collect();
    assert_eq!(details, ["three", "two", "one"]);
    let batch = store.audit_rows(Some("alice/batch"), 10).await.unwrap();
    let actions: Vec<&str> = batch.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["kill", "new"]);
    assert!(batch[0].id > batch[1].id);
    assert_eq!(batch[0].actor.as_deref(), Some("alice"));
    assert_eq!(
        store
            .audit_rows(Some("alice/batch"), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn leases_sqlite() {
    let (_dir, store, _) = sqlite_store().await;
    exercise_leases(&store).await;
}

/// A lease is one gateway's until it expires, its epoch grows at each
/// takeover, and a write under an old epoch is refused.
async fn exercise_leases(store: &Store) {
    let take =
        |gateway: &'static str, at: i64| store.take_lease("h1", gateway, 1_000_000 + at, 6_000);
    assert_eq!(take("g1", 0).await.unwrap(), Some(1));
    assert_eq!(take("g1", 2_000).await.unwrap(), Some(1));
    assert_eq!(
        take("g2", 7_000).await.unwrap(),
        None,
        "renewed at +2 s: held until +8 s"
    );
    assert_eq!(take("g2", 8_001).await.unwrap(), Some(2));
    assert_eq!(take("g1", 9_000).await.unwrap(), None);
    exercise_fences(store).await;
    store.drop_lease("h1").await.unwrap();
    assert_eq!(take("g1", 9_000).await.unwrap(), Some(1));
}

/// Writes under the lease "h1" (epoch 2, held by g2): refused under the
/// old epoch, made under the current one.
async fn exercise_fences(store: &Store) {
    use super::leases::Fence;
    let owner = store.create_user("lessee", false).await.unwrap();
    let new = NewSession {
        owner_id: owner.id,
        name: "leased".into(),
        command: vec!["bash".into()],
        cwd: "/".into(),
        runtime: "swarm".into(),
    };
    let id = store.create_session(new).await.unwrap().id;
    let fence = |gateway: &str, epoch| Fence {
        service: "h1".into(),
        gateway: gateway.into(),
        epoch,
    };
    let (old, current) = (fence("g1", 1), fence("g2", 2));
    assert!(
        !store
            .set_exited_fenced(id, Some(3), 50, &old)
            .await
            .unwrap(),
        "the old epoch is fenced off"
    );
    assert!(!store.touch_fenced(id, 60, &old).await.unwrap());
    let record = store.session_by_id(id).await.unwrap().unwrap();
    assert_eq!(record.state, SessionState::Running);
    assert!(store.touch_fenced(id, 70, &current).await.unwrap());
    assert!(
        store
            .set_exited_fenced(id, Some(3), 80, &current)
            .await
            .unwrap()
    );
    let record = store.session_by_id(id).await.unwrap().unwrap();
    let seen = (record.state, record.exit_status, record.last_active_at);
    assert_eq!(seen, (SessionState::Exited, Some(3), 80));
    let screen = super::leases::StoredScreen {
        rows: 24,
        cols: 80,
        snapshot: b"\x1b[Hlast words".to_vec(),
    };
    assert!(!store.save_exited_screen(id, &screen, &old).await.unwrap());
    assert_eq!(store.exited_screen(id).await.unwrap(), None);
    assert!(
        store
            .save_exited_screen(id, &screen, &current)
            .await
            .unwrap()
    );
    assert_eq!(store.exited_screen(id).await.unwrap(), Some(screen));
    store.delete_session(id).await.unwrap();
    assert_eq!(
        store.exited_screen(id).await.unwrap(),
        None,
        "gone with its session"
    );
}

#[tokio::test]
async fn an_unreachable_postgres_is_reported_at_once_without_its_password() {
    // Port 1 on loopback: nothing listens, the connection is refused.
    let started = std::time::Instant::now();
    let err = Store::open("postgres://foyer:s3cret@127.0.0.1:1/foyer")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let chain = format!("{:#}", anyhow::Error::new(err));
    assert!(!chain.contains("s3cret"), "{chain}");
    assert!(chain.contains("foyer:***@127.0.0.1:1"), "{chain}");
    assert!(chain.to_lowercase().contains("refused"), "{chain}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
