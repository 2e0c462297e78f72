//! OpenSSH user certificates (SPEC §2): which CAs are trusted, and whether
//! one certificate may sign anyone in at all: its type, its CA, its
//! signature, its validity window against our clock, and its critical
//! options (only `source-address` is understood; any other is refused, as
//! PROTOCOL.certkeys asks).
//!
//! russh 0.65 has already checked the window and the signature before the
//! handler sees a certificate; both are checked again here so the rules
//! hold whatever russh does. Which principal becomes the user is the
//! handler's (it needs the store). Must not touch the store or the network.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use russh::keys::ssh_key::Fingerprint;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Certificate, HashAlg, PublicKey};

/// Longest principal or key id shown in a log line or audit row.
const SHOWN: usize = 64;

/// The CAs of `auth.trusted_user_ca_keys`, by SHA-256 fingerprint.
#[derive(Debug, Clone, Default)]
pub struct TrustedCas {
    fingerprints: Vec<Fingerprint>,
}

impl TrustedCas {
    /// Parses the configured lines; the config already refused bad ones,
    /// so a line that still fails is logged and skipped.
    pub fn from_lines(lines: &[String]) -> TrustedCas {
        let fingerprints = lines
            .iter()
            .filter_map(|line| match PublicKey::from_openssh(line.trim()) {
                Ok(key) => Some(key.fingerprint(HashAlg::Sha256)),
                Err(error) => {
                    tracing::warn!(%error, "auth.trusted_user_ca_keys: line skipped");
                    None
                }
            })
            .collect();
        TrustedCas { fingerprints }
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    fn trusts(&self, ca: &Fingerprint) -> bool {
        self.fingerprints.contains(ca)
    }
}

/// Why a certificate signs nobody in. Shown in the log and the audit log,
/// never to the client.
#[derive(Debug, thiserror::Error)]
pub enum CertRefusal {
    #[error("a host certificate, not a user certificate")]
    HostCertificate,
    #[error("certificate from an untrusted CA {0}")]
    UntrustedCa(Fingerprint),
    #[error("certificate signature does not verify")]
    BadSignature,
    #[error("certificate expired at {0}")]
    Expired(Stamp),
    #[error("certificate not valid before {0}")]
    NotYetValid(Stamp),
    #[error("certificate has no principals")]
    NoPrincipals,
    #[error("certificate has the unsupported critical option `{0}`")]
    UnsupportedOption(String),
    #[error("certificate source-address `{list}` does not include {peer}")]
    SourceAddress { list: String, peer: IpAddr },
    #[error("no principal of [{0}] names a user")]
    NoUser(String),
    #[error("the user database could not be read")]
    Store,
}

impl CertRefusal {
    /// The `reason` label of `foyer_auth_failures_total`.
    pub fn label(&self) -> &'static str {
        match self {
            CertRefusal::HostCertificate => "certificate_host",
            CertRefusal::UntrustedCa(_) => "certificate_untrusted_ca",
            CertRefusal::BadSignature => "certificate_bad_signature",
            CertRefusal::Expired(_) => "certificate_expired",
            CertRefusal::NotYetValid(_) => "certificate_not_yet_valid",
            CertRefusal::NoPrincipals => "certificate_no_principals",
            CertRefusal::UnsupportedOption(_) => "certificate_unsupported_option",
            CertRefusal::SourceAddress { .. } => "certificate_source_address",
            CertRefusal::NoUser(_) => "certificate_unknown_principal",
            CertRefusal::Store => "database_error",
        }
    }
}

/// A certificate time (Unix seconds), shown in RFC 3339.
#[derive(Debug, Clone, Copy)]
pub struct Stamp(pub u64);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // humantime fails (and `to_string` would panic) past year 9999.
        const YEAR_10000: u64 = 253_402_300_800;
        if self.0 >= YEAR_10000 {
            return write!(f, "{} (Unix time)", self.0);
        }
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(self.0);
        write!(f, "{}", humantime::format_rfc3339_seconds(time))
    }
}

/// Whether `cert`, presented from `peer` at `now` (Unix seconds), may
/// sign anyone in. Principals are only checked for being present.
pub fn check(
    cert: &Certificate,
    cas: &TrustedCas,
    now: u64,
    peer: IpAddr,
) -> Result<(), CertRefusal> {
    if cert.cert_type().is_host() {
        return Err(CertRefusal::HostCertificate);
    }
    let ca = ca_fingerprint(cert);
    if !cas.trusts(&ca) {
        return Err(CertRefusal::UntrustedCa(ca));
    }
    if cert.verify_signature().is_err() {
        return Err(CertRefusal::BadSignature);
    }
    // PROTOCOL.certkeys: valid_after <= now < valid_before.
    if now < cert.valid_after() {
        return Err(CertRefusal::NotYetValid(Stamp(cert.valid_after())));
    }
    if now >= cert.valid_before() {
        return Err(CertRefusal::Expired(Stamp(cert.valid_before())));
    }
    check_options(cert, peer)?;
    if cert.valid_principals().is_empty() {
        // "Valid for any principal" would let a certificate name anyone,
        // admins included; sshd refuses these too.
        return Err(CertRefusal::NoPrincipals);
    }
    Ok(())
}

