//! Bounce intake: what comes back. Reports (DSNs, MTA text formats, ARF complaints, auto-replies)
//! are parsed and classified by [`report`]; the intakes (an MTA pipe, a Maildir, an IMAP mailbox)
//! feed raw messages in; `crate::track::bounces` attributes each report to a delivery by its token and
//! applies the policy.

pub mod report;
