//! What every front end shares: the configuration, the database, the
//! session registry, the server's own OS account, the runtime programs
//! run in, the audit log and the signal that guest links changed. All of
//! it is read-only or a handle to an actor or a signal, so it is shared
//! as `Arc<App>`.
//!
//! Must not hold mutable state of its own.

use crate::audit::Auditor;
use crate::config::Config;
use crate::engine::Changes;
use crate::gateway::Registry;
use crate::gateway::attention::AttentionEvents;
use crate::gateway::hosting::HostStarter;
use crate::gateway::live::Live;
use crate::runtime::Runtime;
use crate::runtime::account::HostAccount;
use crate::store::Store;

pub struct App {
    /// In a running server `config.web.public_url` is always set (derived
    /// from the web listener's address when the file left it empty).
    pub config: Config,
    pub store: Store,
    pub registry: Registry,
    /// The OS user the server runs as.
    pub account: HostAccount,
    pub audit: Auditor,
    /// Where sessions' programs run (`runtime.kind`); it says which account
    /// a user's programs run as.
    pub runtime: Runtime,
    /// Starts session hosts (for `restart`; the registry has its own).
    pub hosts: HostStarter,
    /// Bumped when a token is revoked (a guest link, an API token, or a
    /// browser's sign-in on sign-out): open WebSockets then check the token
    /// that admitted them and close if it is gone.
    pub revocations: Changes,
    /// Sessions starting to want attention, as their links report them.
    pub attention: AttentionEvents,
    /// The settings a reload (`SIGHUP`) changes: read them here, not in
    /// `config`, which keeps the values the server started with.
    pub live: Live,
}
