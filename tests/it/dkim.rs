//! DKIM signing checked by an independent verifier (dkimpy, Debian's python3-dkim with PyNaCl for
//! Ed25519): the bytes smtp-sink received, with the DNS records `herald dkim check` prints.

use crate::helpers::*;
use serde_json::Value;
use std::{path::Path, process::Command};

/// Verifies every DKIM-Signature of every file; prints one JSON result per file.
const VERIFY: &str = r#"
import dkim, json, sys
records = json.loads(sys.argv[1])
def dns(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return records.get(name.rstrip('.'), '').encode()
out = []
for path in sys.argv[2:]:
    message = open(path, 'rb').read()
    d = dkim.DKIM(message)
    count = sum(1 for name, _ in d.headers if name.lower() == b'dkim-signature')
    results = []
    for i in range(count):
        try:
            ok, error = bool(d.verify(idx=i, dnsfunc=dns)), None
        except dkim.DKIMException as e:
            ok, error = False, str(e)
        results.append({'ok': ok, 'error': error, 'a': d.signature_fields.get(b'a', b'').decode(),
                         'c': d.signature_fields.get(b'c', b'').decode(),
                         'h': d.signature_fields.get(b'h', b'').decode()})
    out.append({'file': path, 'signatures': results})
print(json.dumps(out))
"#;

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Appends a `[[dkim]]` table to the app's configuration.
fn add_key(app: &TestApp, selector: &str, key: &Path, domain: Option<&str>) {
    let mut text = std::fs::read_to_string(&app.config).unwrap();
    text.push_str(&format!(
        "\n[[dkim]]\nselector = \"{selector}\"\nkey_file = {:?}\n",
        key.display().to_string()
    ));
    if let Some(d) = domain {
        text.push_str(&format!("domain = \"{d}\"\n"));
    }
    std::fs::write(&app.config, text).unwrap();
}

/// `name → TXT value` for every configured key, from `herald dkim check --json`.
fn records(app: &TestApp) -> Value {
    let checked = app.json(&["dkim", "check"]);
    let mut map = serde_json::Map::new();
    for r in checked.as_array().unwrap() {
        map.insert(r["name"].as_str().unwrap().to_owned(), r["record"].clone());
    }
    Value::Object(map)
}

/// dkimpy's verdict on each message, written to files first.
fn verify(app: &TestApp, records: &Value, messages: &[Vec<u8>]) -> Vec<Value> {
    let mut paths = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let p = app.path(&format!("verify-{i}.eml"));
        std::fs::write(&p, m).unwrap();
        paths.push(p);
    }
    let out = Command::new("/usr/bin/python3")
        .args(["-c", VERIFY, &records.to_string()])
        .args(&paths)
        .output()
        .expect("Debian's python3 with python3-dkim (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn non_ascii_list(app: &TestApp) {
    app.ok(&[
        "list",
        "create",
        "weekly",
        "--name",
        "Weekly — Straße",
        "--from",
        "Jürgen Müller <news@news.example.com>",
    ]);
    let csv = app.write(
        "s.csv",
        "email,name\nana@example.com,Ána Ñúñez\nbob@example.com,\"Bob \"\"Quoted\"\" Smith\"\ncy@example.com,\n",
    );
    app.ok(&["subscriber", "import", "weekly", csv.to_str().unwrap()]);
}

#[test]
fn rsa_and_ed25519_signatures_verify_with_dkimpy_on_the_bytes_the_server_received() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    // RSA made by herald, Ed25519 by openssl (PKCS#8 v1, as most tools write it).
    let rsa = app.path("rsa.pem");
    let made = app.ok(&[
        "dkim",
        "keygen",
        "--algorithm",
        "rsa",
        "--selector",
        "r2026",
        "--out",
        rsa.to_str().unwrap(),
    ]);
    assert!(
        made.contains("r2026._domainkey.news.example.com. IN TXT ( \"v=DKIM1; k=rsa; p="),
        "{made}"
    );
    let ed = app.path("ed.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        ed.to_str().unwrap(),
    ]);
    add_key(&app, "r2026", &rsa, None);
    add_key(&app, "e2026", &ed, None);
    non_ascii_list(&app);
    app.queue_issue(&[
        "--subject",
        "Überraschung: a long subject that goes well beyond seventy-eight characters, über alles",
    ]);
    app.serve_until_idle();

    let messages: Vec<Vec<u8>> = sink.messages().into_iter().map(|m| m.message).collect();
    assert_eq!(messages.len(), 3);
    for m in &messages {
        let text = String::from_utf8_lossy(m).replace("\r\n", "\n");
        let head = &text[..text.find("\n\n").unwrap()];
        for line in head.lines() {
            assert!(
                line.len() <= 78,
                "header line of {} chars: {line}",
                line.len()
            );
        }
    }
    let results = verify(&app, &records(&app), &messages);
    for r in &results {
        let sigs = r["signatures"].as_array().unwrap();
        let algorithms: Vec<&str> = sigs.iter().map(|s| s["a"].as_str().unwrap()).collect();
        assert_eq!(algorithms, ["rsa-sha256", "ed25519-sha256"], "{r}");
        for s in sigs {
            assert_eq!(s["ok"], true, "dkimpy refused a signature: {r}");
            assert_eq!(s["c"], "relaxed/relaxed");
            let h = s["h"].as_str().unwrap().to_ascii_lowercase();
            for name in [
                "from:from",
                "to",
                "subject",
                "date",
                "message-id",
                "mime-version",
                "content-type",
                "list-id",
                "list-unsubscribe",
                "list-unsubscribe-post",
            ] {
                assert!(h.contains(name), "h= lacks {name}: {h}");
            }
        }
    }

    // The verifier is not a rubber stamp: a changed subject, a changed body or an added From fail.
    let original = String::from_utf8(messages[0].clone())
        .unwrap()
        .replace("\r\n", "\n");
    let tampered = [
        original.replacen("Subject: ", "Subject: Re: ", 1),
        original.replacen("\n\n", "\n\nX", 1),
        original.replacen("\n\n", "\nFrom: Someone <ceo@news.example.com>\n\n", 1),
    ];
    for t in &tampered {
        assert_ne!(t, &original);
    }
    let results = verify(
        &app,
        &records(&app),
        &tampered
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    );
    for r in &results {
        for s in r["signatures"].as_array().unwrap() {
            assert_eq!(s["ok"], false, "a tampered message verified: {r}");
        }
    }
}

