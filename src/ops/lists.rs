//! List operations: create, update, show, list. Raw values from the CLI's flags or the API's JSON
//! are parsed here into domain types, once.

use super::error::{OpsError, field};
use crate::{
    config::Config,
    domain::{CronSchedule, EmailAddress, LanguageTag, ListSlug, Mailbox, PostalAddress},
    render::Layouts,
    store::{List, ListSummary, ListUpdate, NewList, Store},
};
use chrono::{DateTime, Utc};

/// A new list as given: `herald list create` flags, or `POST /api/v1/lists`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateList {
    pub slug: String,
    pub name: String,
    /// "Name <address>" used in From.
    pub from: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// 5-field cron pattern for sending slots.
    #[serde(default)]
    pub schedule: Option<String>,
    /// IANA time zone the schedule is read in (default: `scheduler.timezone`).
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default = "default_layout")]
    pub layout: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// Lines separated by line breaks.
    #[serde(default)]
    pub postal_address: Option<String>,
    /// Show sent issues publicly at /a/LIST, with an Atom feed.
    #[serde(default)]
    pub archive: bool,
    /// Open the signup form at /s/LIST (double opt-in).
    #[serde(default)]
    pub signup: bool,
    /// Where the form sends people after they sign up (an http or https URL).
    #[serde(default)]
    pub thanks_url: Option<String>,
}

fn default_layout() -> String {
    "default".into()
}

fn default_language() -> String {
    "en".into()
}

/// Changes to a list: `herald list update` flags, or `PATCH /api/v1/lists/{list}`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateList {
    #[serde(default)]
    pub language: Option<String>,
    /// "" removes the address.
    #[serde(default)]
    pub postal_address: Option<String>,
    #[serde(default)]
    pub archive: Option<bool>,
    #[serde(default)]
    pub signup: Option<bool>,
    /// "" removes it.
    #[serde(default)]
    pub thanks_url: Option<String>,
}

/// A list as `create`, `update` and `show` return it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ListView {
    pub slug: String,
    pub name: String,
    pub from: String,
    pub reply_to: Option<String>,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub next_slot: Option<String>,
    pub layout: String,
    pub language: String,
    /// Lines joined by `\n`.
    pub postal_address: Option<String>,
    pub archive: bool,
    pub signup: bool,
    pub thanks_url: Option<String>,
}

impl ListView {
    pub fn new(list: &List, now: DateTime<Utc>) -> Self {
        Self {
            slug: list.slug.to_string(),
            name: list.name.clone(),
            from: list.from.to_string(),
            reply_to: list.reply_to.as_ref().map(|a| a.to_string()),
            schedule: list.schedule.as_ref().map(|s| s.pattern().to_owned()),
            timezone: list.schedule.as_ref().map(|s| s.zone().to_owned()),
            next_slot: list
                .schedule
                .as_ref()
                .and_then(|s| s.next_after(now))
                .map(|t| t.to_rfc3339()),
            layout: list.layout.clone(),
            language: list.language.to_string(),
            postal_address: list.postal_address.as_ref().map(|a| a.to_string()),
            archive: list.archive,
            signup: list.signup,
            thanks_url: list.thanks_url.clone(),
        }
    }
}

/// What `create` did, and what the operator should know about it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub list: ListView,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A thanks page: an absolute http(s) URL.
fn thanks_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw.len() > "https://".len()
        && !raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!("`{raw}` is not an http or https URL"))
    }
}

/// A list slug from outside.
pub fn slug(raw: &str) -> Result<ListSlug, OpsError> {
    ListSlug::parse(raw).map_err(|e| OpsError::invalid("slug", e))
}

pub async fn create(
    store: &Store,
    config: &Config,
    input: CreateList,
    now: DateTime<Utc>,
) -> Result<Created, OpsError> {
    let slug = slug(&input.slug)?;
    if input.name.trim().is_empty() {
        return Err(OpsError::invalid("name", "must not be empty"));
    }
    let from = Mailbox::parse(&input.from).map_err(|e| OpsError::invalid("from", e))?;
    let reply_to = field("reply_to", input.reply_to.as_deref(), EmailAddress::parse)?;
    let zone = input
        .timezone
        .as_deref()
        .unwrap_or(&config.scheduler.timezone);
    let schedule = field("schedule", input.schedule.as_deref(), |s| {
        CronSchedule::parse(s, zone)
    })?;
    let language =
        LanguageTag::parse(&input.language).map_err(|e| OpsError::invalid("language", e))?;
    let postal_address = field(
        "postal_address",
        input.postal_address.as_deref(),
        PostalAddress::parse,
    )?;
    Layouts::new(&config.render.templates_dir)
        .load(&input.layout)
        .map_err(|e| OpsError::invalid("layout", format!("{e:#}")))?;
    let list = store
        .create_list(
            &NewList {
                slug,
                name: input.name,
                from,
                reply_to,
                schedule,
                layout: input.layout,
                language,
                postal_address,
                archive: input.archive,
                signup: input.signup,
                thanks_url: field("thanks_url", input.thanks_url.as_deref(), thanks_url)?,
            },
            now,
        )
        .await?;
    let mut notes = Vec::new();
    if list.postal_address.is_none() {
        notes.push(format!(
            "list {} has no postal address; many jurisdictions require one in commercial mail \
             (herald list update {} --postal-address …)",
            list.slug, list.slug
        ));
    }
    Ok(Created {
        list: ListView::new(&list, now),
        notes,
    })
}

pub async fn update(
    store: &Store,
    list: &str,
    input: UpdateList,
    now: DateTime<Utc>,
) -> Result<ListView, OpsError> {
    let slug = slug(list)?;
    let update = ListUpdate {
        language: field("language", input.language.as_deref(), LanguageTag::parse)?,
        // An empty value removes the address.
        postal_address: field("postal_address", input.postal_address.as_deref(), |a| {
            (!a.trim().is_empty())
                .then(|| PostalAddress::parse(a))
                .transpose()
        })?,
        archive: input.archive,
        signup: input.signup,
        thanks_url: field("thanks_url", input.thanks_url.as_deref(), |u| {
            (!u.trim().is_empty()).then(|| thanks_url(u)).transpose()
        })?,
    };
    if update.language.is_none()
        && update.postal_address.is_none()
        && update.archive.is_none()
        && update.signup.is_none()
        && update.thanks_url.is_none()
    {
        return Err(OpsError::Unprocessable(
            "nothing to change: give a language, a postal address, archive, signup or thanks_url"
                .into(),
        ));
    }
    let list = store.update_list(&slug, &update).await?;
    Ok(ListView::new(&list, now))
}

pub async fn show(store: &Store, list: &str, now: DateTime<Utc>) -> Result<ListView, OpsError> {
    let list = store.list(&slug(list)?).await?;
    Ok(ListView::new(&list, now))
}

pub async fn all(store: &Store) -> Result<Vec<ListSummary>, OpsError> {
    Ok(store.list_summaries().await?)
}
