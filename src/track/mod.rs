//! Track: what happened to each message. The recorder commits outcomes to the store; tokens tie an
//! unsubscribe link or a bounce address back to its delivery without being guessable from an id;
//! the intake turns a returned report into bounce events attributed by those tokens.

mod attribution;
mod breaker;
mod intake;
mod recorder;
mod tokens;

pub use attribution::{Attribution, attribute, attribute_with, unsubscribe_request};
pub use breaker::{Breaker, Trip};
pub use intake::{BounceIntake, IngestOutcome, PreparedReport, deflate, inflate, parse_guarded};
pub use recorder::{Parked, Recorder, RecorderError};
pub use tokens::{Purpose, TokenPair, Tokens, constant_time_eq};