fn check_options(cert: &Certificate, peer: IpAddr) -> Result<(), CertRefusal> {
    for (name, value) in cert.critical_options().iter() {
        match name.as_str() {
            "source-address" => {
                if !address_list_allows(value, peer) {
                    return Err(CertRefusal::SourceAddress {
                        list: shown(value),
                        peer,
                    });
                }
            }
            other => return Err(CertRefusal::UnsupportedOption(shown(other))),
        }
    }
    Ok(())
}

/// The SHA-256 fingerprint of the CA that signed `cert`.
pub fn ca_fingerprint(cert: &Certificate) -> Fingerprint {
    cert.signature_key().fingerprint(HashAlg::Sha256)
}

/// The SHA-256 fingerprint of the key the certificate certifies.
pub fn key_fingerprint(cert: &Certificate) -> Fingerprint {
    let key: &KeyData = cert.public_key();
    key.fingerprint(HashAlg::Sha256)
}

/// The principals, shortened for a log line.
pub fn principals_shown(cert: &Certificate) -> String {
    let list = cert.valid_principals().join(",");
    shown(&list)
}

/// At most [`SHOWN`] characters of untrusted text, control characters
/// replaced, for logs and the audit log.
pub fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(SHOWN)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > SHOWN {
        out.push('…');
    }
    out
}

/// `source-address`: a comma-separated list of addresses and CIDR ranges.
/// A malformed entry matches nothing.
pub fn address_list_allows(list: &str, peer: IpAddr) -> bool {
    let peer = peer.to_canonical();
    list.split(',')
        .any(|entry| cidr_contains(entry.trim(), peer))
}

fn cidr_contains(entry: &str, peer: IpAddr) -> bool {
    let (address, bits) = match entry.split_once('/') {
        Some((address, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (address, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(network) = address.parse::<IpAddr>() else {
        return false;
    };
    match (network, peer) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            prefix_matches(u32::from(net).into(), u32::from(ip).into(), bits, 32)
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            prefix_matches(u128::from(net), u128::from(ip), bits, 128)
        }
        _ => false,
    }
}

/// Whether the top `bits` of two `width`-bit addresses agree.
fn prefix_matches(net: u128, ip: u128, bits: Option<u32>, width: u32) -> bool {
    let bits = bits.unwrap_or(width);
    if bits > width {
        return false;
    }
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn source_address_lists_match_like_sshd() {
        assert!(address_list_allows("127.0.0.1", ip("127.0.0.1")));
        assert!(!address_list_allows("127.0.0.1", ip("127.0.0.2")));
        assert!(address_list_allows(
            "10.0.0.0/8,127.0.0.0/8",
            ip("127.0.0.2")
        ));
        assert!(address_list_allows("192.168.1.0/24", ip("192.168.1.77")));
        assert!(!address_list_allows("192.168.1.0/24", ip("192.168.2.1")));
        assert!(address_list_allows("2001:db8::/32", ip("2001:db8:1::5")));
        assert!(!address_list_allows("2001:db8::/32", ip("127.0.0.1")));
        assert!(address_list_allows("0.0.0.0/0", ip("8.8.8.8")));
        // An IPv4 peer seen as IPv4-mapped IPv6 still matches.
        assert!(address_list_allows("127.0.0.1", ip("::ffff:127.0.0.1")));
        // Malformed entries match nothing.
        assert!(!address_list_allows("127.0.0.1/33", ip("127.0.0.1")));
        assert!(!address_list_allows("bogus, /8", ip("127.0.0.1")));
        assert!(!address_list_allows("", ip("127.0.0.1")));
    }

    #[test]
    fn untrusted_text_is_shortened_and_cleaned() {
        assert_eq!(shown("alice"), "alice");
        assert_eq!(shown("a\nb"), "a?b");
        let long = "x".repeat(100);
        assert_eq!(shown(&long).chars().count(), SHOWN + 1);
    }

    #[test]
    fn stamps_are_readable() {
        assert_eq!(Stamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert!(!Stamp(u64::MAX).to_string().is_empty());
    }
}
