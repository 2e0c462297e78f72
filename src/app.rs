//! What every front end shares: the configuration, the database, the
//! session registry, the server's own OS account and the runtime programs
//! run in. All of it is
//! read-only or a handle to an actor, so it is shared as `Arc<App>`.
//!
//! Must not hold mutable state of its own.

use crate::audit::Auditor;
use crate::config::Config;
use crate::runtime::Runtime;
use crate::session::Registry;
use crate::session::launch::HostAccount;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub registry: Registry,
    /// The OS user the server runs as.
    pub account: HostAccount,
    pub audit: Auditor,
    /// Where sessions' programs run (`runtime.kind`); it says which account
    /// a user's programs run as.
    pub runtime: Runtime,
}
