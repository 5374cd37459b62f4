//! `herald list create|update|show|ls`.

use super::{args::ListCommand, output::Output};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    ops::{
        OpsError,
        lists::{self, ListView},
    },
    store::Store,
};

pub async fn run(
    store: &Store,
    config: &Config,
    command: ListCommand,
    out: Output,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        ListCommand::Create(c) => {
            let created = lists::create(
                store,
                config,
                lists::CreateList {
                    slug: c.slug,
                    name: c.name,
                    from: c.from,
                    reply_to: c.reply_to,
                    schedule: c.schedule,
                    timezone: c.timezone,
                    layout: c.layout,
                    language: c.language,
                    postal_address: c.postal_address,
                    archive: c.pages.archive.unwrap_or(false),
                    signup: c.pages.signup.unwrap_or(false),
                    thanks_url: c.pages.thanks_url,
                },
                now,
            )
            .await
            .map_err(flags)?;
            for note in &created.notes {
                eprintln!("note: {note}");
            }
            out.emit(&created, |c| {
                let c = &c.list;
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
            let update = lists::UpdateList {
                language: u.language,
                postal_address: u.postal_address,
                archive: u.pages.archive,
                signup: u.pages.signup,
                thanks_url: u.pages.thanks_url,
            };
            let list = lists::update(store, &u.slug, update, now)
                .await
                .map_err(flags)?;
            out.emit(&list, |l| {
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
            let list = lists::show(store, &slug, now).await?;
            out.emit(&list, human_view)
        }
        ListCommand::Ls => {
            let all = lists::all(store).await?;
            out.emit(&all, |lists| {
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

/// A refused field named as the command's flag (`--postal-address`), not as the JSON member.
fn flags(e: OpsError) -> anyhow::Error {
    match e {
        OpsError::Invalid { field, message } => {
            anyhow::anyhow!("--{}: {message}", field.replace('_', "-"))
        }
        other => other.into(),
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
    s.push_str(&row(
        "archive",
        if l.archive { "on (/a/SLUG)" } else { "off" },
    ));
    s.push_str(&row(
        "signup",
        if l.signup { "on (/s/SLUG)" } else { "off" },
    ));
    s
}
