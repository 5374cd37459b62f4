//! Reads the TOML file and the environment into a [`Config`], collecting every problem instead of
//! stopping at the first, and warning about keys it does not know.

use super::model::*;
use crate::domain::{BouncePolicy, CronSchedule, EmailAddress, Suppress};
use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};
use toml::Value;

/// A configuration and what was noticed while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    /// Where the file came from, or that built-in defaults were used.
    pub source: String,
}

/// Every problem found, one line each, naming the key.
#[derive(Debug)]
pub struct ConfigProblems(pub Vec<String>);

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} configuration problem(s): {}",
            self.0.len(),
            self.0.join("; ")
        )
    }
}

impl std::error::Error for ConfigProblems {}

/// The keys of `[bounce.imap]` other than `host`.
const IMAP_KEYS: &[&str] = &[
    "port",
    "tls",
    "username",
    "password",
    "password_file",
    "folder",
    "poll_seconds",
    "after",
    "processed_folder",
    "unparsed_folder",
    "ca_file",
];

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_PATH: &str = "config/herald.toml";

pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigProblems> {
    let mut problems = Vec::new();
    let (table, source) = match path {
        Some(p) => (read_file(p, &mut problems), p.display().to_string()),
        None if Path::new(DEFAULT_PATH).exists() => (
            read_file(Path::new(DEFAULT_PATH), &mut problems),
            DEFAULT_PATH.to_owned(),
        ),
        None => (BTreeMap::new(), "built-in defaults".to_owned()),
    };
    let mut reader = Reader {
        values: table,
        used: BTreeSet::new(),
        problems,
        warnings: Vec::new(),
    };
    reader.overlay_env(env);
    let config = reader.read();
    reader.warn_unknown();
    if reader.problems.is_empty() {
        Ok(Loaded {
            config,
            warnings: reader.warnings,
            source,
        })
    } else {
        Err(ConfigProblems(reader.problems))
    }
}

/// A value and where it came from, for messages.
struct Entry {
    value: Value,
    origin: String,
}

struct Reader {
    /// `section.key` → value.
    values: BTreeMap<String, Entry>,
    used: BTreeSet<String>,
    problems: Vec<String>,
    warnings: Vec<String>,
}

fn read_file(path: &Path, problems: &mut Vec<String>) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("{}: cannot read: {e}", path.display()));
            return out;
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!(
                "{}: invalid TOML: {}",
                path.display(),
                e.to_string().trim()
            ));
            return out;
        }
    };
    for (section, body) in table {
        match body {
            Value::Table(keys) => flatten(path, &section, keys, &mut out),
            // `[[dkim]]` entries become `dkim.0.selector`, `dkim.1.selector`, …
            Value::Array(items)
                if section == "dkim" && items.iter().all(|i| matches!(i, Value::Table(_))) =>
            {
                for (i, item) in items.into_iter().enumerate() {
                    if let Value::Table(keys) = item {
                        flatten(path, &format!("{section}.{i}"), keys, &mut out);
                    }
                }
            }
            _ => problems.push(format!(
                "{}: `{section}` must be a [section]",
                path.display()
            )),
        }
    }
    out
}

/// `[a.b] c = 1` (a table in a section) becomes the key `a.b.c`.
fn flatten(path: &Path, prefix: &str, keys: toml::Table, out: &mut BTreeMap<String, Entry>) {
    for (key, value) in keys {
        match value {
            Value::Table(inner) => flatten(path, &format!("{prefix}.{key}"), inner, out),
            value => {
                let origin = format!("{} [{prefix}] {key}", path.display());
                out.insert(format!("{prefix}.{key}"), Entry { value, origin });
            }
        }
    }
}

