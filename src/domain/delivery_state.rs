//! The life of one message to one subscriber, stored as its lower-case name.
//!
//! ```text
//! pending ──claim──▶ sending ──2xx──▶ sent ──hard bounce report──▶ bounced
//!    ▲                  │ ├──5xx──▶ failed ──hard 5xx / report──▶ bounced
//!    │ release          │ ├──4xx / broken connection──▶ deferred ──due──▶ sending
//!    └──────────────────┘ └──unsubscribed meanwhile──▶ skipped
//! ```
//! `deferred` becomes `failed` once `sending.max_attempts` is reached. `failed` and `deferred` go back to
//! `pending` only when the operator re-queues them (`issue retry`) or the circuit breaker refunds a
//! run of refusals that were the relay's fault, never from `sent`. `bounced` means the address is
//! bad for good (a hard bounce): at once when the server refuses the recipient with a hard 5xx while
//! sending, or later when a bounce report arrives for a message the server had accepted (`sent`) or
//! refused (`failed`).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Sending,
    Sent,
    Deferred,
    Failed,
    Bounced,
    Skipped,
    /// The message went out but its reply was lost, twice: probably delivered, not tried again.
    Unconfirmed,
}

stored_enum!(DeliveryState, "delivery state", [
    Pending => "pending",
    Sending => "sending",
    Sent => "sent",
    Deferred => "deferred",
    Failed => "failed",
    Bounced => "bounced",
    Skipped => "skipped",
    Unconfirmed => "unconfirmed",
]);

impl DeliveryState {
    /// The table of allowed moves. Each store update is guarded by its source state (`WHERE state =
    /// 'sending'`, …) so that only these moves happen.
    pub fn can_move_to(self, next: DeliveryState) -> bool {
        use DeliveryState::*;
        matches!(
            (self, next),
            (Pending, Sending)
                | (Pending, Skipped)
                | (Deferred, Sending)
                | (Deferred, Skipped)
                | (Sending, Sent)
                | (Sending, Deferred)
                | (Sending, Failed)
                | (Sending, Skipped)
                | (Sending, Pending)
                | (Sending, Unconfirmed)
                | (Sent, Bounced)
                | (Unconfirmed, Bounced)
                | (Failed, Bounced)
                // The operator re-queues (`issue retry`), or the circuit breaker refunds a run of
                // refusals that were the relay's fault: never mailed, so never mailed twice.
                | (Failed, Pending)
                | (Deferred, Pending)
        )
    }

    /// Every state that may move to `next`, for guarding a store update (`WHERE state IN (…)`).
    pub fn sources_of(next: DeliveryState) -> Vec<DeliveryState> {
        Self::ALL
            .iter()
            .copied()
            .filter(|s| s.can_move_to(next))
            .collect()
    }

    /// States of deliveries not (yet) attempted, or whose attempt is under way: not counted among
    /// an issue's recent attempts.
    pub const UNATTEMPTED: [Self; 3] = [Self::Pending, Self::Skipped, Self::Sending];

    /// The states a delivery can still leave: an issue is sent once none of its deliveries is in one.
    pub fn unfinished() -> impl Iterator<Item = Self> {
        Self::ALL.iter().copied().filter(|s| !s.is_final())
    }

    /// No further attempt will be made.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Failed | Self::Bounced | Self::Skipped | Self::Unconfirmed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryState::*;
    use super::*;

    #[test]
    fn final_states_never_move_back_to_sending() {
        for state in DeliveryState::ALL.iter().copied().filter(|s| s.is_final()) {
            assert!(
                !state.can_move_to(Sending),
                "{state} -> sending must be refused"
            );
            // Only a failure (no message got through) may be queued again.
            assert_eq!(
                state.can_move_to(Pending),
                state == Failed,
                "{state} -> pending"
            );
        }
    }

    #[test]
    fn a_sent_or_failed_message_can_only_become_bounced() {
        let allowed: Vec<_> = DeliveryState::ALL
            .iter()
            .copied()
            .filter(|s| Sent.can_move_to(*s))
            .collect();
        assert_eq!(allowed, vec![Bounced]);
        assert!(Failed.can_move_to(Bounced));
        assert!(!Bounced.can_move_to(Sent));
    }

    #[test]
    fn sources_of_lists_every_state_allowed_to_move() {
        // Not from `sending`: a report must not overtake the outcome a worker is about to record.
        assert_eq!(
            DeliveryState::sources_of(Bounced),
            vec![Sent, Failed, Unconfirmed]
        );
    }

    #[test]
    fn names_round_trip() {
        for &state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>().unwrap(), state);
        }
        assert!("lost".parse::<DeliveryState>().is_err());
    }
}
