//! herald's integration tests: one binary, one harness (`helpers`), a fresh database and ports per test.

mod bounce_corpus;
mod bounce_mail;
mod bounces;
mod bounces_imap;
mod bounces_postfix;
mod browser;
mod config_check;
mod crash;
mod delivery_smtp_sink;
mod dkim;
mod fixture_smtp;
mod hardening;
mod helpers;
mod hygiene;
mod idn;
mod import_csv;
mod list_fields;
mod pause_resume;
mod queue_refusals;
mod render_fuzz;
mod retries;
mod scheduling;
mod servers;
mod smtp_tls;
mod spamassassin;
mod unsubscribe;
