//! RFC 9457 problem details: every error of the admin API is `application/problem+json` with a
//! status, a title, and a detail naming what is wrong (and, for a refused field, which one).

use crate::ops::OpsError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `about:blank`: the status and title say it all (RFC 9457 §4.2.1).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The request member that was refused, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The error responses every operation may give, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// A refused request: 401 no valid token, 403 read-only token, 404, 409, 415, 422 (with `field`),
    /// 429 too many refused tokens.
    #[response(status = "4XX", content_type = "application/problem+json")]
    Client(Problem),
    #[response(status = "5XX", content_type = "application/problem+json")]
    Server(Problem),
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<OpsError> for Problem {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Invalid { field, message } => Self {
                field: Some(field.clone()),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{field}: {message}"),
                )
            },
            OpsError::Unprocessable(why) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, why),
            OpsError::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            OpsError::Conflict(why) => Self::new(StatusCode::CONFLICT, why),
            OpsError::Internal(why) => {
                tracing::error!(error = %why, "admin API: internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, why)
            }
            OpsError::Store(e) => {
                tracing::error!(error = %e, "admin API: database error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the database could not carry out the request; see the daemon's log",
                )
            }
        }
    }
}
