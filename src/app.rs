//! What every front end shares: the configuration, the database, the
//! session registry and the host account programs run as. All of it is
//! read-only or a handle to an actor, so it is shared as `Arc<App>`.
//!
//! Must not hold mutable state of its own.

use crate::audit::Auditor;
use crate::config::Config;
use crate::session::Registry;
use crate::session::launch::HostAccount;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub registry: Registry,
    pub account: HostAccount,
    pub audit: Auditor,
}
