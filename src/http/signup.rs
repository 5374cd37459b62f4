//! The signup form and its double opt-in. `GET /s/LIST` shows the form (a list with `--signup on`
//! only); `POST /s/LIST` (a plain HTML form post, from herald's page or from any other site) records
//! a pending signup and has its confirmation mailed, then shows "check your inbox" or redirects to
//! the list's thanks page. `GET /c/TOKEN` shows a button (mail scanners follow links, so GET never
//! confirms); `POST /c/TOKEN` makes the address an active subscriber. A hidden `website` field
//! catches form-filling bots: filled in, the post is answered as usual and nothing is stored; so is a
//! signup of an address suppressed on every list. Each client (an IPv4 address or an IPv6 /64) may
//! sign up `subscribe.per_ip_per_hour` times an hour; behind a reverse proxy that is the proxy's
//! allowance, shared by everyone.

use super::{
    limit::PerClient,
    pages::{failure, form_name, missing, page},
};
use crate::{
    clock::SharedClock,
    config::Config,
    domain::{ListSlug, mask},
    render::escape_html,
    store::{List, Store, StoreError},
    track::Tokens,
};
use axum::{
    Form, Router,
    extract::{ConnectInfo, Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio::sync::Notify;

#[derive(Clone)]
struct SignupState {
    store: Store,
    config: Arc<Config>,
    tokens: Tokens,
    clock: SharedClock,
    /// Wakes the confirmation mailer.
    mailer: Arc<Notify>,
    /// Signups per client address in the current hour.
    recent: Arc<PerClient>,
}

pub fn router(
    store: Store,
    config: Arc<Config>,
    tokens: Tokens,
    clock: SharedClock,
    mailer: Arc<Notify>,
) -> Router {
    Router::new()
        .route("/s/{list}", get(form).post(sign_up))
        .route("/c/{token}", get(confirm_page).post(confirm))
        .with_state(SignupState {
            store,
            config,
            tokens,
            clock,
            mailer,
            recent: Arc::new(PerClient::new(Duration::from_secs(3600))),
        })
}

#[derive(Debug, Default, serde::Deserialize)]
struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    /// The honeypot: hidden from people, filled in by bots.
    #[serde(default)]
    website: String,
}

/// The list, if it exists and its form is open.
async fn open_list(state: &SignupState, slug: &str) -> Result<List, Response> {
    let Ok(slug) = ListSlug::parse(slug) else {
        return Err(missing());
    };
    match state.store.list(&slug).await {
        Ok(list) if list.signup => Ok(list),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(failure("signup", e)),
    }
}

fn form_page(list: &List, values: &SignupForm, error: Option<&str>) -> String {
    let name = escape_html(&list.name);
    let error = error
        .map(|e| format!("<p role=\"alert\" class=\"error\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    page(
        &format!("Subscribe to {}", list.name),
        &format!(
            "<h1>Subscribe to {name}</h1>{error}\
             <form method=\"post\" action=\"/s/{slug}\">\
             <p><label for=\"name\">Name (optional)</label><br>\
             <input id=\"name\" name=\"name\" autocomplete=\"name\" maxlength=\"200\" value=\"{n}\"></p>\
             <p><label for=\"email\">Email address</label><br>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required maxlength=\"254\" value=\"{e}\"></p>\
             <p class=\"hp\" aria-hidden=\"true\"><label for=\"website\">Leave this empty</label>\
             <input id=\"website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></p>\
             <p><button type=\"submit\">Subscribe</button></p></form>\
             <p><small>We will send you a link to confirm. Nothing is sent to you before you do.</small></p>",
            slug = list.slug,
            n = escape_html(&values.name),
            e = escape_html(&values.email),
        ),
    )
}

async fn form(State(state): State<SignupState>, Path(slug): Path<String>) -> Response {
    match open_list(&state, &slug).await {
        Ok(list) => Html(form_page(&list, &SignupForm::default(), None)).into_response(),
        Err(r) => r,
    }
}

/// Counts a signup from `ip`; false when it is over the hourly allowance.
fn allowed(state: &SignupState, ip: IpAddr) -> bool {
    state.recent.count(ip) <= state.config.subscribe.per_ip_per_hour
}

fn done(list: &List, days: u32) -> Response {
    match &list.thanks_url {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url.clone())]).into_response(),
        None => Html(page(
            "Check your inbox",
            &format!(
                "<h1>Check your inbox</h1><p>We sent a link to confirm your subscription to {}. \
                 It is valid for {} days.</p>",
                escape_html(&list.name),
                days
            ),
        ))
        .into_response(),
    }
}

