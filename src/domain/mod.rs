//! Domain types: values parsed once at an edge (CLI, CSV, HTTP, config) and trusted everywhere inside.

mod cron_schedule;
mod delivery_state;
mod email_address;
mod ids;
mod issue_state;
mod list_slug;
mod mailbox;
mod subscriber_status;

pub use cron_schedule::{CronSchedule, CronScheduleError};
pub use delivery_state::DeliveryState;
pub use email_address::{EmailAddress, EmailAddressError, mask};
pub use ids::{DeliveryId, IssueId, ListId, SubscriberId};
pub use issue_state::IssueState;
pub use list_slug::{ListSlug, ListSlugError};
pub use mailbox::{Mailbox, MailboxError};
pub use subscriber_status::SubscriberStatus;

/// A stored enum value that is not one of the names the code knows: the database was edited by hand
/// or written by a newer herald.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} `{value}` in the database")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
}
