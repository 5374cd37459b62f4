//! The circuit breaker: a relay that refuses everyone is a configuration problem, not a list of bad
//! addresses. When `run` deliveries of one issue in a row (in commit order) fail with the same reply
//! that is not about the recipient (`554 5.7.1 relay access denied`, `421 … closing`, a timeout), the
//! issue pauses with that reply as the reason, and those deliveries go back to `pending` with their
//! attempt refunded. A reply about the recipient (user unknown, mailbox full) never trips it, nor
//! does a mix of different replies, and any delivery that gets through resets the run.

use crate::{
    bounce::report::classify,
    domain::{AttemptError, DeliveryId, IssueId},
    store::{Outcome, OutcomeKind},
};
use std::collections::HashMap;

/// What tripped: the issue, the deliveries of the run, and the reply they all got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    pub issue: IssueId,
    pub deliveries: Vec<DeliveryId>,
    pub reply: String,
}

#[derive(Debug, Default)]
struct Run {
    signature: String,
    reply: String,
    deliveries: Vec<DeliveryId>,
}

#[derive(Debug)]
pub struct Breaker {
    /// 0: never trips.
    run: usize,
    runs: HashMap<IssueId, Run>,
    /// The reply that tripped each issue's breaker: failures of deliveries still in flight then
    /// join the refund (the store applies it only while the issue is sending or paused).
    tripped: HashMap<IssueId, (String, String)>,
}

