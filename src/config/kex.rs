//! The SSH key exchange methods a configuration may name in `ssh.kex`.
//!
//! Owns the names and their parsing to and from text; it must not know
//! how russh is set up with them (that is the SSH server's).

use serde::{Deserialize, Serialize};

/// A key exchange method foyer can offer (russh implements these; it has
/// no sntrup761x25519-sha512).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KexAlgorithm {
    /// Post-quantum hybrid (OpenSSH 9.9 and later).
    Mlkem768x25519Sha256,
    Curve25519Sha256,
    /// The same as `curve25519-sha256`, under its pre-RFC 8731 name.
    Curve25519Sha256Libssh,
}

impl KexAlgorithm {
    /// Every method foyer can offer.
    pub const ALL: [KexAlgorithm; 3] = [
        KexAlgorithm::Mlkem768x25519Sha256,
        KexAlgorithm::Curve25519Sha256,
        KexAlgorithm::Curve25519Sha256Libssh,
    ];
    /// Today's offer: post-quantum first, curve25519 for older clients.
    pub const DEFAULT: [KexAlgorithm; 3] = KexAlgorithm::ALL;

    /// The method's SSH name.
    pub fn name(self) -> &'static str {
        match self {
            KexAlgorithm::Mlkem768x25519Sha256 => "mlkem768x25519-sha256",
            KexAlgorithm::Curve25519Sha256 => "curve25519-sha256",
            KexAlgorithm::Curve25519Sha256Libssh => "curve25519-sha256@libssh.org",
        }
    }

    /// The known names, for messages.
    pub(super) fn known() -> String {
        KexAlgorithm::ALL.map(KexAlgorithm::name).join(", ")
    }
}

impl TryFrom<String> for KexAlgorithm {
    type Error = String;
    fn try_from(name: String) -> Result<KexAlgorithm, String> {
        KexAlgorithm::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown key exchange method `{name}` (known: {})",
                    KexAlgorithm::known()
                )
            })
    }
}

impl From<KexAlgorithm> for String {
    fn from(algorithm: KexAlgorithm) -> String {
        algorithm.name().to_string()
    }
}
