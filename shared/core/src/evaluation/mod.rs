//! Evaluation: what Overrun would have done over a recorded history, and how well. None of this
//! runs in the deployed functions; it drives the same decisions they make ([`crate::limits`],
//! [`crate::detect`]) over history, for the `overrun` command.

pub mod backtest;
pub mod compare;
pub mod hindsight;
pub mod missed;
pub mod missed_history;
pub mod replay;
pub mod rng;
pub mod scheduled;
