//! The Maildir intake: `serve` polls `bounce.maildir` for reports (`new/` and `cur/`).
//!
//! Crash-safe by order: a message is removed (or moved to `.herald-processed`) only after its events
//! are committed and synced to disk (the daemon's commits are otherwise `synchronous = NORMAL`); a crash in between leaves it in place and the next poll hands it in again, where
//! its SHA-256 makes the second recording a no-op. A message that is not a report at all is moved
//! aside to `.herald-unparsed` (kept for the operator, never retried in a loop). When the database
//! cannot be written, the round stops and the message stays for the next poll.

use super::mailbox::{Folders, Next, PollReport};
use crate::{
    clock::SharedClock, config::AfterProcessing, domain::BounceSource, ops::bounces::read_report,
    track::BounceIntake,
};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// Maildir++ folders herald moves messages into.
pub const PROCESSED: &str = ".herald-processed";
pub const UNPARSED: &str = ".herald-unparsed";

pub struct MaildirIntake {
    pub dir: PathBuf,
    pub after: AfterProcessing,
    pub max_bytes: usize,
    pub intake: BounceIntake,
    pub clock: SharedClock,
}

impl MaildirIntake {
    /// Polls every `every` until `stop`.
    pub async fn run(self, every: Duration, stop: CancellationToken) {
        tracing::info!(maildir = %self.dir.display(), "polling the bounce Maildir");
        loop {
            match self.poll_once().await {
                Ok(r) if r != PollReport::default() => {
                    tracing::info!(
                        recorded = r.recorded,
                        unparsed = r.unparsed,
                        kept = r.kept,
                        "bounce Maildir polled"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(maildir = %self.dir.display(), error = %e, "cannot read the bounce Maildir")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// One pass over `new/` and `cur/`, oldest name first.
    pub async fn poll_once(&self) -> std::io::Result<PollReport> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.dir.join(sub);
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            while let Some(entry) = entries.next_entry().await? {
                if entry.file_type().await?.is_file()
                    && !entry.file_name().to_string_lossy().starts_with('.')
                {
                    files.push(entry.path());
                }
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mut report = PollReport::default();
        let folders = Folders {
            after: self.after,
            processed: PROCESSED,
            unparsed: UNPARSED,
        };
        // What to do with each recorded message, done only once the records are on disk.
        let mut done: Vec<(PathBuf, Next)> = Vec::new();
        for path in files {
            let raw = match std::fs::File::open(&path).and_then(|f| read_report(f, self.max_bytes))
            {
                Ok(raw) => raw,
                // Delivered into the Maildir and gone again (another reader), or unreadable: skip.
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read a bounce Maildir message");
                    continue;
                }
            };
            let handed_in = self
                .intake
                .ingest(&raw, BounceSource::Maildir, None, self.clock.now())
                .await;
            match report.settle(handed_in, folders, &path.display().to_string()) {
                Next::Stop => break,
                next => done.push((path, next)),
            }
        }
        if done.is_empty() {
            return Ok(report);
        }
        if let Err(e) = self.intake.sync_to_disk().await {
            tracing::warn!(error = %e, "cannot sync the database; the Maildir messages stay for the next poll");
            return Ok(report);
        }
        for (path, next) in done {
            match next {
                Next::MoveTo(folder) => move_to(&self.dir, folder, &path).await?,
                Next::Remove => tokio::fs::remove_file(&path).await?,
                // Never queued: the round stopped there.
                Next::Stop => {}
            }
        }
        Ok(report)
    }
}

/// Moves `file` into the Maildir++ folder `folder` of `root` (its `cur/`, marked seen).
async fn move_to(root: &Path, folder: &str, file: &Path) -> std::io::Result<()> {
    let target = root.join(folder);
    for sub in ["cur", "new", "tmp"] {
        tokio::fs::create_dir_all(target.join(sub)).await?;
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name);
    tokio::fs::rename(file, target.join("cur").join(format!("{base}:2,S"))).await
}
