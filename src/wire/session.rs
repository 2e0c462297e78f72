//! A session as the gateway and its host speak of it: ids, sizes, roles,
//! the settings a hub runs with and the status it reports. Plain data
//! (serde), shared by both ends of the wire.
//!
//! Must not import anything of foyer or hold behaviour beyond small
//! constructors.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A session's database id (never reused, also on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(pub i64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifies one attached client within its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u64);

/// What an attached client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Types into the program and takes part in sizing it.
    Writer,
    /// Only watches.
    Observer,
}

/// Rows and columns of a terminal, both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

impl Size {
    /// Largest size accepted from a client; anything bigger is clamped.
    pub const MAX: u16 = 1000;

    pub fn new(rows: u32, cols: u32) -> Size {
        let clamp = |v: u32| v.clamp(1, Size::MAX as u32) as u16;
        Size {
            rows: clamp(rows),
            cols: clamp(cols),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizePolicy {
    Smallest,
    Largest,
    Latest,
}

/// Settings a hub needs from the configuration. Plain data: the gateway
/// sends them to the session host that runs the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubSettings {
    pub scrollback_lines: usize,
    pub attach_scrollback: usize,
    pub size_policy: SizePolicy,
    pub client_buffer: usize,
    pub kill_grace: Duration,
    /// Longest a synchronized-output frame is held back from clients.
    pub sync_timeout: Duration,
    /// Most clients attached at once (`sessions.max_clients`); 0: no limit.
    pub max_clients: usize,
    /// Where and how to record (`sessions.record`), or `None` to not
    /// record.
    pub recording: Option<Recording>,
}

/// A session's recording: its file, as the hub sees it, and what the
/// asciicast header says of the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub path: std::path::PathBuf,
    /// The `TERM` the program was started with.
    pub term: String,
}

/// A running session's state, as `ls` and the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubStatus {
    pub running: bool,
    /// Set once the program ended; `None` while running or when unknown
    /// (the program died with an earlier server).
    pub exit_status: Option<i32>,
    pub writers: usize,
    pub observers: usize,
    pub attention: bool,
    pub last_active: i64,
    pub size: Size,
    /// Who is attached, in the order they attached.
    pub participants: Vec<Participant>,
    /// The program's process id while it runs.
    #[serde(default)]
    pub program_pid: Option<u32>,
    /// Clients switched to screen sync since the hub started.
    #[serde(default)]
    pub screen_sync_switches: u64,
    /// Recordings stopped by a write error since the hub started.
    #[serde(default)]
    pub recording_failures: u64,
    /// Set by a gateway, never by a host: the host runs on a machine that
    /// cannot be reached just now (SPEC 13), and this is its last word.
    #[serde(default)]
    pub unreachable: bool,
    /// Whether the program is paused (`pause`); `None` from a host of a
    /// build before pausing, which cannot pause.
    #[serde(default)]
    pub paused: Option<bool>,
    /// What the session wants attention for, while it does.
    #[serde(default)]
    pub attention_message: Option<String>,
    /// When it started wanting attention (Unix seconds), while it does;
    /// `None` also from a host of a build before attention messages.
    #[serde(default)]
    pub attention_since: Option<i64>,
    /// Times the session started wanting attention since its hub started
    /// (a link tells each start once, even if it cleared in between).
    #[serde(default)]
    pub attention_raised: u64,
    /// Who or what cleared the attention last.
    #[serde(default)]
    pub attention_cleared: Option<AttentionCleared>,
    /// The host takes `Notify` and `Ack`; false from a host of a build
    /// before them.
    #[serde(default)]
    pub attention_commands: bool,
}

/// How a session's attention was cleared (SPEC section 11), for the
/// audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttentionCleared {
    /// A writer attached.
    Attached { user: String },
    /// `ack` (SSH or the API).
    Acknowledged { user: String },
    /// The program ended.
    Ended,
}

impl AttentionCleared {
    /// Who cleared it, if a person did.
    pub fn user(&self) -> Option<&str> {
        match self {
            AttentionCleared::Attached { user } | AttentionCleared::Acknowledged { user } => {
                Some(user)
            }
            AttentionCleared::Ended => None,
        }
    }

    /// How, in words, for the audit log.
    pub fn how(&self) -> &'static str {
        match self {
            AttentionCleared::Attached { .. } => "attached as a writer",
            AttentionCleared::Acknowledged { .. } => "ack",
            AttentionCleared::Ended => "the session ended",
        }
    }
}

impl HubStatus {
    /// The state `ls`, the picker and the API show: `running`, `paused` or
    /// `exited`.
    /// What a gateway shows of a session whose host it has not reached
    /// since it started (its machine is cut off): running, as last
    /// recorded, and unreachable; nothing else is known.
    pub fn unreachable_since(last_active: i64) -> HubStatus {
        HubStatus {
            running: true,
            exit_status: None,
            writers: 0,
            observers: 0,
            attention: false,
            last_active,
            size: Size { rows: 24, cols: 80 },
            participants: Vec::new(),
            program_pid: None,
            screen_sync_switches: 0,
            recording_failures: 0,
            unreachable: true,
            paused: None,
            attention_message: None,
            attention_since: None,
            attention_raised: 0,
            attention_cleared: None,
            attention_commands: false,
        }
    }

    pub fn state(&self) -> &'static str {
        if self.unreachable {
            return "unreachable";
        }
        match (self.running, self.paused) {
            (true, Some(true)) => "paused",
            (true, _) => "running",
            (false, _) => "exited",
        }
    }
}

/// One attached client, as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The user's name.
    pub name: String,
    pub role: Role,
    /// The attached client's id in its hub, so a client can find its own
    /// role (it changes in place with `share`); `None` from a host of a
    /// build before it was sent.
    #[serde(default)]
    pub client: Option<u64>,
}

/// The current screen of a session, for a preview.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScreenPreview {
    pub size: Size,
    /// The visible screen as escape sequences that draw it on a blank
    /// terminal of `size`.
    #[serde(with = "serde_bytes")]
    pub contents: Vec<u8>,
}

/// An exited session's last screen, as the gateway keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinalScreen {
    pub size: Size,
    /// Draws the screen, with every scrollback line above it, on a blank
    /// terminal of `size`.
    #[serde(with = "serde_bytes")]
    pub snapshot: Vec<u8>,
}
