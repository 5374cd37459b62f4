//! `herald list create|update|show|ls`.

use super::{args::ListCommand, output::Output};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::{CronSchedule, EmailAddress, LanguageTag, ListSlug, Mailbox, PostalAddress},
    render::Layouts,
    store::{List, ListUpdate, NewList, Store},
};
use anyhow::Context;
use chrono::{DateTime, Utc};

pub async fn run(
    store: &Store,
    config: &Config,
    command: ListCommand,
    out: Output,
) -> anyhow::Result<()> {
    match command {
        ListCommand::Create(c) => {
            let slug = ListSlug::parse(&c.slug)?;
            let from = Mailbox::parse(&c.from).context("--from")?;
            let reply_to = c
                .reply_to
                .as_deref()
                .map(EmailAddress::parse)
                .transpose()
                .context("--reply-to")?;
            let zone = c.timezone.as_deref().unwrap_or(&config.scheduler.timezone);
            let schedule = c
                .schedule
                .as_deref()
                .map(|s| CronSchedule::parse(s, zone))
                .transpose()
                .context("--schedule")?;
            let language = LanguageTag::parse(&c.language).context("--language")?;
            let postal_address = c
                .postal_address
                .as_deref()
                .map(PostalAddress::parse)
                .transpose()
                .context("--postal-address")?;
            Layouts::new(&config.render.templates_dir)
                .load(&c.layout)
                .context("--layout")?;
            let now = SystemClock.now();
            let list = store
                .create_list(
                    &NewList {
                        slug,
                        name: c.name,
                        from,
                        reply_to,
                        schedule,
                        layout: c.layout,
                        language,
                        postal_address,
                    },
                    now,
                )
                .await?;
            if list.postal_address.is_none() {
                eprintln!(
                    "note: list {} has no postal address; many jurisdictions require one in \
                     commercial mail (herald list update {} --postal-address …)",
                    list.slug, list.slug
                );
            }
            out.emit(&ListView::new(&list, now), |c| {
                let mut s = format!(
                    "created list {} ({}) in language {}",
                    c.slug, c.name, c.language
                );
                if let (Some(p), Some(next)) = (&c.schedule, &c.next_slot) {
                    s.push_str(&format!(
                        "; slots {p} in {}, next {next}",
                        c.timezone.as_deref().unwrap_or("UTC")
                    ));
                }
                s
            })
        }
        ListCommand::Update(u) => {
            let slug = ListSlug::parse(&u.slug)?;
            let update = ListUpdate {
                language: u
                    .language
                    .as_deref()
                    .map(LanguageTag::parse)
                    .transpose()
                    .context("--language")?,
                // An empty value removes the address.
                postal_address: u
                    .postal_address
                    .as_deref()
                    .map(|a| {
                        (!a.trim().is_empty())
                            .then(|| PostalAddress::parse(a))
                            .transpose()
                    })
                    .transpose()
                    .context("--postal-address")?,
            };
            if update.language.is_none() && update.postal_address.is_none() {
                anyhow::bail!("nothing to change: pass --language and/or --postal-address");
            }
            let list = store.update_list(&slug, &update).await?;
            out.emit(&ListView::new(&list, SystemClock.now()), |l| {
                format!(
                    "updated list {}: language {}, postal address {}",
                    l.slug,
                    l.language,
                    l.postal_address
                        .as_deref()
                        .map(|a| a.replace('\n', ", "))
                        .unwrap_or_else(|| "none".into())
                )
            })
        }
        ListCommand::Show { slug } => {
            let list = store.list(&ListSlug::parse(&slug)?).await?;
            out.emit(&ListView::new(&list, SystemClock.now()), human_view)
        }
        ListCommand::Ls => {
            let lists = store.list_summaries().await?;
            out.emit(&lists, |lists| {
                let mut s = format!(
                    "{:<24} {:<8} {:>8} {:>13} {:>8} {:>10}  {}\n",
                    "LIST", "LANG", "ACTIVE", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED", "SCHEDULE"
                );
                for l in lists {
                    let n = |k: &str| l.subscribers.get(k).copied().unwrap_or(0);
                    s.push_str(&format!(
                        "{:<24} {:<8} {:>8} {:>13} {:>8} {:>10}  {}\n",
                        l.slug,
                        l.language,
                        n("active"),
                        n("unsubscribed"),
                        n("bounced"),
                        n("complained"),
                        l.schedule
                            .as_deref()
                            .map(|p| format!("{p} ({})", l.timezone))
                            .unwrap_or_else(|| "-".into())
                    ));
                }
                s
            })
        }
    }
}

/// A list as `create`, `update` and `show` print it.
#[derive(serde::Serialize)]
struct ListView {
    slug: String,
    name: String,
    from: String,
    reply_to: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    next_slot: Option<String>,
    layout: String,
    language: String,
    /// Lines joined by `\n`.
    postal_address: Option<String>,
}

impl ListView {
    fn new(list: &List, now: DateTime<Utc>) -> Self {
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
        }
    }
}

fn human_view(l: &ListView) -> String {
    let row = |key: &str, value: &str| format!("{key:<16}{value}\n");
    let mut s = format!("{} ({})\n", l.slug, l.name);
    s.push_str(&row("from", &l.from));
    s.push_str(&row("reply-to", l.reply_to.as_deref().unwrap_or("-")));
    let schedule = match (&l.schedule, &l.timezone) {
        (Some(p), Some(z)) => match &l.next_slot {
            Some(next) => format!("{p} ({z}), next {next}"),
            None => format!("{p} ({z})"),
        },
        _ => "-".into(),
    };
    s.push_str(&row("schedule", &schedule));
    s.push_str(&row("layout", &l.layout));
    s.push_str(&row("language", &l.language));
    let address = l
        .postal_address
        .as_deref()
        .unwrap_or("-")
        .replace('\n', &format!("\n{:16}", ""));
    s.push_str(&row("postal address", &address));
    s
}
