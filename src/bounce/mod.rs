//! Bounce intake: what comes back. Reports (DSNs, MTA text formats, ARF complaints, auto-replies)
//! are parsed and classified by [`report`]; the intakes feed raw messages in: `herald bounce ingest`
//! (an MTA pipe, in `crate::ops::bounces`), a [`maildir`] and an [`imap`] mailbox polled by `serve`.
//! `crate::track` attributes each report to a delivery by its token and records what the policy
//! decides.

pub mod imap;
pub mod mailbox;
pub mod maildir;
pub mod report;
