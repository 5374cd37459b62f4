//! The life of an issue, stored as its lower-case name.
//!
//! `queued ──due──▶ sending ──all deliveries final──▶ sent`; `sending ⇄ paused` by the operator or by the
//! sender when the SMTP server stays unreachable; `queued | paused ──resume──▶` back into the flow (a
//! paused issue that never started goes back to `queued`); `queued | sending | paused ──▶ cancelled`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    Queued,
    Sending,
    Paused,
    Sent,
    Cancelled,
}

stored_enum!(IssueState, "issue state", [
    Queued => "queued",
    Sending => "sending",
    Paused => "paused",
    Sent => "sent",
    Cancelled => "cancelled",
]);

impl IssueState {
    /// Sent or cancelled: an issue moving here records when it finished.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Sent | Self::Cancelled)
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
                // `issue retry` re-queued deliveries of a finished issue (none of them was mailed).
                | (Sent, Sending)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::IssueState::*;

    #[test]
    fn finished_issues_stay_finished_except_a_sent_one_reopened_by_retry() {
        for &next in super::IssueState::ALL {
            assert_eq!(Sent.can_move_to(next), next == Sending, "sent -> {next}");
            assert!(!Cancelled.can_move_to(next));
        }
    }

    #[test]
    fn pause_and_resume_are_inverse_moves() {
        assert!(Sending.can_move_to(Paused) && Paused.can_move_to(Sending));
    }
}
