//! Whether a subscriber receives issues. Only `active` subscribers are frozen into an issue's recipients.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    Active,
    Unsubscribed,
    Bounced,
}

stored_enum!(SubscriberStatus, "subscriber status", [
    Active => "active",
    Unsubscribed => "unsubscribed",
    Bounced => "bounced",
]);
