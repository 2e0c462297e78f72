//! What every response carries (a strict Content-Security-Policy: no
//! inline or eval'd script, and the usual hardening headers) and the
//! origin check that refuses cross-origin WebSocket upgrades and
//! cookie-authenticated API writes.
//!
//! Must not authenticate anyone: it only compares origins and adds headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::gateway::App;

/// Scripts and connections only from this origin; no inline or eval'd
/// script, no plugins, no framing. Inline styles are allowed because
/// xterm.js sizes its rows and applies themes with `<style>` elements it
/// creates; styles cannot run code.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn headers(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A response may bring a stricter policy of its own (a shown file's).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Sign-in URLs carry tokens: never send them on as a referrer.
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if app.config.web.public_url.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Whether a request may act for a browser's cookie: it has no `Origin`
/// (not sent by a browser's cross-site script), or its origin is the
/// public URL's, or it names the host the request was sent to.
pub fn same_origin(app: &App, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(&public_origin(&app.config.web.public_url)) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    !host.is_empty() && authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Whether a form post comes from one of our own pages. Browsers send
/// `Origin: null` with form posts from a page whose referrer policy is
/// `no-referrer` (ours), so the origin cannot tell; `Sec-Fetch-Site` can,
/// and every current browser sends it. Without it, the origin decides.
pub fn form_from_our_pages(app: &App, headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").map(|v| v.to_str()) {
        Some(Ok(site)) => site == "same-origin" || site == "none",
        Some(Err(_)) => false,
        None => same_origin(app, headers),
    }
}

/// `scheme://host[:port]` of a URL (its origin as a browser writes it).
fn public_origin(public_url: &str) -> String {
    match url::Url::parse(public_url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => public_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_written_as_browsers_write_them() {
        assert_eq!(
            public_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            public_origin("https://foyer.example/prefix"),
            "https://foyer.example"
        );
        assert_eq!(
            public_origin("https://foyer.example:443"),
            "https://foyer.example"
        );
    }
}
