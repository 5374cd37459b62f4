//! A reader's own pages, reached from the links in every message (the same token as the unsubscribe
//! link, so they show or change only that reader's subscription): `GET /v/TOKEN` is the message in a
//! browser, as it was sent to them; `GET /m/TOKEN` manages the subscription: change the name, leave
//! this list, or leave every list (`POST /m/TOKEN` with `action`). A token that does not verify gets
//! the same 404 as an unknown path.

use super::pages::{failure, form_name, missing, not_found, page};
use crate::{
    clock::SharedClock,
    domain::{DeliveryId, SubscriberStatus, mask},
    render::{PersonalTemplate, Recipient, escape_html},
    store::{Store, StoreError},
    track::{Purpose, Tokens},
};
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};

#[derive(Clone)]
struct ReaderState {
    store: Store,
    tokens: Tokens,
    clock: SharedClock,
    /// `http.public_url` without a trailing slash.
    base: String,
}

pub fn router(store: Store, tokens: Tokens, clock: SharedClock, public_url: &str) -> Router {
    Router::new()
        .route("/v/{token}", get(view))
        .route("/m/{token}", get(manage_page).post(manage))
        .with_state(ReaderState {
            store,
            tokens,
            clock,
            base: public_url.trim_end_matches('/').to_owned(),
        })
}

fn delivery(state: &ReaderState, token: &str) -> Option<DeliveryId> {
    state.tokens.verify(Purpose::Unsubscribe, token)
}

async fn view(State(state): State<ReaderState>, Path(token): Path<String>) -> Response {
    let Some(delivery) = delivery(&state, &token) else {
        return missing();
    };
    let message = match state.store.delivered_message(delivery).await {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return missing(),
        Err(e) => return failure("reader", e),
    };
    let (unsubscribe_url, view_url, manage_url) = (
        format!("{}/u/{token}", state.base),
        format!("{}/v/{token}", state.base),
        format!("{}/m/{token}", state.base),
    );
    let reader = Recipient {
        email: &message.email,
        name: message.name.as_deref(),
        attributes: &message.attributes,
        unsubscribe_url: &unsubscribe_url,
        view_url: &view_url,
        manage_url: &manage_url,
    };
    match PersonalTemplate::compile(&message.html_template) {
        Ok(t) => Html(t.render(&reader, true)).into_response(),
        Err(e) => {
            tracing::error!(delivery_id = %delivery, error = %e, "the stored issue does not compile");
            missing()
        }
    }
}

/// The manage page, with `note` (what was just done) on top.
async fn manage_view(state: &ReaderState, delivery: DeliveryId, note: Option<&str>) -> Response {
    let (recipient, message) = match (
        state.store.recipient_of(delivery).await,
        state.store.delivered_message(delivery).await,
    ) {
        (Ok(r), Ok(m)) => (r, m),
        (Err(StoreError::NotFound(_)), _) | (_, Err(StoreError::NotFound(_))) => return missing(),
        (Err(e), _) | (_, Err(e)) => return failure("reader", e),
    };
    let list = escape_html(&recipient.list_name);
    let note = note
        .map(|n| format!("<p role=\"status\"><strong>{}</strong></p>", escape_html(n)))
        .unwrap_or_default();
    let status = if recipient.status == SubscriberStatus::Active {
        format!(
            "You receive {list} at {}.",
            escape_html(&mask(&recipient.email))
        )
    } else {
        format!("You no longer receive {list} ({}).", recipient.status)
    };
    let leave = if recipient.status == SubscriberStatus::Active {
        format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"leave\">\
             <p><button type=\"submit\">Leave {list}</button></p></form>"
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Your subscription</h1>{note}<p>{status}</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"rename\">\
         <p><label for=\"name\">Your name</label><br>\
         <input id=\"name\" name=\"name\" autocomplete=\"name\" maxlength=\"200\" value=\"{name}\"></p>\
         <p><button type=\"submit\">Save my name</button></p></form>\
         {leave}\
         <form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"leave_all\">\
         <p><button type=\"submit\">Leave every list of this sender</button></p></form>",
        name = escape_html(message.name.as_deref().unwrap_or("")),
    );
    Html(page("Your subscription", &body)).into_response()
}

async fn manage_page(State(state): State<ReaderState>, Path(token): Path<String>) -> Response {
    match delivery(&state, &token) {
        Some(d) => manage_view(&state, d, None).await,
        None => missing(),
    }
}

#[derive(Debug, serde::Deserialize)]
struct ManageForm {
    action: String,
    #[serde(default)]
    name: String,
}

async fn manage(
    State(state): State<ReaderState>,
    Path(token): Path<String>,
    Form(form): Form<ManageForm>,
) -> Response {
    let Some(delivery) = delivery(&state, &token) else {
        return missing();
    };
    let now = state.clock.now();
    let done = match form.action.as_str() {
        "rename" => {
            let name = form_name(&form.name);
            state
                .store
                .rename_by_delivery(delivery, name.as_deref(), now)
                .await
                .map(|()| "Your name is saved.".to_owned())
        }
        "leave" => state
            .store
            .unsubscribe_by_delivery(delivery, now)
            .await
            .map(|_| "You are unsubscribed from this list.".to_owned()),
        "leave_all" => match state.store.recipient_of(delivery).await {
            Ok(r) => state
                .store
                .unsubscribe_everywhere(&r.email, now)
                .await
                .map(|n| format!("You are unsubscribed from every list ({n}).")),
            Err(e) => Err(e),
        },
        _ => return (StatusCode::BAD_REQUEST, Html(not_found())).into_response(),
    };
    match done {
        Ok(note) => {
            tracing::info!(delivery_id = %delivery, action = %form.action, "reader changed their subscription");
            manage_view(&state, delivery, Some(&note)).await
        }
        Err(StoreError::NotFound(_)) => missing(),
        Err(e) => failure("reader", e),
    }
}
