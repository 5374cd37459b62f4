//! `GET /u/TOKEN` asks the reader to confirm (mail scanners fetch links, so GET never unsubscribes);
//! `POST /u/TOKEN` unsubscribes, whether from the page's form or from a mailbox provider's RFC 8058
//! one-click request (`List-Unsubscribe=One-Click`). It answers 200 with no redirect and is idempotent.
//! A token that does not verify gets the same plain 404 as an unknown path.

use super::pages::{failure, missing, page};
use crate::{
    clock::SharedClock,
    domain::{DeliveryId, mask},
    render::escape_html,
    store::{Store, StoreError},
    track::{Purpose, Tokens},
};
use axum::{
    Router,
    extract::{Path, State},
    response::{Html, IntoResponse, Response},
    routing::get,
};

#[derive(Clone)]
struct AppState {
    store: Store,
    tokens: Tokens,
    clock: SharedClock,
}

/// `/u/TOKEN`.
pub fn router(store: Store, tokens: Tokens, clock: SharedClock) -> Router {
    Router::new()
        .route("/u/{token}", get(confirm_page).post(unsubscribe))
        .with_state(AppState {
            store,
            tokens,
            clock,
        })
}

fn verify(state: &AppState, token: &str) -> Option<DeliveryId> {
    state.tokens.verify(Purpose::Unsubscribe, token)
}

async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(delivery) = verify(&state, &token) else {
        return missing();
    };
    match state.store.recipient_of(delivery).await {
        Ok(r) => {
            let list = escape_html(&r.list_name);
            let body = if r.status == crate::domain::SubscriberStatus::Active {
                format!(
                    "<h1>Unsubscribe from {list}?</h1><p>{} will receive no more issues of {list}.</p>\
                     <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                    escape_html(&mask(&r.email))
                )
            } else {
                format!(
                    "<h1>You are unsubscribed</h1><p>You will receive no more issues of {list}.</p>"
                )
            };
            Html(page(&format!("Unsubscribe from {}", r.list_name), &body)).into_response()
        }
        Err(StoreError::NotFound(_)) => missing(),
        Err(e) => failure("unsubscribe", e),
    }
}

async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(delivery) = verify(&state, &token) else {
        return missing();
    };
    let recipient = match state.store.recipient_of(delivery).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return missing(),
        Err(e) => return failure("unsubscribe", e),
    };
    match state
        .store
        .unsubscribe_by_delivery(delivery, state.clock.now())
        .await
    {
        Ok(changed) => {
            if changed {
                tracing::info!(delivery_id = %delivery, to = %mask(&recipient.email), "unsubscribed");
            }
            let list = escape_html(&recipient.list_name);
            Html(page(
                "Unsubscribed",
                &format!(
                    "<h1>You are unsubscribed</h1><p>You will receive no more issues of {list}.</p>"
                ),
            ))
            .into_response()
        }
        Err(e) => failure("unsubscribe", e),
    }
}
