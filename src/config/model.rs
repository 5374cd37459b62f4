//! The typed configuration and its defaults. `config/herald.example.toml` documents the same keys.

use crate::domain::{BouncePolicy, EmailAddress};
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub smtp: SmtpConfig,
    pub sending: SendingConfig,
    pub http: HttpConfig,
    pub admin: AdminConfig,
    pub subscribe: SubscribeConfig,
    pub scheduler: SchedulerConfig,
    pub render: RenderConfig,
    pub log: LogConfig,
    pub bounce: BounceConfig,
    /// One DKIM signature per entry (`[[dkim]]`), in order.
    pub dkim: Vec<DkimConfig>,
}

/// One `[[dkim]]` table: a signature every message gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimConfig {
    pub selector: String,
    /// PEM: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8); the algorithm comes from the key.
    pub key_file: PathBuf,
    /// The signing domain (`d=`); default `sending.domain`.
    pub domain: String,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// A path, a `sqlite://` URL or a `postgres://` URL.
    pub url: crate::store::DatabaseUrl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Smtp,
    /// Writes each message as an `.eml` file: the default, so herald works with no mail server.
    Outbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text. Only for loopback or a trusted network.
    None,
    StartTls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub transport: TransportKind,
    pub outbox_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    /// From `smtp.password` or the first line of `smtp.password_file`.
    pub password: Option<Secret>,
    /// PEM file of the CA that signed the relay's certificate (default: the web PKI roots).
    pub ca_file: Option<PathBuf>,
    /// Concurrent SMTP sessions, each reused for many messages.
    pub connections: usize,
    /// Messages per second over all sessions of this daemon; 0 = unlimited.
    pub rate_per_second: f64,
    /// Messages per second over every daemon sharing the PostgreSQL queue; 0 = no shared cap.
    pub global_rate_per_second: f64,
    pub timeout: Duration,
    /// How long the message body and the reply to its final dot may take.
    pub data_timeout: Duration,
    /// The name sent in EHLO; defaults to `sending.domain`.
    pub hello_name: Option<String>,
    /// How long the server may stay unreachable before sending issues pause themselves.
    pub unreachable_pause: Duration,
    /// The operator says the relay offers SMTPUTF8 (RFC 6531): subscribers whose local part is not
    /// ASCII (`jürgen@example.de`) are accepted at import and add. Off, they are refused there, with
    /// the reason, rather than accepted and failed at every send. Each session is still asked: one
    /// that does not offer SMTPUTF8 fails such a recipient as unsendable.
    pub smtputf8: bool,
}

#[derive(Debug, Clone)]
pub struct SendingConfig {
    pub batch_size: usize,
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// PostgreSQL: how long a claimed delivery stays this daemon's without a renewal; a daemon that
    /// dies has its deliveries taken over by the others this long after its last renewal.
    pub lease: Duration,
    /// This daemon's name among those sharing a queue: the `daemon` label of its metrics and the
    /// start of its claims' `claimed_by` (default: the host name).
    pub daemon_name: String,
    /// This many deliveries of an issue in a row failing with the same reply that is not about the
    /// recipient pause the issue (the circuit breaker); 0 turns it off.
    pub breaker_run: usize,
    /// Right-hand side of Message-IDs and of List-Id.
    pub domain: String,
    /// Envelope sender; `bounces@d` becomes `bounces+TOKEN@d` per message.
    pub bounce_address: EmailAddress,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Base of links in mail, e.g. `https://news.example.com`.
    pub public_url: String,
    /// HMAC key for unsubscribe and bounce tokens; generated and stored in the database when absent.
    pub token_secret: Option<Secret>,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// A client must send its request headers within this.
    pub header_timeout: Duration,
    /// A connection is closed after this, whatever it is doing.
    pub connection_lifetime: Duration,
}

/// The signup form (`/s/LIST`) and its double opt-in.
#[derive(Debug, Clone)]
pub struct SubscribeConfig {
    /// A signup not confirmed within this many days is forgotten.
    pub pending_days: u32,
    /// Signups one client address may make per hour; more are refused (429).
    pub per_ip_per_hour: u32,
}