impl Reader {
    fn overlay_env(&mut self, env: impl IntoIterator<Item = (String, String)>) {
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix("HERALD_") else {
                continue;
            };
            // HERALD_BOUNCE__IMAP__HOST is `bounce.imap.host`.
            if !rest.contains("__") {
                continue;
            }
            let value = format!("v = {raw}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(Value::String(raw));
            let dotted = rest.to_lowercase().replace("__", ".");
            self.values.insert(
                dotted,
                Entry {
                    value,
                    origin: format!("environment {name}"),
                },
            );
        }
    }

    fn warn_unknown(&mut self) {
        for (key, entry) in &self.values {
            if !self.used.contains(key) {
                self.warnings
                    .push(format!("unknown key `{key}` ({}) is ignored", entry.origin));
            }
        }
    }

    /// Reads `key` with `convert`, recording a problem (and keeping `default`) when it does not fit.
    fn get<T>(
        &mut self,
        key: &str,
        default: T,
        convert: impl Fn(&Value) -> Result<T, String>,
    ) -> T {
        self.used.insert(key.to_owned());
        let Some(entry) = self.values.get(key) else {
            return default;
        };
        match convert(&entry.value) {
            Ok(v) => v,
            Err(why) => {
                self.problems
                    .push(format!("`{key}` ({}): {why}", entry.origin));
                default
            }
        }
    }

    fn string(&mut self, key: &str, default: String) -> String {
        self.get(key, default, as_string)
    }

    fn optional_string(&mut self, key: &str) -> Option<String> {
        self.get(key, None, |v| {
            as_string(v).map(|s| (!s.is_empty()).then_some(s))
        })
    }

