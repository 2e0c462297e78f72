//! Session names and how they are addressed: `NAME` for your own,
//! `OWNER/NAME` for anyone's.
//!
//! Must not look anything up; it only parses and checks text.

/// Why a name was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "invalid session name `{0}`: use 1-63 of a-z 0-9 . _ - starting with a letter or digit"
    )]
    Invalid(String),
    #[error("invalid session reference `{0}`: write NAME or OWNER/NAME")]
    BadReference(String),
}

/// Longest session name.
pub const MAX_NAME_LEN: usize = 63;

/// Checks a session name: `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn validate(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if first_ok && rest_ok && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(NameError::Invalid(printable(name)))
    }
}

/// A session as written on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// `None` means the caller's own.
    pub owner: Option<String>,
    pub name: String,
}

impl SessionRef {
    pub fn parse(text: &str) -> Result<SessionRef, NameError> {
        let (owner, name) = match text.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.contains('/') => (Some(owner), name),
            Some(_) => return Err(NameError::BadReference(printable(text))),
            None => (None, text),
        };
        validate(name)?;
        Ok(SessionRef {
            owner: owner.map(str::to_string),
            name: name.to_string(),
        })
    }
}

/// Shortens and de-fangs user text before it goes into a message.
pub fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["a", "0", "my-session", "a.b_c", &"x".repeat(63)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", ".a", "A", "a b", "a/b", "ä", &"x".repeat(64)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_parse() {
        assert_eq!(SessionRef::parse("work").unwrap().owner, None);
        let r = SessionRef::parse("bob/work").unwrap();
        assert_eq!((r.owner.as_deref(), r.name.as_str()), (Some("bob"), "work"));
        assert!(SessionRef::parse("/work").is_err());
        assert!(SessionRef::parse("a/b/c").is_err());
    }

    #[test]
    fn printable_hides_controls() {
        assert_eq!(printable("a\x1b[2Jb"), "a?[2Jb");
    }
}
