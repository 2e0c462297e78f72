//! Fuzz target: the names the network gives the file view and uploads
//! (`gateway::files::names`), and the file helper's output as the gateway
//! reads it (`gateway::files::scripts::read_view`: the helper runs as the
//! session's user, who may change what it prints). Properties: an upload
//! name is one plain file name (not empty, not `.` or `..`, no `/`, `\`,
//! NUL or control character, no leading dot, at most 100 characters,
//! `stem` + `extension`); a view path accepted is a list of components
//! that, joined below any root, never leaves it (no `..`, no `.`, no empty
//! component, no `/` inside one, no control character).
#![no_main]

use foyer::gateway::files::names::{relative_path, upload_name};
use foyer::gateway::files::scripts::read_view;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_view(data);
    let text = String::from_utf8_lossy(data);

    let name = upload_name(&text);
    let saved = &name.name;
    assert!(
        !saved.is_empty() && saved != "." && saved != "..",
        "{saved:?}"
    );
    assert!(!saved.starts_with('.'), "{saved:?}");
    assert!(!saved.contains(['/', '\\', '\0']), "{saved:?}");
    assert!(!saved.chars().any(char::is_control), "{saved:?}");
    assert!(saved.chars().count() <= 100, "{saved:?}");
    assert_eq!(*saved, format!("{}{}", name.stem, name.extension));
    assert_eq!(upload_name(saved).name, *saved, "not stable");

    if let Ok(parts) = relative_path(&text) {
        assert!(!text.starts_with('/'));
        for part in &parts {
            assert!(!part.is_empty() && part != "." && part != "..", "{parts:?}");
            assert!(!part.contains('/'), "{parts:?}");
            assert!(!part.chars().any(char::is_control), "{parts:?}");
        }
        // Below a root, resolved lexically: never above it.
        let joined = parts.join("/");
        let mut depth = 0_i64;
        for component in format!("/root/{joined}").split('/') {
            match component {
                "" | "." => {}
                ".." => depth -= 1,
                _ => depth += 1,
            }
            assert!(depth >= 0, "{joined:?} leaves the root");
        }
        assert!(depth >= 1, "{joined:?} leaves the root");
    }
});
