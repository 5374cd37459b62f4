//! `herald subscriber add|import|ls`.

use super::{
    args::SubscriberCommand,
    output::{Output, parse_state},
};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::SubscriberStatus,
    ops::{OpsError, export, subscribers},
    store::Store,
};
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// Files larger than this get a progress bar on a terminal.
const PROGRESS_FROM: u64 = 1 << 20;

pub async fn run(
    store: &Store,
    config: &Config,
    command: SubscriberCommand,
    out: Output,
) -> anyhow::Result<()> {
    match command {
        SubscriberCommand::Add {
            list,
            email,
            name,
            attrs,
        } => {
            let attributes = attrs
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                        .filter(|(k, _)| !k.is_empty())
                        .ok_or_else(|| anyhow::anyhow!("--attr `{a}` is not KEY=VALUE"))
                })
                .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
            let input = subscribers::AddSubscriber {
                email,
                name,
                attributes,
            };
            let added = subscribers::add(store, config, &list, input, SystemClock.now()).await?;
            out.emit(&added, |a| {
                format!("{} {} to {}", a.result, a.email, a.list)
            })
        }
        SubscriberCommand::Import { list, file } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            // A large file on a terminal: a bar of the bytes read, with rate and ETA.
            let size = input.metadata().map(|m| m.len()).unwrap_or(0);
            let bar =
                (!out.json && size > PROGRESS_FROM && std::io::stderr().is_terminal()).then(|| {
                    let bar = indicatif::ProgressBar::new(size);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "importing [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}, ETA {eta}",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                    bar
                });
            let input: Box<dyn std::io::Read + Send> = match &bar {
                Some(bar) => Box::new(bar.wrap_read(input)),
                None => Box::new(input),
            };
            let report = subscribers::import(store, config, &list, input, SystemClock.now())
                .await
                .map_err(|e| match e {
                    OpsError::Invalid { field, message } if field == "csv" => {
                        anyhow::anyhow!("{}: {message}", file.display())
                    }
                    other => other.into(),
                });
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            out.emit(&report?, |r| {
                let mut s = format!(
                    "{}: added {}, updated {}, rejected {}\n",
                    r.list, r.added, r.updated, r.rejected
                );
                for row in &r.rejected_rows {
                    s.push_str(&format!("  line {}: {}\n", row.line, row.reason));
                }
                s
            })
        }
        SubscriberCommand::Ls { list, status } => {
            let status = status
                .as_deref()
                .map(|s| parse_state("status", s, SubscriberStatus::ALL))
                .transpose()?;
            // Every page, for people and for `--json` alike.
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let page = subscribers::page(
                    store,
                    &list,
                    status,
                    cursor.as_deref(),
                    subscribers::MAX_PAGE,
                )
                .await?;
                all.extend(page.subscribers);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            out.emit(&all, |subs| {
                let mut s = String::new();
                for sub in subs {
                    s.push_str(&format!(
                        "{:<40} {:<13} {}\n",
                        sub.email,
                        sub.status,
                        sub.name.as_deref().unwrap_or("")
                    ));
                }
                s
            })
        }
        SubscriberCommand::Export { list, status, csv } => {
            let format = if out.json && !csv {
                export::Format::Json
            } else {
                export::Format::Csv
            };
            let mut export = export::Export::start(
                store,
                &list,
                subscribers::status(status.as_deref())?,
                format,
            )
            .await?;
            let mut stdout = std::io::stdout().lock();
            while let Some(piece) = export.next().await? {
                std::io::Write::write_all(&mut stdout, &piece)?;
            }
            std::io::Write::flush(&mut stdout)?;
            Ok(())
        }
        SubscriberCommand::Show { list, email } => {
            let sub = subscribers::show(store, &list, &email).await?;
            out.emit(&sub, |s| {
                let mut text = format!(
                    "{} ({}) on {list} since {}\n",
                    s.email,
                    s.status,
                    s.created_at.format("%Y-%m-%d")
                );
                if let Some(name) = &s.name {
                    text.push_str(&format!("name  {name}\n"));
                }
                for (k, v) in &s.attributes {
                    text.push_str(&format!("{k:<6}{v}\n"));
                }
                text
            })
        }
        SubscriberCommand::Erase { email } => {
            let erased = subscribers::erase(store, &email, SystemClock.now()).await?;
            out.emit(&erased, |e| {
                if e.found {
                    format!(
                        "erased {email} from {} ({} deliveries, {} bounce records stripped); it cannot be imported again",
                        e.lists.join(", "),
                        e.deliveries,
                        e.bounces
                    )
                } else {
                    format!("{email} was on no list; it cannot be imported from now on")
                }
            })
        }
        SubscriberCommand::Unsubscribe { list, email } => {
            let done = subscribers::unsubscribe(store, &list, &email, SystemClock.now()).await?;
            out.emit(&done, |d| {
                if d.changed {
                    format!("unsubscribed {} from {}", d.email, d.list)
                } else {
                    format!("{} is already {} on {}", d.email, d.status, d.list)
                }
            })
        }
    }
}
