//! The life of one message to one subscriber, stored as its lower-case name.
//!
//! ```text
//! pending ──claim──▶ sending ──2xx──▶ sent
//!    ▲                  │ ├──5xx──▶ failed
//!    │ release          │ ├──4xx / broken connection──▶ deferred ──due──▶ sending
//!    └──────────────────┘ └──unsubscribed meanwhile──▶ skipped
//! ```
//! `deferred` becomes `failed` once `sending.max_attempts` is reached. `bounced` is set later when a bounce
//! arrives for a message the server had accepted.

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
}

stored_enum!(DeliveryState, "delivery state", [
    Pending => "pending",
    Sending => "sending",
    Sent => "sent",
    Deferred => "deferred",
    Failed => "failed",
    Bounced => "bounced",
    Skipped => "skipped",
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
                | (Sent, Bounced)
        )
    }

    /// No further attempt will be made.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Failed | Self::Bounced | Self::Skipped
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
            assert!(
                !state.can_move_to(Pending),
                "{state} -> pending must be refused"
            );
        }
    }

    #[test]
    fn a_sent_message_can_only_become_bounced() {
        let allowed: Vec<_> = DeliveryState::ALL
            .iter()
            .copied()
            .filter(|s| Sent.can_move_to(*s))
            .collect();
        assert_eq!(allowed, vec![Bounced]);
    }

    #[test]
    fn names_round_trip() {
        for &state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>().unwrap(), state);
        }
        assert!("lost".parse::<DeliveryState>().is_err());
    }
}
