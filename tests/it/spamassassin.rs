//! SpamAssassin reads a delivered issue as a mailbox provider's filter would: Debian's `spamassassin`
//! with its packaged rules, local tests only (`-L`: no DNS blocklists, no network), in a private home
//! and site-config directory so that it needs no root-owned state and no host's `local.cf` or
//! `sa-update` rules change the verdict. The seed-style issue (`examples/issue.md`: headline, deck,
//! eight paragraphs of analysis, a closing call to subscribe) must score at most 0, with no rule adding
//! points.

use crate::helpers::*;
use std::{path::Path, process::Command};

/// Debian's packaged rules (`/var/lib/spamassassin`, where `sa-update` writes, would make the score
/// depend on the day the test runs).
const RULES_DIR: &str = "/usr/share/spamassassin";
/// The packaged plugin loads (`*.pre`); copied, without the host's `local.cf`.
const SITE_DIR: &str = "/etc/spamassassin";

#[test]
fn a_seed_style_issue_scores_at_most_zero_in_spamassassin() {
    // Production unsubscribe links are https on the operator's domain, not the harness's loopback.
    let app = TestApp::new(
        Smtp::Outbox,
        &[("http.public_url", "\"https://news.example.com\"")],
    );
    app.create_list(&[
        "--language",
        "en-GB",
        "--postal-address",
        "Weekly Analysis Ltd\n1 Fleet Street\nLondon EC4Y 1AA",
    ]);
    app.ok(&[
        "subscriber",
        "add",
        "weekly",
        "ada@example.com",
        "--name",
        "Ada Lovelace",
    ]);
    let issue = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/issue.md");
    app.ok(&["issue", "queue", "weekly", issue]);
    app.serve_until_idle();
    let messages = app.outbox();
    assert_eq!(messages.len(), 1);

    let report = spamassassin(&messages[0]);

    assert!(
        report.score <= 0.0,
        "SpamAssassin scores the seed-style issue {} (> 0); rules hit:\n{}",
        report.score,
        report.rules()
    );
    // MAILING_LIST_MULTI (-1.0: List-Id, List-Unsubscribe and Precedence-like headers) would hide up to
    // a point of spam signs behind a passing score: no rule may add points.
    assert!(
        report.hits.iter().all(|(points, _, _)| *points <= 0.0),
        "SpamAssassin finds spam signs in the seed-style issue (score {}); rules hit:\n{}",
        report.score,
        report.rules()
    );
    // Printed with --nocapture, so a change in the rules hit shows up even when the score passes.
    println!(
        "SpamAssassin score {}; rules hit:\n{}",
        report.score,
        report.rules()
    );
}

/// What `spamassassin -t` reports about one message.
struct Report {
    score: f64,
    /// (points, rule, description)
    hits: Vec<(f64, String, String)>,
}

impl Report {
    fn rules(&self) -> String {
        self.hits
            .iter()
            .map(|(points, rule, description)| format!("  {points:5.1} {rule:<24} {description}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs SpamAssassin once on `message`; reads the score and the rules hit from its test-mode report.
fn spamassassin(message: &str) -> Report {
    assert!(
        Path::new(RULES_DIR).join("50_scores.cf").exists(),
        "SpamAssassin is not installed (apt-get install spamassassin); scripts/test installs it"
    );
    let home = tempfile::tempdir().unwrap();
    let site = home.path().join("site");
    std::fs::create_dir(&site).unwrap();
    for entry in std::fs::read_dir(SITE_DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pre") {
            std::fs::copy(&path, site.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut child = Command::new("spamassassin")
        .args(["-L", "-t", "-x", "-p", "/dev/null"])
        .arg(format!("--configpath={RULES_DIR}"))
        .arg(format!("--siteconfigpath={}", site.display()))
        .env("HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spamassassin runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(message.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "spamassassin failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let details = stdout
        .rfind("Content analysis details:")
        .map(|at| &stdout[at..])
        .unwrap_or_else(|| panic!("no SpamAssassin report in its output:\n{stdout}"));
    // "Content analysis details:   (-1.0 points, 5.0 required)"
    let score: f64 = details
        .split_once('(')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in the report:\n{details}"));
    // " pts rule name              description" / "---- -------…", then one line per rule
    // (" 0.7 HTML_FONT_LOW_CONTRAST BODY: HTML font color similar…") and indented continuations.
    let mut hits: Vec<(f64, String, String)> = Vec::new();
    for line in details
        .lines()
        .skip_while(|l| !l.starts_with("----"))
        .skip(1)
    {
        let mut words = line.split_whitespace();
        let points = words.next().and_then(|p| p.parse::<f64>().ok());
        match (points, words.next(), hits.last_mut()) {
            (Some(points), Some(rule), _)
                if rule
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
            {
                hits.push((points, rule.to_owned(), words.collect::<Vec<_>>().join(" ")));
            }
            (None, _, Some(last)) if line.starts_with(' ') && !line.trim().is_empty() => {
                last.2.push(' ');
                last.2.push_str(line.trim());
            }
            _ => {}
        }
    }
    assert!(!hits.is_empty(), "no rules in the report:\n{details}");
    let sum: f64 = hits.iter().map(|h| h.0).sum();
    assert!(
        (sum - score).abs() <= 0.05 * (hits.len() + 1) as f64,
        "the rules' points ({sum}) do not add up to the score ({score}):\n{details}"
    );
    Report { score, hits }
}
