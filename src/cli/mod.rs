//! CLI edge: `herald [--config PATH] COMMAND`. Arguments are parsed into domain types here; each command
//! prints a human summary, or with `--json` exactly one JSON document on stdout.

mod args;
mod bounces;
mod dkim;
mod issues;
mod lists;
mod live;
mod output;
mod preview;
mod run;
mod subscribers;
mod tokens;
mod watch;

pub use args::Cli;
pub use run::main;
