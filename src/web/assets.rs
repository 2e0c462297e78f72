//! Static files built into the binary by build.rs: xterm.js, its CSS and
//! its addons (fit, Unicode 11 widths, web links; from npm, pinned by
//! web/package-lock.json), and our own page script and style sheet
//! (web/foyer.js, web/foyer.css; the dashboard's web/dashboard.js,
//! web/dashboard.css; web/notify.js; files in and out on the terminal
//! page, web/uploads.js and web/files.js). Each is served with a strong ETag (a
//! hash of its bytes) that answers `If-None-Match` with 304, and gzipped
//! when the request accepts it; both are worked out once, on first use,
//! on a blocking thread.
//!
//! Must not read files at run time: what is served is what was built.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

macro_rules! built {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/web/", $name))
    };
}

/// Why the npm assets are missing from this build; empty when they are in.
pub const MISSING: &str = include_str!(concat!(env!("OUT_DIR"), "/web/missing.txt"));

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// (name under /assets/, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    ("xterm.js", JS, built!("xterm.js")),
    ("xterm.css", CSS, built!("xterm.css")),
    ("addon-fit.js", JS, built!("addon-fit.js")),
    ("addon-unicode11.js", JS, built!("addon-unicode11.js")),
    ("addon-web-links.js", JS, built!("addon-web-links.js")),
    ("foyer.js", JS, built!("foyer.js")),
    ("foyer.css", CSS, built!("foyer.css")),
    ("dashboard.js", JS, built!("dashboard.js")),
    ("dashboard.css", CSS, built!("dashboard.css")),
    ("notify.js", JS, built!("notify.js")),
    ("uploads.js", JS, built!("uploads.js")),
    ("files.js", JS, built!("files.js")),
];

/// What is worked out once for each of [`FILES`], in the same order.
struct Prepared {
    /// The ETag of the bytes as built, quoted.
    etag: String,
    /// The gzipped bytes and their ETag, when gzip makes them smaller.
    gzip: Option<(Vec<u8>, String)>,
}

fn prepare(bytes: &[u8]) -> Prepared {
    let hash = Sha256::digest(bytes);
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gzipped = encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .ok()
        .filter(|gz| gz.len() < bytes.len());
    Prepared {
        etag: format!("\"{hex}\""),
        gzip: gzipped.map(|gz| (gz, format!("\"{hex}-gz\""))),
    }
}

static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();

fn prepared() -> &'static [Prepared] {
    PREPARED.get_or_init(|| FILES.iter().map(|(_, _, bytes)| prepare(bytes)).collect())
}

/// [`prepared`], made off the async workers the first time (gzipping
/// xterm.js takes a moment).
async fn prepared_async() -> &'static [Prepared] {
    if let Some(done) = PREPARED.get() {
        return done;
    }
    match tokio::task::spawn_blocking(prepared).await {
        Ok(done) => done,
        Err(_) => prepared(),
    }
}

/// Whether an `Accept-Encoding` value allows gzip (`gzip` or `*`, with a
/// q-value above zero).
fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        if !coding.eq_ignore_ascii_case("gzip") && coding != "*" {
            return false;
        }
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .next()
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0);
        q > 0.0
    })
}

/// Whether an `If-None-Match` value names `etag` (weakly compared), or is `*`.
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == etag
    })
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// `GET /assets/FILE`.
pub async fn serve(Path(file): Path<String>, request: HeaderMap) -> Response {
    let Some(index) = FILES.iter().position(|(name, _, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let (_, content_type, bytes) = FILES[index];
    let prepared = &prepared_async().await[index];
    let gzip = prepared
        .gzip
        .as_ref()
        .filter(|_| accepts_gzip(header_text(&request, header::ACCEPT_ENCODING)));
    let (body, etag): (&'static [u8], &str) = match gzip {
        Some((gz, etag)) => (gz.as_slice(), etag),
        None => (bytes, &prepared.etag),
    };
    let mut headers = HeaderMap::new();
    // Kept, but asked about again on each use: a new build's files are
    // seen at once, and an unchanged one costs a 304.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if matches(header_text(&request, header::IF_NONE_MATCH), etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if gzip.is_some() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip;q=nonsense"));
        assert!(!accepts_gzip("gzipx"));
    }

    #[test]
    fn if_none_match_names_the_tag_or_anything() {
        assert!(matches("\"abc\"", "\"abc\""));
        assert!(matches("W/\"abc\"", "\"abc\""));
        assert!(matches("\"x\", \"abc\"", "\"abc\""));
        assert!(matches("*", "\"abc\""));
        assert!(!matches("", "\"abc\""));
        assert!(!matches("\"abc-gz\"", "\"abc\""));
    }

    #[test]
    fn every_file_has_a_distinct_etag_and_gzip_round_trips() {
        use std::io::Read;
        let prepared = prepared();
        assert_eq!(prepared.len(), FILES.len());
        for ((name, _, bytes), prepared) in FILES.iter().zip(prepared) {
            assert_eq!(prepared.etag.len(), 26, "{name}");
            if let Some((gz, etag)) = &prepared.gzip {
                assert_ne!(etag, &prepared.etag);
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(gz.as_slice())
                    .read_to_end(&mut plain)
                    .unwrap();
                assert_eq!(&plain, bytes, "{name}");
            }
        }
        // Our own files are in every build (npm's may be empty).
        let own = |name: &str| FILES.iter().position(|(n, _, _)| *n == name).unwrap();
        assert_ne!(
            prepared[own("foyer.js")].etag,
            prepared[own("foyer.css")].etag
        );
    }
}
