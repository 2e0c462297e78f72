//! What foyer does with the options of an `authorized_keys` line (sshd(8),
//! "AUTHORIZED_KEYS FILE FORMAT"): a key is trusted only when foyer gives
//! its holder no more than the line allows.
//!
//! - Kept, because foyer already refuses what they forbid:
//!   `no-agent-forwarding`, `no-port-forwarding`, `no-X11-forwarding`,
//!   `no-user-rc`, `permitopen=`, `permitlisten=`, `tunnel=` (foyer
//!   forwards nothing and runs no rc file), and `restrict` together with
//!   `pty` (which is exactly that).
//! - Kept, because they only grant what foyer does not offer or gives
//!   anyway: `agent-forwarding`, `port-forwarding`, `X11-forwarding`,
//!   `user-rc`, `pty`, `environment=` (foyer sets no per-key environment,
//!   as sshd does not by default), `no-touch-required`.
//! - Refused, because foyer cannot enforce them: `from=`, `command=`,
//!   `no-pty`, `restrict` without `pty` (it means no PTY), `expiry-time=`,
//!   `verify-required`, `principals=` and `cert-authority` (certificate
//!   authorities are `auth.trusted_user_ca_keys`), and any option sshd
//!   does not know.
//!
//! Owns: that list and the reasons given. Must not: parse key lines (that
//! is `keys`) or touch the database.

/// Options whose restriction foyer always applies, or whose grant it does
/// not need: keeping the key without them loses nothing.
const KEPT: &[&str] = &[
    "no-agent-forwarding",
    "no-port-forwarding",
    "no-x11-forwarding",
    "no-user-rc",
    "permitopen",
    "permitlisten",
    "tunnel",
    "agent-forwarding",
    "port-forwarding",
    "x11-forwarding",
    "user-rc",
    "pty",
    "environment",
    "no-touch-required",
];

/// Options foyer cannot enforce, with what would be lost.
const REFUSED: &[(&str, &str)] = &[
    ("from", "it limits the addresses the key may sign in from"),
    ("command", "it forces a command"),
    (
        "no-pty",
        "it forbids a terminal, and foyer always gives one",
    ),
    (
        "restrict",
        "without `pty` it forbids a terminal, and foyer always gives one",
    ),
    ("expiry-time", "it makes the key expire"),
    ("verify-required", "it requires the security key's PIN"),
    (
        "principals",
        "it names certificate principals; give certificate authorities in auth.trusted_user_ca_keys",
    ),
    (
        "cert-authority",
        "a certificate authority is not a user's key; give it in auth.trusted_user_ca_keys",
    ),
];

/// An option foyer refuses: the option as written (cut to 60 characters)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOption {
    pub option: String,
    pub reason: &'static str,
}

/// The first option of `options` (as written on the line) that foyer
/// cannot honour, if any.
pub fn refused_option(options: &[String]) -> Option<RefusedOption> {
    let has_pty = options.iter().any(|option| name_of(option) == "pty");
    options.iter().find_map(|option| {
        let name = name_of(option);
        if name == "restrict" && has_pty {
            return None;
        }
        let reason = match REFUSED.iter().find(|(refused, _)| *refused == name) {
            Some((_, reason)) => *reason,
            None if KEPT.contains(&name.as_str()) => return None,
            None => "sshd does not know it either",
        };
        Some(RefusedOption {
            option: shown(option),
            reason,
        })
    })
}

/// An option's name, in lower case (sshd compares names without case).
fn name_of(option: &str) -> String {
    let name = option.split_once('=').map_or(option, |(name, _)| name);
    name.trim().to_ascii_lowercase()
}

/// The option for a message: a long `command="…"` is cut.
fn shown(option: &str) -> String {
    const MOST: usize = 60;
    if option.chars().count() <= MOST {
        return option.to_string();
    }
    let cut: String = option.chars().take(MOST).collect();
    format!("{cut}…")
}

/// Splits an options field at its commas, except those inside quotes.
pub fn split_options(field: &str) -> Vec<String> {
    let mut options = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in field.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                options.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    options.push(current);
    options.retain(|option| !option.is_empty());
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(field: &str) -> Option<(String, &'static str)> {
        refused_option(&split_options(field)).map(|r| (r.option, r.reason))
    }

    #[test]
    fn options_foyer_already_enforces_or_does_not_need_are_kept() {
        for field in [
            "no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-user-rc",
            "restrict,pty",
            "Restrict,PTY,no-touch-required",
            r#"permitopen="localhost:8080",permitlisten="0.0.0.0:9000",tunnel="0""#,
            r#"environment="A=b,c""#,
            "agent-forwarding,port-forwarding,x11-forwarding,user-rc",
        ] {
            assert_eq!(refused(field), None, "{field}");
        }
    }

    #[test]
    fn options_foyer_cannot_enforce_are_refused_by_name() {
        let (option, reason) =
            refused(r#"no-agent-forwarding,from="10.0.0.0/8,192.168.1.1""#).unwrap();
        assert_eq!(option, r#"from="10.0.0.0/8,192.168.1.1""#);
        assert!(reason.contains("addresses"), "{reason}");
        assert_eq!(refused("restrict").unwrap().0, "restrict");
        assert_eq!(refused("NO-PTY").unwrap().0, "NO-PTY");
        assert_eq!(
            refused(r#"expiry-time="20301231""#).unwrap().0,
            r#"expiry-time="20301231""#
        );
        assert_eq!(refused("cert-authority").unwrap().0, "cert-authority");
        assert_eq!(refused("verify-required").unwrap().0, "verify-required");
        let (option, reason) = refused("no-such-option").unwrap();
        assert_eq!(option, "no-such-option");
        assert!(reason.contains("sshd does not know"), "{reason}");
        let long = format!(r#"command="{}""#, "x".repeat(100));
        let (option, _) = refused(&long).unwrap();
        assert_eq!(option.chars().count(), 61);
        assert!(option.ends_with('…'));
    }

    #[test]
    fn commas_and_escaped_quotes_inside_quotes_do_not_split() {
        assert_eq!(
            split_options(r#"command="echo \"a,b\" done",no-pty"#),
            [r#"command="echo \"a,b\" done""#, "no-pty"]
        );
        assert!(split_options("").is_empty());
    }
}
