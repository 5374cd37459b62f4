//! What herald does about one bounce event: a pure decision from the event and what the store knows
//! about the subscriber, so the rules live in one place and are tested without a database.
//!
//! - A hard bounce (the address is bad for good) stops the subscriber (`bounced`) and marks the
//!   delivery `bounced`, also when the relay had accepted it (`sent`) and the far end refused later.
//! - A soft bounce is counted. `soft_limit` soft bounces on distinct issues within `soft_window`
//!   make the subscriber `bounced`. A later delivery that went out at least `clean_after` ago and came
//!   back with nothing restarts the count (the store counts only issues newer than the last such
//!   delivery). Reports the parser could not read (`on_hold`, `undefined`) are never counted. Refusals that are
//!   about the sender or the message (blocked, spam, policy, authentication, content, rate) are
//!   recorded but never counted against the address: a provider blocking herald's IP must not
//!   unsubscribe the list.
//! - A complaint stops the subscriber (`complained`) whatever their status was.
//! - Delay reports, auto-replies, success reports and non-reports are recorded and change nothing.
//! - A report whose token does not verify is recorded as unmatched and changes nothing.

use super::{BounceClass, BounceKind, BounceReason, DeliveryState, SubscriberStatus};
use std::time::Duration;

/// Whether a hard bounce or complaint stops the address on this list only or on every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppress {
    List,
    AllLists,
}

/// The operator's bounce rules (`[bounce]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncePolicy {
    pub soft_limit: u32,
    pub soft_window: Duration,
    pub suppress: Suppress,
    /// Pause an issue when sender-blocked refusals reach this share of its recent deliveries.
    pub block_pause_percent: u32,
    /// How many of an issue's most recent attempted deliveries that share is taken over.
    pub block_window: u32,
    /// At least this many sender-blocked refusals before an issue pauses (a share of a handful of
    /// deliveries says nothing).
    pub block_min: u32,
    /// A delivery counts as clean (and restarts the soft count) once it went out this long ago with
    /// nothing come back: long enough for a relay to give up on it and report (Postfix keeps a
    /// message five days).
    pub clean_after: Duration,
}

impl Default for BouncePolicy {
    fn default() -> Self {
        Self {
            soft_limit: 3,
            soft_window: Duration::from_secs(30 * 86_400),
            suppress: Suppress::List,
            block_pause_percent: 20,
            block_window: 200,
            block_min: 10,
            clean_after: Duration::from_secs(5 * 86_400),
        }
    }
}

/// What herald did about an event; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceEffect {
    /// No valid token: nobody was changed. For the operator to review.
    Unmatched,
    /// Recorded only (auto-reply, success or delay report, not a report at all).
    Recorded,
    /// A soft bounce counted against the address.
    SoftCounted,
    /// A soft refusal about the sender (blocked, spam, policy): not counted against the address.
    NotCounted,
    /// The subscriber became `bounced`.
    SubscriberBounced,
    /// The subscriber became `complained`.
    SubscriberComplained,
    /// The subscriber had already left (unsubscribed, bounced or complained): nothing more to do.
    AlreadyStopped,
}

stored_enum!(BounceEffect, "bounce effect", [
    Unmatched => "unmatched",
    Recorded => "recorded",
    SoftCounted => "soft_counted",
    NotCounted => "not_counted",
    SubscriberBounced => "subscriber_bounced",
    SubscriberComplained => "subscriber_complained",
    AlreadyStopped => "already_stopped",
]);

/// One event as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct BounceFacts {
    pub kind: BounceKind,
    pub class: BounceClass,
    pub reason: BounceReason,
    /// False for a DSN `delayed` action: the MTA is still trying.
    pub is_failure: bool,
    pub subscriber: SubscriberStatus,
    pub delivery: DeliveryState,
    /// Soft bounces counted for this subscriber on distinct issues within the window, this one
    /// included (only read for soft bounces).
    pub soft_count: u32,
}

/// The changes to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub effect: BounceEffect,
    pub subscriber: Option<SubscriberStatus>,
    pub delivery: Option<DeliveryState>,
    /// Also stop the address on the operator's other lists, in this status (hard bounces and
    /// complaints under `Suppress::AllLists`, whether or not this list's subscriber still changes).
    pub everywhere: Option<SubscriberStatus>,
}

impl Decision {
    /// Record `effect`, change nothing.
    pub fn only(effect: BounceEffect) -> Self {
        Self {
            effect,
            subscriber: None,
            delivery: None,
            everywhere: None,
        }
    }
}

impl BouncePolicy {
    /// Whether a soft event counts against the address.
    pub fn counts_as_soft(
        kind: BounceKind,
        class: BounceClass,
        reason: BounceReason,
        is_failure: bool,
    ) -> bool {
        kind == BounceKind::Bounce
            && class == BounceClass::Soft
            && is_failure
            && !reason.is_about_sender()
            && !matches!(reason, BounceReason::OnHold | BounceReason::Undefined)
    }

