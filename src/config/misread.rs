//! Environment values the configuration library would misread, refused
//! with a message that says how to write them instead.
//!
//! figment 0.10.19 (the newest) reads a variable's value as a TOML-like
//! value, and in a quoted string it cuts the text before the first
//! backslash escape by its count of characters, not of bytes: with a
//! non-ASCII character before that backslash it panics (`"é\n"`) or
//! silently drops characters (`"éa\n"` reads as `é` and a newline). The
//! fuzz target `config` found it. Until figment reads them right, such a
//! value is refused before figment sees it.
//!
//! Owns: that check and its wording. Must not: read the environment (the
//! caller passes what figment will read, from figment's own `Env::iter`,
//! so names and bytes are matched and converted as figment does).

use super::error::ConfigError;

/// Refuses the first of `variables` (name, value: those figment will
/// read) whose value figment would misread.
pub fn refuse_misread(
    variables: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in variables {
        if misread(&value) {
            return Err(ConfigError::Invalid(format!(
                "environment variable {name}: a quoted value with a non-ASCII character \
                 before a backslash escape is misread by the configuration library; \
                 write such characters as \\uXXXX escapes, or set the key in the config file"
            )));
        }
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

    #[test]
    fn the_refusal_names_the_variable_and_the_way_out() {
        let variables = [
            ("FOYER_SSH__LISTEN".into(), "0.0.0.0:2222".into()),
            (
                "FOYER_SESSIONS__DEFAULT_COMMAND".into(),
                r#"["echo", "café\n"]"#.into(),
            ),
        ];
        let error = refuse_misread(variables).unwrap_err().to_string();
        assert!(error.contains("FOYER_SESSIONS__DEFAULT_COMMAND"), "{error}");
        assert!(error.contains("\\uXXXX"), "{error}");
        assert!(refuse_misread([("FOYER_X".into(), "\"é\"".into())]).is_ok());
    }
}
