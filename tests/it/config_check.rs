//! `check-config` prints every problem at once and exits 1; environment variables override the file.

use crate::helpers::*;

#[test]
fn check_config_reports_every_problem_with_its_key_and_exits_1() {
    let app = TestApp::new(
        Smtp::Outbox,
        &[
            ("smtp.port", "0"),
            ("smtp.tls", "\"ssl\""),
            ("sending.max_attempts", "\"many\""),
        ],
    );
    let out = app
        .command(&["check-config"])
        .env("HERALD_HTTP__LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for key in [
        "smtp.port",
        "smtp.tls",
        "sending.max_attempts",
        "http.listen",
    ] {
        assert!(stdout.contains(key), "{key} missing:\n{stdout}");
    }
    let other = app.run(&["issue", "ls"]);
    assert!(
        !other.status.success(),
        "every command refuses a bad configuration"
    );
    assert_eq!(
        String::from_utf8_lossy(&other.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
}

#[test]
fn a_good_configuration_passes_and_environment_overrides_apply() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let report = app.json(&["check-config"]);
    assert_eq!(report["ok"], true);
    let out = app
        .command(&["check-config"])
        .env("HERALD_SMTP__PORT", "99999")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the environment is read");
}

#[test]
fn the_example_configuration_documents_only_known_keys() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/herald.example.toml");
    let out = std::process::Command::new(HERALD)
        .args(["--config", example, "check-config", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().all(|w| !w.contains("unknown key")),
        "{warnings:?}"
    );
}

#[test]
fn check_config_reads_the_relays_ca_file_before_any_session_does() {
    let app = TestApp::new(Smtp::Port(free_port()), &[]);
    let empty = app.write("empty-ca.pem", "no certificate here\n");
    let out = app
        .command(&["check-config"])
        .env("HERALD_SMTP__CA_FILE", &empty)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("smtp.ca_file") && stdout.contains("empty-ca.pem"),
        "{stdout}"
    );
    let missing = app
        .command(&["check-config"])
        .env("HERALD_SMTP__CA_FILE", app.path("nope.pem"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("nope.pem"));
}

#[test]
fn an_unreachable_postgresql_server_is_named_without_echoing_the_password() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let port = free_port();
    let out = app
        .command(&["list", "ls"])
        .env(
            "HERALD_DATABASE__URL",
            format!("postgres://herald:s3cret-pw@127.0.0.1:{port}/herald"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("postgres://herald:***@127.0.0.1:{port}/herald")),
        "{said}"
    );
    assert!(
        !said.contains("s3cret-pw"),
        "the password was printed: {said}"
    );
}

#[test]
fn an_unknown_database_scheme_is_refused_by_name() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let out = app
        .command(&["check-config"])
        .env(
            "HERALD_DATABASE__URL",
            "mysql://herald:s3cret-pw@127.0.0.1/herald",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("database.url") && said.contains("`mysql://`"),
        "{said}"
    );
    assert!(
        !said.contains("s3cret-pw"),
        "the password was printed: {said}"
    );
}

#[test]
fn db_migrate_creates_the_database_and_lists_the_migrations_applied() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let migrated = app.json(&["db", "migrate"]);
    let applied = migrated["migrations"].as_array().unwrap();
    let dir = match crate::database::backend() {
        crate::database::Backend::Sqlite => "sqlite",
        crate::database::Backend::Postgres => "postgres",
    };
    let files = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .count();
    assert_eq!(applied.len(), files, "{migrated}");
    assert_eq!(
        app.sql("SELECT COUNT(*) FROM _sqlx_migrations"),
        files.to_string()
    );
    // Again: nothing pending, the same list.
    assert_eq!(app.json(&["db", "migrate"]), migrated);
}

#[test]
fn a_global_rate_on_sqlite_is_refused_by_name() {
    crate::sqlite_only!();
    let app = TestApp::new(Smtp::Outbox, &[("smtp.global_rate_per_second", "10")]);
    let out = app.command(&["check-config"]).output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("smtp.global_rate_per_second"), "{said}");
}
