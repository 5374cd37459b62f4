//! Operations: what a command does, validated and orchestrated once, returning values both faces
//! (the CLI and the HTTP API) print as text or as the same JSON.

pub mod bounces;
pub mod csv_rows;
pub(crate) mod error;
pub mod export;
pub mod issues;
pub mod lists;
pub mod paging;
pub mod stats;
pub mod subscribers;
pub mod tokens;

pub use error::OpsError;
