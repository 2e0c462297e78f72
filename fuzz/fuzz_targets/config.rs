//! Fuzz target: the configuration as `foyer serve` loads it: a config
//! file's TOML and `FOYER_*` (and `DATABASE_URL`) environment variables,
//! merged over the defaults by figment and checked by `validate`
//! (`Config::from_toml_text`, the file's text given instead of read).
//! The input is the file's text, then optionally a NUL and `NAME=VALUE`
//! lines set as variables for the one load (a name without `FOYER_` gets
//! it). Properties: a refusal has a message; a configuration accepted
//! prints (`config check --print`) as TOML that loads back and prints the
//! same; the check of variable names (`ignored_variables`) ignores only
//! `FOYER_*` names and never `FOYER_CONFIG`.
#![no_main]

use std::ffi::OsString;

use foyer::config::{Config, ignored_variables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (file, environment) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(file) = std::str::from_utf8(file) else {
        return;
    };
    let variables = variables(environment);
    for (name, value) in &variables {
        // SAFETY: libFuzzer runs the target on one thread, and nothing
        // else in this process reads the environment meanwhile.
        unsafe { std::env::set_var(name, value) };
    }
    check(file, &variables);
    for (name, _) in &variables {
        // SAFETY: as above.
        unsafe { std::env::remove_var(name) };
    }
});

fn check(file: &str, variables: &[(String, String)]) {
    match Config::from_toml_text(file) {
        Ok(config) => {
            let printed = config.to_toml().expect("a loaded configuration prints");
            let again = Config::from_toml_text(&printed)
                .unwrap_or_else(|e| panic!("the printed configuration loads: {e}\n{printed}"));
            let reprinted = again.to_toml().expect("it prints again");
            assert_eq!(printed, reprinted);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    let ignored = ignored_variables(
        variables
            .iter()
            .map(|(n, v)| (OsString::from(n), OsString::from(v))),
    );
    for variable in ignored {
        assert!(variable.name.starts_with("FOYER_"), "{}", variable.name);
        assert_ne!(variable.name, "FOYER_CONFIG");
    }
}

/// `NAME=VALUE` lines as variables a process can hold (no NUL, no `=` in
/// the name), at most 16.
fn variables(text: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, value)| !name.is_empty() && !name.contains('\0') && !value.contains('\0'))
        .map(|(name, value)| {
            let name = if name.starts_with("FOYER_") || name == "DATABASE_URL" {
                name.to_string()
            } else {
                format!("FOYER_{name}")
            };
            (name, value.to_string())
        })
        .take(16)
        .collect()
}
