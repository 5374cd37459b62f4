//! The bounce parser over a corpus of real returned mail (sisimai's set-of-emails, with sisimai's
//! own expectations): recipients found, hard/soft agreement, reasons, kinds. On failure the misses
//! are tabulated by reason and by MTA module; `HERALD_CORPUS_VERBOSE=1` lists every miss.

use herald::bounce::report::{Report, parse};
use herald::domain::{BounceClass, BounceKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpora/sisimai-bounces")
}

struct Expected {
    file: String,
    kind: String,
    module: String,
    recipients: Vec<ExpectedRecipient>,
}

struct ExpectedRecipient {
    reason: String,
    hard: bool,
    status: String,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Expected {
                file: v["file"].as_str().unwrap().to_owned(),
                kind: v["kind"].as_str().unwrap().to_owned(),
                module: v["module"].as_str().unwrap_or("none").to_owned(),
                recipients: v["recipients"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| ExpectedRecipient {
                        reason: r["reason"].as_str().unwrap_or("").to_owned(),
                        hard: r["hard"].as_bool().unwrap_or(false),
                        status: r["status"].as_str().unwrap_or("").to_owned(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// herald's reason names in sisimai's spelling.
fn sisimai_name(reason: &str) -> String {
    match reason {
        "too_many_connections" => "toomanyconn".into(),
        "message_too_big" => "mesgtoobig".into(),
        other => other.replace('_', ""),
    }
}

fn kind_name(kind: BounceKind) -> &'static str {
    match kind {
        BounceKind::Bounce => "bounce",
        BounceKind::Complaint => "complaint",
        BounceKind::AutoReply => "autoreply",
        BounceKind::Delivered => "delivered",
        BounceKind::Other => "not_bounce",
    }
}

#[derive(Default)]
struct Score {
    expected: usize,
    found: usize,
    class_agrees: usize,
    reason_agrees: usize,
    files_with_wrong_count: Vec<String>,
    kind_misses: Vec<String>,
    class_misses_by_reason: BTreeMap<String, usize>,
    class_misses_by_module: BTreeMap<String, usize>,
    reason_misses: BTreeMap<String, usize>,
    details: Vec<String>,
}

fn describe(report: &Report) -> String {
    report
        .recipients
        .iter()
        .map(|r| {
            format!(
                "[{} {} {} {:?} {}: {}]",
                r.address.as_deref().unwrap_or("-"),
                r.status.map(|s| s.to_string()).unwrap_or_default(),
                r.reply_code.map(|c| c.to_string()).unwrap_or_default(),
                r.class,
                r.reason,
                r.diagnostic
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn score() -> Score {
    let mut s = Score::default();
    for e in expected() {
        let raw = std::fs::read(corpus_dir().join("mail").join(&e.file)).unwrap();
        let report = parse(&raw);
        if kind_name(report.kind) != e.kind {
            s.kind_misses.push(format!(
                "{}: expected {}, got {}",
                e.file,
                e.kind,
                kind_name(report.kind)
            ));
        }
        if report.recipients.len() != e.recipients.len() {
            s.files_with_wrong_count.push(format!(
                "{}: expected {}, got {} {}",
                e.file,
                e.recipients.len(),
                report.recipients.len(),
                describe(&report)
            ));
        }
        for (i, want) in e.recipients.iter().enumerate() {
            s.expected += 1;
            let Some(got) = report.recipients.get(i) else {
                *s.class_misses_by_reason
                    .entry(format!("{} (missing)", want.reason))
                    .or_default() += 1;
                *s.class_misses_by_module
                    .entry(e.module.clone())
                    .or_default() += 1;
                continue;
            };
            s.found += 1;
            let hard = got.class == BounceClass::Hard;
            if hard == want.hard {
                s.class_agrees += 1;
            } else {
                *s.class_misses_by_reason
                    .entry(format!(
                        "{} → {}",
                        want.reason,
                        sisimai_name(got.reason.as_str())
                    ))
                    .or_default() += 1;
                *s.class_misses_by_module
                    .entry(e.module.clone())
                    .or_default() += 1;
                s.details.push(format!(
                    "CLASS {} want {} {} {} got {}",
                    e.file,
                    want.status,
                    want.reason,
                    if want.hard { "hard" } else { "soft" },
                    describe(&report)
                ));
            }
            if sisimai_name(got.reason.as_str()) == want.reason {
                s.reason_agrees += 1;
            } else {
                *s.reason_misses
                    .entry(format!(
                        "{} → {}",
                        want.reason,
                        sisimai_name(got.reason.as_str())
                    ))
                    .or_default() += 1;
                s.details.push(format!(
                    "REASON {} want {} {} got {}",
                    e.file,
                    want.status,
                    want.reason,
                    describe(&report)
                ));
            }
        }
    }
    s
}

fn table(title: &str, map: &BTreeMap<String, usize>) -> String {
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = format!("{title}:\n");
    for (k, v) in rows {
        out.push_str(&format!("  {v:>4}  {k}\n"));
    }
    out
}

fn summary(s: &Score) -> String {
    let pct = |n: usize| 100.0 * n as f64 / s.expected.max(1) as f64;
    let mut out = format!(
        "recipients expected {}, found {} ({:.1}%), hard/soft agree {} ({:.1}%), reason agrees {} ({:.1}%); files with a wrong recipient count: {}; kind misses: {}\n",
        s.expected,
        s.found,
        pct(s.found),
        s.class_agrees,
        pct(s.class_agrees),
        s.reason_agrees,
        pct(s.reason_agrees),
        s.files_with_wrong_count.len(),
        s.kind_misses.len(),
    );
    out.push_str(&table(
        "hard/soft misses by expected reason → ours",
        &s.class_misses_by_reason,
    ));
    out.push_str(&table(
        "hard/soft misses by module",
        &s.class_misses_by_module,
    ));
    out.push_str(&table(
        "reason disagreements (expected → ours)",
        &s.reason_misses,
    ));
    for k in &s.kind_misses {
        out.push_str(&format!("  kind: {k}\n"));
    }
    if std::env::var_os("HERALD_CORPUS_VERBOSE").is_some() {
        for f in &s.files_with_wrong_count {
            out.push_str(&format!("  COUNT {f}\n"));
        }
        for d in &s.details {
            out.push_str(&format!("  {d}\n"));
        }
    }
    out
}

#[test]
fn real_bounces_from_dozens_of_mtas_are_classified_hard_or_soft_as_sisimai_does() {
    let s = score();
    let report = summary(&s);
    println!("{report}");
    let agreement = s.class_agrees as f64 / s.expected as f64;
    assert!(
        agreement >= 0.95,
        "hard/soft agreement {:.1}% < 95%\n{report}",
        agreement * 100.0
    );
    let found = s.found as f64 / s.expected as f64;
    assert!(
        found >= 0.95,
        "recipients found {:.1}% < 95%\n{report}",
        found * 100.0
    );
}

#[test]
fn every_complaint_auto_reply_success_report_and_non_report_is_recognised() {
    let s = score();
    assert!(
        s.kind_misses.is_empty(),
        "kinds misread:\n{}",
        s.kind_misses.join("\n")
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    });

    /// Parses and serialises: neither may panic, and the JSON must be produced.
    fn parse_and_serialise(raw: &[u8]) {
        let report = parse(raw);
        serde_json::to_string(&report).expect("a report serialises");
        for r in &report.recipients {
            assert!(r.address.as_deref().is_none_or(|a| a == a.to_lowercase()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_parse_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            parse_and_serialise(&raw);
        }

        #[test]
        fn arbitrary_text_with_report_markers_parses_without_panicking(
            parts in proptest::collection::vec(prop_oneof![
                Just("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n".to_owned()),
                Just("Final-Recipient: rfc822; a@b.c\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 x\n".to_owned()),
                Just("--b\nContent-Type: message/rfc822\n\n".to_owned()),
                Just("----- Original message -----\n".to_owned()),
                Just("<a@b.example>: 550-5.7.1 ".to_owned()),
                "[ -~\n\u{80}-\u{10ffff}]{0,40}",
            ], 0..30)
        ) {
            parse_and_serialise(parts.concat().as_bytes());
        }

        #[test]
        fn real_reports_cut_short_or_corrupted_parse_without_panicking(
            index in 0usize..10_000,
            cut in 0.0f64..1.0,
            flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..16),
        ) {
            let original = &CORPUS[index % CORPUS.len()];
            let mut raw = original[..(original.len() as f64 * cut) as usize].to_vec();
            parse_and_serialise(&raw);
            for (at, byte) in flips {
                if !raw.is_empty() {
                    let i = ((raw.len() - 1) as f64 * at) as usize;
                    raw[i] = byte;
                }
            }
            parse_and_serialise(&raw);
            let mut flipped = original.clone();
            let i = (flipped.len() as f64 * cut) as usize % flipped.len().max(1);
            if let Some(b) = flipped.get_mut(i) {
                *b ^= 0x80;
            }
            parse_and_serialise(&flipped);
        }
    }

    #[test]
    fn every_corpus_message_truncated_at_many_points_parses_without_panicking() {
        for raw in CORPUS.iter() {
            let step = (raw.len() / 7).max(1);
            for end in (0..raw.len()).step_by(step) {
                parse_and_serialise(&raw[..end]);
            }
        }
    }
}

/// A look at any other folder of returned mail: `HERALD_BOUNCE_DIR=/path/to/maildir cargo test
/// --test it bounce_corpus::print -- --ignored --nocapture` prints what the parser reads in each.
#[test]
#[ignore = "a tool for reading other corpora, not a check"]
fn print_what_the_parser_reads_in_another_folder() {
    let Some(dir) = std::env::var_os("HERALD_BOUNCE_DIR") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let report = parse(&std::fs::read(&f).unwrap());
        println!(
            "{} {} {}",
            f.file_name().unwrap().to_string_lossy(),
            kind_name(report.kind),
            describe(&report)
        );
    }
}
