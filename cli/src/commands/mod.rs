pub mod aws;
pub mod backfill;
pub mod backtest;
pub mod generate;
pub mod override_task;
pub mod plot;
pub mod replay;
pub mod tune;
