//! Parsing SSH public-key lines into what the store keeps about a key.
//!
//! Owns: `ParsedKey`, the accepted key types (ed25519, ECDSA, RSA of 2048
//! bits or more, and their FIDO `sk-` forms), readable reasons for refusing a
//! line, authorized_keys lines with options, and fingerprint normalisation.
//! Must not: touch the database or the file system.

use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::StoreError;

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

/// Parse a line as found in an `authorized_keys` or `.pub` file: either a
/// plain key line, or one with options before the key type
/// (`from="10.0.0.0/8",no-pty ssh-ed25519 AAAA… me`). The options are
/// dropped. `cert-authority` lines name a CA, not a user's key, and are
/// refused.
pub fn parse_key_line(line: &str) -> Result<ParsedKey, StoreError> {
    let line = line.trim();
    let first = line.split_whitespace().next().unwrap_or_default();
    if KEY_TYPES.contains(&first) || first.contains("-cert-v01@openssh.com") {
        return parse_public_key(line);
    }
    // Options come first; the key starts at the first word naming a key type.
    // Options may hold quoted spaces, so look at every later word.
    let mut offset = 0;
    for word in line.split_whitespace() {
        let at = offset + line[offset..].find(word).unwrap_or(0);
        offset = at + word.len();
        if at > 0 && KEY_TYPES.contains(&word) {
            if line[..at].contains("cert-authority") {
                return Err(invalid(
                    "a cert-authority line names a certificate authority, not a user's key",
                ));
            }
            return parse_public_key(&line[at..]);
        }
    }
    parse_public_key(line)
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

    #[test]
    fn authorized_keys_options_are_skipped() {
        let line = format!("from=\"10.0.0.1\",command=\"echo hi there\" {ED25519_B}");
        let key = parse_key_line(&line).unwrap();
        assert_eq!(key.comment, "bob@desk");
        let ca = format!("cert-authority {ED25519_B}");
        let err = parse_key_line(&ca).unwrap_err().to_string();
        assert!(err.contains("certificate authority"), "{err}");
        assert!(parse_key_line("no-pty just words").is_err());
    }

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(normalize_fingerprint("abc"), "SHA256:abc");
        assert_eq!(normalize_fingerprint(" SHA256:abc "), "SHA256:abc");
    }
}
