//! Which `FOYER_*` environment variables name configuration keys
//! (`FOYER_WEB__PUBLIC_URL` is `web.public_url`), and the ones that do
//! not: container platforms inject `FOYER_PORT`, `FOYER_SERVICE_HOST` and
//! the like for a service named foyer, so those are ignored, each with a
//! warning, instead of stopping the server.
//!
//! Owns the mapping from a variable's name to a key and the warning's
//! wording; it must not read values or decide whether one is good (a bad
//! value of a real key still fails in `load`).

use std::ffi::OsString;
use std::sync::OnceLock;

use super::search::CONFIG_VARIABLE;
use super::sections::Config;

/// The prefix of the variables that set keys.
pub const PREFIX: &str = "FOYER_";

/// The separator between a key's levels in a variable's name.
pub const SEPARATOR: &str = "__";

/// A `FOYER_*` variable that names no configuration key and was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ignoring environment variable {name}: it names no configuration key \
     (FOYER_SECTION__KEY sets section.key)"
)]
pub struct IgnoredVariable {
    pub name: String,
}

/// The `FOYER_*` variables among `variables` that name no key
/// (`FOYER_CONFIG` names the file, not a key, and is not one of them).
pub fn ignored_variables(
    variables: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<IgnoredVariable> {
    let mut ignored: Vec<IgnoredVariable> = variables
        .into_iter()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(PREFIX) && name != CONFIG_VARIABLE)
        .filter(|name| !names_a_key(&key_of(name)))
        .map(|name| IgnoredVariable { name })
        .collect();
    ignored.sort_by(|a, b| a.name.cmp(&b.name));
    ignored
}

/// The `FOYER_*` variable that sets the dotted `key` (the other way).
pub fn variable_of(key: &str) -> String {
    format!(
        "{PREFIX}{}",
        key.to_ascii_uppercase().replace('.', SEPARATOR)
    )
}

/// The dotted key a `FOYER_*` variable sets, lowercased
/// (`FOYER_SSH__LISTEN` is `ssh.listen`).
fn key_of(name: &str) -> String {
    name.trim_start_matches(PREFIX)
        .replace(SEPARATOR, ".")
        .to_ascii_lowercase()
}

/// Whether the dotted `key` is one of the configuration's keys: each level
/// must be a field of the section above it. Below a map that is empty by
/// default, or below an unset optional value, any name is allowed (serde
/// decides there).
pub fn names_a_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let mut value = known_keys();
    for part in key.split('.') {
        match value {
            serde_json::Value::Object(fields) if fields.is_empty() => return true,
            serde_json::Value::Object(fields) => match fields.get(part) {
                Some(inner) => value = inner,
                None => return false,
            },
            serde_json::Value::Null => return true,
            _ => return false,
        }
    }
    true
}

/// The default configuration as a tree of keys (built once).
fn known_keys() -> &'static serde_json::Value {
    static KEYS: OnceLock<serde_json::Value> = OnceLock::new();
    KEYS.get_or_init(|| {
        serde_json::to_value(Config::default()).expect("the default configuration serializes")
    })
}
