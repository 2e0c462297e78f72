//! Who may do what with a session: the owner writes, admins see and watch
//! everything, and grants (with sharing) give others read or write.
//!
//! Must not look anything up: callers pass the user and the session.

use super::SessionEntry;
use crate::store::{Grant, User};

/// What a user may do with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Owner,
    /// Granted write access.
    Write,
    /// Granted read access, or an admin's view.
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

/// `user`'s access to a session, if they may see it at all: the owner's,
/// or what a grant gives. Admins see and watch everything, but type only
/// where granted.
pub fn access_of(user: &User, session: &SessionEntry) -> Option<Access> {
    if session.record.owner_id == user.id {
        return Some(Access::Owner);
    }
    let granted = session
        .grants
        .iter()
        .find(|(holder, _)| *holder == user.id)
        .map(|(_, grant)| match grant {
            Grant::Write => Access::Write,
            Grant::Read => Access::Read,
        });
    granted.or(user.is_admin.then_some(Access::Read))
}

/// Whether `user` may kill or restart a session they can see.
pub fn may_manage(user: &User, access: Access) -> bool {
    access == Access::Owner || user.is_admin
}
