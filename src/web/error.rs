//! Errors of the JSON API: a status and one line, sent as
//! `{"error": "…"}`.
//!
//! Must not carry internal detail to the client beyond the line: causes
//! are logged where they happen.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::Refusal;
use crate::gateway::create::StartError;

/// An API error: the status and the message the client sees.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not signed in: send Authorization: Bearer TOKEN (from `ssh HOST token create`)",
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "web request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Unauthenticated => ApiError::unauthenticated(),
            Refusal::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, refusal.to_string()),
            Refusal::Store(error) => ApiError::internal(error),
        }
    }
}

impl From<StartError> for ApiError {
    fn from(error: StartError) -> ApiError {
        let status = match &error {
            StartError::InvalidName(_) | StartError::NoPreset(_) | StartError::NoDirectory(_) => {
                StatusCode::BAD_REQUEST
            }
            StartError::NameTaken(_) => StatusCode::CONFLICT,
            StartError::PresetsOnly | StartError::TooMany(_) => StatusCode::FORBIDDEN,
            StartError::Failed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}
