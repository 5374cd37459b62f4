//! The life of an issue, stored as its lower-case name.
//!
//! `queued ──due──▶ sending ──all deliveries final──▶ sent`; `sending ⇄ paused` by the operator or by the
//! sender when the SMTP server stays unreachable; `queued | paused ──resume──▶` back into the flow (a
//! paused issue that never started goes back to `queued`); `queued | sending | paused ──▶ cancelled`.

use super::UnknownState;
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    Queued,
    Sending,
    Paused,
    Sent,
    Cancelled,
}

impl IssueState {
    pub const ALL: [IssueState; 5] = [
        Self::Queued,
        Self::Sending,
        Self::Paused,
        Self::Sent,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn can_move_to(self, next: IssueState) -> bool {
        use IssueState::*;
        matches!(
            (self, next),
            (Queued, Sending)
                | (Queued, Paused)
                | (Queued, Cancelled)
                | (Sending, Paused)
                | (Sending, Sent)
                | (Sending, Cancelled)
                | (Paused, Sending)
                | (Paused, Queued)
                | (Paused, Cancelled)
        )
    }
}

impl fmt::Display for IssueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IssueState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, UnknownState> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState {
                kind: "issue state",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::IssueState::*;

    #[test]
    fn finished_issues_stay_finished() {
        for next in super::IssueState::ALL {
            assert!(!Sent.can_move_to(next));
            assert!(!Cancelled.can_move_to(next));
        }
    }

    #[test]
    fn pause_and_resume_are_inverse_moves() {
        assert!(Sending.can_move_to(Paused) && Paused.can_move_to(Sending));
    }
}
