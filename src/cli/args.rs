//! The command-line contract, as clap sees it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "herald", version, about = "Email newsletter delivery daemon")]
pub struct Cli {
    /// Configuration file (default: config/herald.toml if present, else built-in defaults).
    #[arg(long, global = true, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: scheduler, sender and HTTP.
    Serve {
        /// Exit once nothing is due and nothing is in flight.
        #[arg(long)]
        until_idle: bool,
    },
    /// Load the configuration and print every problem found.
    CheckConfig,
    /// Manage lists.
    #[command(subcommand)]
    List(ListCommand),
    /// Manage subscribers.
    #[command(subcommand)]
    Subscriber(SubscriberCommand),
    /// Queue and control issues.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Bounces and complaints: ingest a report from the MTA, classify report files, list events.
    #[command(subcommand)]
    Bounce(BounceCommand),
    /// DKIM keys: make one and print the DNS record to publish, or print the records of the
    /// configured keys.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// The database: `db migrate` applies pending migrations (as `serve` does) and lists them.
    #[command(subcommand)]
    Db(DbCommand),
    /// Bearer tokens for the admin API (`/api/v1` on `admin.listen`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Preview the HTML (or with --text the plain part) a subscriber would get.
    Render {
        file: PathBuf,
        #[arg(long)]
        list: Option<String>,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Print the plain-text part instead of the HTML.
        #[arg(long)]
        text: bool,
        #[arg(long)]
        subject: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Write a new private key (mode 0600; an existing file is never overwritten) and print the TXT
    /// record to publish at SELECTOR._domainkey.DOMAIN.
    Keygen {
        /// `rsa` (2048 bits unless --bits) or `ed25519`. RSA-2048 plus Ed25519 is the recommended pair.
        #[arg(long, value_parser = ["rsa", "ed25519"])]
        algorithm: String,
        /// The DNS label the key is published under, e.g. `s2026`.
        #[arg(long)]
        selector: String,
        #[arg(long)]
        out: PathBuf,
        /// RSA key size: 2048 to 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// The signing domain (default: sending.domain).
        #[arg(long)]
        domain: Option<String>,
    },
    /// Load every configured `[[dkim]]` key and print the DNS record it implies, to compare with DNS.
    Check {
        /// Only this selector.
        #[arg(long)]
        selector: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Create a list.
    Create(ListCreate),
    /// Change a list's language or postal address.
    Update(ListUpdate),
    /// One list's settings, language and postal address included.
    Show { slug: String },
    /// Lists with subscriber counts by status.
    Ls,
}

#[derive(Debug, Args)]
pub struct ListCreate {
    pub slug: String,
    #[arg(long)]
    pub name: String,
    /// "Name <address>" used in From.
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub reply_to: Option<String>,
    /// 5-field cron pattern for sending slots, e.g. "0 9 * * MON".
    #[arg(long)]
    pub schedule: Option<String>,
    /// IANA time zone the schedule is read in (default: scheduler.timezone).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Layout under templates/ (default: default).
    #[arg(long, default_value = "default")]
    pub layout: String,
    /// BCP 47 tag of the language the list is written in (`<html lang>`), e.g. en, pt-BR.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Postal address for the footer; lines separated by line breaks.
    #[arg(long)]
    pub postal_address: Option<String>,
    #[command(flatten)]
    pub pages: ListPages,
}

#[derive(Debug, Args)]
pub struct ListUpdate {
    pub slug: String,
    /// BCP 47 tag of the language the list is written in (`<html lang>`), e.g. en, pt-BR.
    #[arg(long)]
    pub language: Option<String>,
    /// Postal address for the footer; lines separated by line breaks; "" removes it.
    #[arg(long)]
    pub postal_address: Option<String>,
    #[command(flatten)]
    pub pages: ListPages,
}

/// A list's public pages, for `list create` (both off unless given) and `list update`.
#[derive(Debug, Args)]
pub struct ListPages {
    /// Show sent issues publicly at /a/SLUG, with an Atom feed (on|off).
    #[arg(long, value_parser = on_off)]
    pub archive: Option<bool>,
    /// Open the signup form at /s/SLUG, with double opt-in (on|off).
    #[arg(long, value_parser = on_off)]
    pub signup: Option<bool>,
    /// Where the signup form sends people afterwards (default, or "": herald's own page).
    #[arg(long)]
    pub thanks_url: Option<String>,
}

/// `on` or `off`.
fn on_off(raw: &str) -> Result<bool, String> {
    match raw {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("`{other}` is not on or off")),
    }
}

#[derive(Debug, Subcommand)]
pub enum SubscriberCommand {
    /// Add or update one subscriber.
    Add {
        list: String,
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// KEY=VALUE attribute; repeatable.
        #[arg(long = "attr", value_name = "KEY=VALUE")]
        attrs: Vec<String>,
    },
    /// Import a CSV file with a header row: `email` required, `name` optional, other columns attributes.
    Import { list: String, file: PathBuf },
    /// Subscribers of a list.
    Ls {
        list: String,
        #[arg(long)]
        status: Option<String>,
    },
    /// Write a list's subscribers to stdout: CSV (the columns `import` reads, then status and
    /// created_at), or one JSON array with --json.
    Export {
        list: String,
        #[arg(long)]
        status: Option<String>,
        /// CSV (the default unless --json).
        #[arg(long)]
        csv: bool,
    },
    /// One subscriber of a list.
    Show { list: String, email: String },
    /// Unsubscribe an address from a list (as if they had used the link).
    Unsubscribe { list: String, email: String },
    /// Erase an address from every list at the person's request: their subscriptions, deliveries and
    /// the personal parts of their bounce records are deleted; a salted hash keeps imports from adding
    /// it again.
    Erase { email: String },
}

#[derive(Debug, Subcommand)]
pub enum BounceCommand {
    /// Record one RFC 5322 message read on stdin, as an MTA's pipe delivers it. Exits 0 when the
    /// message was handled or deliberately ignored, 75 (EX_TEMPFAIL) when it could not be recorded
    /// (database busy or unavailable, unreadable configuration): the MTA then keeps it and retries.
    Ingest {
        /// The envelope recipient (Postfix `${original_recipient}`); without it herald reads
        /// Delivered-To, X-Original-To and To.
        #[arg(long)]
        recipient: Option<String>,
        /// Record these files (one message each) instead of stdin, each in its own transaction.
        files: Vec<PathBuf>,
    },
    /// Classify report files without touching the database.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Recorded bounce events, newest first.
    Ls {
        #[arg(long)]
        list: Option<String>,
        #[arg(long)]
        issue: Option<String>,
        /// Only reports with no valid token (they changed nothing; for review).
        #[arg(long)]
        unmatched: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Print the raw report kept for an event (for bounce.keep_raw_days).
    Raw { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Queue FILE (.md with front matter, or .mjml) for LIST.
    Queue {
        list: String,
        file: PathBuf,
        #[arg(long)]
        subject: Option<String>,
        /// Start time, RFC 3339 (e.g. 2026-12-01T09:00:00+01:00).
        #[arg(long)]
        at: Option<String>,
    },
    /// Issues with state and progress.
    Ls { list: Option<String> },
    /// One issue with delivery counts.
    Show { id: String },
    /// Follow an issue until every delivery is final: a progress bar with rate and ETA on a
    /// terminal, a line every few seconds otherwise. Exits 0 when the issue is sent, 1 when it is
    /// paused or cancelled (with the reason).
    Watch {
        id: String,
        /// How often to look, in milliseconds.
        #[arg(long, default_value_t = 500)]
        every_ms: u64,
    },
    /// Each recipient's fate: state, attempts and the server's last reply.
    Deliveries {
        id: String,
        #[arg(long)]
        state: Option<String>,
    },
    /// Stop sending; every recipient keeps their state.
    Pause { id: String },
    /// Continue exactly where the issue stopped.
    Resume { id: String },
    /// Stop for good; unsent deliveries become skipped.
    Cancel { id: String },
    /// Queue failed (or deferred) deliveries again, e.g. after fixing the relay. Only deliveries
    /// that never got through: nobody who got the issue gets it twice.
    Retry {
        id: String,
        /// failed (default) or deferred.
        #[arg(long, default_value = "failed")]
        state: String,
        /// Only deliveries whose last reply contains this text.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it, once: only its hash is kept.
    Create {
        name: String,
        /// The token can read but not change anything (GET only).
        #[arg(long)]
        read_only: bool,
    },
    /// List tokens (names, prefixes, access, last use), revoked ones included.
    Ls,
    /// Revoke the token in force with this name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database if needed, apply pending migrations, and list those applied.
    Migrate,
    /// Copy every list, subscriber, issue, delivery, bounce, token and setting into another (new,
    /// empty) database, e.g. from SQLite to PostgreSQL, and check every table's row count. Stop the
    /// daemon first.
    Copy {
        /// The database to copy from (default: `database.url`).
        #[arg(long)]
        from: Option<String>,
        /// The database to copy into: a `postgres://` URL, a `sqlite://` URL or a file path. It is
        /// created (SQLite) and migrated if needed, and must hold no rows.
        #[arg(long)]
        to: String,
    },
}
