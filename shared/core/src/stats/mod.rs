//! Exact statistics of durations that merge without drift: integer moments and histograms.

pub mod histogram;
pub mod moments;