#[test]
fn an_openssl_pkcs1_rsa_key_signs_and_a_selector_for_another_domain_is_kept() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let key = app.path("legacy.pem");
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        key.to_str().unwrap(),
        "3072",
    ]);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    add_key(&app, "legacy", &key, Some("example.com"));
    app.list_with_subscribers(2);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let messages: Vec<Vec<u8>> = app.outbox().into_iter().map(String::into_bytes).collect();
    assert_eq!(messages.len(), 2);
    let checked = app.json(&["dkim", "check", "--selector", "legacy"]);
    assert_eq!(checked[0]["bits"], 3072);
    assert_eq!(checked[0]["name"], "legacy._domainkey.example.com");
    for r in verify(&app, &records(&app), &messages) {
        let sigs = r["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 1, "{r}");
        assert_eq!(sigs[0]["ok"], true, "{r}");
    }
}

#[test]
fn keygen_writes_an_owner_only_key_once_and_prints_the_record() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let key = app.path("ed.pem");
    let made = app.json(&[
        "dkim",
        "keygen",
        "--algorithm",
        "ed25519",
        "--selector",
        "s1",
        "--out",
        key.to_str().unwrap(),
        "--domain",
        "mail.example.org",
    ]);
    assert_eq!(made["name"], "s1._domainkey.mail.example.org");
    assert_eq!(made["algorithm"], "ed25519-sha256");
    let record = made["record"].as_str().unwrap();
    assert!(record.starts_with("v=DKIM1; k=ed25519; p="), "{record}");
    // The raw 32-byte public key, base64 (RFC 8463).
    assert_eq!(
        record.len(),
        "v=DKIM1; k=ed25519; p=".len() + 44,
        "{record}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let before = std::fs::read(&key).unwrap();
    let again = app.run(&[
        "dkim",
        "keygen",
        "--algorithm",
        "ed25519",
        "--selector",
        "s1",
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("never overwritten"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);
    // openssl reads what herald wrote, and derives the same public key.
    let out = Command::new("openssl")
        .args([
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use base64::Engine;
    let raw = &out.stdout[out.stdout.len() - 32..];
    assert!(record.ends_with(&base64::engine::general_purpose::STANDARD.encode(raw)));
}

#[test]
fn check_config_and_serve_refuse_missing_weak_and_unaligned_keys() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let weak = app.path("weak.pem");
    openssl(&["genrsa", "-out", weak.to_str().unwrap(), "1024"]);
    add_key(&app, "weak", &weak, None);
    add_key(&app, "gone", &app.path("missing.pem"), None);
    let out = app.run(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("selector `weak`") && stdout.contains("too small"),
        "{stdout}"
    );
    assert!(
        stdout.contains("selector `gone`") && stdout.contains("missing.pem"),
        "{stdout}"
    );
    let serve = app.run(&["serve", "--until-idle"]);
    assert!(!serve.status.success());
    assert!(
        String::from_utf8_lossy(&serve.stderr).contains("dkim"),
        "{}",
        String::from_utf8_lossy(&serve.stderr)
    );

    // A good key whose domain no list's From aligns with.
    let app = TestApp::new(Smtp::Outbox, &[]);
    let key = app.path("k.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        key.to_str().unwrap(),
    ]);
    add_key(&app, "s1", &key, None);
    app.ok(&[
        "list",
        "create",
        "other",
        "--name",
        "Other",
        "--from",
        "news@other.example.org",
    ]);
    let out = app.run(&["check-config"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("list `other`") && stdout.contains("other.example.org"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DKIM s1._domainkey.news.example.com: ed25519-sha256"),
        "{stdout}"
    );
}
