//! Request and item counters of the adapters: what the cost figures in docs/PERFORMANCE.md are
//! measured with, and what the functions report as metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counters {
    pub dynamodb_requests: AtomicU64,
    pub items_read: AtomicU64,
    /// Run items read by the nightly roll-up (each finished run should be read once).
    pub run_items_rolled_up: AtomicU64,
    pub sns_publishes: AtomicU64,
}

/// A point-in-time copy, for assertions and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub dynamodb_requests: u64,
    pub items_read: u64,
    pub run_items_rolled_up: u64,
    pub sns_publishes: u64,
}

pub type SharedCounters = Arc<Counters>;

impl Counters {
    pub fn request(&self) {
        self.dynamodb_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self, items: usize) {
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            dynamodb_requests: self.dynamodb_requests.load(Ordering::Relaxed),
            items_read: self.items_read.load(Ordering::Relaxed),
            run_items_rolled_up: self.run_items_rolled_up.load(Ordering::Relaxed),
            sns_publishes: self.sns_publishes.load(Ordering::Relaxed),
        }
    }
}

impl CountersSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &CountersSnapshot) -> CountersSnapshot {
        CountersSnapshot {
            dynamodb_requests: self.dynamodb_requests - earlier.dynamodb_requests,
            items_read: self.items_read - earlier.items_read,
            run_items_rolled_up: self.run_items_rolled_up - earlier.run_items_rolled_up,
            sns_publishes: self.sns_publishes - earlier.sns_publishes,
        }
    }
}
