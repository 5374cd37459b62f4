//! A list's public archive (`list create|update --archive on`): `/a/LIST` lists its sent issues,
//! `/a/LIST/ID` shows one as a reader without a name would get it (no address, no token, the
//! unsubscribe link pointing back to the archive), and `/a/LIST/feed.xml` is an Atom feed of them.
//! A list without an archive, or an issue not sent, is the same 404 as an unknown path.

use super::pages::{failure, missing, page};
use crate::{
    domain::{IssueId, ListSlug},
    render::{PersonalTemplate, Recipient, escape_html},
    store::{Issue, List, Store, StoreError},
};
use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use std::collections::BTreeMap;

#[derive(Clone)]
struct ArchiveState {
    store: Store,
    /// `http.public_url`, without a trailing slash: the feed's links are absolute.
    base: String,
}

pub fn router(store: Store, public_url: &str) -> Router {
    Router::new()
        .route("/a/{list}", get(index))
        .route("/a/{list}/feed.xml", get(feed))
        .route("/a/{list}/{id}", get(issue))
        .with_state(ArchiveState {
            store,
            base: public_url.trim_end_matches('/').to_owned(),
        })
}

/// The list, if it exists and shows its archive.
async fn archived(state: &ArchiveState, slug: &str) -> Result<List, Response> {
    let Ok(slug) = ListSlug::parse(slug) else {
        return Err(missing());
    };
    match state.store.list(&slug).await {
        Ok(list) if list.archive => Ok(list),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(failure("archive", e)),
    }
}

/// The list (showing its archive) and its sent issues, newest first.
async fn archive_of(state: &ArchiveState, slug: &str) -> Result<(List, Vec<Issue>), Response> {
    let list = archived(state, slug).await?;
    let issues = state
        .store
        .sent_issues(list.id)
        .await
        .map_err(|e| failure("archive", e))?;
    Ok((list, issues))
}

fn date(issue: &Issue) -> chrono::DateTime<chrono::Utc> {
    issue
        .finished_at
        .or(issue.started_at)
        .unwrap_or(issue.queued_at)
}

async fn index(State(state): State<ArchiveState>, Path(slug): Path<String>) -> Response {
    let (list, issues) = match archive_of(&state, &slug).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let name = escape_html(&list.name);
    let mut body = format!(
        "<h1>{name}</h1><p><a href=\"/a/{slug}/feed.xml\">Atom feed</a></p>",
        slug = list.slug
    );
    if issues.is_empty() {
        body.push_str("<p>No issue has been sent yet.</p>");
    } else {
        body.push_str("<ul>");
        for i in &issues {
            body.push_str(&format!(
                "<li><a href=\"/a/{}/{}\">{}</a> <small>{}</small></li>",
                list.slug,
                i.id,
                escape_html(&i.subject),
                date(i).format("%Y-%m-%d")
            ));
        }
        body.push_str("</ul>");
    }
    let mut response = Html(page(&list.name, &body)).into_response();
    response.headers_mut().insert(
        header::LINK,
        header::HeaderValue::from_str(&format!(
            "</a/{}/feed.xml>; rel=\"alternate\"; type=\"application/atom+xml\"",
            list.slug
        ))
        .expect("an ASCII header"),
    );
    response
}

async fn issue(
    State(state): State<ArchiveState>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let list = match archived(&state, &slug).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<IssueId>() else {
        return missing();
    };
    let issue = match state.store.issue(id).await {
        Ok(i) if i.list_id == list.id && i.state == crate::domain::IssueState::Sent => i,
        Ok(_) | Err(StoreError::NotFound(_)) => return missing(),
        Err(e) => return failure("archive", e),
    };
    // Nobody's name, address or token: every placeholder takes its default, and the reader's links
    // (there is nothing to unsubscribe from here) lead back to the archive.
    let attributes = BTreeMap::new();
    let back = format!("{}/a/{}", state.base, list.slug);
    let anonymous = Recipient {
        email: "",
        name: None,
        attributes: &attributes,
        unsubscribe_url: &back,
        view_url: &back,
        manage_url: &back,
    };
    match PersonalTemplate::compile(&issue.html_template) {
        Ok(t) => Html(t.render(&anonymous, true)).into_response(),
        Err(e) => {
            tracing::error!(issue_id = %issue.id, error = %e, "archive: the stored issue does not compile");
            missing()
        }
    }
}

/// Text escaped for XML (the same five entities as HTML).
fn xml(text: &str) -> String {
    escape_html(text).into_owned()
}

async fn feed(State(state): State<ArchiveState>, Path(slug): Path<String>) -> Response {
    let (list, issues) = match archive_of(&state, &slug).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let home = format!("{}/a/{}", state.base, list.slug);
    let updated = issues
        .first()
        .map(date)
        .unwrap_or(list.created_at)
        .to_rfc3339();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n\
         <title>{title}</title>\n<id>{home}</id>\n<updated>{updated}</updated>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{home}\"/>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{home}/feed.xml\"/>\n\
         <author><name>{author}</name></author>\n",
        lang = xml(list.language.as_str()),
        title = xml(&list.name),
        home = xml(&home),
        author = xml(list.from.name.as_deref().unwrap_or(&list.name)),
    );
    for i in &issues {
        let link = format!("{home}/{}", i.id);
        out.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>{}</id>\n<updated>{}</updated>\n\
             <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml(&i.subject),
            xml(&link),
            date(i).to_rfc3339(),
            xml(&link),
        ));
        if let Some(p) = &i.preheader {
            out.push_str(&format!("<summary>{}</summary>\n", xml(p)));
        }
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response()
}
