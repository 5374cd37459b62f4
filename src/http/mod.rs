//! HTTP edge: the one-click unsubscribe endpoint (RFC 8058) and a health check, served with limits
//! that keep hostile clients from starving the sender; and the admin listener's `/metrics` and operator API.

mod admin;
mod api;
mod archive;
mod limit;
mod pages;
mod reader;
mod server;
mod signup;
mod unsubscribe;

pub use admin::admin_router;
pub use api::ApiState;
pub use server::{Limits, serve};
pub use unsubscribe::router;
