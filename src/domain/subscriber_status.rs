//! Whether a subscriber receives issues. Only `active` subscribers are frozen into an issue's recipients.
//!
//! ```text
//! active ──unsubscribe link──▶ unsubscribed
//!   │ └──hard bounce / soft limit──▶ bounced
//!   └──complaint (also from unsubscribed or bounced)──▶ complained
//! ```
//! Nothing moves back to `active` by itself: an import updates names and attributes, never the status.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    Active,
    Unsubscribed,
    Bounced,
    /// The reader reported an issue as spam: never mailed again by that list.
    Complained,
}

stored_enum!(SubscriberStatus, "subscriber status", [
    Active => "active",
    Unsubscribed => "unsubscribed",
    Bounced => "bounced",
    Complained => "complained",
]);

impl SubscriberStatus {
    /// The table of allowed moves. A complaint is the strongest signal and is kept whatever came
    /// before; a bounce only stops someone who was still receiving.
    pub fn can_move_to(self, next: SubscriberStatus) -> bool {
        use SubscriberStatus::*;
        matches!(
            (self, next),
            (Active, Unsubscribed)
                | (Active, Bounced)
                | (Active, Complained)
                | (Unsubscribed, Complained)
                | (Bounced, Complained)
        )
    }

    /// Every status that may move to `next`, for guarding a store update.
    pub fn sources_of(next: SubscriberStatus) -> Vec<SubscriberStatus> {
        Self::ALL
            .iter()
            .copied()
            .filter(|s| s.can_move_to(next))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::SubscriberStatus::*;
    use super::*;

    #[test]
    fn complaints_are_never_undone_and_nothing_reactivates() {
        for &s in SubscriberStatus::ALL {
            assert!(!s.can_move_to(Active), "{s} -> active must be refused");
            assert!(!Complained.can_move_to(s));
        }
        assert_eq!(SubscriberStatus::sources_of(Bounced), vec![Active]);
        assert_eq!(
            SubscriberStatus::sources_of(Complained),
            vec![Active, Unsubscribed, Bounced]
        );
    }
}
