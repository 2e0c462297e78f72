//! Fuzz target: `authorized_keys` files as the first start imports them
//! (`admin::first_start_import`: each non-blank, non-comment line through
//! `store::parse_key_line`, which reads options with ssh-key's parser or
//! foyer's quote-aware split, and refuses options foyer cannot enforce).
//! Properties: a key accepted has a `SHA256:` fingerprint and an OpenSSH
//! line that parses again to the same key, and its line reads the same
//! with its options; a refusal has a message.
#![no_main]

use foyer::store::{parse_authorized_line, parse_key_line, parse_public_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    for line in lines.take(16) {
        match parse_key_line(line) {
            Ok(key) => {
                assert!(key.fingerprint.starts_with("SHA256:"), "{key:?}");
                let again = parse_public_key(&key.openssh)
                    .unwrap_or_else(|e| panic!("{:?} does not parse again: {e}", key.openssh));
                assert_eq!(again.fingerprint, key.fingerprint);
                let line = parse_authorized_line(line).expect("a key accepted parses");
                assert_eq!(line.key.fingerprint, key.fingerprint);
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
});