async fn sign_up(
    State(state): State<SignupState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Form(values): Form<SignupForm>,
) -> Response {
    let list = match open_list(&state, &slug).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    if !allowed(&state, peer.ip()) {
        tracing::warn!(peer = %peer.ip(), list = %list.slug, "signup refused: too many from one address");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3600")],
            Html(page(
                "Too many signups",
                "<h1>Too many signups from your network</h1><p>Please try again in an hour.</p>",
            )),
        )
            .into_response();
    }
    if !values.website.is_empty() {
        // A bot: answered like anyone, nothing stored, nothing mailed.
        tracing::info!(peer = %peer.ip(), list = %list.slug, "signup ignored: the hidden field was filled in");
        return done(&list, state.config.subscribe.pending_days);
    }
    let email = match crate::ops::subscribers::address(&state.config, values.email.trim()) {
        Ok(e) => e,
        Err(_) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(form_page(
                    &list,
                    &values,
                    Some("That does not look like an email address. Please check it."),
                )),
            )
                .into_response();
        }
    };
    // An address stopped on every list (bounced, complained) is not mailed a confirmation: answered
    // like any other, nothing stored.
    match state.store.is_suppressed(&email).await {
        Ok(true) => {
            tracing::info!(to = %mask(email.as_str()), list = %list.slug, "signup not mailed: the address is suppressed");
            return done(&list, state.config.subscribe.pending_days);
        }
        Ok(false) => {}
        Err(e) => return failure("signup", e),
    }
    let name = form_name(&values.name);
    match state
        .store
        .create_signup(list.id, &email, name.as_deref(), state.clock.now())
        .await
    {
        Ok(id) => {
            tracing::info!(signup = id, to = %mask(email.as_str()), list = %list.slug, "signup waiting for its confirmation");
            state.mailer.notify_one();
            done(&list, state.config.subscribe.pending_days)
        }
        Err(e) => failure("signup", e),
    }
}

async fn confirm_page(State(state): State<SignupState>, Path(token): Path<String>) -> Response {
    let Some(id) = state.tokens.verify_signup(&token) else {
        return missing();
    };
    let signup = match state.store.signup(id).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => return expired(),
        Err(e) => return failure("signup", e),
    };
    let list = match state.store.list_by_id(signup.list_id).await {
        Ok(l) => l,
        Err(_) => return missing(),
    };
    let name = escape_html(&list.name);
    let body = if signup.confirmed_at.is_some() {
        format!("<h1>This link has been used</h1><p>The subscription to {name} was confirmed.</p>")
    } else {
        format!(
            "<h1>Confirm your subscription</h1><p>Subscribe {} to {name}?</p>\
             <form method=\"post\"><button type=\"submit\">Confirm my subscription</button></form>",
            escape_html(&mask(&signup.email))
        )
    };
    Html(page(&format!("Subscribe to {}", list.name), &body)).into_response()
}

async fn confirm(State(state): State<SignupState>, Path(token): Path<String>) -> Response {
    let Some(id) = state.tokens.verify_signup(&token) else {
        return missing();
    };
    match state.store.confirm_signup(id, state.clock.now()).await {
        Ok(confirmed) => {
            let list = match state.store.list_by_id(confirmed.list_id).await {
                Ok(l) => l,
                Err(_) => return missing(),
            };
            tracing::info!(signup = id, list = %list.slug, was = ?confirmed.was, "signup confirmed");
            Html(page(
                "Subscribed",
                &format!(
                    "<h1>You are subscribed</h1><p>The next issue of {} will come to you.</p>",
                    escape_html(&list.name)
                ),
            ))
            .into_response()
        }
        Err(StoreError::NotFound(_)) => expired(),
        Err(e) => failure("signup", e),
    }
}

fn expired() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Link expired",
            "<h1>This link has expired</h1><p>Please sign up again.</p>",
        )),
    )
        .into_response()
}
