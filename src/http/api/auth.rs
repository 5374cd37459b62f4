//! Bearer tokens on the admin API: a missing or wrong token is 401, a read-only token asking to
//! change something is 403. Refusals are logged (with the token's first characters only) and
//! counted per client address: after [`MAX_FAILURES`] within [`WINDOW`], that address's invalid
//! tokens get 429 until the window ends (a valid token still passes).

use super::{ApiState, Problem};
use crate::http::limit::PerClient;
use crate::ops::tokens::{self, Access};
use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

/// Refused attempts per client, in windows of [`WINDOW`].
pub fn failures() -> PerClient {
    PerClient::new(WINDOW)
}

/// The token's first characters, for logs: enough to tell which, never enough to use.
fn shown(token: &str) -> String {
    let head: String = token.chars().take(8).collect();
    format!("{head}…")
}

fn unauthorized(detail: &str) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, detail).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The route a request matched (`/lists/{list}/subscribers/{email}`), never the path itself, which
/// may carry an address.
fn route(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "?".into())
}

fn too_many(ip: IpAddr, left: Duration) -> Response {
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many refused tokens from {ip}; try again in {} s",
            left.as_secs() + 1
        ),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&(left.as_secs() + 1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// A valid token always passes; an address that presented too many invalid ones gets 429 (not
/// 401) for the rest of the window, so a guesser learns nothing and other clients on the same
/// host (all of them 127.0.0.1 on a loopback listener) keep working.
pub async fn require_token(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let ip = peer.ip();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let refused = |why: &str| {
        if let Some(left) = state.failures.over(ip, MAX_FAILURES) {
            return too_many(ip, left);
        }
        state.failures.count(ip);
        unauthorized(why)
    };
    let Some(presented) = presented else {
        tracing::warn!(peer = %ip, route = %route(&request), "admin API: no bearer token");
        return refused("this API needs `Authorization: Bearer TOKEN` (herald token create NAME)");
    };
    let access = match tokens::authenticate(&state.store, presented, state.clock.now()).await {
        Ok(Ok((access, name))) => {
            tracing::debug!(token = %name, method = %request.method(), route = %route(&request), "admin API request");
            access
        }
        Ok(Err(refusal)) => {
            tracing::warn!(peer = %ip, token = %shown(presented), ?refusal, "admin API: token refused");
            return refused("the token is not valid (unknown, revoked or mistyped)");
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if access == Access::ReadOnly && !reads {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "this token is read-only; changing something needs a read-write token",
        )
        .into_response();
    }
    next.run(request).await
}
