//! Hiding the secrets of a database URL before it is shown (in errors and
//! log lines): the password of `postgres://user:PASSWORD@host/db`, a
//! `password=` (or `sslpassword=`) query parameter, and the same keywords
//! in a keyword/value connection string (`host=db password=PASSWORD`).
//!
//! Owns: [`redact_url`]. Must not: change anything else of the URL a
//! person needs to recognise it (user, host, port, database, other
//! parameters), or fail: what cannot be parsed is hidden wholesale.

/// Shown instead of a secret.
const HIDDEN: &str = "***";

/// Query parameters and connection-string keywords that hold a secret
/// (compared without regard to case).
const SECRET_KEYS: &[&str] = &["password", "sslpassword"];

fn is_secret(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret))
}

/// `url` with its password and password parameters replaced by `***`.
pub fn redact_url(url: &str) -> String {
    if !url.contains("://") {
        return redact_keyword_values(url);
    }
    match url::Url::parse(url) {
        Ok(parsed) => redact_parsed(url, parsed),
        Err(_) => redact_unparsed(url),
    }
}

/// A URL the `url` crate understood; unchanged when it holds no secret.
fn redact_parsed(original: &str, mut url: url::Url) -> String {
    let mut changed = false;
    if url.password().is_some() {
        // Only fails for URLs that cannot have a password.
        changed |= url.set_password(Some(HIDDEN)).is_ok();
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if pairs.iter().any(|(key, _)| is_secret(key)) {
        changed = true;
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, if is_secret(key) { HIDDEN } else { value });
        }
    }
    if changed {
        url.to_string()
    } else {
        original.to_string()
    }
}

/// A URL the `url` crate refused: its user part (all before the last `@`
/// of what follows `://`, up to the path) is hidden whole, and secret
/// parameters as in a connection string.
fn redact_unparsed(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{HIDDEN}{}", &rest[at..]),
        None => rest.to_string(),
    };
    redact_query_text(&format!("{scheme}://{rest}"))
}

/// `key=value` secrets in a query string that could not be parsed.
fn redact_query_text(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, _)) if is_secret(key) => format!("{key}={HIDDEN}"),
            _ => part.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// A libpq keyword/value connection string (`host=db password='a b'`):
/// the value of each secret keyword, quoted or not, becomes `***`.
fn redact_keyword_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, key, after_equals)) = next_keyword(rest) {
        out.push_str(before);
        let (value_len, quoted) = value_length(after_equals);
        if is_secret(key) {
            out.push_str(if quoted { "'***'" } else { HIDDEN });
        } else {
            out.push_str(&after_equals[..value_len]);
        }
        rest = &after_equals[value_len..];
    }
    out.push_str(rest);
    out
}

/// The next `key =` in `text`: what comes before the value (spaces, key,
/// `=` and spaces kept as written), the key, and the text from the value on.
fn next_keyword(text: &str) -> Option<(&str, &str, &str)> {
    let equals = text.find('=')?;
    let key_part = text[..equals].trim_end();
    let key_start = key_part
        .rfind(char::is_whitespace)
        .map_or(0, |space| space + 1);
    let key = &key_part[key_start..];
    let after = &text[equals + 1..];
    let value_start = after.len() - after.trim_start().len();
    let (before, from_value) = text.split_at(equals + 1 + value_start);
    Some((before, key, from_value))
}

/// The length of the value at the start of `text` (a `'…'` string with
/// `\` escapes, or up to the next space), and whether it was quoted.
fn value_length(text: &str) -> (usize, bool) {
    if !text.starts_with('\'') {
        return (text.find(char::is_whitespace).unwrap_or(text.len()), false);
    }
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => return (i + 1, true),
            _ => {}
        }
    }
    (text.len(), true)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn the_password_of_the_user_part_is_hidden() {
        assert_eq!(
            redact_url("postgres://foyer:s3cret@db:5432/foyer"),
            "postgres://foyer:***@db:5432/foyer"
        );
        // Percent-encoded characters of the password go too.
        assert_eq!(
            redact_url("postgresql://me:p%40ss%3Aw@db/x?sslmode=require"),
            "postgresql://me:***@db/x?sslmode=require"
        );
    }

    #[test]
    fn urls_without_a_secret_are_unchanged() {
        for url in [
            "postgres://db/foyer",
            "postgres://me@db/x",
            "postgres://me@db/x?sslmode=require&application_name=foyer",
            "sqlite://data/foyer.db",
            "sqlite:///var/lib/foyer/foyer.db?mode=rwc",
            "sqlite:data/foyer.db",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn password_parameters_are_hidden_and_the_rest_kept() {
        assert_eq!(
            redact_url("postgres://u@h/db?password=secret"),
            "postgres://u@h/db?password=***"
        );
        assert_eq!(
            redact_url("postgres://u:one@h/db?sslmode=require&PassWord=two&sslpassword=three"),
            "postgres://u:***@h/db?sslmode=require&PassWord=***&sslpassword=***"
        );
        let shown = redact_url("postgres://h/db?password=a%26b%3Dc&user=u");
        assert_eq!(shown, "postgres://h/db?password=***&user=u");
    }

    #[test]
    fn keyword_value_strings_hide_their_password() {
        assert_eq!(
            redact_url("host=db user=foyer password=s3cret dbname=foyer"),
            "host=db user=foyer password=*** dbname=foyer"
        );
        assert_eq!(
            redact_url(r"host=db password = 'it\'s a secret' port=5432"),
            "host=db password = '***' port=5432"
        );
        assert_eq!(
            redact_url("PASSWORD='a b' host=db"),
            "PASSWORD='***' host=db"
        );
    }

    #[test]
    fn what_the_url_crate_refuses_is_hidden_whole() {
        let shown = redact_url("postgres://me:s3cret@db:notaport/x?password=two");
        assert!(
            !shown.contains("s3cret") && !shown.contains("two"),
            "{shown}"
        );
        assert_eq!(shown, "postgres://***@db:notaport/x?password=***");
    }
}
