//! Domain types: values parsed once at an edge (CLI, CSV, HTTP, config) and trusted everywhere inside.

/// An enum stored in the database as the lower-case name of each variant: `ALL`, `as_str`, `Display`
/// and a `FromStr` that names the unknown value.
macro_rules! stored_enum {
    ($name:ident, $kind:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownState;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::domain::UnknownState { kind: $kind, value: s.to_owned() })
            }
        }
    };
}

mod bounce;
mod bounce_policy;
mod cron_schedule;
mod delivery_state;
mod email_address;
mod ids;
mod issue_state;
mod language_tag;
mod list_slug;
mod mailbox;
mod postal_address;
mod short_name;
mod smtp_reply;
mod subscriber_status;

pub use bounce::{BounceClass, BounceKind, BounceReason, BounceSource};
pub use bounce_policy::{BounceEffect, BounceFacts, BouncePolicy, Decision, Suppress};
pub use cron_schedule::{CronSchedule, CronScheduleError};
pub use delivery_state::DeliveryState;
pub use email_address::{EmailAddress, EmailAddressError, mask, mask_all};
pub use ids::{DeliveryId, IssueId, ListId, SubscriberId};
pub use issue_state::IssueState;
pub use language_tag::{LanguageTag, LanguageTagError};
pub use list_slug::{ListSlug, ListSlugError};
pub use mailbox::{Mailbox, MailboxError};
pub use postal_address::{PostalAddress, PostalAddressError};
pub use short_name::is_short_name;
pub use smtp_reply::{AttemptError, EnhancedStatus, SmtpReply};
pub use subscriber_status::SubscriberStatus;

/// A stored enum value that is not one of the names the code knows: the database was edited by hand
/// or written by a newer herald.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} `{value}` in the database")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
}
