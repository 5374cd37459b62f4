//! Throughput of the bounce-report parser over the sisimai corpus, on one thread.
//!
//! `cargo bench --bench bounce_parse` parses every corpus message repeatedly (bounded in rounds and
//! time) and prints messages per second, next to the same run's reference: merely MIME-parsing the
//! same messages with `mail_parser::MessageParser::default().parse`, which herald's parser does
//! first. Under `cargo test --all-targets` it runs one round, as a smoke test.

use herald::bounce::report::parse;
use mail_parser::MessageParser;
use std::{
    hint::black_box,
    path::Path,
    time::{Duration, Instant},
};

/// Rounds over the whole corpus, stopping early once `budget` is spent; returns messages per second.
fn rate(messages: &[Vec<u8>], rounds: usize, budget: Duration, mut f: impl FnMut(&[u8])) -> f64 {
    let start = Instant::now();
    let mut parsed = 0usize;
    for _ in 0..rounds {
        for m in messages {
            f(m);
        }
        parsed += messages.len();
        if start.elapsed() > budget {
            break;
        }
    }
    parsed as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this runs once, small.
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, budget) = if full {
        (50, Duration::from_secs(20))
    } else {
        (1, Duration::from_secs(5))
    };
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpora/sisimai-bounces/mail"
    ));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let messages: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();

    // Warm the lazily built tables and the caches.
    for m in &messages {
        black_box(parse(m));
    }
    let herald = rate(&messages, rounds, budget, |m| {
        black_box(parse(black_box(m)));
    });
    let mime_only = rate(&messages, rounds, budget, |m| {
        black_box(MessageParser::default().parse(black_box(m)));
    });

    if !full {
        println!(
            "smoke run (debug build, one round): figures come from `cargo bench --bench bounce_parse`"
        );
    }
    println!("corpus: {} messages, {} KB", messages.len(), bytes / 1024);
    println!("{:<56} {:>12}", "step (one thread)", "messages/s");
    println!(
        "{:<56} {:>12.0}",
        "herald bounce parse (MIME + report + classify)", herald
    );
    println!(
        "{:<56} {:>12.0}",
        "reference: mail-parser MIME parse only", mime_only
    );
    println!(
        "{:<56} {:>12.2}",
        "  ratio herald time / MIME-only time",
        mime_only / herald
    );
}
