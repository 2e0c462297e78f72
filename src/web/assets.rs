//! Static files built into the binary by build.rs: xterm.js, its CSS and
//! the fit addon (from npm, pinned by web/package-lock.json), and our own
//! page scripts and style sheets (web/foyer.js, web/foyer.css; the
//! dashboard's web/dashboard.js, web/dashboard.css; web/notify.js).
//!
//! Must not read files at run time: what is served is what was built.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

macro_rules! built {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/web/", $name))
    };
}

/// Why the npm assets are missing from this build; empty when they are in.
pub const MISSING: &str = include_str!(concat!(env!("OUT_DIR"), "/web/missing.txt"));

/// (name under /assets/, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "xterm.js",
        "text/javascript; charset=utf-8",
        built!("xterm.js"),
    ),
    ("xterm.css", "text/css; charset=utf-8", built!("xterm.css")),
    (
        "addon-fit.js",
        "text/javascript; charset=utf-8",
        built!("addon-fit.js"),
    ),
    (
        "foyer.js",
        "text/javascript; charset=utf-8",
        built!("foyer.js"),
    ),
    ("foyer.css", "text/css; charset=utf-8", built!("foyer.css")),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        built!("dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        built!("dashboard.css"),
    ),
    (
        "notify.js",
        "text/javascript; charset=utf-8",
        built!("notify.js"),
    ),
];

/// `GET /assets/FILE`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
