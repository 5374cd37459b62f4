//! `herald list create|ls`.

use super::{args::ListCommand, output::Output};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::{CronSchedule, EmailAddress, ListSlug, Mailbox},
    render::Layouts,
    store::{NewList, Store},
};
use anyhow::Context;

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
                    },
                    now,
                )
                .await?;
            #[derive(serde::Serialize)]
            struct Created {
                slug: String,
                name: String,
                from: String,
                schedule: Option<String>,
                timezone: Option<String>,
                next_slot: Option<String>,
                layout: String,
            }
            let created = Created {
                slug: list.slug.to_string(),
                name: list.name.clone(),
                from: list.from.to_string(),
                schedule: list.schedule.as_ref().map(|s| s.pattern().to_owned()),
                timezone: list.schedule.as_ref().map(|s| s.zone().to_owned()),
                next_slot: list
                    .schedule
                    .as_ref()
                    .and_then(|s| s.next_after(now))
                    .map(|t| t.to_rfc3339()),
                layout: list.layout,
            };
            out.emit(&created, |c| {
                let mut s = format!("created list {} ({})", c.slug, c.name);
                if let (Some(p), Some(next)) = (&c.schedule, &c.next_slot) {
                    s.push_str(&format!(
                        "; slots {p} in {}, next {next}",
                        c.timezone.as_deref().unwrap_or("UTC")
                    ));
                }
                s
            })
        }
        ListCommand::Ls => {
            let lists = store.list_summaries().await?;
            out.emit(&lists, |lists| {
                let mut s = format!(
                    "{:<24} {:>8} {:>13} {:>8} {:>10}  {}\n",
                    "LIST", "ACTIVE", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED", "SCHEDULE"
                );
                for l in lists {
                    let n = |k: &str| l.subscribers.get(k).copied().unwrap_or(0);
                    s.push_str(&format!(
                        "{:<24} {:>8} {:>13} {:>8} {:>10}  {}\n",
                        l.slug,
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
