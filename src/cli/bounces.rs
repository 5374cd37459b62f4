//! `herald bounce ingest|parse|ls|raw`.

use super::{args::BounceCommand, output::Output};
use crate::{bounce::report::RecipientReport, ops::bounces, store::Store};
use std::io::Write;

pub async fn run(store: &Store, command: BounceCommand, out: Output) -> anyhow::Result<()> {
    match command {
        BounceCommand::Ls {
            list,
            issue,
            unmatched,
            limit,
        } => {
            let rows =
                bounces::list(store, list.as_deref(), issue.as_deref(), unmatched, limit).await?;
            out.emit(&rows, |rows| {
                let mut s = format!(
                    "{:>6}  {:<20} {:<8} {:<10} {:<5} {:<20} {:<7} {:<32} {:>6}  {}\n",
                    "ID",
                    "RECEIVED",
                    "SOURCE",
                    "KIND",
                    "CLASS",
                    "REASON",
                    "STATUS",
                    "RECIPIENT",
                    "ISSUE",
                    "EFFECT"
                );
                for r in rows {
                    s.push_str(&format!(
                        "{:>6}  {:<20} {:<8} {:<10} {:<5} {:<20} {:<7} {:<32} {:>6}  {}\n",
                        r.id,
                        r.received_at.format("%Y-%m-%d %H:%M:%S"),
                        r.source,
                        r.kind,
                        r.class.map(|c| c.as_str()).unwrap_or("-"),
                        r.reason.map(|c| c.as_str()).unwrap_or("-"),
                        r.status.as_deref().unwrap_or("-"),
                        r.recipient.as_deref().unwrap_or("-"),
                        r.issue_id
                            .map(|i| i.to_string())
                            .unwrap_or_else(|| "-".into()),
                        r.effect
                    ));
                }
                s
            })
        }
        BounceCommand::Raw { id } => {
            let raw = bounces::raw_report(store, id).await?;
            std::io::stdout().write_all(&raw)?;
            Ok(())
        }
        BounceCommand::Ingest { .. } | BounceCommand::Parse { .. } => {
            unreachable!("handled before the store is opened")
        }
    }
}

/// `bounce parse`: one JSON array, or a few lines per file.
pub fn parse(
    config: &crate::config::Config,
    files: &[std::path::PathBuf],
    out: Output,
) -> anyhow::Result<()> {
    let parsed = bounces::parse_files(config, files)?;
    out.emit(&parsed, |parsed| {
        let mut s = String::new();
        for p in parsed {
            s.push_str(&format!("{}: {}", p.file.display(), p.report.kind));
            if let Some(f) = &p.report.feedback_type {
                s.push_str(&format!(" ({f})"));
            }
            if let Some(d) = &p.delivery {
                s.push_str(&format!(
                    ", delivery #{} (token in {}{})",
                    d.delivery_id,
                    d.found_in,
                    if d.verified { "" } else { ", not verified" }
                ));
            }
            s.push('\n');
            for r in &p.report.recipients {
                s.push_str(&format!("  {}\n", recipient_line(r)));
            }
        }
        s
    })
}

fn recipient_line(r: &RecipientReport) -> String {
    let mut parts = vec![
        r.address.clone().unwrap_or_else(|| "(no address)".into()),
        r.class.to_string(),
        r.reason.to_string(),
    ];
    parts.extend(r.status.map(|s| s.to_string()));
    parts.extend(r.action.clone());
    let mut line = parts.join("  ");
    if let Some(d) = &r.diagnostic {
        line.push_str(&format!("\n    {d}"));
    }
    line
}
