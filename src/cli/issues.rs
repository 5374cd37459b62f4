//! `herald issue queue|ls|show|pause|resume|cancel`.

use super::{
    args::IssueCommand,
    output::{Output, parse_state},
};
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::{DeliveryState, IssueState, ListSlug},
    ops::issues,
    queue::queue_issue,
    store::{IssueSummary, Store},
};
use chrono::{DateTime, Utc};

pub async fn run(
    store: &Store,
    config: &Config,
    command: IssueCommand,
    out: Output,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        IssueCommand::Queue {
            list,
            file,
            subject,
            at,
        } => {
            let slug = ListSlug::parse(&list)?;
            let at = at
                .as_deref()
                .map(|a| {
                    DateTime::parse_from_rfc3339(a)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|e| anyhow::anyhow!("--at `{a}` is not an RFC 3339 time such as 2026-12-01T09:00:00+01:00 ({e})"))
                })
                .transpose()?;
            let queued =
                queue_issue(store, config, &slug, &file, subject.as_deref(), at, now).await?;
            for warning in &queued.warnings {
                eprintln!("warning: {warning}");
            }
            out.emit(&queued, |q| {
                format!(
                    "queued issue {} \"{}\" for {}; it starts {}",
                    q.id, q.subject, q.list, q.starts
                )
            })
        }
        IssueCommand::Ls { list } => {
            let all = issues::all(store, list.as_deref()).await?;
            out.emit(&all, |issues| {
                let mut s = format!(
                    "{:>5}  {:<16} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10}  {}\n",
                    "ID", "LIST", "STATE", "SENT", "LEFT", "FAILED", "BOUNCED", "COMPLAINED", "SUBJECT"
                );
                for i in issues {
                    let left = i.open();
                    let failed = i.deliveries.get("failed").copied().unwrap_or(0);
                    let bounced = i.deliveries.get("bounced").copied().unwrap_or(0);
                    let sent = i.deliveries.get("sent").copied().unwrap_or(0);
                    s.push_str(&format!(
                        "{:>5}  {:<16} {:<10} {sent:>8} {left:>8} {failed:>8} {bounced:>8} {:>10}  {}\n",
                        i.id, i.list, i.state, i.complaints, i.subject
                    ));
                }
                s
            })
        }
        IssueCommand::Watch { id, every_ms } => {
            super::watch::watch(
                store,
                issues::id(&id)?,
                std::time::Duration::from_millis(every_ms.max(50)),
                out,
            )
            .await
        }
        IssueCommand::Show { id } => {
            let summary = issues::show(store, issues::id(&id)?).await?;
            out.emit(&summary, human_summary)
        }
        IssueCommand::Deliveries { id, state } => {
            let id = issues::id(&id)?;
            store.issue(id).await?;
            let state = state
                .as_deref()
                .map(|s| parse_state("state", s, DeliveryState::ALL))
                .transpose()?;
            let rows = store.deliveries(id, state).await?;
            out.emit(&rows, |rows| {
                let mut s = String::new();
                for r in rows {
                    s.push_str(&format!(
                        "{:<40} {:<9} {:>2}  {}\n",
                        r.email,
                        r.state,
                        r.attempts,
                        r.last_reply.as_deref().unwrap_or("")
                    ));
                }
                s
            })
        }
        IssueCommand::Pause { id } => {
            let paused = issues::pause(store, issues::id(&id)?, now).await?;
            out.emit(&paused, |s| format!("paused issue {}", s.id))
        }
        IssueCommand::Resume { id } => {
            let resumed = issues::resume(store, issues::id(&id)?, now).await?;
            out.emit(&resumed, |s| format!("resumed issue {}: {}", s.id, s.state))
        }
        IssueCommand::Retry { id, state, reason } => {
            let id = issues::id(&id)?;
            let state = parse_state("state", &state, DeliveryState::ALL)?;
            if !matches!(state, DeliveryState::Failed | DeliveryState::Deferred) {
                anyhow::bail!(
                    "--state `{state}` cannot be retried: only failed or deferred deliveries"
                );
            }
            let requeued = store
                .retry_deliveries(id, state, reason.as_deref(), now)
                .await?;
            let summary = store.issue_summary(id).await?;
            #[derive(serde::Serialize)]
            struct Retried {
                requeued: u64,
                #[serde(flatten)]
                issue: IssueSummary,
            }
            out.emit(
                &Retried {
                    requeued,
                    issue: summary,
                },
                |r| {
                    let next = if r.issue.state == IssueState::Paused {
                        format!(
                            "; the issue is paused: `herald issue resume {}` sends them",
                            r.issue.id
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "re-queued {} deliveries of issue {}{next}",
                        r.requeued, r.issue.id
                    )
                },
            )
        }
        IssueCommand::Cancel { id } => {
            let cancelled = issues::cancel(store, issues::id(&id)?, now).await?;
            out.emit(&cancelled, |s| format!("cancelled issue {}", s.id))
        }
    }
}

fn human_summary(s: &IssueSummary) -> String {
    let mut out = format!(
        "issue {} \"{}\" on {}: {}",
        s.id, s.subject, s.list, s.state
    );
    if let Some(reason) = &s.state_reason {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('\n');
    for (state, n) in &s.deliveries {
        out.push_str(&format!("  {state:<11} {n}\n"));
    }
    out.push_str(&format!("  {:<11} {}\n", "complaints", s.complaints));
    out
}
