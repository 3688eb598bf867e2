pub mod generate;
pub mod replay;
