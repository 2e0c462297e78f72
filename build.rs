//! Build script: puts the browser page's assets where `src/web/assets.rs`
//! embeds them (`$OUT_DIR/web/`). Our own files come from `web/`; xterm.js
//! and its addons (fit, Unicode 11 widths, web links) come from npm, pinned by `web/package-lock.json`:
//! from `web/node_modules` when someone ran `npm ci` there, otherwise
//! installed by `npm ci` into `$OUT_DIR/npm` on the first build.
//!
//! Must not fail the build when npm or the registry is missing: the binary
//! is then built with empty third-party assets and `missing.txt` saying
//! why, which the terminal page shows instead of a terminal.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Files taken from npm packages: (path inside node_modules, name in OUT_DIR).
const NPM_FILES: &[(&str, &str)] = &[
    ("@xterm/xterm/lib/xterm.js", "xterm.js"),
    ("@xterm/xterm/css/xterm.css", "xterm.css"),
    ("@xterm/addon-fit/lib/addon-fit.js", "addon-fit.js"),
    (
        "@xterm/addon-unicode11/lib/addon-unicode11.js",
        "addon-unicode11.js",
    ),
    (
        "@xterm/addon-web-links/lib/addon-web-links.js",
        "addon-web-links.js",
    ),
];

/// Our own files, copied as they are.
const OWN_FILES: &[&str] = &[
    "foyer.js",
    "foyer.css",
    "dashboard.js",
    "dashboard.css",
    "notify.js",
    "uploads.js",
    "files.js",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let web = manifest.join("web");
    for file in ["package.json", "package-lock.json"]
        .iter()
        .chain(OWN_FILES)
    {
        println!("cargo:rerun-if-changed=web/{file}");
    }
    println!("cargo:rerun-if-env-changed=FOYER_NPM");
    let assets = out.join("web");
    std::fs::create_dir_all(&assets).expect("create OUT_DIR/web");
    for file in OWN_FILES {
        std::fs::copy(web.join(file), assets.join(file)).expect("copy web/ asset");
    }
    let missing = match node_modules(&web, &out) {
        Ok(modules) => copy_npm_files(&modules, &assets),
        Err(reason) => Err(reason),
    };
    let note = match missing {
        Ok(()) => String::new(),
        Err(reason) => {
            println!("cargo:warning=the browser terminal is built without xterm.js: {reason}");
            for (_, name) in NPM_FILES {
                std::fs::write(assets.join(name), "").expect("write placeholder");
            }
            reason
        }
    };
    std::fs::write(assets.join("missing.txt"), note).expect("write missing.txt");
}

fn has_files(modules: &Path) -> bool {
    NPM_FILES
        .iter()
        .all(|(path, _)| modules.join(path).is_file())
}

/// A node_modules folder holding the pinned packages: `web/node_modules`,
/// or one installed here with `npm ci`.
fn node_modules(web: &Path, out: &Path) -> Result<PathBuf, String> {
    let local = web.join("node_modules");
    if has_files(&local) {
        return Ok(local);
    }
    let npm_dir = out.join("npm");
    let installed = npm_dir.join("node_modules");
    if has_files(&installed) && !lock_changed(web, &npm_dir) {
        return Ok(installed);
    }
    std::fs::create_dir_all(&npm_dir).map_err(|e| format!("cannot create {npm_dir:?}: {e}"))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(web.join(file), npm_dir.join(file))
            .map_err(|e| format!("cannot copy web/{file}: {e}"))?;
    }
    let npm = std::env::var("FOYER_NPM").unwrap_or_else(|_| "npm".into());
    let status = Command::new(&npm)
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--fetch-retries=1",
            "--fetch-timeout=60000",
        ])
        .current_dir(&npm_dir)
        .status()
        .map_err(|e| {
            format!("npm is not available ({npm}: {e}); install Node.js and npm, then rebuild")
        })?;
    if !status.success() {
        return Err(format!(
            "`npm ci` failed ({status}); check access to the npm registry, then rebuild"
        ));
    }
    if !has_files(&installed) {
        return Err("`npm ci` did not install every file build.rs takes from @xterm/".into());
    }
    Ok(installed)
}

/// Whether web/package-lock.json differs from the one last installed.
fn lock_changed(web: &Path, npm_dir: &Path) -> bool {
    let read = |dir: &Path| std::fs::read(dir.join("package-lock.json")).ok();
    read(web) != read(npm_dir)
}

fn copy_npm_files(modules: &Path, assets: &Path) -> Result<(), String> {
    for (path, name) in NPM_FILES {
        std::fs::copy(modules.join(path), assets.join(name))
            .map_err(|e| format!("cannot copy {path}: {e}"))?;
    }
    Ok(())
}
