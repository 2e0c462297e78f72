//! The effective configuration written back as TOML (`foyer config check
//! --print`), with the database password hidden.
//!
//! Owns that rendering only; it must not change the loaded configuration
//! (it prints a copy) or decide what is valid.

use super::sections::Config;

impl Config {
    /// Every key with its effective value, as a TOML document that loads
    /// back to the same configuration (but for a hidden password).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut shown = self.clone();
        shown.database.url = hide_password(&shown.database.url);
        toml::to_string(&shown)
    }
}

/// `url` with the password of its user part replaced by `****`.
fn hide_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            hide_password("postgres://foyer:s3cret@db/foyer"),
            "postgres://foyer:****@db/foyer"
        );
        assert_eq!(hide_password(""), "");
        assert_eq!(
            hide_password("sqlite://data/foyer.db"),
            "sqlite://data/foyer.db"
        );
    }
}
