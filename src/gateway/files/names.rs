//! The names the network gives the file view and uploads, made safe
//! before any command sees them: an upload's file name becomes one plain
//! name (no directory, no hidden file, nothing a shell or a pasted path
//! would trip on), and a file-view path becomes a list of plain
//! components below the working directory, or a refusal.
//!
//! Must not touch the file system: the helper command resolves links.

/// The longest upload name kept, in characters (the extension included).
const NAME_CHARS: usize = 100;
/// The longest extension kept whole when a long name is cut.
const EXTENSION_CHARS: usize = 16;

/// An upload's name as saved: `name` is `stem` + `extension`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadName {
    pub name: String,
    pub stem: String,
    /// With its dot (`.png`), or empty.
    pub extension: String,
}

/// The plain name an upload named `requested` is saved as: its last path
/// component, characters other than letters, digits and `.-_+@,=`
/// replaced with `_`, leading dots dropped, at most 100 characters with
/// its extension kept; `upload` when nothing is left.
pub fn upload_name(requested: &str) -> UploadName {
    let last = requested.rsplit(['/', '\\']).next().unwrap_or_default();
    let plain: String = last.chars().map(plain_char).collect();
    let plain = plain.trim_start_matches('.');
    let (stem, extension) = match split_extension(plain) {
        // A long "extension" is part of the name.
        (_, extension) if extension.chars().count() > EXTENSION_CHARS => (plain, ""),
        split => split,
    };
    let stem = if stem.is_empty() { "upload" } else { stem };
    let extension = extension.to_string();
    let stem: String = stem
        .chars()
        .take(NAME_CHARS - extension.chars().count())
        .collect();
    UploadName {
        name: format!("{stem}{extension}"),
        stem,
        extension,
    }
}

fn plain_char(c: char) -> char {
    if c.is_alphanumeric() || ".-_+@,=".contains(c) {
        c
    } else {
        '_'
    }
}

/// (`shot`, `.png`) from `shot.png`; no extension for `archive.` or `x`.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => name.split_at(dot),
        _ => (name, ""),
    }
}

/// Why a file-view path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefusal {
    #[error("{0} is outside the session's working directory")]
    Outside(String),
    #[error("the path holds a control character")]
    Control,
}

/// The components of `requested` below the working directory (`.` and
/// empty ones dropped); absolute paths and `..` anywhere are refused.
pub fn relative_path(requested: &str) -> Result<Vec<String>, PathRefusal> {
    if requested.chars().any(char::is_control) {
        return Err(PathRefusal::Control);
    }
    if requested.starts_with('/') || requested.starts_with('\\') {
        return Err(PathRefusal::Outside(requested.to_string()));
    }
    let mut parts = Vec::new();
    for part in requested.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(PathRefusal::Outside(requested.to_string())),
            part => parts.push(part.to_string()),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_kept() {
        let name = upload_name("shot.png");
        assert_eq!(name.name, "shot.png");
        assert_eq!(
            (name.stem.as_str(), name.extension.as_str()),
            ("shot", ".png")
        );
        assert_eq!(upload_name("Скриншот 1.jpeg").name, "Скриншот_1.jpeg");
    }

    #[test]
    fn hostile_names_become_one_plain_name() {
        for (requested, saved) in [
            ("../../etc/passwd", "passwd"),
            ("/etc/shadow", "shadow"),
            ("..", "upload"),
            ("...", "upload"),
            ("", "upload"),
            (".bashrc", "bashrc"),
            ("a\nb.txt", "a_b.txt"),
            ("a\0b", "a_b"),
            ("$(rm -rf ~).sh", "__rm_-rf___.sh"),
            ("dir\\..\\x.txt", "x.txt"),
            ("x'\"`;|&.txt", "x______.txt"),
        ] {
            assert_eq!(upload_name(requested).name, saved, "{requested:?}");
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = upload_name(&format!("{}.png", "a".repeat(300)));
        assert_eq!(name.name.chars().count(), NAME_CHARS);
        assert!(name.name.ends_with("a.png"));
        let name = upload_name(&format!("x.{}", "e".repeat(300)));
        assert_eq!(name.extension, "");
        assert_eq!(name.name.chars().count(), NAME_CHARS);
    }

    #[test]
    fn paths_below_the_directory_are_components() {
        assert_eq!(relative_path("").unwrap(), Vec::<String>::new());
        assert_eq!(relative_path("./a//b/.").unwrap(), vec!["a", "b"]);
        assert_eq!(relative_path("a b/c..d").unwrap(), vec!["a b", "c..d"]);
    }

    #[test]
    fn paths_leading_out_are_refused() {
        for path in ["..", "../x", "a/../../b", "a/..", "/etc/passwd", "\\x"] {
            assert!(
                matches!(relative_path(path), Err(PathRefusal::Outside(_))),
                "{path}"
            );
        }
        assert_eq!(relative_path("a\0b"), Err(PathRefusal::Control));
        assert_eq!(relative_path("a\nb"), Err(PathRefusal::Control));
    }
}
