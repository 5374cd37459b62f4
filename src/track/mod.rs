//! Track: what happened to each message. The recorder commits outcomes to the store; tokens tie an
//! unsubscribe link or a bounce address back to its delivery without being guessable from an id.

mod recorder;
mod tokens;

pub use recorder::{Recorder, RecorderError};
pub use tokens::{Purpose, TokenPair, Tokens};
