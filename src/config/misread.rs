//! Environment variables the configuration library would misread or
//! overflow its stack on, refused with a message that says what to do
//! instead.
//!
//! figment 0.10.19 (the newest) reads a variable's value as a TOML-like
//! value, and in a quoted string it cuts the text before the first
//! backslash escape by its count of characters, not of bytes: with a
//! non-ASCII character before that backslash it panics (`"é\n"`) or
//! silently drops characters (`"éa\n"` reads as `é` and a newline). The
//! fuzz target `config` found it. Until figment reads them right, such a
//! value is refused before figment sees it.
//!
//! figment also parses a value's nesting (`[[[…`) and nests a name's
//! levels (`A__B__…`) by recursion without a limit: some thousands of
//! levels overflow the stack and abort the process (the TOML file's parser
//! has a limit; the environment had none). The fuzz target found that too.
//! More than [`MOST_BRACKETS`] brackets in a value, or [`MOST_LEVELS`]
//! levels in a name, are refused.
//!
//! Owns: that check and its wording. Must not: read the environment (the
//! caller passes what figment will read, from figment's own `Env::iter`,
//! so names and bytes are matched and converted as figment does).

use super::error::ConfigError;

/// The most `[` and `{` one value may hold (every level of nesting needs
/// one; no key needs more than a few).
pub const MOST_BRACKETS: usize = 128;

/// The most levels a variable's key may have (no key has more than four).
pub const MOST_LEVELS: usize = 32;

/// One variable as figment will read it.
pub struct EnvironmentValue {
    /// The variable's name, for the message.
    pub name: String,
    /// The dotted key it sets.
    pub key: String,
    pub value: String,
}

/// Refuses the first of `variables` (those figment will read) that
/// figment would misread or overflow its stack on.
pub fn refuse_misread(
    variables: impl IntoIterator<Item = EnvironmentValue>,
) -> Result<(), ConfigError> {
    for EnvironmentValue { name, key, value } in variables {
        let refusal = if misread(&value) {
            "a quoted value with a non-ASCII character before a backslash escape \
             is misread by the configuration library; write such characters as \
             \\uXXXX escapes, or set the key in the config file"
                .to_string()
        } else if value.chars().filter(|c| matches!(c, '[' | '{')).count() > MOST_BRACKETS {
            format!(
                "more than {MOST_BRACKETS} `[` or `{{` in one value are refused (the \
                 configuration library reads nesting without a limit); set the key in \
                 the config file"
            )
        } else if key.split('.').count() > MOST_LEVELS {
            format!("names more than {MOST_LEVELS} levels: no key has as many")
        } else {
            continue;
        };
        return Err(ConfigError::Invalid(format!(
            "environment variable {name}: {refusal}"
        )));
    }
    Ok(())
}

/// Whether a quoted string in `value` may hold a non-ASCII character
/// before its first backslash: a `"`, then a non-ASCII character, then a
/// `\`. Every value figment misreads has this shape; a few it reads right
/// (a bare word such as `a"é\`) do too, and are refused all the same.
fn misread(value: &str) -> bool {
    let Some(quote) = value.find('"') else {
        return false;
    };
    let after = &value[quote + 1..];
    match after.find(|c: char| !c.is_ascii()) {
        Some(at) => after[at..].contains('\\'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_ascii_character_before_an_escape_in_quotes_is_misread() {
        for value in [
            r#""é\n""#,
            r#""éa\n""#,
            r#"["bash", "-c", "echo café\n"]"#,
            r#"{ greeting = "grüß\t" }"#,
        ] {
            assert!(misread(value), "{value}");
        }
        for value in [
            r#""\u00e9\n""#,
            r#""é""#,
            r#""a\né""#,
            r#"["bash", "-l"]"#,
            "café",
            r"C:\café",
            "",
        ] {
            assert!(!misread(value), "{value}");
        }
    }

    fn variable(name: &str, key: &str, value: &str) -> EnvironmentValue {
        EnvironmentValue {
            name: name.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_refusal_names_the_variable_and_the_way_out() {
        let variables = [
            variable("FOYER_SSH__LISTEN", "ssh.listen", "0.0.0.0:2222"),
            variable(
                "FOYER_SESSIONS__DEFAULT_COMMAND",
                "sessions.default_command",
                r#"["echo", "café\n"]"#,
            ),
        ];
        let error = refuse_misread(variables).unwrap_err().to_string();
        assert!(error.contains("FOYER_SESSIONS__DEFAULT_COMMAND"), "{error}");
        assert!(error.contains("\\uXXXX"), "{error}");
        assert!(refuse_misread([variable("FOYER_X", "x", "\"é\"")]).is_ok());
    }

    #[test]
    fn deep_nesting_and_deep_names_are_refused_at_the_limit() {
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        let key = |n: usize| vec!["a"; n].join(".");
        let ok = |key: &str, value: &str| refuse_misread([variable("FOYER_X", key, value)]);
        assert!(ok("x", &nested(MOST_BRACKETS)).is_ok());
        let error = ok("x", &nested(MOST_BRACKETS + 1)).unwrap_err().to_string();
        assert!(
            error.contains("FOYER_X") && error.contains("128"),
            "{error}"
        );
        assert!(ok("x", &"{".repeat(MOST_BRACKETS + 1)).is_err());
        assert!(ok(&key(MOST_LEVELS), "1").is_ok());
        let error = ok(&key(MOST_LEVELS + 1), "1").unwrap_err().to_string();
        assert!(error.contains("32 levels"), "{error}");
    }
}