/// A reply with the parts that differ per recipient (addresses, queue ids, numbers) taken out.
fn signature(error: &AttemptError) -> String {
    let text = error.to_string();
    text.split_whitespace()
        .filter(|w| !w.contains('@'))
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_digit()) && w.len() > 5 {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Whether a failure says something about the recipient rather than the relay or the sender.
fn about_recipient(error: &AttemptError) -> bool {
    match error {
        AttemptError::Reply(r) => classify(Some(r.code), r.enhanced, &r.text)
            .0
            .is_about_recipient(),
        AttemptError::Other(_) | AttemptError::Unsendable(_) => false,
    }
}

impl Breaker {
    pub fn new(run: usize) -> Self {
        Self {
            run,
            runs: HashMap::new(),
            tripped: HashMap::new(),
        }
    }

    /// Takes a group of outcomes in commit order, before they are committed; returns the runs to
    /// refund (a run that just tripped, and failures that join an earlier trip's reply).
    pub fn observe(&mut self, outcomes: &[Outcome]) -> Vec<Trip> {
        if self.run == 0 {
            return vec![];
        }
        let mut trips: HashMap<IssueId, Trip> = HashMap::new();
        for o in outcomes {
            let error = match &o.kind {
                OutcomeKind::Sent { .. } => {
                    self.runs.remove(&o.issue);
                    self.tripped.remove(&o.issue);
                    continue;
                }
                // The message probably arrived (refunding it would mail the reader again), or
                // herald itself cannot send to this address (not the relay's doing).
                OutcomeKind::Released
                | OutcomeKind::Unconfirmed { .. }
                | OutcomeKind::Deferred {
                    unconfirmed: true, ..
                }
                | OutcomeKind::Failed {
                    error: AttemptError::Unsendable(_),
                    ..
                } => continue,
                OutcomeKind::Deferred { error, .. } | OutcomeKind::Failed { error, .. } => error,
            };
            if about_recipient(error) {
                self.runs.remove(&o.issue);
                continue;
            }
            let sig = signature(error);
            if let Some((tripped_sig, reply)) = self.tripped.get(&o.issue)
                && *tripped_sig == sig
            {
                trips
                    .entry(o.issue)
                    .or_insert_with(|| Trip {
                        issue: o.issue,
                        deliveries: vec![],
                        reply: reply.clone(),
                    })
                    .deliveries
                    .push(o.delivery);
                continue;
            }
            let run = self.runs.entry(o.issue).or_default();
            if run.signature != sig {
                *run = Run {
                    signature: sig,
                    reply: error.to_string(),
                    deliveries: vec![],
                };
            }
            run.deliveries.push(o.delivery);
            if run.deliveries.len() >= self.run {
                let run = self.runs.remove(&o.issue).unwrap_or_default();
                self.tripped
                    .insert(o.issue, (run.signature.clone(), run.reply.clone()));
                let trip = trips.entry(o.issue).or_insert_with(|| Trip {
                    issue: o.issue,
                    deliveries: vec![],
                    reply: run.reply.clone(),
                });
                trip.deliveries.extend(run.deliveries);
            }
        }
        trips.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SmtpReply;

    fn failed(delivery: i64, reply: &str) -> Outcome {
        Outcome {
            delivery: DeliveryId(delivery),
            issue: IssueId(1),
            kind: OutcomeKind::Failed {
                error: AttemptError::Reply(SmtpReply::parse(reply).unwrap()),
                gave_up_after: None,
                bounce: None,
            },
        }
    }

    fn sent(delivery: i64) -> Outcome {
        Outcome {
            delivery: DeliveryId(delivery),
            issue: IssueId(1),
            kind: OutcomeKind::Sent {
                reply: SmtpReply::parse("250 2.0.0 ok").unwrap(),
            },
        }
    }

    #[test]
    fn a_run_of_the_same_relay_refusal_trips_and_later_ones_join_the_refund() {
        let mut b = Breaker::new(3);
        let relay = |d: i64| {
            failed(
                d,
                &format!("554 5.7.1 <r{d}@example.com>: Relay access denied"),
            )
        };
        assert!(b.observe(&[relay(1), relay(2)]).is_empty());
        let trips = b.observe(&[relay(3)]);
        assert_eq!(trips.len(), 1);
        assert_eq!(
            trips[0].deliveries,
            vec![DeliveryId(1), DeliveryId(2), DeliveryId(3)]
        );
        assert!(trips[0].reply.contains("Relay access denied"));
        let late = b.observe(&[relay(4)]);
        assert_eq!(
            late[0].deliveries,
            vec![DeliveryId(4)],
            "in flight when it tripped"
        );
    }

    #[test]
    fn after_a_trip_a_different_relay_failure_can_trip_again() {
        let mut b = Breaker::new(2);
        let relay = |d: i64| failed(d, "554 5.7.1 Relay access denied");
        let tls = |d: i64| failed(d, "530 5.7.0 Must issue a STARTTLS command first");
        assert_eq!(b.observe(&[relay(1), relay(2)]).len(), 1);
        assert!(b.observe(&[tls(3)]).is_empty());
        let trips = b.observe(&[tls(4)]);
        assert_eq!(trips[0].deliveries, vec![DeliveryId(3), DeliveryId(4)]);
        assert!(trips[0].reply.contains("STARTTLS"));
    }

    #[test]
    fn addresses_herald_cannot_send_to_never_trip_it() {
        let mut b = Breaker::new(2);
        let unsendable = |d: i64| Outcome {
            delivery: DeliveryId(d),
            issue: IssueId(1),
            kind: OutcomeKind::Failed {
                error: AttemptError::Unsendable("address j***@e***.de needs SMTPUTF8".into()),
                gave_up_after: None,
                bounce: None,
            },
        };
        assert!(
            b.observe(&[unsendable(1), unsendable(2), unsendable(3)])
                .is_empty()
        );
    }

    #[test]
    fn unknown_users_a_success_or_different_replies_do_not_trip() {
        let mut b = Breaker::new(3);
        let unknown = |d: i64| failed(d, &format!("550 5.1.1 <r{d}@example.com>: user unknown"));
        assert!(
            b.observe(&[unknown(1), unknown(2), unknown(3), unknown(4)])
                .is_empty()
        );
        let relay = |d: i64| failed(d, "554 5.7.1 Relay access denied");
        assert!(
            b.observe(&[relay(5), relay(6), sent(7), relay(8), relay(9)])
                .is_empty()
        );
        let other = failed(10, "451 4.3.0 temporary local problem");
        assert!(b.observe(&[other]).is_empty());
        assert!(b.observe(&[relay(11), relay(12)]).is_empty());
        assert_eq!(b.observe(&[relay(13)]).len(), 1);
    }
}
