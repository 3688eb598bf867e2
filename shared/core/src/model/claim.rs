//! A message's claim: who holds it, since when, and where its delivery stands. The rules of
//! claiming are in `recording`; why claims are leases is told in `notify::delivery`.

use crate::time::EpochMs;

/// How long a claim is its owner's alone. Far longer than one invocation needs to publish one
/// message (each SDK call gives up after seconds), far shorter than the check interval, so that
/// the next tick always finds an undelivered claim free to take over.
pub const LEASE_MS: i64 = 2 * 60 * 1_000;

/// A claim: who holds it and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub claimed_at: EpochMs,
}

impl Lease {
    /// The claim time of a released claim: its owner gave it back (its publish failed), so the
    /// next attempt takes it over at once. No real claim is that old.
    pub const RELEASED: EpochMs = 0;

    /// When the lease runs out; `None` once released.
    pub fn ends_at(&self) -> Option<EpochMs> {
        (self.claimed_at != Self::RELEASED).then(|| self.claimed_at.saturating_add(LEASE_MS))
    }

    /// Past its lease at `now` (or released): another invocation may take the claim over.
    pub fn has_expired(&self, now: EpochMs) -> bool {
        self.ends_at().is_none_or(|ends| now >= ends)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeliveryState {
    /// Never claimed.
    #[default]
    Unclaimed,
    /// Claimed, not (known to be) delivered.
    Pending(Lease),
    Delivered,
}

impl DeliveryState {
    /// The lease to take over at `now`: claimed, undelivered and past its lease.
    pub fn expired_lease(&self, now: EpochMs) -> Option<&Lease> {
        match self {
            DeliveryState::Pending(lease) if lease.has_expired(now) => Some(lease),
            _ => None,
        }
    }
}
