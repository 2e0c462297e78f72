//! The house's walls as a checked fact (docs/architecture.md, "The house:
//! folders follow the processes"): every file in src/ is read, each
//! `crate::` path (and each `super::` path that climbs out of its
//! top-level module) is resolved to the top-level module it names, and an
//! import of a module of the same or a higher rank than the importer's
//! fails the test, naming the file and line. A top-level module missing
//! from the table fails it too, so a new one must be placed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The ranks, lowest first: a module may import only modules of a lower
/// rank. Keep in step with docs/architecture.md.
const RANKS: &[(&str, u8)] = &[
    ("clock", 0),
    ("wire", 0),
    ("transport", 0),
    ("config", 1),
    ("store", 1),
    ("metrics", 1),
    ("systemd", 1),
    ("audit", 2),
    ("engine", 2),
    ("logging", 2),
    ("runtime", 3),
    ("host", 4),
    ("gateway", 4),
    ("picker", 5),
    ("ssh", 6),
    ("web", 6),
    ("webhook", 6),
    ("admin", 7),
    ("announce", 7),
    ("reload", 7),
    ("server", 8),
];

/// Modules held to less than their rank allows: what they may import.
/// The engine runs in the session host and must not reach the gateway's
/// leaves (metrics, configuration, database); the webhook needs no more
/// than the gateway's events and the leaves.
const ONLY: &[(&str, &[&str])] = &[
    ("clock", &[]),
    ("wire", &[]),
    ("transport", &[]),
    ("engine", &["wire", "clock"]),
    // Sets up log output; knows the configuration's format, nothing else.
    ("logging", &["config"]),
    // A transport out: it hears the gateway's attention events and POSTs.
    (
        "webhook",
        &["gateway", "config", "metrics", "clock", "wire"],
    ),
];

/// Files that are not modules of the library.
const NOT_LIBRARY: &[&str] = &["main.rs", "lib.rs"];

#[derive(Debug, PartialEq, Eq)]
struct Import {
    file: String,
    line: usize,
    from: String,
    to: String,
}

