//! `herald issue watch ID`: an issue's progress until every delivery is final. On a terminal a
//! progress bar (indicatif) with the rate and an ETA; otherwise a plain line every few seconds, so a
//! log or a CI job reads it; with `--json`, the final summary only.

use super::output::Output;
use crate::{
    domain::{IssueId, IssueState},
    store::{IssueSummary, Store},
};
use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

/// Lines when not on a terminal: at most one per this long (and one on every state change).
const LINE_EVERY: Duration = Duration::from_secs(5);

pub async fn watch(store: &Store, id: IssueId, every: Duration, out: Output) -> anyhow::Result<()> {
    let tty = !out.json && std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(super::live::issue_bar_style());
        bar.set_prefix(format!("issue {id}"));
        bar
    });
    let mut rate = Rate::default();
    let mut last_line: Option<(Instant, IssueState)> = None;
    loop {
        let summary = store.issue_summary(id).await?;
        let progress = Progress::of(&summary);
        let per_second = rate.update(progress.done);
        let eta = per_second
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(progress.open as f64 / r));
        let message = describe(&summary, &progress, per_second, eta);
        match &bar {
            Some(bar) => {
                bar.set_length(progress.total as u64);
                bar.set_position(progress.done as u64);
                bar.set_message(message.clone());
            }
            None if !out.json => {
                let due = last_line
                    .is_none_or(|(at, state)| at.elapsed() >= LINE_EVERY || state != summary.state);
                if due {
                    println!(
                        "issue {id}: {} of {} {message}",
                        progress.done, progress.total
                    );
                    last_line = Some((Instant::now(), summary.state));
                }
            }
            None => {}
        }
        match summary.state {
            IssueState::Sent => {
                if let Some(bar) = &bar {
                    bar.finish();
                }
                return out.emit(&summary, |s| format!("issue {} sent: {}", s.id, counts(s)));
            }
            IssueState::Paused | IssueState::Cancelled => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                if out.json {
                    out.emit(&summary, |_| String::new())?;
                }
                anyhow::bail!(
                    "issue {id} is {}{}",
                    summary.state,
                    summary
                        .state_reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            IssueState::Queued | IssueState::Sending => {}
        }
        tokio::time::sleep(every).await;
    }
}

struct Progress {
    total: i64,
    done: i64,
    open: i64,
}

impl Progress {
    fn of(summary: &IssueSummary) -> Self {
        let (total, open) = (summary.total(), summary.open());
        Self {
            total,
            done: total - open,
            open,
        }
    }
}

/// Messages per second, smoothed over the samples of the last ten seconds or so.
#[derive(Default)]
struct Rate {
    samples: std::collections::VecDeque<(Instant, i64)>,
}

impl Rate {
    fn update(&mut self, done: i64) -> Option<f64> {
        let now = Instant::now();
        self.samples.push_back((now, done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(at, _)| now - *at > Duration::from_secs(10))
        {
            self.samples.pop_front();
        }
        let (first_at, first) = *self.samples.front()?;
        let seconds = (now - first_at).as_secs_f64();
        (seconds >= 0.5).then(|| (done - first) as f64 / seconds)
    }
}

fn describe(
    summary: &IssueSummary,
    progress: &Progress,
    per_second: Option<f64>,
    eta: Option<Duration>,
) -> String {
    let mut parts = vec![summary.state.to_string()];
    if summary.state == IssueState::Queued {
        parts.push(match summary.send_at {
            Some(at) => format!("starts {}", at.to_rfc3339()),
            None => "waiting for its slot or for serve".into(),
        });
    }
    if let Some(r) = per_second {
        parts.push(format!("{r:.0} msg/s"));
    }
    if let Some(eta) = eta.filter(|_| progress.open > 0) {
        parts.push(format!("ETA {}", super::live::hms(eta.as_secs())));
    }
    parts.push(counts(summary));
    parts.join(", ")
}

fn counts(summary: &IssueSummary) -> String {
    summary
        .deliveries
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(state, n)| format!("{state} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
