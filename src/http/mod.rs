//! HTTP edge: the one-click unsubscribe endpoint (RFC 8058) and a health check.

mod pages;
mod unsubscribe;

pub use unsubscribe::router;
