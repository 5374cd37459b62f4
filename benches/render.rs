//! Micro-benchmark: rendering an issue's MJML once, and personalising one message per subscriber.
//!
//! `cargo bench --bench render` prints µs per MJML render (herald's mrml, and the reference `mjml` 4.x
//! from npm, warm and in-process, when `scripts/bench` has installed it) and µs per personalised
//! message, as medians of repeated rounds measured in this run.

use herald::{
    config::DkimConfig,
    domain::{DeliveryId, IssueId, IssueState, ListId, ListSlug, Mailbox},
    render::{
        IssueContext, IssueSource, Layouts, SourceKind, composed_mjml, render_issue, render_mjml,
    },
    send::{
        MessageTemplate,
        dkim::{Algorithm, PrivateKey, Signer, generate},
    },
    store::{ClaimedDelivery, Issue, List},
    track::Tokens,
};
use std::{collections::BTreeMap, hint::black_box, path::Path, process::Command, time::Instant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The example issue with its body repeated until the message is about 30 KB.
pub fn long_issue() -> String {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/issue.md")).unwrap();
    let (front, body) = example.split_at(example[4..].find("\n---\n").unwrap() + 9);
    let mut text = front.to_owned();
    for i in 0..5 {
        text.push_str(&format!("\n## Part {}\n\n", i + 1));
        text.push_str(body);
    }
    text
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this runs once, small, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let (render_rounds, recipients_n, message_rounds) =
        if full { (60, 10_000, 7) } else { (12, 100, 1) };
    let text = long_issue();
    let source = IssueSource::parse("bench.md", SourceKind::Markdown, &text).unwrap();
    let layout = Layouts::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")))
        .load("default")
        .unwrap();
    let context = IssueContext {
        list_name: "Weekly Analysis".into(),
        list_address: "news@example.com".into(),
        list_language: "en".into(),
        list_postal_address: "Weekly Analysis Ltd\n1 Fleet Street\nLondon".into(),
    };

    // MJML → HTML with mrml, as herald does once per issue.
    let mjml = composed_mjml(&source, &layout).unwrap();
    let rounds: Vec<f64> = (0..render_rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(render_mjml(black_box(&mjml)).unwrap());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let mrml_us = median(rounds[render_rounds / 6..].to_vec());
    let whole: Vec<f64> = (0..render_rounds / 2)
        .map(|_| {
            let t = Instant::now();
            black_box(render_issue(&source, None, &context, &layout).unwrap());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let queue_render_us = median(whole);

    // Per-message personalisation: the message bytes for one recipient.
    let rendered = render_issue(&source, None, &context, &layout).unwrap();
    let now = chrono::Utc::now();
    let issue = Issue {
        id: IssueId(1),
        list_id: ListId(1),
        list_slug: ListSlug::parse("weekly").unwrap(),
        subject: rendered.subject.clone(),
        preheader: rendered.preheader.clone(),
        source_path: "bench.md".into(),
        html_template: rendered.html_template.clone(),
        text_template: rendered.text_template.clone(),
        state: IssueState::Sending,
        state_reason: None,
        send_at: None,
        queued_at: now,
        started_at: Some(now),
        finished_at: None,
    };
    let list = List {
        id: ListId(1),
        slug: ListSlug::parse("weekly").unwrap(),
        name: "Weekly Analysis".into(),
        from: Mailbox::parse("Weekly Analysis <news@example.com>").unwrap(),
        reply_to: None,
        schedule: None,
        layout: "default".into(),
        language: Default::default(),
        postal_address: None,
        archive: false,
        signup: false,
        thanks_url: None,
        last_slot_at: None,
        created_at: now,
    };
    let message = MessageTemplate::new(
        &issue,
        &list,
        "news.example.com",
        "https://news.example.com",
        "bounces@news.example.com",
        "0123456789ab",
        None,
    )
    .unwrap();
    let tokens = Tokens::new(b"bench key bench key bench key 32");
    let recipients: Vec<ClaimedDelivery> = (0..recipients_n)
        .map(|i| ClaimedDelivery {
            id: DeliveryId(i + 1),
            issue_id: IssueId(1),
            attempts: 0,
            unconfirmed: 0,
            email: format!("reader{i}@example.com"),
            name: Some(format!("Reader{i} Person")),
            attributes: BTreeMap::from([("city".to_owned(), format!("City{i}"))]),
        })
        .collect();
    let mut size = 0;
    let per_message: Vec<f64> = (0..message_rounds)
        .map(|_| {
            let t = Instant::now();
            let date = now.to_rfc2822();
            for r in &recipients {
                let (bytes, sender) = message.build(&tokens, r, &date, now.timestamp());
                size = bytes.len();
                black_box((bytes, sender));
            }
            t.elapsed().as_secs_f64() * 1e6 / recipients.len() as f64
        })
        .collect();
    let personalise_us = median(per_message);

    // The same messages DKIM-signed, one thread: RSA-2048, Ed25519. (`openssl speed rsa2048 ed25519`
    // on the same machine is the reference for the signature alone.)
    let key_dir = tempfile::tempdir().unwrap();
    let mut sign_us = Vec::new();
    let signed_us: Vec<(&str, f64)> = [
        ("RSA-2048", Algorithm::Rsa),
        ("Ed25519", Algorithm::Ed25519),
    ]
    .into_iter()
    .map(|(name, algorithm)| {
        let path = key_dir.path().join(name);
        std::fs::write(&path, generate(algorithm, 2048).unwrap()).unwrap();
        let signer = Signer::load(&[DkimConfig {
            selector: "s1".into(),
            key_file: path,
            domain: "news.example.com".into(),
        }])
        .unwrap()
        .map(std::sync::Arc::new);
        let signed = MessageTemplate::new(
            &issue,
            &list,
            "news.example.com",
            "https://news.example.com",
            "bounces@news.example.com",
            "0123456789ab",
            signer,
        )
        .unwrap();
        let key = PrivateKey::from_pem(&std::fs::read(key_dir.path().join(name)).unwrap()).unwrap();
        let n = if full { 2_000 } else { 20 };
        let t = Instant::now();
        for i in 0..n {
            black_box(key.sign(format!("header block {i}").as_bytes()));
        }
        sign_us.push((name, t.elapsed().as_secs_f64() * 1e6 / n as f64));
        let few = &recipients[..recipients.len().min(2_000)];
        let rounds: Vec<f64> = (0..message_rounds.min(3))
            .map(|_| {
                let t = Instant::now();
                let date = now.to_rfc2822();
                for r in few {
                    black_box(signed.build(&tokens, r, &date, now.timestamp()));
                }
                t.elapsed().as_secs_f64() * 1e6 / few.len() as f64
            })
            .collect();
        (name, median(rounds))
    })
    .collect();

    // The reference: mjml 4.x on Node.js, warm, in-process, same document.
    let bench_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench"));
    std::fs::create_dir_all(bench_dir).unwrap();
    let mjml_file = bench_dir.join("issue.mjml");
    std::fs::write(&mjml_file, &mjml).unwrap();
    let reference = if !full {
        None
    } else {
        Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/bench-mjml.js"
            ))
            .arg(&mjml_file)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
    };

    if !full {
        println!(
            "smoke run (debug build, few rounds): figures come from `cargo bench --bench render`"
        );
    }
    println!("message size: {size} bytes ({} KB)", size / 1024);
    println!("{:<52} {:>12}", "step", "µs");
    println!(
        "{:<52} {:>12.1}",
        "MJML → HTML, herald (mrml), once per issue", mrml_us
    );
    match reference {
        Some(r) => {
            println!(
                "{:<52} {:>12.1}",
                "MJML → HTML, reference mjml 4.x (Node.js, warm)", r
            );
            println!("{:<52} {:>12.2}", "  ratio reference / herald", r / mrml_us);
        }
        None => println!(
            "{:<52} {:>12}",
            "MJML → HTML, reference mjml 4.x", "not installed (run scripts/bench)"
        ),
    }
    println!(
        "{:<52} {:>12.1}",
        "whole issue render at queue time (Markdown+MJML+text)", queue_render_us
    );
    println!(
        "{:<52} {:>12.2}",
        "personalised message bytes, per recipient", personalise_us
    );
    for (name, us) in &sign_us {
        println!(
            "{:<52} {:>12.1}",
            format!("  {name} signature alone (ring, one thread)"),
            us
        );
    }
    for (name, us) in &signed_us {
        println!(
            "{:<52} {:>12.1}",
            format!("  the same, DKIM-signed with {name} (one thread)"),
            us
        );
    }
    let rates: Vec<f64> = std::env::var("HERALD_BENCH_RATES")
        .ok()
        .map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .filter(|v: &Vec<f64>| !v.is_empty())
        .unwrap_or_else(|| vec![2_000.0, 10_000.0]);
    for rate in rates {
        let budget = 1e6 / rate;
        println!(
            "{:<52} {:>11.2}%",
            format!("  share of the per-message budget at {rate:.0} msg/s"),
            100.0 * personalise_us / budget
        );
    }
}
