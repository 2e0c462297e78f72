//! Who may do what with a session: the owner writes, admins see and watch
//! everything, and grants (with sharing) give others read or write.
//!
//! Must not look anything up: callers pass the user and the session.

use crate::store::{SessionRecord, User};

/// What a user may do with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Owner,
    /// Granted write access (grants arrive with sharing).
    #[allow(dead_code)]
    Write,
    Read,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Owner => "owner",
            Access::Write => "write",
            Access::Read => "read",
        }
    }

    pub fn can_write(self) -> bool {
        matches!(self, Access::Owner | Access::Write)
    }
}

/// `user`'s access to a session, if they may see it at all. Admins see
/// and watch everything, but type only where granted.
pub fn access_of(user: &User, session: &SessionRecord) -> Option<Access> {
    if session.owner_id == user.id {
        Some(Access::Owner)
    } else if user.is_admin {
        Some(Access::Read)
    } else {
        None
    }
}

/// Whether `user` may kill or restart a session they can see.
pub fn may_manage(user: &User, access: Access) -> bool {
    access == Access::Owner || user.is_admin
}
