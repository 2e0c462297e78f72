//! Parsing SSH public-key lines into what the store keeps about a key.
//!
//! Owns: `ParsedKey`, the accepted key types (ed25519, ECDSA, RSA of 2048
//! bits or more, and their FIDO `sk-` forms), readable reasons for refusing a
//! line, authorized_keys lines with options (through ssh-key's parser; what
//! is done with each option is `key_options`), and fingerprint
//! normalisation.
//! Must not: touch the database or the file system.

use russh::keys::ssh_key::authorized_keys::Entry;
use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::StoreError;
use super::key_options;

/// A public key accepted for storage.
#[derive(Debug, Clone)]
pub struct ParsedKey {
    /// The key itself, as russh uses it to authenticate.
    pub public_key: PublicKey,
    /// The OpenSSH line without its comment: `ssh-ed25519 AAAA…`.
    pub openssh: String,
    /// The comment that followed the key on its line (may be empty).
    pub comment: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// Key type words that can start the key part of a line. DSA and
/// certificates are listed so that they get their own refusal message.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

const EXPECTED: &str = "expected a line such as `ssh-ed25519 AAAA… comment` \
                        (key types: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)";

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidKey {
        reason: reason.into(),
    }
}

/// Parse one OpenSSH public-key line: `TYPE BASE64 [COMMENT]`.
///
/// Accepts ed25519, ECDSA (P-256/384/521), RSA (2048 bits or more) and the
/// FIDO `sk-` variants; refuses DSA, certificates, private keys and garbage
/// with an [`StoreError::InvalidKey`] whose reason says why.
pub fn parse_public_key(line: &str) -> Result<ParsedKey, StoreError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(invalid(format!("the key is empty; {EXPECTED}")));
    }
    if line.starts_with("-----BEGIN") {
        return Err(invalid(
            "this is a private key (or a PEM file); give the public key, \
             the contents of the .pub file",
        ));
    }
    let kind = line.split_whitespace().next().unwrap_or_default();
    if kind == "ssh-dss" {
        return Err(invalid("DSA (ssh-dss) keys are not accepted; use ed25519"));
    }
    if kind.contains("-cert-v01@openssh.com") {
        return Err(invalid(
            "this is a certificate, not a key; give the public key it certifies",
        ));
    }
    if !KEY_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(invalid(format!("unknown key type `{shown}`; {EXPECTED}")));
    }
    let mut public_key = PublicKey::from_openssh(line).map_err(|e| {
        invalid(format!(
            "the {kind} key data is damaged or truncated ({e}); copy the whole line"
        ))
    })?;
    match public_key.algorithm() {
        Algorithm::Ed25519
        | Algorithm::Ecdsa { .. }
        | Algorithm::SkEd25519
        | Algorithm::SkEcdsaSha2NistP256 => {}
        Algorithm::Rsa { .. } => {
            let bits = public_key
                .key_data()
                .rsa()
                .map(|rsa| rsa.key_size())
                .unwrap_or(0);
            if bits < 2048 {
                return Err(invalid(format!(
                    "this RSA key has {bits} bits; at least 2048 are needed (better: ed25519)"
                )));
            }
        }
        Algorithm::Dsa => {
            return Err(invalid("DSA (ssh-dss) keys are not accepted; use ed25519"));
        }
        other => {
            return Err(invalid(format!(
                "{} keys are not accepted; {EXPECTED}",
                other.as_str()
            )));
        }
    }
    let comment = public_key.comment().as_str_lossy().trim().to_string();
    public_key.set_comment("");
    let openssh = public_key
        .to_openssh()
        .map_err(|e| invalid(format!("the key cannot be re-encoded ({e})")))?;
    let fingerprint = public_key.fingerprint(HashAlg::Sha256).to_string();
    Ok(ParsedKey {
        public_key,
        openssh,
        comment,
        fingerprint,
    })
}

/// A line of an `authorized_keys` file: its key and its options as
/// written (`from="10.0.0.0/8"`, `no-pty`, …).
#[derive(Debug, Clone)]
pub struct AuthorizedLine {
    pub key: ParsedKey,
    pub options: Vec<String>,
}

/// Parse a line as found in an `authorized_keys` or `.pub` file, a plain
/// key line or one with options before the key type
/// (`from="10.0.0.0/8",no-pty ssh-ed25519 AAAA… me`), with ssh-key's
/// authorized_keys parser. It refuses what ssh-key 0.7 cannot represent
/// but sshd accepts (a space inside a quoted option, options before a key
/// without a comment); those lines are split here, quotes respected.
pub fn parse_authorized_line(line: &str) -> Result<AuthorizedLine, StoreError> {
    let line = line.trim();
    let first = line.split_whitespace().next().unwrap_or_default();
    if KEY_TYPES.contains(&first) || first.contains("-cert-v01@openssh.com") {
        return Ok(AuthorizedLine {
            key: parse_public_key(line)?,
            options: Vec::new(),
        });
    }
    if let Ok(entry) = line.parse::<Entry>() {
        let options = entry.config_opts().iter().map(str::to_string).collect();
        let openssh = entry
            .public_key()
            .to_openssh()
            .map_err(|e| invalid(format!("the key cannot be re-encoded ({e})")))?;
        return Ok(AuthorizedLine {
            key: parse_public_key(&openssh)?,
            options,
        });
    }
    match split_options_field(line) {
        Some((field, key)) => Ok(AuthorizedLine {
            key: parse_public_key(key)?,
            options: key_options::split_options(field),
        }),
        None => parse_public_key(line).map(|key| AuthorizedLine {
            key,
            options: Vec::new(),
        }),
    }
}