    pub fn decide(&self, f: &BounceFacts) -> Decision {
        let all_lists = self.suppress == Suppress::AllLists;
        let delivery_to = |next: DeliveryState| f.delivery.can_move_to(next).then_some(next);
        match f.kind {
            BounceKind::Complaint => {
                let everywhere = all_lists.then_some(SubscriberStatus::Complained);
                if f.subscriber.can_move_to(SubscriberStatus::Complained) {
                    Decision {
                        effect: BounceEffect::SubscriberComplained,
                        subscriber: Some(SubscriberStatus::Complained),
                        delivery: None,
                        everywhere,
                    }
                } else {
                    Decision {
                        everywhere,
                        ..Decision::only(BounceEffect::AlreadyStopped)
                    }
                }
            }
            BounceKind::Bounce if f.is_failure => {
                let hard = f.class == BounceClass::Hard;
                let counted = Self::counts_as_soft(f.kind, f.class, f.reason, f.is_failure);
                let over_limit = counted && f.soft_count >= self.soft_limit.max(1);
                if !(hard || over_limit) {
                    return Decision::only(if counted {
                        BounceEffect::SoftCounted
                    } else {
                        BounceEffect::NotCounted
                    });
                }
                let delivery = if hard {
                    delivery_to(DeliveryState::Bounced)
                } else {
                    None
                };
                // A bad address is bad on every list; a soft limit reached on one list is that
                // list's matter.
                let everywhere = (all_lists && hard).then_some(SubscriberStatus::Bounced);
                if f.subscriber.can_move_to(SubscriberStatus::Bounced) {
                    Decision {
                        effect: BounceEffect::SubscriberBounced,
                        subscriber: Some(SubscriberStatus::Bounced),
                        delivery,
                        everywhere,
                    }
                } else {
                    Decision {
                        delivery,
                        everywhere,
                        ..Decision::only(BounceEffect::AlreadyStopped)
                    }
                }
            }
            _ => Decision::only(BounceEffect::Recorded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: BounceKind, class: BounceClass, reason: BounceReason) -> BounceFacts {
        BounceFacts {
            kind,
            class,
            reason,
            is_failure: true,
            subscriber: SubscriberStatus::Active,
            delivery: DeliveryState::Sent,
            soft_count: 1,
        }
    }

    #[test]
    fn a_hard_bounce_stops_the_subscriber_and_marks_a_sent_delivery_bounced() {
        let d = BouncePolicy::default().decide(&facts(
            BounceKind::Bounce,
            BounceClass::Hard,
            BounceReason::UserUnknown,
        ));
        assert_eq!(d.effect, BounceEffect::SubscriberBounced);
        assert_eq!(d.subscriber, Some(SubscriberStatus::Bounced));
        assert_eq!(d.delivery, Some(DeliveryState::Bounced));
        assert_eq!(d.everywhere, None);
    }

    #[test]
    fn soft_bounces_count_until_the_limit() {
        let policy = BouncePolicy::default();
        let mut f = facts(
            BounceKind::Bounce,
            BounceClass::Soft,
            BounceReason::MailboxFull,
        );
        assert_eq!(policy.decide(&f).effect, BounceEffect::SoftCounted);
        f.soft_count = 3;
        let d = policy.decide(&f);
        assert_eq!(d.subscriber, Some(SubscriberStatus::Bounced));
        assert_eq!(d.delivery, None, "the delivery itself is not a hard bounce");
    }

    #[test]
    fn refusals_about_the_sender_never_count_against_the_address() {
        let mut f = facts(BounceKind::Bounce, BounceClass::Soft, BounceReason::Blocked);
        f.soft_count = 99;
        let d = BouncePolicy::default().decide(&f);
        assert_eq!(d.effect, BounceEffect::NotCounted);
        assert_eq!(d.subscriber, None);
    }

    #[test]
    fn a_hard_bounce_for_someone_who_already_left_still_stops_them_on_every_list() {
        let mut f = facts(
            BounceKind::Bounce,
            BounceClass::Hard,
            BounceReason::UserUnknown,
        );
        f.subscriber = SubscriberStatus::Unsubscribed;
        let policy = BouncePolicy {
            suppress: Suppress::AllLists,
            ..BouncePolicy::default()
        };
        let d = policy.decide(&f);
        assert_eq!(d.effect, BounceEffect::AlreadyStopped);
        assert_eq!(d.everywhere, Some(SubscriberStatus::Bounced));
        assert_eq!(d.delivery, Some(DeliveryState::Bounced));
    }

    #[test]
    fn unreadable_reports_are_never_counted() {
        let mut f = facts(BounceKind::Bounce, BounceClass::Soft, BounceReason::OnHold);
        f.soft_count = 99;
        assert_eq!(
            BouncePolicy::default().decide(&f).effect,
            BounceEffect::NotCounted
        );
    }

    #[test]
    fn delay_reports_and_auto_replies_change_nothing() {
        let mut f = facts(
            BounceKind::Bounce,
            BounceClass::Hard,
            BounceReason::UserUnknown,
        );
        f.is_failure = false;
        assert_eq!(
            BouncePolicy::default().decide(&f).effect,
            BounceEffect::Recorded
        );
        let f = facts(
            BounceKind::AutoReply,
            BounceClass::Soft,
            BounceReason::Vacation,
        );
        assert_eq!(BouncePolicy::default().decide(&f).subscriber, None);
    }

    #[test]
    fn a_complaint_is_kept_even_after_an_unsubscribe() {
        let mut f = facts(
            BounceKind::Complaint,
            BounceClass::Soft,
            BounceReason::Feedback,
        );
        f.subscriber = SubscriberStatus::Unsubscribed;
        let policy = BouncePolicy {
            suppress: Suppress::AllLists,
            ..BouncePolicy::default()
        };
        let d = policy.decide(&f);
        assert_eq!(d.subscriber, Some(SubscriberStatus::Complained));
        assert_eq!(d.everywhere, Some(SubscriberStatus::Complained));
        f.subscriber = SubscriberStatus::Complained;
        let d = policy.decide(&f);
        assert_eq!(d.effect, BounceEffect::AlreadyStopped);
        assert_eq!(
            d.everywhere,
            Some(SubscriberStatus::Complained),
            "other lists are stopped even when this one already was"
        );
    }
}
