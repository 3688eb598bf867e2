//! What people are told: the messages of each alert (email, SMS, JSON) and the rules of their
//! delivery (claims as leases, dedupe keys).

pub mod delivery;
pub mod humanize;
pub mod message;
pub mod missed;