#[test]
fn no_module_imports_its_own_rank_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let imports = imports_in(&src);
    assert!(
        imports.len() > 100,
        "the reader found only {} imports across top-level modules: it no longer reads src/",
        imports.len()
    );
    let mut wrong = Vec::new();
    for import in &imports {
        let (Some(from), Some(to)) = (
            ranks.get(import.from.as_str()),
            ranks.get(import.to.as_str()),
        ) else {
            wrong.push(format!(
                "{}:{}: `{}` or `{}` has no rank in tests/layering.rs (place it in RANKS and docs/architecture.md)",
                import.file, import.line, import.from, import.to
            ));
            continue;
        };
        if let Some((_, allowed)) = ONLY.iter().find(|(name, _)| *name == import.from)
            && !allowed.contains(&import.to.as_str())
        {
            wrong.push(format!(
                "{}:{}: `{}` may import only {allowed:?}, not `{}`",
                import.file, import.line, import.from, import.to
            ));
        } else if to >= from {
            wrong.push(format!(
                "{}:{}: `{}` (rank {from}) imports `{}` (rank {to})",
                import.file, import.line, import.from, import.to
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_rank() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranked: Vec<&str> = RANKS.iter().map(|(name, _)| *name).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if NOT_LIBRARY.contains(&name.as_str()) {
            continue;
        }
        let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
        if !ranked.contains(&module.as_str()) {
            missing.push(module);
        }
    }
    assert!(
        missing.is_empty(),
        "top-level modules without a rank: {missing:?}"
    );
}

/// No two files of one folder import each other, directly or round a
/// circle (a file under a subfolder counts as that subfolder): a folder's
/// files form layers too, the dispatching file above the pieces it uses.
#[test]
fn no_import_circle_among_the_files_of_a_folder() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = sibling_imports(&src);
    assert!(
        edges.len() > 50,
        "the reader found only {} imports between files of one folder",
        edges.len()
    );
    let circles = circles_in(&edges);
    assert!(
        circles.is_empty(),
        "files that import each other round a circle:\n{}",
        circles
            .iter()
            .map(|circle| circle.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The reader itself, on a small made-up tree: it must see `use`
/// groups, inline paths and `super::` climbing out, and skip comments.
#[test]
fn the_reader_finds_imports_of_every_form() {
    let dir = tempdir();
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "wire/mod.rs",
        "//! crate::engine in a comment\nuse crate::engine::Hub;\n",
    );
    write(
        "wire/deep/frame.rs",
        "fn f() { let x = crate::gateway::link::start(); }\nuse super::super::super::ssh::X;\n// crate::web\n",
    );
    write("engine.rs", "use crate::{wire::Size, config};\n");
    let mut found: Vec<(String, String)> = imports_in(&dir)
        .into_iter()
        .map(|import| (import.from, import.to))
        .collect();
    found.sort();
    let expected: Vec<(String, String)> = [
        ("engine", "config"),
        ("engine", "wire"),
        ("wire", "engine"),
        ("wire", "gateway"),
        ("wire", "ssh"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Imports from one file of a folder to another, as (folder/from,
/// folder/to), each pair once.
fn sibling_imports(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect_rust_files(src, &mut files);
    let mut edges = std::collections::BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let module = module_path(relative);
        if module.len() < 2 {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            for target in paths_in(strip_comment(line), &module) {
                if target.len() >= 2
                    && target[0] == module[0]
                    && target[1] != module[1]
                    && target[1].chars().next().is_some_and(|c| c.is_lowercase())
                {
                    edges.insert((
                        format!("{}/{}", module[0], module[1]),
                        format!("{}/{}", target[0], target[1]),
                    ));
                }
            }
        }
    }
    edges.into_iter().collect()
}

/// The module paths a line names, resolved from `module`: `crate::a::b`
/// and `super::…` chains (one `use` group is read as its first path).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    for word in words {
        let mut segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
        let mut path: Vec<String> = match segments.first() {
            Some(&"crate") => {
                segments.remove(0);
                Vec::new()
            }
            Some(&"super") => {
                let supers = segments.iter().take_while(|s| **s == "super").count();
                if supers > module.len() {
                    continue;
                }
                segments.drain(..supers);
                module[..module.len() - supers].to_vec()
            }
            _ => continue,
        };
        path.extend(segments.iter().map(|s| s.to_string()));
        paths.push(path);
    }
    paths
}

/// The circles in a directed graph, each as the names round it.
fn circles_in(edges: &[(String, String)]) -> Vec<Vec<String>> {
    let mut circles = Vec::new();
    for (from, to) in edges {
        // A path back from `to` to `from` closes a circle through this edge.
        if let Some(mut back) = path_between(edges, to, from) {
            back.insert(0, from.clone());
            let key: std::collections::BTreeSet<&String> = back.iter().collect();
            if !circles
                .iter()
                .any(|c: &Vec<String>| c.iter().collect::<std::collections::BTreeSet<_>>() == key)
            {
                circles.push(back);
            }
        }
    }
    circles
}

fn path_between(edges: &[(String, String)], start: &str, goal: &str) -> Option<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = std::collections::VecDeque::from([vec![start.to_string()]]);
    while let Some(path) = queue.pop_front() {
        let last = path.last().unwrap().clone();
        if last == goal {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for (from, to) in edges {
            if *from == last {
                let mut next = path.clone();
                next.push(to.clone());
                queue.push_back(next);
            }
        }
    }
    None
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("foyer-layering-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every import in the tree at `src` that crosses from one top-level
/// module to another.
fn imports_in(src: &Path) -> Vec<Import> {
    let mut files = Vec::new();
    collect_rust_files(src, &mut files);
    let mut imports = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let module = module_path(relative);
        let Some(top) = module.first().cloned() else {
            continue;
        };
        if NOT_LIBRARY.contains(&relative.to_str().unwrap()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = strip_comment(line);
            for target in targets_in(code, &module) {
                if target != top {
                    imports.push(Import {
                        file: relative.display().to_string(),
                        line: number + 1,
                        from: top.clone(),
                        to: target,
                    });
                }
            }
        }
    }
    imports
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `wire/protocol.rs` -> [wire, protocol]; `wire/mod.rs` -> [wire].
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_str().unwrap().to_string())
        .collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The line without a `//` comment (doc comments included). A `//`
/// inside a string is rare enough in `use` lines to ignore.
fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        Some(at) if !line[..at].contains('"') => &line[..at],
        _ => line,
    }
}

/// The top-level modules a line of code names: `crate::X…`, `crate::{X…,
/// Y…}`, and `super::` chains that climb to the crate root.
fn targets_in(code: &str, module: &[String]) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                if let Some(name) = first_segment(item.trim()) {
                    targets.push(name);
                }
            }
        } else if let Some(name) = first_segment(after) {
            targets.push(name);
        }
    }
    // `super::` chains: from a file module at depth d, d supers reach the
    // crate root (an inline `mod tests` adds one, which only ever keeps a
    // chain inside its own top-level module).
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let before = rest[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            rest = &rest[at + "super::".len()..];
            continue;
        }
        let mut chain = &rest[at..];
        let mut supers = 0;
        while let Some(next) = chain.strip_prefix("super::") {
            supers += 1;
            chain = next;
        }
        rest = chain;
        if supers == module.len()
            && let Some(name) = first_segment(chain)
        {
            targets.push(name);
        }
    }
    targets
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self" && name.chars().next().is_some_and(|c| c.is_lowercase()))
        .then_some(name)
}