/// The admin listener: `/metrics`. Never the public address.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `None` (`admin.listen = "off"`): no admin listener.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissedSlots {
    /// A start time that passed while herald was down fires at once (several missed cron slots fire once).
    CatchUp,
    /// A start time missed by more than the grace period does not fire: an `--at` issue is paused with the
    /// reason, a cron list waits for its next slot.
    Hold,
}

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub poll_interval: Duration,
    pub missed: MissedSlots,
    pub grace: Duration,
    /// Zone for list schedules created without `--timezone`.
    pub timezone: String,
}

#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub templates_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `herald=debug`.
    pub filter: String,
    pub json: bool,
}

/// What happens to a mailbox message once its outcome is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterProcessing {
    Delete,
    /// Moved to the processed folder.
    Move,
}

#[derive(Debug, Clone)]
pub struct BounceConfig {
    pub policy: BouncePolicy,
    /// How long the raw report is kept (compressed) beside its events.
    pub keep_raw: Duration,
    /// How long `bounce ingest` waits for a busy database before exiting 75 (EX_TEMPFAIL).
    pub busy_timeout: Duration,
    /// Reports are read up to this many bytes; the rest is dropped (the headers and the DSN come
    /// first).
    pub max_report_bytes: usize,
    /// A Maildir that `serve` polls for reports.
    pub maildir: Option<PathBuf>,
    pub maildir_poll: Duration,
    pub maildir_after: AfterProcessing,
    pub imap: Option<ImapConfig>,
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    /// `StartTls` or `Tls` (implicit); `None` only for loopback.
    pub tls: TlsMode,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    pub poll: Duration,
    pub after: AfterProcessing,
    pub processed_folder: String,
    /// Where messages that are not reports at all are moved (never deleted, never retried).
    pub unparsed_folder: String,
    /// PEM file of the CA that signed the server's certificate (default: the web PKI roots).
    pub ca_file: Option<PathBuf>,
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: DatabaseConfig {
                url: crate::store::DatabaseUrl::Sqlite("var/herald.db".into()),
            },
            smtp: SmtpConfig {
                transport: TransportKind::Outbox,
                outbox_dir: "var/outbox".into(),
                host: "127.0.0.1".into(),
                port: 25,
                tls: TlsMode::None,
                username: None,
                password: None,
                ca_file: None,
                connections: 4,
                rate_per_second: 0.0,
                global_rate_per_second: 0.0,
                timeout: Duration::from_secs(30),
                data_timeout: Duration::from_secs(600),
                hello_name: None,
                unreachable_pause: Duration::from_secs(300),
                smtputf8: false,
            },
            sending: SendingConfig {
                batch_size: 500,
                max_attempts: 5,
                retry_base: Duration::from_secs(60),
                lease: Duration::from_secs(60),
                daemon_name: crate::metrics::host_name(),
                breaker_run: 10,
                domain: "herald.localhost".into(),
                bounce_address: EmailAddress::parse("bounces@herald.localhost")
                    .expect("valid default"),
            },
            http: HttpConfig {
                listen: "127.0.0.1:8080".parse().expect("valid default"),
                public_url: "http://127.0.0.1:8080".into(),
                token_secret: None,
                max_connections: 256,
                header_timeout: Duration::from_secs(10),
                connection_lifetime: Duration::from_secs(60),
            },
            admin: AdminConfig {
                listen: Some("127.0.0.1:9464".parse().expect("valid default")),
            },
            subscribe: SubscribeConfig {
                pending_days: 7,
                per_ip_per_hour: 10,
            },
            scheduler: SchedulerConfig {
                poll_interval: Duration::from_secs(1),
                missed: MissedSlots::CatchUp,
                grace: Duration::from_secs(300),
                timezone: "UTC".into(),
            },
            render: RenderConfig {
                templates_dir: "templates".into(),
            },
            log: LogConfig {
                filter: "info".into(),
                json: false,
            },
            bounce: BounceConfig {
                policy: BouncePolicy::default(),
                keep_raw: Duration::from_secs(30 * 86_400),
                busy_timeout: Duration::from_secs(30),
                max_report_bytes: 10 << 20,
                maildir: None,
                maildir_poll: Duration::from_secs(10),
                maildir_after: AfterProcessing::Delete,
                imap: None,
            },
            dkim: Vec::new(),
        }
    }
}

impl Config {
    pub fn hello_name(&self) -> &str {
        self.smtp
            .hello_name
            .as_deref()
            .unwrap_or(&self.sending.domain)
    }
}
