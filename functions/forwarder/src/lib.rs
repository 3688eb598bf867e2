//! The forwarder: Overrun's alerts from its SNS topic to where on-call people are, PagerDuty
//! (Events API v2) and Slack (an incoming webhook), each turned on by a deploy parameter naming
//! the Secrets Manager secret that holds its key or URL.
//!
//! - [`message`]: the SNS event and Overrun's message document;
//! - [`pagerduty`], [`slack`]: what each destination is sent for a message (pure);
//! - [`deliver`]: posting with retries, behind a small port;
//! - [`handler`]: one delivery, every message to every destination.

pub mod deliver;
pub mod handler;
pub mod message;
pub mod pagerduty;
pub mod slack;

pub use deliver::{HttpPoster, Poster, Retries};
pub use handler::{Destinations, Forwarded, PagerDuty, Slack, handle};
pub use message::SnsEvent;
