//! herald: an email newsletter delivery daemon.
//!
//! The path of one issue through the code follows the module list: an edge ([`cli`], [`http`]) parses
//! input into [`domain`] types; [`queue`] renders the issue once ([`render`]) and stores it; the
//! [`scheduler`] starts it when due, freezing its recipients; [`send`] claims deliveries in batches and
//! sends personalised messages over reused SMTP sessions; [`track`] commits each outcome and verifies
//! the tokens that unsubscribe links carry. [`store`] owns every SQL statement. [`app`] runs it all.

pub mod app;
pub mod bounce;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod queue;
pub mod render;
pub mod scheduler;
pub mod send;
pub mod service;
pub mod store;
pub mod track;