/// [`parse_authorized_line`], refusing a line with an option foyer cannot
/// honour (see `key_options`): the key is never trusted without it.
pub fn parse_key_line(line: &str) -> Result<ParsedKey, StoreError> {
    let AuthorizedLine { key, options } = parse_authorized_line(line)?;
    match key_options::refused_option(&options) {
        None => Ok(key),
        Some(refused) => Err(StoreError::KeyOption {
            comment: if key.comment.is_empty() {
                String::new()
            } else {
                format!(" ({})", key.comment)
            },
            fingerprint: key.fingerprint,
            option: refused.option,
            reason: refused.reason,
        }),
    }
}

/// The options field and the rest of a line whose first word is not a
/// key type: split at the first space outside quotes, when a key type
/// follows.
fn split_options_field(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                let rest = line[i..].trim_start();
                let kind = rest.split_whitespace().next().unwrap_or_default();
                let is_key = KEY_TYPES.contains(&kind) || kind.contains("-cert-v01@openssh.com");
                return is_key.then_some((&line[..i], rest));
            }
            _ => {}
        }
    }
    None
}

/// Accept a fingerprint as `SHA256:…` or as the bare base64 part.
pub fn normalize_fingerprint(fingerprint: &str) -> String {
    let fingerprint = fingerprint.trim();
    if fingerprint.starts_with("SHA256:") {
        fingerprint.to_string()
    } else if let Some(rest) = fingerprint
        .strip_prefix("sha256:")
        .or_else(|| fingerprint.strip_prefix("Sha256:"))
    {
        format!("SHA256:{rest}")
    } else {
        format!("SHA256:{fingerprint}")
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Public keys generated once with `ssh-keygen`, for tests.

    pub const ED25519_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMkDGQcIeTqdNF5m2RWx++27ZuvCJDLP5woEgFv05R6I alice@laptop";
    pub const ED25519_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP93/2pEnQZTtV/jpmdq8IHndiFdBSd9vwX0ksC4he5W bob@desk";
    /// No comment.
    pub const ED25519_C: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHKbMX/WQsRDBSy5ZJg9OIWbmoIJNu28ITUNGH7393jt";
    pub const ECDSA_P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLUL/wZlHhWUZcZVBudk52aTbnoCZRdniMzw9SmwxogZfAoWELTXX8wTzSeHsA4DL0RVtJ3ThNeSfU5Q/AO+hRA= ec@host";
    pub const RSA_2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDRWc2Mk5RvMF7Tjk0XfmoMdJ32Xd5S+aaZplXB1JFWj+TtgLHNJYsVilW2OdnbF8YEGoFg6seRAFRqhvrhapgx0DeXu8OYr1cXJnlIKkp5E7bTBVxAahnvtNbuO/b2m6vcUEOJhwUVp+bVqS0bLNFELmjMqdYksBauOabM3bVRxNe0fpT2MFK5LJryXhF70vNcw+ohr6nPjuVWylNX9w6CpV12jSJ6/+V9+z6OKkki4FoN1t+yRy4MIJurkGsYYhwJ6El3SW6nHhT9fzOPfqAx5WHe3xrUKhf+oOeVVDj9yghx/VTUDqRRC9wj3Qn1OG+TuyFcbpTRa6TuXQTYIuqB rsa@host";
    pub const RSA_1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcXWzndwNZQpFjuhE5mbfTqW8jjGYIXOFE70CutDDcR7l2ONsFWR/gLSyOnVvr8BbdvJYkTFMsr6GsZy392al7tPB68yA0k6OrNLP09Eps7UYuxl2uV6+OE2rYcepO6cObji9gkZhFHlFWj0VCGAvtHvDttLfg0nIGxIL9CR3Ciw== root@vm";
    /// `ssh-keygen -l` of ED25519_A.
    pub const ED25519_A_FP: &str = "SHA256:ku8f52qlzcm8gqD6nyRL9VAOQgX7aN52Yhk26BUARic";
    /// `ssh-keygen -l` of RSA_2048.
    pub const RSA_2048_FP: &str = "SHA256:gklSN++kr9DBr5xXAhK0SA4HnINyPIg6VaSocaHWXg0";
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;

    #[test]
    fn parses_ed25519_with_comment() {
        let key = parse_public_key(ED25519_A).unwrap();
        assert_eq!(key.comment, "alice@laptop");
        assert_eq!(key.fingerprint, ED25519_A_FP);
        assert!(key.openssh.starts_with("ssh-ed25519 AAAA"));
        assert!(!key.openssh.contains("alice"));
        let again = parse_public_key(&key.openssh).unwrap();
        assert_eq!(again.fingerprint, key.fingerprint);
        assert_eq!(again.comment, "");
    }

    #[test]
    fn parses_ecdsa_and_rsa() {
        let ec = parse_public_key(ECDSA_P256).unwrap();
        assert_eq!(ec.comment, "ec@host");
        let rsa = parse_public_key(RSA_2048).unwrap();
        assert_eq!(rsa.fingerprint, RSA_2048_FP);
        let no_comment = parse_public_key(ED25519_C).unwrap();
        assert_eq!(no_comment.comment, "");
        let err = parse_public_key(RSA_1024).unwrap_err().to_string();
        assert!(err.contains("1024 bits"), "{err}");
    }

    #[test]
    fn refuses_garbage_with_a_reason() {
        let err = parse_public_key("hello world").unwrap_err().to_string();
        assert!(err.contains("unknown key type `hello`"), "{err}");
        let err = parse_public_key("ssh-ed25519 AAAAnotbase64!!")
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged or truncated"), "{err}");
        let err = parse_public_key("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let err = parse_public_key("-----BEGIN OPENSSH PRIVATE KEY-----")
            .unwrap_err()
            .to_string();
        assert!(err.contains("private key"), "{err}");
    }

    #[test]
    fn refuses_dsa() {
        let dsa = "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPh6cvRMVXDMoOqhsuCYsuM7hP8EU0ETdLMRjdJr3PE0h1hu5I3aBnnZy1qNYGL1qZK+D8XD7CgnMQoTrUMWQUcoeKtaKKS7CyGbkk+EgQgeqpvKfjTHlkQLVdlaBwqwf6fBDAqAD6pfTw2tDzz5Q3omx0kI2nf6ZjhbmSXNqbp7 old@box";
        let err = parse_public_key(dsa).unwrap_err().to_string();
        assert!(err.contains("DSA"), "{err}");
    }

    /// The key and options of a line, or the error's text.
    fn options_of(line: &str) -> Result<(String, Vec<String>), String> {
        parse_authorized_line(line)
            .map(|l| (l.key.comment, l.options))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn authorized_keys_lines_give_their_key_and_options() {
        // Quoted commas (ssh-key's parser).
        let line = format!(r#"from="10.0.0.1,10.0.0.2",no-pty {ED25519_B}"#);
        assert_eq!(
            options_of(&line).unwrap(),
            (
                "bob@desk".into(),
                vec![r#"from="10.0.0.1,10.0.0.2""#.into(), "no-pty".into()]
            )
        );
        // A quoted space, which ssh-key 0.7 refuses and sshd accepts.
        let line = format!(r#"command="echo hi there",no-port-forwarding {ED25519_B}"#);
        assert_eq!(
            options_of(&line).unwrap().1,
            [r#"command="echo hi there""#, "no-port-forwarding"]
        );
        // Options before a key without a comment.
        let line = format!("restrict,pty {ED25519_C}");
        assert_eq!(
            options_of(&line).unwrap(),
            (String::new(), vec!["restrict".into(), "pty".into()])
        );
        // A comment with spaces, no options.
        let line = format!("{ED25519_C} my old laptop");
        assert_eq!(options_of(&line).unwrap(), ("my old laptop".into(), vec![]));
        // An options field before a certificate is still a certificate.
        let err = options_of("no-pty ssh-ed25519-cert-v01@openssh.com AAAA x").unwrap_err();
        assert!(err.contains("certificate"), "{err}");
        assert!(parse_key_line("no-pty just words").is_err());
    }

    #[test]
    fn a_key_is_not_trusted_without_options_foyer_cannot_enforce() {
        let line = format!(r#"from="10.0.0.0/8" {ED25519_A}"#);
        let err = parse_key_line(&line).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "the key {ED25519_A_FP} (alice@laptop) has the option `from=\"10.0.0.0/8\"`, \
                 which foyer cannot enforce (it limits the addresses the key may sign in from); \
                 remove the option from the line to trust the key without it"
            )
        );
        let ca = format!("cert-authority {ED25519_B}");
        let err = parse_key_line(&ca).unwrap_err().to_string();
        assert!(
            err.contains("`cert-authority`") && err.contains("trusted_user_ca_keys"),
            "{err}"
        );
        let kept = format!("no-agent-forwarding,no-X11-forwarding,restrict,pty {ED25519_A}");
        assert_eq!(parse_key_line(&kept).unwrap().fingerprint, ED25519_A_FP);
    }

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(normalize_fingerprint("abc"), "SHA256:abc");
        assert_eq!(normalize_fingerprint(" SHA256:abc "), "SHA256:abc");
    }
}