    fn int(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        self.get(key, default, |v| {
            let n = match v {
                Value::Integer(n) => *n,
                Value::String(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}` is not a whole number"))?,
                other => {
                    return Err(format!(
                        "expected a whole number, found {}",
                        other.type_str()
                    ));
                }
            };
            u64::try_from(n)
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("{n} is out of range {min}..={max}"))
        })
    }

    fn seconds(&mut self, key: &str, default: Duration, min: u64) -> Duration {
        Duration::from_secs(self.int(key, default.as_secs(), min, 86_400 * 365))
    }

    fn choice<T: Copy>(&mut self, key: &str, default: T, options: &[(&str, T)]) -> T {
        self.get(key, default, |v| {
            let s = as_string(v)?;
            options
                .iter()
                .find(|(name, _)| *name == s)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let names: Vec<_> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
                    format!("`{s}` is not one of {}", names.join(", "))
                })
        })
    }

    fn read(&mut self) -> Config {
        let d = Config::default();
        let database = DatabaseConfig {
            url: self.get("database.url", d.database.url, |v| {
                crate::store::DatabaseUrl::parse(&as_string(v)?)
            }),
        };
        let smtp = SmtpConfig {
            transport: self.choice(
                "smtp.transport",
                d.smtp.transport,
                &[
                    ("smtp", TransportKind::Smtp),
                    ("outbox", TransportKind::Outbox),
                ],
            ),
            outbox_dir: PathBuf::from(
                self.string("smtp.outbox_dir", d.smtp.outbox_dir.display().to_string()),
            ),
            host: self.string("smtp.host", d.smtp.host),
            port: self.int("smtp.port", d.smtp.port.into(), 1, 65_535) as u16,
            tls: self.choice(
                "smtp.tls",
                d.smtp.tls,
                &[
                    ("none", TlsMode::None),
                    ("starttls", TlsMode::StartTls),
                    ("tls", TlsMode::Tls),
                ],
            ),
            username: self.optional_string("smtp.username"),
            password: self.password("smtp.password"),
            ca_file: self.optional_string("smtp.ca_file").map(PathBuf::from),
            connections: self.int("smtp.connections", d.smtp.connections as u64, 1, 256) as usize,
            rate_per_second: self.get("smtp.rate_per_second", d.smtp.rate_per_second, |v| {
                let r = match v {
                    Value::Integer(n) => *n as f64,
                    Value::Float(f) => *f,
                    other => return Err(format!("expected a number, found {}", other.type_str())),
                };
                if r >= 0.0 && r.is_finite() {
                    Ok(r)
                } else {
                    Err(format!("{r} must be 0 or more"))
                }
            }),
            global_rate_per_second: self.get(
                "smtp.global_rate_per_second",
                d.smtp.global_rate_per_second,
                |v| {
                    let r = match v {
                        Value::Integer(n) => *n as f64,
                        Value::Float(f) => *f,
                        other => {
                            return Err(format!("expected a number, found {}", other.type_str()));
                        }
                    };
                    if r >= 0.0 && r.is_finite() {
                        Ok(r)
                    } else {
                        Err(format!("{r} must be 0 or more"))
                    }
                },
            ),
            timeout: self.seconds("smtp.timeout_seconds", d.smtp.timeout, 1),
            data_timeout: self.seconds("smtp.data_timeout_seconds", d.smtp.data_timeout, 1),
            hello_name: self.optional_string("smtp.hello_name"),
            unreachable_pause: self.seconds(
                "smtp.unreachable_pause_seconds",
                d.smtp.unreachable_pause,
                0,
            ),
            smtputf8: self.choice(
                "smtp.smtputf8",
                d.smtp.smtputf8,
                &[("true", true), ("false", false)],
            ),
        };
        let bounce_given = self.values.contains_key("sending.bounce_address");
        let mut sending = SendingConfig {
            batch_size: self.int(
                "sending.batch_size",
                d.sending.batch_size as u64,
                1,
                100_000,
            ) as usize,
            max_attempts: self.int(
                "sending.max_attempts",
                d.sending.max_attempts.into(),
                1,
                100,
            ) as u32,
            retry_base: self.seconds("sending.retry_base_seconds", d.sending.retry_base, 0),
            lease: self.seconds("sending.lease_seconds", d.sending.lease, 2),
            daemon_name: self.get("sending.daemon_name", d.sending.daemon_name, |v| {
                let name = as_string(v)?;
                if !crate::domain::is_short_name(&name) {
                    return Err(format!(
                        "`{name}` must be 1 to 64 letters, digits, `.`, `-` or `_`"
                    ));
                }
                Ok(name)
            }),
            breaker_run: self.int(
                "sending.breaker_run",
                d.sending.breaker_run as u64,
                0,
                100_000,
            ) as usize,
            domain: self.get("sending.domain", d.sending.domain, |v| {
                let s = as_string(v)?;
                // An IDN is kept in its A-label form: it goes into Message-ID and List-Id.
                EmailAddress::parse(&format!("x@{s}"))
                    .map(|a| a.domain().to_owned())
                    .map_err(|_| format!("`{s}` is not a domain name"))
            }),
            bounce_address: self.get("sending.bounce_address", d.sending.bounce_address, |v| {
                let s = as_string(v)?;
                let a = EmailAddress::parse(&s).map_err(|e| e.to_string())?;
                if a.as_str()
                    .split('@')
                    .next()
                    .is_some_and(|l| l.contains('+'))
                {
                    return Err(
                        "must not contain `+`: herald adds `+TOKEN` to it per message".into(),
                    );
                }
                Ok(a)
            }),
        };
        // Without its own key, the bounce address is `bounces@<sending.domain>`.
        if !bounce_given && let Ok(a) = EmailAddress::parse(&format!("bounces@{}", sending.domain))
        {
            sending.bounce_address = a;
        }
        let http = HttpConfig {
            listen: self.get("http.listen", d.http.listen, |v| {
                let s = as_string(v)?;
                s.parse()
                    .map_err(|_| format!("`{s}` is not an address:port such as 127.0.0.1:8080"))
            }),
            public_url: self.get("http.public_url", d.http.public_url, |v| {
                let s = as_string(v)?;
                if s.starts_with("https://") || s.starts_with("http://") {
                    Ok(s.trim_end_matches('/').to_owned())
                } else {
                    Err(format!(
                        "`{s}` must start with https:// (or http:// for local testing)"
                    ))
                }
            }),
            token_secret: self.get("http.token_secret", None, |v| {
                let s = as_string(v)?;
                if s.len() >= 32 {
                    Ok(Some(Secret::new(s)))
                } else {
                    Err("must be at least 32 characters".into())
                }
            }),
            max_connections: self.int(
                "http.max_connections",
                d.http.max_connections as u64,
                1,
                100_000,
            ) as usize,
            header_timeout: self.seconds("http.header_timeout_seconds", d.http.header_timeout, 1),
            connection_lifetime: self.seconds(
                "http.connection_seconds",
                d.http.connection_lifetime,
                1,
            ),
        };
        let admin = AdminConfig {
            listen: self.get("admin.listen", d.admin.listen, |v| {
                let s = as_string(v)?;
                if s == "off" {
                    return Ok(None);
                }
                s.parse().map(Some).map_err(|_| {
                    format!("`{s}` is not an address:port such as 127.0.0.1:9464 (or \"off\")")
                })
            }),
        };
        let subscribe = SubscribeConfig {
            pending_days: self.int(
                "subscribe.pending_days",
                u64::from(d.subscribe.pending_days),
                1,
                365,
            ) as u32,
            per_ip_per_hour: self.int(
                "subscribe.per_ip_per_hour",
                u64::from(d.subscribe.per_ip_per_hour),
                1,
                100_000,
            ) as u32,
        };
        let scheduler = SchedulerConfig {
            poll_interval: Duration::from_millis(self.int(
                "scheduler.poll_milliseconds",
                d.scheduler.poll_interval.as_millis() as u64,
                10,
                60_000,
            )),
            missed: self.choice(
                "scheduler.missed",
                d.scheduler.missed,
                &[
                    ("catch_up", MissedSlots::CatchUp),
                    ("hold", MissedSlots::Hold),
                ],
            ),
            grace: self.seconds("scheduler.grace_seconds", d.scheduler.grace, 0),
            timezone: self.get("scheduler.timezone", d.scheduler.timezone, |v| {
                let s = as_string(v)?;
                CronSchedule::parse("0 0 * * *", &s)
                    .map(|_| s)
                    .map_err(|e| e.to_string())
            }),
        };
        let render = RenderConfig {
            templates_dir: PathBuf::from(self.string(
                "render.templates_dir",
                d.render.templates_dir.display().to_string(),
            )),
        };
        let log = LogConfig {
            filter: self.string("log.filter", d.log.filter),
            json: self.choice("log.format", false, &[("text", false), ("json", true)]),
        };
        let bounce = self.bounce(&d.bounce);
        let dkim = self.dkim(&sending.domain);
        if smtp.global_rate_per_second > 0.0 && database.url.sqlite_path().is_some() {
            self.problems.push(
                "`smtp.global_rate_per_second` caps several daemons sharing a PostgreSQL queue; with a SQLite \
                 database one daemon sends: use `smtp.rate_per_second`"
                    .into(),
            );
        }
        let config = Config {
            database,
            smtp,
            sending,
            http,
            admin,
            subscribe,
            scheduler,
            render,
            log,
            bounce,
            dkim,
        };
        self.cross_checks(&config);
        config
    }

    fn days(&mut self, key: &str, default: Duration, min: u64) -> Duration {
        Duration::from_secs(86_400 * self.int(key, default.as_secs() / 86_400, min, 36_500))
    }

    fn bounce(&mut self, d: &BounceConfig) -> BounceConfig {
        let p = &d.policy;
        let policy = BouncePolicy {
            soft_limit: self.int("bounce.soft_limit", p.soft_limit.into(), 1, 1000) as u32,
            soft_window: self.days("bounce.soft_window_days", p.soft_window, 1),
            suppress: self.choice(
                "bounce.suppress",
                p.suppress,
                &[("list", Suppress::List), ("all_lists", Suppress::AllLists)],
            ),
            block_pause_percent: self.int(
                "bounce.block_pause_percent",
                p.block_pause_percent.into(),
                0,
                100,
            ) as u32,
            block_window: self.int("bounce.block_window", p.block_window.into(), 1, 100_000) as u32,
            block_min: self.int("bounce.block_min", p.block_min.into(), 1, 100_000) as u32,
            clean_after: self.days("bounce.clean_after_days", p.clean_after, 0),
        };
        let after = [
            ("delete", AfterProcessing::Delete),
            ("move", AfterProcessing::Move),
        ];
        let imap = match self.optional_string("bounce.imap.host") {
            Some(host) => Some(self.imap(host, &after)),
            None => {
                // Mark the other keys as known, so they are not reported as unknown.
                for key in IMAP_KEYS {
                    self.used.insert(format!("bounce.imap.{key}"));
                }
                None
            }
        };
        BounceConfig {
            policy,
            keep_raw: self.days("bounce.keep_raw_days", d.keep_raw, 0),
            busy_timeout: self.seconds("bounce.busy_timeout_seconds", d.busy_timeout, 0),
            max_report_bytes: (self.int(
                "bounce.max_report_kib",
                (d.max_report_bytes >> 10) as u64,
                16,
                1 << 20,
            ) as usize)
                << 10,
            maildir: self.optional_string("bounce.maildir").map(PathBuf::from),
            maildir_poll: self.seconds("bounce.maildir_poll_seconds", d.maildir_poll, 1),
            maildir_after: self.choice("bounce.maildir_after", d.maildir_after, &after),
            imap,
        }
    }

    fn imap(&mut self, host: String, after: &[(&str, AfterProcessing)]) -> ImapConfig {
        let tls = self.choice(
            "bounce.imap.tls",
            TlsMode::Tls,
            &[
                ("tls", TlsMode::Tls),
                ("starttls", TlsMode::StartTls),
                ("none", TlsMode::None),
            ],
        );
        let default_port = if tls == TlsMode::Tls { 993 } else { 143 };
        let port = self.int("bounce.imap.port", default_port, 1, 65_535) as u16;
        let username = self.optional_string("bounce.imap.username");
        let password = self.password("bounce.imap.password");
        if password.is_none()
            && !self
                .problems
                .iter()
                .any(|p| p.contains("bounce.imap.password"))
        {
            self.problems.push(
                "`bounce.imap.host` is set: `bounce.imap.password` or `bounce.imap.password_file` is required".into(),
            );
        }
        if username.is_none() {
            self.problems
                .push("`bounce.imap.host` is set: `bounce.imap.username` is required".into());
        }
        let loopback = matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost");
        if tls == TlsMode::None && !loopback {
            self.problems.push(format!(
                "`bounce.imap.tls` is `none` for non-loopback host `{host}`: the password would travel in clear text"
            ));
        }
        ImapConfig {
            host,
            port,
            tls,
            username: username.unwrap_or_default(),
            password: password.unwrap_or_else(|| Secret::new(String::new())),
            folder: self.string("bounce.imap.folder", "INBOX".into()),
            poll: self.seconds("bounce.imap.poll_seconds", Duration::from_secs(60), 1),
            after: self.choice("bounce.imap.after", AfterProcessing::Delete, after),
            processed_folder: self
                .string("bounce.imap.processed_folder", "herald-processed".into()),
            unparsed_folder: self.string("bounce.imap.unparsed_folder", "herald-unparsed".into()),
            ca_file: self
                .optional_string("bounce.imap.ca_file")
                .map(PathBuf::from),
        }
    }

    /// `KEY` or `KEY_file` (its first line: a secret kept out of the configuration file).
    fn password(&mut self, key: &str) -> Option<Secret> {
        let file_key = format!("{key}_file");
        let given = self.optional_string(key);
        let file = self.optional_string(&file_key);
        match (given, file) {
            (Some(p), None) => Some(Secret::new(p)),
            (None, Some(file)) => match std::fs::read_to_string(&file) {
                Ok(p) => {
                    // The first line, without its line end: spaces are part of a password.
                    let first = p
                        .split('\n')
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches('\r');
                    if first.is_empty() {
                        self.problems.push(format!(
                            "`{file_key}`: {file} holds no password on its first line"
                        ));
                        None
                    } else {
                        Some(Secret::new(first.to_owned()))
                    }
                }
                Err(e) => {
                    self.problems
                        .push(format!("`{file_key}`: cannot read {file}: {e}"));
                    None
                }
            },
            (Some(_), Some(_)) => {
                self.problems
                    .push(format!("`{key}` and `{file_key}`: set one, not both"));
                None
            }
            (None, None) => None,
        }
    }

    /// The `[[dkim]]` entries, in order.
    fn dkim(&mut self, sending_domain: &str) -> Vec<DkimConfig> {
        if self.values.keys().any(|k| {
            k.strip_prefix("dkim.")
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        }) {
            self.problems.push(
                "`[dkim]`: write each signature as an `[[dkim]]` table (selector, key_file, domain)"
                    .into(),
            );
            let keys: Vec<String> = self
                .values
                .keys()
                .filter(|k| k.starts_with("dkim."))
                .cloned()
                .collect();
            self.used.extend(keys);
        }
        let mut out = Vec::new();
        for i in 0.. {
            let prefix = format!("dkim.{i}.");
            if !self.values.keys().any(|k| k.starts_with(&prefix)) {
                break;
            }
            let selector = self.get(&format!("{prefix}selector"), None, |v| {
                let s = as_string(v)?;
                crate::send::dkim::is_selector(&s)
                    .then_some(Some(s.clone()))
                    .ok_or_else(|| format!("`{s}` is not a DNS label such as `s2026`"))
            });
            let key_file = self.optional_string(&format!("{prefix}key_file"));
            let domain = self.get(&format!("{prefix}domain"), None, |v| {
                let s = as_string(v)?;
                EmailAddress::parse(&format!("x@{s}"))
                    .map(|a| Some(a.domain().to_owned()))
                    .map_err(|_| format!("`{s}` is not a domain name"))
            });
            match (selector, key_file) {
                (Some(selector), Some(key_file)) => out.push(DkimConfig {
                    selector,
                    key_file: PathBuf::from(key_file),
                    domain: domain.unwrap_or_else(|| sending_domain.to_owned()),
                }),
                (selector, key_file) => {
                    let missing: Vec<&str> = [
                        selector.is_none().then_some("selector"),
                        key_file.is_none().then_some("key_file"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    self.problems.push(format!(
                        "`[[dkim]]` number {}: `{}` is required",
                        i + 1,
                        missing.join("` and `")
                    ));
                }
            }
        }
        out
    }

    /// Problems and warnings that involve more than one key.
    fn cross_checks(&mut self, c: &Config) {
        // Mail from `herald.localhost` cannot be DKIM-aligned, bounced to or trusted by anyone.
        let placeholder = |d: &str| d == "herald.localhost" || d.ends_with(".localhost");
        if c.smtp.transport == TransportKind::Smtp {
            if placeholder(&c.sending.domain) {
                self.problems.push(format!(
                    "`sending.domain` is still `{}` while `smtp.transport` is `smtp`: set the domain you send from",
                    c.sending.domain
                ));
            }
            if let Some(d) = c.dkim.iter().find(|d| placeholder(&d.domain)) {
                self.problems.push(format!(
                    "`[[dkim]]` selector `{}` signs for `{}`: set `sending.domain` or the entry's `domain`",
                    d.selector, d.domain
                ));
            }
            if placeholder(c.sending.bounce_address.domain()) {
                self.problems.push(format!(
                    "`sending.bounce_address` is still `{}` while `smtp.transport` is `smtp`: set an address bounces can reach",
                    c.sending.bounce_address
                ));
            }
        }
        if c.smtp.username.is_some() != c.smtp.password.is_some() {
            self.problems.push(
                "`smtp.username` and `smtp.password` (or `smtp.password_file`) must be set together"
                    .into(),
            );
        }
        let loopback = matches!(c.smtp.host.as_str(), "127.0.0.1" | "::1" | "localhost");
        if c.smtp.transport == TransportKind::Smtp
            && c.smtp.tls == TlsMode::None
            && !loopback
            && c.smtp.username.is_some()
        {
            self.problems.push(format!(
                "`smtp.username` is set but `smtp.tls` is `none` for non-loopback host `{}`: herald does not send a password in clear text; set `smtp.tls` to `starttls` or `tls`",
                c.smtp.host
            ));
        } else if c.smtp.transport == TransportKind::Smtp
            && c.smtp.tls == TlsMode::None
            && !loopback
        {
            self.warnings.push(format!(
                "`smtp.tls` is `none` for non-loopback host `{}`: mail and credentials travel in clear text",
                c.smtp.host
            ));
        }
        if let Some(admin) = c.admin.listen {
            if admin == c.http.listen {
                self.problems.push(format!(
                    "`admin.listen` is `http.listen` ({admin}): metrics must not be served on the public listener"
                ));
            } else if !admin.ip().is_loopback() {
                self.warnings.push(format!(
                    "`admin.listen` {admin} is not loopback: anyone who can reach it reads herald's metrics"
                ));
            }
        }
        if !c.http.public_url.starts_with("https://") {
            self.warnings.push(
                "`http.public_url` is not https: Gmail and Yahoo ignore one-click unsubscribe links that are not https"
                    .into(),
            );
        }
    }
}

fn as_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, found {}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_with_no_file_and_no_environment() {
        let loaded = load(Some(Path::new("/dev/null")), env(&[])).unwrap();
        assert_eq!(loaded.config.smtp.transport, TransportKind::Outbox);
        assert_eq!(loaded.config.database.url.to_string(), "var/herald.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[smtp]\nport = 25\nhost = \"mx.example.com\"").unwrap();
        let loaded = load(Some(f.path()), env(&[("HERALD_SMTP__PORT", "2525")])).unwrap();
        assert_eq!(loaded.config.smtp.port, 2525);
        assert_eq!(loaded.config.smtp.host, "mx.example.com");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[smtp]\nport = 70000\ntls = \"ssl\"\n[sending]\nbounce_address = \"nope\"\n[typo]\nx = 1")
            .unwrap();
        let err = load(Some(f.path()), env(&[("HERALD_SMTP__CONNECTIONS", "0")])).unwrap_err();
        let all = err.0.join("\n");
        assert_eq!(err.0.len(), 4, "{all}");
        for key in [
            "smtp.port",
            "smtp.tls",
            "sending.bounce_address",
            "smtp.connections",
        ] {
            assert!(all.contains(key), "{key} missing from:\n{all}");
        }
    }

    #[test]
    fn smtputf8_is_off_unless_the_operator_turns_it_on() {
        let off = load(Some(Path::new("/dev/null")), env(&[])).unwrap();
        assert!(!off.config.smtp.smtputf8);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[smtp]\nsmtputf8 = true").unwrap();
        assert!(load(Some(f.path()), env(&[])).unwrap().config.smtp.smtputf8);
        let err = load(Some(f.path()), env(&[("HERALD_SMTP__SMTPUTF8", "yes")])).unwrap_err();
        assert!(err.0.join("\n").contains("smtp.smtputf8"), "{:?}", err.0);
    }

    #[test]
    fn unknown_keys_are_warned_about() {
        let loaded = load(
            Some(Path::new("/dev/null")),
            env(&[("HERALD_SMTP__PROT", "1")]),
        )
        .unwrap();
        assert!(
            loaded.warnings.iter().any(|w| w.contains("smtp.prot")),
            "{:?}",
            loaded.warnings
        );
    }
}
