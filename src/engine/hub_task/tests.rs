//! The hub task's own size: what every session, even an idle one, keeps
//! for its task.

use super::*;

fn settings() -> HubSettings {
    HubSettings {
        scrollback_lines: 10_000,
        attach_scrollback: 1_000,
        size_policy: crate::wire::SizePolicy::Smallest,
        client_buffer: 1 << 20,
        kill_grace: Duration::from_secs(5),
        sync_timeout: Duration::from_millis(150),
        max_clients: 0,
        recording: None,
    }
}

#[test]
fn a_hubs_task_holds_its_state_by_pointer() {
    let identity = HubIdentity {
        id: SessionId(1),
        label: "alice/work".into(),
    };
    let start = HubStart {
        process: None,
        exit_status: Some(0),
        last_active: 0,
        seed: None,
    };
    let (hub, commands) = new_hub(identity, settings(), Changes::new(), start);
    let task = hub.run(commands);
    // Held by value, the hub made this future about 8 KiB (twice the
    // hub, and the select of `next_event`), per session.
    let size = std::mem::size_of_val(&task);
    assert!(size < 1024, "the hub's task is {size} bytes");
}
