//! Files in and out over HTTP (SPEC §7): `POST
//! /api/sessions/OWNER/NAME/uploads?name=FILE` (the body is the file; at
//! most `web.upload_max`, else 413 with nothing written) answers
//! `{"path": …}`, and `GET /api/sessions/OWNER/NAME/files?path=REL`
//! answers a directory's listing as JSON or a file's bytes with its
//! content type. Writers only: readers and guests get 403.
//!
//! Must not touch files itself: `gateway::files` does, as the session's
//! user. File bytes are served so that the browser never runs them (a
//! sandboxing policy, no sniffing, attachments for what is not text or a
//! picture).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::api_caller::{user, writable};
use super::auth;
use super::error::ApiError;
use crate::gateway::files::{self, FilesError, Viewed};
use crate::gateway::{App, SessionEntry};
use crate::runtime::as_user::RunAsError;

/// What a shown file may do in the browser: nothing (no script, no
/// forms, no plugins), only show itself.
const FILE_POLICY: &str = "sandbox; default-src 'none'; img-src 'self' data:; \
     style-src 'unsafe-inline'";

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sessions/{owner}/{name}/uploads", post(upload))
        .route("/sessions/{owner}/{name}/files", get(view))
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

/// `POST …/uploads?name=FILE`: saves the body among the session's uploads.
async fn upload(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (who, entry) = writer(&app, &headers, (&owner, &name), "upload to", true).await?;
    let max = app.live.borrow().upload_max;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(too_large(max));
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|error| body_refused(&error, max))?;
    let requested = query.name.unwrap_or_default();
    let path = files::upload(&app, &who, &entry, &requested, bytes)
        .await
        .map_err(|error| files_refused(&entry, error))?;
    Ok(Json(serde_json::json!({ "path": path })).into_response())
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the file is larger than web.upload_max ({max} bytes)"),
    )
}

/// The body stopped short: too large, or the client went away.
fn body_refused(error: &axum::Error, max: u64) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(found) = cause {
        if found.is::<http_body_util::LengthLimitError>() {
            return too_large(max);
        }
        cause = found.source();
    }
    ApiError::new(StatusCode::BAD_REQUEST, "the upload did not arrive whole")
}

#[derive(Debug, Deserialize)]
struct ViewQuery {
    path: Option<String>,
}

/// `GET …/files?path=REL`: a directory's listing or a file's bytes.
async fn view(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<ViewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, entry) = writer(&app, &headers, (&owner, &name), "view the files of", false).await?;
    let requested = query.path.unwrap_or_default();
    let viewed = files::view(&app, &entry, &requested)
        .await
        .map_err(|error| files_refused(&entry, error))?;
    Ok(match viewed {
        Viewed::Directory {
            root,
            path,
            entries,
            truncated,
        } => Json(serde_json::json!({
            "root": root,
            "path": path,
            "entries": entries,
            "truncated": truncated,
        }))
        .into_response(),
        Viewed::File { path, bytes } => file_response(&path, bytes),
    })
}

/// The signed-in user's name and the session, if they may write to it;
/// a guest link's holder (who can only watch) gets 403 too.
async fn writer(
    app: &App,
    headers: &HeaderMap,
    (owner, name): (&str, &str),
    verb: &str,
    writes: bool,
) -> Result<(String, SessionEntry), ApiError> {
    let signed = match user(app, headers, writes).await {
        Ok(signed) => signed,
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            let guest = auth::guest(app, headers)
                .await
                .map_err(ApiError::internal)?;
            return Err(match guest {
                Some(_) => ApiError::new(StatusCode::FORBIDDEN, "guests can only watch"),
                None => error,
            });
        }
        Err(error) => return Err(error),
    };
    let entry = writable(app, &signed, (owner, name), verb).await?;
    Ok((signed.name, entry))
}

/// A file's bytes as the browser should take them.
fn file_response(path: &str, bytes: Vec<u8>) -> Response {
    let kind = content_type(&bytes);
    let file_name = path.rsplit('/').next().unwrap_or("file");
    let disposition = if kind == "application/octet-stream" {
        "attachment"
    } else {
        "inline"
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_POLICY),
    );
    let encoded: String = url_encoded(file_name);
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{encoded}"))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// What a file is, from its bytes: the pictures the page shows, UTF-8
/// text, or anything else.
pub fn content_type(bytes: &[u8]) -> &'static str {
    let pictures: [(&[u8], &'static str); 4] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"RIFF", "image/webp"),
    ];
    for (magic, kind) in pictures {
        let webp_ok = kind != "image/webp" || bytes.get(8..12) == Some(b"WEBP".as_slice());
        if bytes.starts_with(magic) && webp_ok {
            return kind;
        }
    }
    if std::str::from_utf8(bytes).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// `name` percent-encoded for a `filename*` parameter.
fn url_encoded(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// How a refusal of the file view or an upload is answered.
fn files_refused(entry: &SessionEntry, error: FilesError) -> ApiError {
    let status = match &error {
        FilesError::Path(files::PathRefusal::Control) => StatusCode::BAD_REQUEST,
        FilesError::Path(_)
        | FilesError::Outside(_)
        | FilesError::Unreadable { .. }
        | FilesError::NotAFile { .. } => StatusCode::FORBIDDEN,
        FilesError::NotFound(_) => StatusCode::NOT_FOUND,
        FilesError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        FilesError::NoDirectory => StatusCode::CONFLICT,
        FilesError::Runtime(RunAsError::Docker(_)) => StatusCode::SERVICE_UNAVAILABLE,
        FilesError::CannotWrite { .. }
        | FilesError::MissingTools(_)
        | FilesError::Runtime(_)
        | FilesError::Helper { .. } => {
            tracing::warn!(session = %entry.label(), %error, "file request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    ApiError::new(status, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\nrest"), "image/png");
        assert_eq!(content_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(content_type(b"RIFF1234WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"RIFF1234WAVE"), "text/plain; charset=utf-8");
        assert_eq!(
            content_type("héllo <svg>".as_bytes()),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(b"\x00\xff\xfe"), "application/octet-stream");
    }

    #[test]
    fn file_names_are_encoded_for_the_header() {
        assert_eq!(url_encoded("a b\"é.txt"), "a%20b%22%C3%A9.txt");
    }
}
