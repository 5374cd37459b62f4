//! Send: claimed deliveries become personalised MIME messages, sent over reused SMTP sessions (or
//! written to the outbox), with every outcome committed before the session's next transaction.

mod dispatcher;
pub mod dkim;
mod encode;
mod global_rate;
mod message;
mod outbox;
mod outcome;
mod rate;
mod session;
mod smtp;
mod tls;
mod transaction;
mod worker;

pub mod confirmation;
pub use dispatcher::{Dispatcher, PumpReport};
pub use message::MessageTemplate;
pub use outcome::{SendFailure, is_throttle, outcome_for};
pub use rate::{Limits, RateLimiter};
pub use session::{Capabilities, Connector, OpenError, OpenFailure, Outgoing, Session};
pub use tls::Trust;
