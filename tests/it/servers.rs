//! Real Postfix and Dovecot for the integration tests: each started at most once per test process
//! (the first test that asks starts it; every later one shares it), on loopback only, from a
//! throw-away directory, and stopped by a reaper when this process exits (statics are never
//! dropped). The shell scripts in `tests/servers/` do the work; see `tests/servers/README.md`.
//!
//! Isolation between tests sharing one server:
//! - Postfix: each test takes its own bounce domain (`PostfixRelay::bounce_domain`, e.g.
//!   `t3.bounce.test`) and routes it to its own herald config (`PostfixRelay::route`); the relay
//!   pipes every `*.bounce.test` DSN to `route-bounce`, which runs that route's command.
//! - Dovecot: each test takes its own IMAP user (`Dovecot::add_user`).
//! - Postfix submission (TLS + SASL): each test takes its own SASL user
//!   (`PostfixSubmission::add_user`) and recipient domain (`PostfixSubmission::recipient_domain`).
#![allow(dead_code)] // a harness: each test binary uses only part of it

use std::{
    fs, io,
    net::TcpListener,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

/// `tests/servers/`: the scripts.
pub const SERVERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers");
/// The herald binary that DSN routes run (as `PIPE_USER`).
const HERALD_BIN: &str = env!("CARGO_BIN_EXE_herald");
/// The unprivileged user pipe(8) runs the bounce command as, and that owns Dovecot's mail.
pub const PIPE_USER: &str = "nobody";

/// Polls `f` every 20 ms until it returns true (then true) or `limit` passes (then false).
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `N` distinct free loopback ports (bound then released; all held at once so they differ).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

fn script(name: &str) -> PathBuf {
    Path::new(SERVERS_DIR).join(name)
}

/// Runs a script; Err carries its exit status and output.
fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A directory for a server: kept after the TempDir guard goes (the reaper removes it, unless
/// HERALD_TEST_KEEP_SERVERS is set).
fn server_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir")
        .keep()
}

/// Starts a server, retrying with fresh ports (a port found free may be taken before the server
/// binds it).
fn start_with_retries<T>(what: &str, mut attempt: impl FnMut() -> Result<T, String>) -> T {
    let mut errors = Vec::new();
    for _ in 0..3 {
        match attempt() {
            Ok(server) => return server,
            Err(e) => errors.push(e),
        }
    }
    panic!(
        "could not start the test {what} (3 tries):\n{}",
        errors.join("\n---\n")
    )
}

/// uid and gid of a user, from `id` (std has no getpwnam, and this crate forbids unsafe code).
fn user_ids(user: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .expect("run id");
        assert!(out.status.success(), "no such user {user}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Writes `path` atomically (temp file + rename), readable by everyone.
fn write_atomically(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    fs::write(&tmp, contents).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// Gives `path` (and, for a directory, everything in it, recursively) to uid:gid.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// The messages a `recv-store`/`store` pipe kept under `received` for `recipient`, oldest first.
fn received_in(received: &Path, recipient: &str) -> Vec<Vec<u8>> {
    let safe: String = recipient
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.+_=-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut files: Vec<PathBuf> = fs::read_dir(received.join(safe))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    files.sort();
    files.iter().map(|p| fs::read(p).unwrap()).collect()
}

/// The last 60 lines of `log`, under a heading: for assertion messages.
fn log_tail(what: &str, dir: &Path, log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    format!(
        "--- {what} ({}):\n{}",
        dir.display(),
        lines[lines.len().saturating_sub(60)..].join("\n")
    )
}

// ---------------------------------------------------------------------------------------------
// Postfix

/// One Postfix instance: the relay smtpd on `relay_port` (herald sends here; it accepts any
/// recipient from loopback), and the "receiving" smtpd on `recv_port`, to which the relay relays
/// everything: it rejects at RCPT `nosuchuser*@…` (550 5.1.1) and `fullbox*@…` (552 5.2.2) and
/// accepts the rest (kept under `dir/received/<recipient>/`). For each rejection the relay writes
/// a real DSN to the envelope sender; DSNs to `*.bounce.test` go through pipe(8), as
/// `PIPE_USER`, to `route-bounce`, which runs the command routed for that domain with
/// `--recipient <the DSN's recipient>` appended.
pub struct PostfixRelay {
    pub dir: PathBuf,
    pub relay_port: u16,
    pub recv_port: u16,
    /// `PIPE_USER`'s ids: what the test's herald directory and database must belong to.
    pub pipe_uid: u32,
    pub pipe_gid: u32,
}

static RELAY: OnceLock<PostfixRelay> = OnceLock::new();
static BOUNCE_DOMAINS: AtomicU32 = AtomicU32::new(0);

impl PostfixRelay {
    /// The process's relay, started on first use (about 0.7 s).
    pub fn shared() -> &'static PostfixRelay {
        RELAY.get_or_init(|| {
            start_with_retries("Postfix relay", || {
                let dir = server_dir("herald-postfix-");
                let [relay_port, recv_port] = free_ports();
                let started = run(Command::new(script("postfix-relay"))
                    .arg("start")
                    .arg(&dir)
                    .arg(relay_port.to_string())
                    .arg(recv_port.to_string())
                    .arg(PIPE_USER)
                    .env("HERALD_TEST_PARENT_PID", std::process::id().to_string()));
                if let Err(e) = started {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(e);
                }
                let (pipe_uid, pipe_gid) = user_ids(PIPE_USER);
                Ok(PostfixRelay {
                    dir,
                    relay_port,
                    recv_port,
                    pipe_uid,
                    pipe_gid,
                })
            })
        })
    }

    /// A bounce domain no other test of this process uses: `t<N>.bounce.test`. herald's VERP
    /// envelope sender is then `bounces+TOKEN@t<N>.bounce.test`.
    pub fn bounce_domain(&self) -> String {
        format!(
            "t{}.bounce.test",
            BOUNCE_DOMAINS.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// DSNs to `domain` run `herald --config <config> bounce ingest --recipient <rcpt>` as
    /// `PIPE_USER`. The config's directory and database must be that user's: see
    /// `share_with_pipe_user`. Until a route exists, the domain's DSNs wait in the queue (75).
    pub fn route(&self, domain: &str, herald_config: &Path) {
        let config = herald_config.to_str().expect("UTF-8 config path");
        self.route_command(
            domain,
            &[HERALD_BIN, "--config", config, "bounce", "ingest"],
        );
    }

    /// DSNs to `domain` run `argv… --recipient <rcpt>` (the DSN on stdin) as `PIPE_USER`.
    /// Exit 0: delivered; 75: deferred (retried about every second); other: bounced (and, the
    /// DSN having a null sender, dropped: only the maillog shows it).
    pub fn route_command(&self, domain: &str, argv: &[&str]) {
        assert!(
            !domain.is_empty() && !domain.contains('/') && !domain.starts_with('.'),
            "bad domain {domain:?}"
        );
        assert!(
            argv.iter().all(|w| !w.is_empty() && !w.contains('\n')),
            "route words must be non-empty single lines: {argv:?}"
        );
        let mut text = argv.join("\n");
        text.push('\n');
        let path = self
            .dir
            .join("routes")
            .join(format!("{}.conf", domain.to_ascii_lowercase()));
        write_atomically(&path, text.as_bytes());
    }

    /// Removes a route: later DSNs to `domain` are deferred.
    pub fn unroute(&self, domain: &str) {
        let path = self
            .dir
            .join("routes")
            .join(format!("{}.conf", domain.to_ascii_lowercase()));
        let _ = fs::remove_file(path);
    }

    /// Gives `dir` and everything in it to `PIPE_USER`, so herald run by pipe(8) can open the
    /// database there read-write and create its -wal/-shm files. Call it after the database
    /// exists (herald run as root, e.g. the test's daemon, keeps working: root ignores file
    /// modes, and SQLite running as root chowns new -wal/-shm files to the database's owner).
    pub fn share_with_pipe_user(&self, dir: &Path) {
        chown_tree(dir, self.pipe_uid, self.pipe_gid)
            .unwrap_or_else(|e| panic!("chown {} to {PIPE_USER}: {e}", dir.display()));
    }

    /// Asks Postfix to retry every deferred message now (`postqueue -f`).
    pub fn flush(&self) {
        run(Command::new(script("postfix-relay"))
            .arg("flush")
            .arg(&self.dir))
        .unwrap();
    }

    /// The whole queue as `postqueue -p` prints it ("Mail queue is empty" when empty).
    pub fn queue(&self) -> String {
        let out = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("-p")
            .output()
            .expect("run postqueue");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// True when no queued message has `domain` in its sender or a recipient (other tests' mail
    /// may still be queued: a shared relay is seldom empty while tests run).
    pub fn idle_for(&self, domain: &str) -> bool {
        let out = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("-j")
            .output()
            .expect("run postqueue");
        let needle = format!("@{}\"", domain.to_ascii_lowercase());
        !String::from_utf8_lossy(&out.stdout)
            .to_ascii_lowercase()
            .contains(&needle)
    }

    /// Waits until nothing for `domain` is queued; on timeout, Err with the queue and log tail.
    pub fn wait_idle_for(&self, domain: &str, limit: Duration) -> Result<(), String> {
        if wait_until(limit, || self.idle_for(domain)) {
            Ok(())
        } else {
            Err(format!(
                "mail for {domain} still queued after {limit:?}\n{}",
                self.debug_dump()
            ))
        }
    }

    /// Waits until the whole queue is empty (only meaningful when no other test is sending).
    pub fn wait_empty(&self, limit: Duration) -> Result<(), String> {
        run(Command::new(script("postfix-relay"))
            .arg("wait-empty")
            .arg(&self.dir)
            .arg(limit.as_secs().max(1).to_string()))
        .map(drop)
    }

    /// The instance's log (`maillog_file`).
    pub fn maillog(&self) -> String {
        fs::read_to_string(self.dir.join("log/maillog")).unwrap_or_default()
    }

    /// Log lines mentioning `needle` (a domain, an address, a queue id).
    pub fn maillog_lines(&self, needle: &str) -> Vec<String> {
        self.maillog()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// Messages the receiving smtpd accepted for `recipient`, oldest first (as pipe(8) handed
    /// them over: with a Return-Path header).
    pub fn received(&self, recipient: &str) -> Vec<Vec<u8>> {
        received_in(&self.dir.join("received"), recipient)
    }

    /// The queue and the last 60 log lines: for assertion messages.
    pub fn debug_dump(&self) -> String {
        let log = self.maillog();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        format!(
            "--- postfix queue ({}):\n{}--- maillog tail:\n{tail}",
            self.dir.display(),
            self.queue()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Dovecot

/// One Dovecot: IMAP with implicit TLS on `imaps_port` and with STARTTLS on `imap_port`, both on
/// 127.0.0.1, the certificate (SAN `localhost` and `127.0.0.1`) signed by the CA in `ca_file`.
/// Users live in a passwd-file; mail in `dir/mail/<user>/Maildir`, owned by `PIPE_USER`.
pub struct Dovecot {
    pub dir: PathBuf,
    pub imaps_port: u16,
    pub imap_port: u16,
    pub ca_file: PathBuf,
    pub mail_uid: u32,
    pub mail_gid: u32,
}

/// An IMAP account of one test.
#[derive(Clone, Debug)]
pub struct ImapUser {
    pub name: String,
    pub password: String,
}

static DOVECOT: OnceLock<Dovecot> = OnceLock::new();
static IMAP_USERS: AtomicU32 = AtomicU32::new(0);
/// add-user rewrites the passwd-file: one at a time.
static USERS_FILE: Mutex<()> = Mutex::new(());

impl Dovecot {
    /// The process's Dovecot, started on first use (about 0.2 s).
    pub fn shared() -> &'static Dovecot {
        DOVECOT.get_or_init(|| {
            start_with_retries("Dovecot", || {
                let dir = server_dir("herald-dovecot-");
                let [imaps_port, imap_port] = free_ports();
                let started = run(Command::new(script("dovecot"))
                    .arg("start")
                    .arg(&dir)
                    .arg(imaps_port.to_string())
                    .arg(imap_port.to_string())
                    .arg("bounces")
                    .arg("bounces-password")
                    .env("HERALD_TEST_MAIL_USER", PIPE_USER)
                    .env("HERALD_TEST_PARENT_PID", std::process::id().to_string()));
                if let Err(e) = started {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(e);
                }
                let (mail_uid, mail_gid) = user_ids(PIPE_USER);
                Ok(Dovecot {
                    ca_file: dir.join("ca.pem"),
                    dir,
                    imaps_port,
                    imap_port,
                    mail_uid,
                    mail_gid,
                })
            })
        })
    }

    /// A new user of its own for one test: `u<N>`, with a random-ish password.
    pub fn add_user(&self) -> ImapUser {
        let n = IMAP_USERS.fetch_add(1, Ordering::Relaxed) + 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let user = ImapUser {
            name: format!("u{n}"),
            password: format!("pw-{n}-{nanos:x}"),
        };
        self.add_user_named(&user.name, &user.password);
        user
    }

    /// Adds (or re-passwords) `name` ([A-Za-z0-9._+-]+; the password without ':' or newline).
    /// Effective at once: Dovecot re-reads the passwd-file when it changes.
    pub fn add_user_named(&self, name: &str, password: &str) {
        let _guard = USERS_FILE.lock().unwrap_or_else(|e| e.into_inner());
        run(Command::new(script("dovecot"))
            .arg("add-user")
            .arg(&self.dir)
            .arg(name)
            .arg(password)
            .env("HERALD_TEST_MAIL_USER", PIPE_USER))
        .unwrap();
        // Dovecot looks at the passwd-file at most once a second: a user added within the second of
        // its last look stays unknown until the next one. Wait until the user can log in.
        assert!(
            wait_until(Duration::from_secs(5), || self.can_log_in(name, password)),
            "Dovecot does not know the new user {name}\n{}",
            self.debug_dump()
        );
    }

    /// One plain-text IMAP LOGIN on the STARTTLS port (Dovecot allows it from loopback).
    fn can_log_in(&self, name: &str, password: &str) -> bool {
        use std::io::{BufRead, BufReader, Write};
        let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", self.imap_port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return false;
        }
        let mut writer = stream;
        if writer
            .write_all(format!("a LOGIN \"{name}\" \"{password}\"\r\nb LOGOUT\r\n").as_bytes())
            .is_err()
        {
            return false;
        }
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) if line.starts_with("a ") => return line.starts_with("a OK"),
                Ok(_) => {}
            }
        }
    }

    /// `dir/mail/<user>/Maildir`.
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.dir.join("mail").join(user).join("Maildir")
    }

    /// Puts a message straight into `user`'s INBOX (Maildir `new/`, written in `tmp/` then
    /// renamed, owned by the mail user), as a local delivery agent would. Dovecot sees it at the
    /// next SELECT/NOOP/IDLE wake-up. (Appending over IMAP needs a TLS client; this doesn't.)
    pub fn deliver(&self, user: &str, message: &[u8]) -> PathBuf {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let maildir = self.maildir(user);
        for sub in ["", "cur", "new", "tmp"] {
            let d = maildir.join(sub);
            fs::create_dir_all(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&d, Some(self.mail_uid), Some(self.mail_gid)).unwrap();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let name = format!(
            "{}.M{}P{}Q{}.herald-test",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = maildir.join("tmp").join(&name);
        fs::write(&tmp, message).unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&tmp, Some(self.mail_uid), Some(self.mail_gid)).unwrap();
        let new = maildir.join("new").join(&name);
        fs::rename(&tmp, &new).unwrap();
        new
    }

    /// Messages in a Maildir folder of `user` ("INBOX" or e.g. "Processed"; new/ and cur/).
    pub fn messages(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let base = if folder.eq_ignore_ascii_case("INBOX") {
            self.maildir(user)
        } else {
            // Maildir++ layout, separator "/" shown to clients, "." on disk.
            self.maildir(user)
                .join(format!(".{}", folder.replace('/', ".")))
        };
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .flat_map(|sub| fs::read_dir(base.join(sub)).into_iter().flatten())
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        files.sort();
        files.iter().map(|p| fs::read(p).unwrap()).collect()
    }

    /// Dovecot's log (logins show `TLS` or, for plain loopback connections, `secured`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log/dovecot.log")).unwrap_or_default()
    }

    /// The last 60 log lines: for assertion messages.
    pub fn debug_dump(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "--- dovecot log ({}):\n{}",
            self.dir.display(),
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Postfix submission: TLS and SASL AUTH

/// One Postfix smtpd for herald's TLS and AUTH, its SASL backend an auth-only Dovecot
/// (`smtpd_sasl_type = dovecot`), on 127.0.0.1. Mail is relayed only for an authenticated client,
/// and every accepted message is kept under `dir/received/<recipient>/`. Four listeners:
pub struct PostfixSubmission {
    pub dir: PathBuf,
    /// Offers STARTTLS, and AUTH (PLAIN, LOGIN) only after it.
    pub starttls_port: u16,
    /// Implicit TLS, port-465 style; offers only AUTH LOGIN, so that PLAIN (on `starttls_port`)
    /// and LOGIN both get exercised.
    pub tls_port: u16,
    /// No TLS at all; AUTH (PLAIN, LOGIN) in clear text.
    pub plain_port: u16,
    /// Implicit TLS with a certificate for `mail.example.test` only, signed by the same CA.
    pub other_name_port: u16,
    /// The CA that signed both server certificates (SAN `localhost`, `127.0.0.1`; the other one
    /// `mail.example.test`).
    pub ca_file: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca_file: PathBuf,
}

/// A SASL account of one test.
#[derive(Clone, Debug)]
pub struct SaslUser {
    pub name: String,
    pub password: String,
}

static SUBMISSION: OnceLock<PostfixSubmission> = OnceLock::new();
static SUBMISSION_SEQ: AtomicU32 = AtomicU32::new(0);
/// add-user rewrites the passwd-file: one at a time.
static SASL_USERS_FILE: Mutex<()> = Mutex::new(());

impl PostfixSubmission {
    /// The process's submission server, started on first use (about 1 s).
    pub fn shared() -> &'static PostfixSubmission {
        SUBMISSION.get_or_init(|| {
            start_with_retries("Postfix submission server", || {
                let dir = server_dir("herald-submission-");
                let [starttls_port, tls_port, plain_port, other_name_port] = free_ports();
                let started = run(Command::new(script("postfix-submission"))
                    .arg("start")
                    .arg(&dir)
                    .args(
                        [starttls_port, tls_port, plain_port, other_name_port]
                            .map(|p| p.to_string()),
                    )
                    .arg(PIPE_USER)
                    .env("HERALD_TEST_MAIL_USER", PIPE_USER)
                    .env("HERALD_TEST_PARENT_PID", std::process::id().to_string()));
                if let Err(e) = started {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(e);
                }
                Ok(PostfixSubmission {
                    ca_file: dir.join("ca.pem"),
                    other_ca_file: dir.join("other-ca.pem"),
                    dir,
                    starttls_port,
                    tls_port,
                    plain_port,
                    other_name_port,
                })
            })
        })
    }

    fn next(&self) -> u32 {
        SUBMISSION_SEQ.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A new SASL user of its own for one test: `s<N>`, its password unique to it. Returns once
    /// Dovecot accepts the password.
    pub fn add_user(&self) -> SaslUser {
        let n = self.next();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let user = SaslUser {
            name: format!("s{n}"),
            password: format!("sasl-pw-{n}-{nanos:x}"),
        };
        let _guard = SASL_USERS_FILE.lock().unwrap_or_else(|e| e.into_inner());
        run(Command::new(script("postfix-submission"))
            .arg("add-user")
            .arg(&self.dir)
            .arg(&user.name)
            .arg(&user.password)
            .env("HERALD_TEST_MAIL_USER", PIPE_USER))
        .unwrap();
        user
    }

    /// A recipient domain no other test of this process uses: `t<N>.submission.test`.
    pub fn recipient_domain(&self) -> String {
        format!("t{}.submission.test", self.next())
    }

    /// Messages accepted for `recipient`, oldest first.
    pub fn received(&self, recipient: &str) -> Vec<Vec<u8>> {
        received_in(&self.dir.join("received"), recipient)
    }

    /// The instance's log (`maillog_file`).
    pub fn maillog(&self) -> String {
        fs::read_to_string(self.dir.join("log/maillog")).unwrap_or_default()
    }

    /// The smtpd sessions in which `user` tried to log in, each as its log lines from `connect
    /// from` to `disconnect from` (one smtpd process serves sessions one after another, and
    /// every line carries its pid).
    pub fn sessions_of(&self, user: &str) -> Vec<String> {
        let log = self.maillog();
        let lines: Vec<&str> = log.lines().collect();
        let pid_of = |line: &str| -> Option<String> {
            let tag = line.split_whitespace().find(|w| w.contains("/smtpd["))?;
            Some(tag.trim_end_matches(':').to_owned())
        };
        let needle = format!("sasl_username={user}");
        let mut sessions: Vec<String> = Vec::new();
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !line.split([',', ' ']).any(|w| w == needle) {
                continue;
            }
            let Some(pid) = pid_of(line) else { continue };
            let same = |l: &&str| pid_of(l).as_deref() == Some(pid.as_str());
            let start = (0..=i)
                .rev()
                .find(|&j| same(&lines[j]) && lines[j].contains(": connect from "))
                .unwrap_or(i);
            let end = (i..lines.len())
                .find(|&j| same(&lines[j]) && lines[j].contains(": disconnect from "))
                .unwrap_or(lines.len() - 1);
            if seen.contains(&(start, end)) {
                continue;
            }
            seen.push((start, end));
            sessions.push(
                lines[start..=end]
                    .iter()
                    .filter(|l| same(l))
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        sessions
    }

    /// The SASL backend's log (`auth_debug`: every AUTH request, with its user, never a password).
    pub fn sasl_log(&self) -> String {
        fs::read_to_string(self.dir.join("log/dovecot.log")).unwrap_or_default()
    }

    /// How many AUTH requests for `user` reached the SASL backend through Postfix (successful or
    /// not; `add_user`'s own check is not counted).
    pub fn auth_attempts(&self, user: &str) -> usize {
        let needle = format!("passwd-file({user},127.0.0.1): Performing passdb lookup");
        self.sasl_log()
            .lines()
            .filter(|l| l.contains(&needle))
            .count()
    }

    /// The log's tail and the SASL backend's: for assertion messages.
    pub fn debug_dump(&self) -> String {
        format!(
            "{}\n{}",
            log_tail("postfix submission maillog", &self.dir, &self.maillog()),
            log_tail("its SASL Dovecot", &self.dir, &self.sasl_log())
        )
    }
}
