//! End-to-end with a russh client: byte-level requests the OpenSSH client
//! never sends (non-UTF-8 command lines, forwarding and subsystem requests)
//! and a client that vanishes in the middle of a large output. The server
//! must refuse cleanly and keep serving everyone else.

mod common;
mod russh_support;

use std::time::Duration;

use common::{BASH, Server, eventually};
use russh::ChannelMsg;
use russh::client::Handle;
use russh_support::{AcceptAnyHost, connect};

/// Runs a raw command line; returns (exit status, stdout, stderr).
async fn exec(handle: &Handle<AcceptAnyHost>, command: &[u8]) -> (Option<u32>, Vec<u8>, Vec<u8>) {
    let mut channel = handle
        .channel_open_session()
        .await
        .expect("session channel");
    channel.exec(true, command.to_vec()).await.expect("exec");
    let (mut status, mut out, mut err) = (None, Vec::new(), Vec::new());
    while let Some(message) = tokio::time::timeout(common::PATIENCE, channel.wait())
        .await
        .expect("reply in time")
    {
        match message {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    (status, out, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_the_server_goes_on() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let handle = connect(&alice).await;

    let (status, _, err) = exec(&handle, b"\xff\xfe\x00garbage").await;
    assert_eq!(status, Some(2));
    assert!(String::from_utf8_lossy(&err).starts_with("unknown command: "));

    let long = vec![b'x'; 100_000];
    let (status, _, _) = exec(&handle, &long).await;
    assert_eq!(
        status,
        Some(2),
        "an over-long command line is a usage error"
    );

    let (status, _, err) = exec(&handle, b"capture \xff").await;
    assert_eq!(status, Some(1));
    assert!(String::from_utf8_lossy(&err).starts_with("no session named "));

    let forward = handle
        .channel_open_direct_tcpip("127.0.0.1", 22, "127.0.0.1", 5555)
        .await;
    assert!(forward.is_err(), "port forwarding is refused");

    let channel = handle.channel_open_session().await.unwrap();
    channel.request_subsystem(true, "sftp").await.unwrap();
    let mut channel = channel;
    let reply = tokio::time::timeout(common::PATIENCE, channel.wait())
        .await
        .unwrap();
    assert!(
        matches!(reply, Some(ChannelMsg::Failure)),
        "sftp refused: {reply:?}"
    );

    let (status, out, _) = exec(&handle, b"whoami").await;
    assert_eq!(status, Some(0));
    assert!(out.starts_with(b"alice\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_vanishing_mid_output_harms_nobody() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    bob.ok(&format!("new steady -d -- {BASH}"));
    alice.ok("new flood -d -- bash -c 'yes flood-line-with-some-length'");

    for _ in 0..5 {
        let handle = connect(&alice).await;
        let mut channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(true, "xterm", 80, 24, 0, 0, &[])
            .await
            .unwrap();
        channel.exec(true, b"attach flood".to_vec()).await.unwrap();
        let mut received = 0;
        while received < 200_000 {
            match tokio::time::timeout(common::PATIENCE, channel.wait())
                .await
                .unwrap()
            {
                Some(ChannelMsg::Data { data }) => received += data.len(),
                Some(_) => {}
                None => panic!("channel closed early"),
            }
        }
        // Vanish without detaching or closing the channel.
        drop(channel);
        drop(handle);
    }

    let bob = bob.clone();
    tokio::task::spawn_blocking(move || {
        bob.ok("send steady 'echo bob-still-served\\n'");
        eventually("bob's session answers", || {
            bob.ok("capture steady").contains("bob-still-served")
        });
        let flood = || -> serde_json::Value {
            let all: serde_json::Value = serde_json::from_str(&alice.ok("ls --json")).unwrap();
            all.as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == "flood")
                .unwrap()
                .clone()
        };
        eventually("vanished clients detached", || flood()["clients"] == 0);
        assert_eq!(flood()["state"], "running", "the session goes on");
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_floods_and_resize_storms_are_absorbed() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    // A program that never reads its input.
    alice.ok("new deaf -d -- sleep 600");
    bob.ok(&format!("new steady -d -- {BASH}"));

    let handle = connect(&alice).await;
    let channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    channel.exec(true, b"attach deaf".to_vec()).await.unwrap();
    let flood = vec![b'y'; 64 * 1024];
    for _ in 0..80 {
        channel.data_bytes(flood.clone()).await.unwrap();
    }
    for i in 0..1000u32 {
        channel
            .window_change(40 + i % 100, 10 + i % 40, 0, 0)
            .await
            .unwrap();
    }
    let pid = server.pid();
    let bob_check = bob.clone();
    tokio::task::spawn_blocking(move || {
        bob_check.ok("send steady 'echo still-$((2*21))\\n'");
        eventually("others stay responsive", || {
            bob_check.ok("capture steady").contains("still-42")
        });
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss: u64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap();
        assert!(rss < 200 * 1024, "server RSS {rss} KiB after the flood");
    })
    .await
    .unwrap();
    drop(channel);
    drop(handle);
}
