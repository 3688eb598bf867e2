//! Delivering one message at least once: claim it (a lease), publish, mark it delivered.
//!
//! Every failure leaves the claim undelivered, so it is sent again: at once by the next attempt
//! when the publish failed and the claim could be released, or by whichever invocation finds it
//! past its lease otherwise (a crash, a timeout, a lost answer). The only repeats are those of a
//! publish that went through while its answer, or the mark after it, was lost.

use overrun_core::EpochMs;
use overrun_core::notify::delivery::{DeliveryState, Lease, MessageKey};
use overrun_core::notify::humanize::utc_minute;
use overrun_core::notify::message::Notification;
use overrun_core::ports::{ClaimKind, Claimed, Notifier, NotifyError, Outbox, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DeliveryError {
    /// Claiming failed: the message stays unclaimed (or its claim undelivered) and is sent later.
    #[error("claiming {key} failed: {source}")]
    Claim { key: String, source: StoreError },
    /// The publish failed: the claim was released (when that worked) for the next attempt.
    #[error("publishing {key} failed: {source}")]
    Publish { key: String, source: NotifyError },
    /// Published, but the delivery mark failed: the message will be sent again once its lease
    /// runs out (a repeat with the same dedupe key).
    #[error("{key} was published but could not be marked delivered: {source}")]
    Mark { key: String, source: StoreError },
}

impl DeliveryError {
    /// Whether the message reached the topic despite the error.
    pub fn was_published(&self) -> bool {
        matches!(self, DeliveryError::Mark { .. })
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Published and marked delivered by this invocation.
    Delivered,
    /// Delivered before, held by another invocation within its lease, or no longer due.
    NotOurs,
}

/// Delivers messages for one invocation (`owner`) at `now`.
pub struct Courier<'a, O, N> {
    outbox: &'a O,
    notifier: &'a N,
    owner: &'a str,
    now: EpochMs,
}

impl<'a, O: Outbox, N: Notifier> Courier<'a, O, N> {
    pub fn new(outbox: &'a O, notifier: &'a N, owner: &'a str, now: EpochMs) -> Self {
        Self { outbox, notifier, owner, now }
    }

    /// The time of the invocation it delivers for.
    pub fn now(&self) -> EpochMs {
        self.now
    }

    fn lease(&self) -> Lease {
        Lease { owner: self.owner.to_owned(), claimed_at: self.now }
    }

    /// Sends a message that is due now. When someone else's claim of it is found past its lease
    /// and undelivered, takes that over instead (and sends the message stored with it).
    pub async fn send_new(&self, key: &MessageKey, message: &Notification) -> Result<Sent, DeliveryError> {
        match self.claim(key, ClaimKind::Fresh(message)).await? {
            Claimed::Won(stored) => self.publish(key, &stored).await,
            Claimed::Held(state) => match state.expired_lease(self.now) {
                Some(stale) => self.resend(key, &stale.clone()).await,
                None => Ok(Sent::NotOurs),
            },
        }
    }

    /// Sends again a message whose claim `stale` is past its lease and undelivered.
    pub async fn resend(&self, key: &MessageKey, stale: &Lease) -> Result<Sent, DeliveryError> {
        match self.claim(key, ClaimKind::TakeOver(stale)).await? {
            Claimed::Won(stored) => self.publish(key, &stored).await,
            Claimed::Held(_) => Ok(Sent::NotOurs),
        }
    }

    /// Sends what `state` says is still owed: nothing when delivered or within someone's lease.
    pub async fn resend_if_stale(
        &self,
        key: &MessageKey,
        state: &DeliveryState,
    ) -> Result<Sent, DeliveryError> {
        match state.expired_lease(self.now) {
            Some(stale) => self.resend(key, stale).await,
            None => Ok(Sent::NotOurs),
        }
    }

    async fn claim(&self, key: &MessageKey, how: ClaimKind<'_>) -> Result<Claimed, DeliveryError> {
        self.outbox
            .claim(key, &self.lease(), how)
            .await
            .map_err(|source| DeliveryError::Claim { key: describe(key), source })
    }

    async fn publish(&self, key: &MessageKey, message: &Notification) -> Result<Sent, DeliveryError> {
        if let Err(source) = self.notifier.publish(message).await {
            if let Err(error) = self.outbox.release(key, self.owner).await {
                // The lease then runs out on its own: the message is only later, not lost.
                tracing::warn!(%error, key = %describe(key), "could not release a claim after a failed publish");
            }
            return Err(DeliveryError::Publish { key: describe(key), source });
        }
        self.outbox
            .mark_delivered(key, self.now)
            .await
            .map_err(|source| DeliveryError::Mark { key: describe(key), source })?;
        Ok(Sent::Delivered)
    }
}

/// A key as logs and errors show it.
pub fn describe(key: &MessageKey) -> String {
    match key {
        MessageKey::Alert { task_type, run_id, level } => {
            format!("the {level} alert of {task_type} run {run_id}")
        }
        MessageKey::Resolved { task_type, run_id } => format!("the \"resolved\" of {task_type} run {run_id}"),
        MessageKey::TooShort { task_type, day } => {
            format!("the too-short notice of {task_type} on {}", day.date())
        }
        MessageKey::Missed { task_type, first_due, level } => {
            format!("the {level} missed-start alert of {task_type} due {}", utc_minute(*first_due))
        }
        MessageKey::Resumed { task_type, first_due } => {
            format!("the \"resolved\" of {task_type}'s start missed at {}", utc_minute(*first_due))
        }
    }
}

#[cfg(test)]
mod tests {
    use overrun_core::notify::delivery::LEASE_MS;
    use overrun_core::notify::message::Notification;
    use overrun_core::{Level, RunId, TaskType};

    use super::*;
    use crate::memory::{MemoryNotifier, MemoryOutbox};

    fn key() -> MessageKey {
        MessageKey::Alert {
            task_type: TaskType::new("etl").unwrap(),
            run_id: RunId::new("r1").unwrap(),
            level: Level::Warning,
        }
    }

    fn message(text: &str) -> Notification {
        Notification {
            subject: text.into(),
            default: text.into(),
            email: text.into(),
            sms: text.into(),
            severity: "warning".into(),
            kind: "overrun".into(),
            task_type: "etl".into(),
            alert_id: "etl/r1/warning".into(),
            account: None,
        }
    }

    /// A first claim at `T0 + at`.
    const T0: EpochMs = 1_700_000_000_000;

    async fn send(
        outbox: &MemoryOutbox,
        notifier: &MemoryNotifier,
        owner: &str,
        at: EpochMs,
    ) -> Result<Sent, DeliveryError> {
        Courier::new(outbox, notifier, owner, T0 + at).send_new(&key(), &message(owner)).await
    }

    #[tokio::test]
    async fn a_message_is_published_once_and_marked_delivered() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        assert_eq!(send(&outbox, &notifier, "a", 0).await.unwrap(), Sent::Delivered);
        assert_eq!(send(&outbox, &notifier, "b", LEASE_MS * 10).await.unwrap(), Sent::NotOurs);
        assert_eq!(notifier.subjects(), ["a"]);
        assert_eq!(outbox.state(&key()), DeliveryState::Delivered);
    }

    #[tokio::test]
    async fn a_claim_whose_owner_crashed_is_sent_by_the_first_invocation_past_its_lease() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        assert!(send(&outbox, &notifier, "a", 0).await.is_err(), "the owner dies after claiming");
        assert_eq!(
            send(&outbox, &notifier, "b", LEASE_MS - 1).await.unwrap(),
            Sent::NotOurs,
            "within the lease"
        );
        assert_eq!(send(&outbox, &notifier, "c", LEASE_MS).await.unwrap(), Sent::Delivered);
        assert_eq!(notifier.subjects(), ["a"], "the message stored with the first claim is the one sent");
    }

    #[tokio::test]
    async fn a_failed_publish_releases_the_claim_so_the_next_attempt_sends_at_once() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        notifier.fail_next(1);
        assert!(matches!(send(&outbox, &notifier, "a", 0).await, Err(DeliveryError::Publish { .. })));
        assert_eq!(send(&outbox, &notifier, "b", 1).await.unwrap(), Sent::Delivered);
        assert_eq!(notifier.subjects(), ["a"]);
    }

    #[tokio::test]
    async fn a_failed_publish_whose_release_fails_too_is_sent_once_the_lease_runs_out() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        notifier.fail_next(1);
        outbox.fail_releases(1);
        assert!(send(&outbox, &notifier, "a", 0).await.is_err());
        assert_eq!(send(&outbox, &notifier, "b", 1).await.unwrap(), Sent::NotOurs);
        assert_eq!(send(&outbox, &notifier, "c", LEASE_MS).await.unwrap(), Sent::Delivered);
        assert_eq!(notifier.subjects(), ["a"]);
    }

    #[tokio::test]
    async fn a_claim_applied_but_answered_as_failed_is_recognised_as_ours() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.lose_claim_answers(1);
        assert_eq!(send(&outbox, &notifier, "a", 0).await.unwrap(), Sent::Delivered);
        assert_eq!(notifier.subjects(), ["a"]);
    }

    #[tokio::test]
    async fn a_lost_delivery_mark_repeats_the_message_once_with_the_same_dedupe_key() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.fail_marks(1);
        let first = send(&outbox, &notifier, "a", 0).await.unwrap_err();
        assert!(first.was_published());
        assert_eq!(send(&outbox, &notifier, "b", LEASE_MS).await.unwrap(), Sent::Delivered);
        assert_eq!(send(&outbox, &notifier, "c", 3 * LEASE_MS).await.unwrap(), Sent::NotOurs);
        let ids = notifier.alert_ids();
        assert_eq!(ids, ["etl/r1/warning", "etl/r1/warning"]);
    }

    #[tokio::test]
    async fn two_invocations_racing_within_a_lease_send_one_message() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        let _ = send(&outbox, &notifier, "a", 0).await;
        let (b, c) =
            tokio::join!(send(&outbox, &notifier, "b", LEASE_MS), send(&outbox, &notifier, "c", LEASE_MS));
        let delivered = [b.unwrap(), c.unwrap()].iter().filter(|s| **s == Sent::Delivered).count();
        assert_eq!(delivered, 1);
        assert_eq!(notifier.subjects(), ["a"]);
    }

    /// The claim `owner` took at `T0 + at`.
    fn lease(owner: &str, at: EpochMs) -> Lease {
        Lease { owner: owner.into(), claimed_at: T0 + at }
    }

    #[tokio::test]
    async fn resend_if_stale_sends_nothing_for_an_unclaimed_or_delivered_message_nor_one_within_its_lease() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        let courier = Courier::new(&outbox, &notifier, "b", T0 + LEASE_MS - 1);
        for state in
            [DeliveryState::Unclaimed, DeliveryState::Delivered, DeliveryState::Pending(lease("a", 0))]
        {
            assert_eq!(courier.resend_if_stale(&key(), &state).await.unwrap(), Sent::NotOurs, "{state:?}");
        }
        assert!(notifier.published().is_empty());
        assert_eq!(outbox.state(&key()), DeliveryState::Unclaimed, "nothing was claimed");
    }

    #[tokio::test]
    async fn resend_if_stale_takes_over_a_claim_past_its_lease_and_sends_the_message_stored_with_it() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        assert!(send(&outbox, &notifier, "a", 0).await.is_err());
        let state = outbox.state(&key());
        assert_eq!(state, DeliveryState::Pending(lease("a", 0)));
        let courier = Courier::new(&outbox, &notifier, "b", T0 + LEASE_MS);
        assert_eq!(courier.resend_if_stale(&key(), &state).await.unwrap(), Sent::Delivered);
        assert_eq!(notifier.subjects(), ["a"]);
        assert_eq!(outbox.state(&key()), DeliveryState::Delivered);
    }

    #[tokio::test]
    async fn a_take_over_applies_only_to_the_very_claim_it_names_so_of_two_only_the_first_sends() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        assert!(send(&outbox, &notifier, "a", 0).await.is_err());
        let (b, c) = (
            Courier::new(&outbox, &notifier, "b", T0 + LEASE_MS),
            Courier::new(&outbox, &notifier, "c", T0 + LEASE_MS),
        );
        assert_eq!(b.resend(&key(), &lease("x", 0)).await.unwrap(), Sent::NotOurs, "not the claim held");
        assert_eq!(b.resend(&key(), &lease("a", 0)).await.unwrap(), Sent::Delivered);
        assert_eq!(c.resend(&key(), &lease("a", 0)).await.unwrap(), Sent::NotOurs, "b took it first");
        assert_eq!(notifier.subjects(), ["a"]);
    }

    #[tokio::test]
    async fn a_take_over_whose_publish_fails_is_released_for_the_next_attempt() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        assert!(send(&outbox, &notifier, "a", 0).await.is_err());
        notifier.fail_next(1);
        let b = Courier::new(&outbox, &notifier, "b", T0 + LEASE_MS);
        assert!(matches!(b.resend(&key(), &lease("a", 0)).await, Err(DeliveryError::Publish { .. })));
        let released = outbox.state(&key());
        assert_eq!(
            released,
            DeliveryState::Pending(Lease { owner: "b".into(), claimed_at: Lease::RELEASED })
        );
        let c = Courier::new(&outbox, &notifier, "c", T0 + LEASE_MS + 1);
        assert_eq!(c.resend_if_stale(&key(), &released).await.unwrap(), Sent::Delivered, "within b's lease");
        assert_eq!(notifier.subjects(), ["a"]);
    }

    #[tokio::test]
    async fn a_failed_claim_or_publish_is_told_apart_and_neither_counts_as_published() {
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        outbox.crash_after_claim(1);
        let claim = send(&outbox, &notifier, "a", 0).await.unwrap_err();
        assert!(matches!(claim, DeliveryError::Claim { .. }) && !claim.was_published(), "{claim}");
        assert!(claim.to_string().starts_with("claiming the warning alert of etl run r1 failed"), "{claim}");
        let (outbox, notifier) = (MemoryOutbox::default(), MemoryNotifier::default());
        notifier.fail_next(1);
        let publish = send(&outbox, &notifier, "a", 0).await.unwrap_err();
        assert!(matches!(publish, DeliveryError::Publish { .. }) && !publish.was_published(), "{publish}");
        assert!(notifier.published().is_empty());
    }

    #[test]
    fn each_kind_of_message_is_described_by_what_and_whom_it_is_about() {
        assert_eq!(describe(&key()), "the warning alert of etl run r1");
        let (task_type, run_id) = (TaskType::new("etl").unwrap(), RunId::new("r1").unwrap());
        let resolved = MessageKey::Resolved { task_type: task_type.clone(), run_id };
        assert_eq!(describe(&resolved), "the \"resolved\" of etl run r1");
        let notice = MessageKey::TooShort { task_type, day: overrun_core::time::Day::new(20_000) };
        assert_eq!(describe(&notice), "the too-short notice of etl on 2024-10-04");
    }
}
