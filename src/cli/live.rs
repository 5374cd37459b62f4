//! `serve` on a terminal: one live progress bar per issue being sent, under the log lines (which
//! are written around the bars, never through them).

use crate::{app::ProgressView, domain::IssueId};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::{collections::HashMap, io::Write, sync::Mutex};

pub struct Live {
    multi: MultiProgress,
    bars: Mutex<HashMap<IssueId, ProgressBar>>,
}

impl Live {
    pub fn new(multi: MultiProgress) -> Self {
        Self {
            multi,
            bars: Mutex::default(),
        }
    }
}

impl ProgressView for Live {
    fn show(&self, issue: IssueId, list: &str, done: i64, total: i64, rate: Option<f64>) {
        let mut bars = self.bars.lock().expect("bars lock");
        let bar = bars.entry(issue).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(total as u64));
            bar.set_style(issue_bar_style());
            bar.set_prefix(format!("issue {issue} to {list}"));
            bar
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        let open = total - done;
        bar.set_message(match rate.filter(|r| *r > 0.0) {
            Some(r) => format!("{r:.0} msg/s, ETA {}", hms((open as f64 / r) as u64)),
            None => String::new(),
        });
    }

    fn finish(&self, issue: IssueId) {
        if let Some(bar) = self.bars.lock().expect("bars lock").remove(&issue) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// The bar of an issue's deliveries, for `serve` and `issue watch`.
pub fn issue_bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ")
}

/// `h:mm:ss`.
pub fn hms(seconds: u64) -> String {
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Log output written around the bars.
#[derive(Clone)]
pub struct AroundBars(pub MultiProgress);

impl Write for AroundBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
