//! `herald subscriber add|import|ls`.

use super::{
    args::SubscriberCommand,
    csv_rows,
    output::{Output, parse_state},
};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::{EmailAddress, ListSlug, SubscriberStatus},
    store::{ImportRow, Store},
};
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// Files larger than this get a progress bar on a terminal.
const PROGRESS_FROM: u64 = 1 << 20;

/// Rows per import transaction.
const IMPORT_CHUNK: usize = 10_000;

pub async fn run(
    store: &Store,
    config: &Config,
    command: SubscriberCommand,
    out: Output,
) -> anyhow::Result<()> {
    let smtputf8 = config.smtp.smtputf8;
    match command {
        SubscriberCommand::Add {
            list,
            email,
            name,
            attrs,
        } => {
            let list = store.list(&ListSlug::parse(&list)?).await?;
            let email = if smtputf8 {
                EmailAddress::parse_international(&email)?
            } else {
                EmailAddress::parse(&email)?
            };
            let attributes = attrs
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                        .filter(|(k, _)| !k.is_empty())
                        .ok_or_else(|| anyhow::anyhow!("--attr `{a}` is not KEY=VALUE"))
                })
                .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
            let row = ImportRow::new(email.clone(), name, attributes)
                .map_err(|reason| anyhow::anyhow!("{email}: {reason}"))?;
            // The same add-or-update as an import, for one row.
            let importer = store.bulk_import(list.id, SystemClock.now())?;
            importer.write(vec![row]).await?;
            let counts = importer.finish().await?;
            #[derive(serde::Serialize)]
            struct Added {
                email: String,
                list: String,
                result: &'static str,
            }
            let added = Added {
                email: email.to_string(),
                list: list.slug.to_string(),
                result: if counts.added == 1 {
                    "added"
                } else {
                    "updated"
                },
            };
            out.emit(&added, |a| {
                format!("{} {} to {}", a.result, a.email, a.list)
            })
        }
        SubscriberCommand::Import { list, file } => {
            let list = store.list(&ListSlug::parse(&list)?).await?;
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let importer = store.bulk_import(list.id, SystemClock.now())?;
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
            let input: Box<dyn std::io::Read> = match &bar {
                Some(bar) => Box::new(bar.wrap_read(input)),
                None => Box::new(input),
            };
            let read = csv_rows::read(
                std::io::BufReader::with_capacity(1 << 16, input),
                IMPORT_CHUNK,
                smtputf8,
                |chunk| {
                    let importer = &importer;
                    async move { Ok(importer.write(chunk).await?) }
                },
            )
            .await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            // The writer's own error, if it stopped, says more than the failed hand-over.
            let counts = importer.finish().await?;
            let rejected = read.with_context(|| file.display().to_string())?;
            #[derive(serde::Serialize)]
            struct Report {
                list: String,
                added: u64,
                updated: u64,
                rejected: usize,
                rejected_rows: Vec<csv_rows::Rejected>,
            }
            let report = Report {
                list: list.slug.to_string(),
                added: counts.added,
                updated: counts.updated,
                rejected: rejected.len(),
                rejected_rows: rejected,
            };
            out.emit(&report, |r| {
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
            let list = store.list(&ListSlug::parse(&list)?).await?;
            let status = status
                .as_deref()
                .map(|s| parse_state("status", s, SubscriberStatus::ALL))
                .transpose()?;
            let subscribers = store.subscribers(list.id, status).await?;
            out.emit(&subscribers, |subs| {
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
    }
}
