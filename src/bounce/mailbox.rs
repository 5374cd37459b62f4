//! What the Maildir and IMAP intakes share: a poll's counts, and what to do with one message once
//! it was handed in (removed or moved once the round's records are on disk, moved aside when it is
//! not a report, left in place and the round stopped when the database cannot be written).

use crate::{config::AfterProcessing, domain::BounceKind, store::StoreError, track::IngestOutcome};

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub recorded: usize,
    pub unparsed: usize,
    /// Left in place because the database could not be written.
    pub kept: usize,
}

/// Where the folders of one mailbox are.
#[derive(Debug, Clone, Copy)]
pub struct Folders<'a> {
    pub after: AfterProcessing,
    pub processed: &'a str,
    pub unparsed: &'a str,
}

/// What to do with a message that was handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    Remove,
    MoveTo(&'a str),
    /// The database refused: keep this message and the rest for the next poll.
    Stop,
}

impl PollReport {
    /// Counts how handing in message `which` ended and says what to do with the message.
    pub fn settle<'a>(
        &mut self,
        handed_in: Result<IngestOutcome, StoreError>,
        folders: Folders<'a>,
        which: &str,
    ) -> Next<'a> {
        match handed_in {
            Ok(o) if o.kind == BounceKind::Other && o.delivery.is_none() => {
                self.unparsed += 1;
                tracing::warn!(message = %which, folder = %folders.unparsed, "not a bounce report: moved aside");
                Next::MoveTo(folders.unparsed)
            }
            Ok(_) => {
                self.recorded += 1;
                match folders.after {
                    AfterProcessing::Delete => Next::Remove,
                    AfterProcessing::Move => Next::MoveTo(folders.processed),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot record bounces now; the messages stay for the next poll");
                self.kept += 1;
                Next::Stop
            }
        }
    }
}
