//! The test harness: a fresh directory, database and ports per test; the real `herald` binary; the
//! real Postfix `smtp-sink` on loopback; and typed helpers to read what arrived.

use serde_json::Value;
use std::{
    collections::BTreeMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

pub const HERALD: &str = env!("CARGO_BIN_EXE_herald");

/// The log file of a daemon started by [`TestApp::spawn_another_serve`].
pub struct ServeLog(PathBuf);

impl ServeLog {
    /// The port its admin listener (`/metrics`, on 127.0.0.1) bound, once its log says so (it binds
    /// before it logs); panics with the log after 60 s.
    pub fn admin_port(&self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            if let Some(port) = admin_port_in(&text) {
                return port;
            }
            assert!(
                Instant::now() < deadline,
                "herald serve's admin listener not up within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The port of the admin listener a `serve` log says it bound (`admin listening … 127.0.0.1:PORT`),
/// from complete lines only (the last one may be half written).
fn admin_port_in(log: &str) -> Option<u16> {
    let line = log
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .find(|l| l.contains("admin listening"))?;
    let after = &line[line.find("127.0.0.1:")? + "127.0.0.1:".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `N` distinct free loopback ports: all bound at once, then released.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// A free loopback port (bound then released: the next call may hand out the same one, so take
/// several with [`free_ports`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One test's herald: its own directory, config file and database.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// `database.url`: a file in `dir`, or a PostgreSQL database of this test's own.
    pub database: crate::database::TestDb,
    pub http_port: u16,
    /// The admin listener (`/metrics`).
    pub admin_port: u16,
}

impl TestApp {
    /// `extra` is TOML appended to the generated config (sections may repeat keys given here).
    pub fn new(smtp: Smtp, extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Both at once: a port released by one `free_port()` can be the next one's.
        let [http_port, admin_port] = free_ports();
        let mut sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut set =
            |section: &'static str, line: String| sections.entry(section).or_default().push(line);
        let database = crate::database::fresh(dir.path());
        set("database", format!("url = {:?}", &*database));
        set("http", format!("listen = \"127.0.0.1:{http_port}\""));
        // Tests run in parallel: each daemon gets its own admin port.
        set("admin", format!("listen = \"127.0.0.1:{admin_port}\""));
        set(
            "http",
            format!("public_url = \"http://127.0.0.1:{http_port}\""),
        );
        set("sending", "domain = \"news.example.com\"".into());
        set(
            "sending",
            "bounce_address = \"bounces@news.example.com\"".into(),
        );
        set("scheduler", "poll_milliseconds = 50".into());
        // PostgreSQL: a killed daemon's deliveries are taken over within seconds, not a minute.
        set("sending", "lease_seconds = 3".into());
        set(
            "render",
            format!(
                "templates_dir = {:?}",
                concat!(env!("CARGO_MANIFEST_DIR"), "/templates")
            ),
        );
        match smtp {
            Smtp::Outbox => {
                set("smtp", "transport = \"outbox\"".into());
                set(
                    "smtp",
                    format!(
                        "outbox_dir = {:?}",
                        dir.path().join("outbox").display().to_string()
                    ),
                );
            }
            Smtp::Port(port) => {
                set("smtp", "transport = \"smtp\"".into());
                set("smtp", "host = \"127.0.0.1\"".into());
                set("smtp", format!("port = {port}"));
            }
        }
        let mut text = String::new();
        let mut extras: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (key, value) in extra {
            let (section, k) = key.split_once('.').expect("section.key");
            extras
                .entry(section)
                .or_default()
                .push(format!("{k} = {value}"));
        }
        for (section, mut lines) in sections {
            // A key given in `extra` replaces the default line for it.
            if let Some(over) = extras.remove(section) {
                lines.retain(|l| {
                    !over
                        .iter()
                        .any(|o| o.split(" = ").next() == l.split(" = ").next())
                });
                lines.extend(over);
            }
            text.push_str(&format!("[{section}]\n{}\n", lines.join("\n")));
        }
        for (section, lines) in extras {
            text.push_str(&format!("[{section}]\n{}\n", lines.join("\n")));
        }
        let config = dir.path().join("herald.toml");
        std::fs::write(&config, text).unwrap();
        Self {
            dir,
            config,
            database,
            http_port,
            admin_port,
        }
    }

    /// Runs `sql` on this test's database (`sqlite3` or `psql`): rows as text, columns joined by `|`.
    pub fn sql(&self, sql: &str) -> String {
        crate::database::query(&self.database, sql)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(HERALD);
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path());
        // Only this test's configuration counts: drop any HERALD_* the caller's shell exports.
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("HERALD_")) {
            c.env_remove(name);
        }
        c.env("HERALD_LOG", "herald=debug,info");
        c
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "herald {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command with `--json` and parses its single JSON document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!("herald {args:?} printed no single JSON document ({e}):\n{out}")
        })
    }

    pub fn serve_until_idle(&self) -> Output {
        let out = self.command(&["serve", "--until-idle"]).output().unwrap();
        assert!(
            out.status.success(),
            "serve --until-idle failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `herald serve` paced at `rate` messages per second (0: no pace), so a test can act mid-send.
    pub fn spawn_serve_paced(&self, rate: u32) -> Child {
        self.command(&["serve"])
            .env("HERALD_SMTP__RATE_PER_SECOND", rate.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// One more `herald serve` on this test's database (PostgreSQL: a second daemon on the same
    /// queue), with its own HTTP listeners on ports the kernel picks as they bind (a port picked
    /// beforehand could be taken by another test in between, and a daemon that cannot bind its admin
    /// listener serves on without one); `env` adds settings (e.g. its rate). Returns at once (several
    /// start together) with its log, which tells its admin port ([`ServeLog::admin_port`]).
    pub fn spawn_another_serve(&self, env: &[(&str, &str)]) -> (Child, ServeLog) {
        static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SPAWNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = ServeLog(self.path(&format!("serve-{n}.log")));
        let mut command = self.command(&["serve"]);
        // The public listener on another loopback address: `admin.listen` may not be `http.listen`.
        command
            .env("HERALD_HTTP__LISTEN", "127.0.0.2:0")
            .env("HERALD_ADMIN__LISTEN", "127.0.0.1:0");
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log.0).unwrap())
            .spawn()
            .unwrap();
        (child, log)
    }

    pub fn spawn_serve(&self) -> Child {
        self.command(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// An empty list `weekly`, "Weekly Analysis", from news@example.com; `extra` adds options.
    pub fn create_list(&self, extra: &[&str]) {
        let mut args = vec![
            "list",
            "create",
            "weekly",
            "--name",
            "Weekly Analysis",
            "--from",
            "Weekly Analysis <news@example.com>",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    /// A second list, `daily` ("Daily", from daily@example.com), with `address` on it: for what
    /// one reader does on two lists.
    pub fn daily_list_with(&self, address: &str) {
        self.ok(&[
            "list",
            "create",
            "daily",
            "--name",
            "Daily",
            "--from",
            "Daily <daily@example.com>",
        ]);
        self.ok(&["subscriber", "add", "daily", address]);
    }

    /// A list `weekly` with `n` subscribers `reader{i}@example.com` named `Reader{i} Person`.
    pub fn list_with_subscribers(&self, n: usize) {
        self.create_list(&[]);
        let mut csv = String::from("email,name,city\n");
        for i in 0..n {
            csv.push_str(&format!("reader{i}@example.com,Reader{i} Person,City{i}\n"));
        }
        let file = self.write("subscribers.csv", &csv);
        self.ok(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    }

    /// Queues the standard test issue; returns its id.
    pub fn queue_issue(&self, extra: &[&str]) -> i64 {
        let file = self.write("issue.md", ISSUE_MD);
        let mut args = vec!["issue", "queue", "weekly", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.json(&args)["id"].as_i64().unwrap()
    }

    /// `herald bounce ingest --json [--recipient R]` with `raw` on stdin, as an MTA's pipe runs it.
    pub fn bounce_ingest(&self, raw: &str, recipient: Option<&str>) -> Output {
        use std::io::Write;
        let mut args = vec!["bounce", "ingest", "--json"];
        if let Some(r) = recipient {
            args.extend(["--recipient", r]);
        }
        let mut child = self
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(raw.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// [`TestApp::bounce_ingest`] that must exit 0; its JSON outcome.
    pub fn bounce_ingest_ok(&self, raw: &str, recipient: Option<&str>) -> Value {
        let out = self.bounce_ingest(raw, recipient);
        assert_eq!(
            out.status.code(),
            Some(0),
            "bounce ingest failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `email`'s status on `list`, as `subscriber ls` reports it.
    pub fn subscriber_status(&self, list: &str, email: &str) -> String {
        let subs = self.json(&["subscriber", "ls", list]);
        subs.as_array()
            .unwrap()
            .iter()
            .find(|s| s["email"] == email)
            .unwrap_or_else(|| panic!("{email} is not on {list}: {subs}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn issue(&self, id: i64) -> Value {
        self.json(&["issue", "show", &id.to_string()])
    }

    /// Polls `issue show` until `done` holds, for at most `limit`.
    pub fn wait_for_issue(&self, id: i64, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let issue = self.issue(id);
            if done(&issue) {
                return issue;
            }
            assert!(
                start.elapsed() < limit,
                "issue {id} did not reach the expected state in {limit:?}: {issue}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn outbox(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.path("outbox"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

pub enum Smtp {
    Outbox,
    Port(u16),
}

pub const ISSUE_MD: &str = r#"---
subject: Markets, maps and the week ahead
preheader: Three charts that explain the week
---
Hello {{ subscriber.first_name | default: "reader" }} in {{ subscriber.attributes.city | default: "your town" }},

Central banks moved first this week, and the markets followed.

Read [the full analysis](https://news.example.com/a/42) on our site.

**Subscribe** if a friend forwarded this to you.
"#;

/// What stands between the first `<` and the `>` after it.
pub fn first_bracketed(value: &str) -> String {
    let start = value.find('<').expect("a <…> in the header") + 1;
    let end = start + value[start..].find('>').expect("a closing >");
    value[start..end].to_owned()
}

/// The https unsubscribe URL of a message as written to the outbox (the first URI of its
/// List-Unsubscribe header; the second, on a folded line, is the `mailto:`).
pub fn unsubscribe_link(message: &str) -> String {
    let line = message
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: "))
        .expect("List-Unsubscribe header");
    first_bracketed(line)
}

pub fn count(issue: &Value, state: &str) -> i64 {
    issue["deliveries"][state]
        .as_i64()
        .unwrap_or_else(|| panic!("no deliveries.{state} in {issue}"))
}

/// Postfix's `smtp-sink` on a loopback port, dumping each transaction to a file.
pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start(extra: &[&str]) -> Self {
        let bin = ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("Postfix's smtp-sink is not installed (apt-get install postfix); .ci/run installs it");
        let dir = tempfile::tempdir().unwrap();
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
        std::fs::set_permissions(dir.path(), perms).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        cmd.arg("-d")
            .arg(format!("{}/%Y%m%d%H%M%S.", dir.path().display()));
        cmd.args(extra).arg(format!("127.0.0.1:{port}")).arg("256");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "smtp-sink did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, dir, child }
    }

    /// How many messages each recipient got so far.
    /// Every one of `n` recipients got a message, at most `repeats` of them twice, and none more
    /// than twice.
    pub fn assert_each_mailed(&self, n: usize, repeats: usize, why: &str) {
        let seen = self.per_recipient();
        assert_eq!(seen.len(), n, "every recipient got the issue");
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.len() <= repeats, "{why}: {twice:?}");
        assert!(twice.iter().all(|(_, n)| **n == 2), "{why}: {twice:?}");
    }

    pub fn per_recipient(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for m in self.messages() {
            *seen.entry(m.rcpt).or_default() += 1;
        }
        seen
    }

    /// Every transaction received so far.
    pub fn messages(&self) -> Vec<SinkMessage> {
        let mut out: Vec<SinkMessage> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| std::fs::read(&p).ok())
            .map(|raw| SinkMessage::parse(&raw))
            .collect();
        out.sort_by(|a, b| a.rcpt.cmp(&b.rcpt));
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// One dumped transaction: the envelope smtp-sink saw and the message as received.
#[derive(Debug, Clone)]
pub struct SinkMessage {
    pub mail_from: String,
    pub rcpt: String,
    pub message: Vec<u8>,
}

impl SinkMessage {
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let mut mail_from = String::new();
        let mut rcpt = String::new();
        let mut lines = text.split_inclusive('\n');
        let mut consumed = 0;
        for line in lines.by_ref() {
            consumed += line.len();
            if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
                mail_from = v.trim().trim_matches(['<', '>']).to_owned();
            } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
                rcpt = v.trim().trim_matches(['<', '>']).to_owned();
            } else if line.starts_with("Received: ") {
                break;
            }
        }
        // The Received header smtp-sink adds is three lines long.
        for line in lines.by_ref().take(2) {
            consumed += line.len();
        }
        Self {
            mail_from,
            rcpt,
            message: raw[consumed..].to_vec(),
        }
    }

    /// The https URL in the List-Unsubscribe header.
    pub fn unsubscribe_url(&self) -> String {
        let header = self
            .parsed()
            .header_raw("List-Unsubscribe")
            .expect("List-Unsubscribe header")
            .to_owned();
        first_bracketed(&header)
    }

    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.message)
            .expect("a parseable message")
    }
}

/// Waits for `child` to exit, for at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "process did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `child` the signal `name` (`TERM`, `KILL`, `STOP`, `CONT`, …).
pub fn signal(child: &Child, name: &str) {
    Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
}

pub fn sigterm(child: &Child) {
    signal(child, "TERM");
}

pub fn sigkill(child: &Child) {
    signal(child, "KILL");
}

/// An HTTP response as a client sees it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 request over loopback (`Connection: close`), form-encoded body if given.
pub fn http(method: &str, url: &str, body: Option<&str>) -> HttpResponse {
    http_with(
        method,
        url,
        "application/x-www-form-urlencoded",
        body.unwrap_or(""),
        Duration::from_secs(10),
    )
}

/// The request behind [`http`]. It reads exactly Content-Length bytes of body, since a server (such as
/// chromedriver) may keep the connection open despite `Connection: close`.
pub fn http_with(
    method: &str,
    url: &str,
    content_type: &str,
    body: &str,
    timeout: Duration,
) -> HttpResponse {
    http_request(
        method,
        url,
        &[("Content-Type", content_type)],
        body,
        timeout,
    )
}

/// A request with the given headers (and Host, Connection: close, Content-Length).
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> HttpResponse {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "{url}: the server closed the connection before its headers ended"
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body_start = head_end + 4;
    loop {
        let have = raw.len() - body_start;
        if length.is_some_and(|l| have >= l) {
            break;
        }
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let end = length.map_or(raw.len(), |l| body_start + l);
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(&raw[body_start..end])
    } else {
        raw[body_start..end].to_vec()
    };
    HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The body of a `Transfer-Encoding: chunked` response (a streamed one).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap().trim(), 16).ok())
            .expect("a chunk size line");
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
    body
}

/// Waits until herald's HTTP server answers its health check.
pub fn wait_http(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "herald's HTTP server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        http("GET", &format!("http://127.0.0.1:{port}/healthz"), None).status,
        200
    );
}

/// The URL after `label` in the plain-text part of `message` (a link in a message's footer).
pub fn link_after(message: &[u8], label: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(message)
        .unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"))
        + label.len();
    text[at..].split_whitespace().next().unwrap().to_owned()
}

/// The confirmation link of the signup mail smtp-sink received for `to` (waiting up to 20 s).
pub fn confirmation_link(sink: &SmtpSink, to: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(m) = sink.messages().into_iter().find(|m| m.rcpt == to) {
            let parsed = mail_parser::MessageParser::default()
                .parse(&m.message)
                .unwrap();
            assert!(
                parsed
                    .subject()
                    .unwrap()
                    .starts_with("Confirm your subscription to")
            );
            return link_after(&m.message, "open this link and press the button:");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no confirmation mail for {to}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
