//! `herald db copy`: an installation moved from SQLite to PostgreSQL and back reads the same through
//! every command, and the copy goes on working (new ids after the copied ones). Runs in the
//! PostgreSQL pass of `scripts/test` (it needs a server).

use crate::helpers::*;
use serde_json::Value;

fn on(app: &TestApp, database: &str, args: &[&str]) -> Value {
    let out = app
        .command(&[args, &["--json"]].concat())
        .env("HERALD_DATABASE__URL", database)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "herald {args:?} on {database}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What an operator reads of an installation.
fn views(app: &TestApp, database: &str) -> Vec<Value> {
    [
        &["list", "ls"][..],
        &["subscriber", "ls", "weekly"],
        &["issue", "ls"],
        &["issue", "show", "1"],
        &["issue", "deliveries", "1"],
        &["bounce", "ls"],
        &["token", "ls"],
    ]
    .iter()
    .map(|args| on(app, database, args))
    .collect()
}

#[test]
fn an_installation_copied_to_postgresql_and_back_reads_the_same_and_keeps_working() {
    crate::postgres_only!("db copy needs a PostgreSQL server (the PostgreSQL pass runs it)");
    let app = TestApp::new(Smtp::Outbox, &[]);
    let source = app.path("source.db").display().to_string();
    let csv = app.write(
        "s.csv",
        "email,name,city\nreader0@example.com,Reader0,Oslo\nreader1@example.com,Reader1,Rome\nreader2@example.com,,Lima\n",
    );
    let issue = app.write("issue.md", ISSUE_MD);
    let setup: [&[&str]; 5] = [
        &[
            "list",
            "create",
            "weekly",
            "--name",
            "Weekly Analysis",
            "--from",
            "Weekly Analysis <news@example.com>",
            "--archive",
            "on",
        ],
        &["subscriber", "import", "weekly", csv.to_str().unwrap()],
        &["issue", "queue", "weekly", issue.to_str().unwrap()],
        &["token", "create", "ops"],
        &["subscriber", "unsubscribe", "weekly", "reader1@example.com"],
    ];
    for (i, args) in setup.iter().enumerate() {
        on(&app, &source, args);
        if i == 2 {
            let out = app
                .command(&["serve", "--until-idle"])
                .env("HERALD_DATABASE__URL", &source)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let before = views(&app, &source);

    let copied = on(&app, &source, &["db", "copy", "--to", &app.database]);
    assert_eq!(copied["verified"], true, "{copied}");
    let tables: Vec<(&str, i64)> = copied["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap(), t["target"].as_i64().unwrap()))
        .collect();
    for expected in [
        ("lists", 1),
        ("subscribers", 3),
        ("issues", 1),
        ("deliveries", 3),
    ] {
        assert!(tables.contains(&expected), "{expected:?} in {tables:?}");
    }
    assert_eq!(
        views(&app, &app.database),
        before,
        "PostgreSQL reads as SQLite did"
    );

    // Copying into a database that has rows is refused, naming the table.
    let again = app
        .command(&["db", "copy", "--to", &app.database])
        .env("HERALD_DATABASE__URL", &source)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("`settings` table has rows"));

    // And back into a new SQLite file.
    let back = app.path("back.db").display().to_string();
    let copied = on(&app, &app.database, &["db", "copy", "--to", &back]);
    assert_eq!(copied["verified"], true, "{copied}");
    assert_eq!(views(&app, &back), before, "the round trip changed nothing");

    // The copy keeps working: a new issue gets the next id and reaches the active readers.
    on(
        &app,
        &app.database,
        &["subscriber", "add", "weekly", "reader3@example.com"],
    );
    let queued = on(
        &app,
        &app.database,
        &["issue", "queue", "weekly", issue.to_str().unwrap()],
    );
    assert_eq!(queued["id"], 2, "{queued}");
    app.serve_until_idle();
    let issue = on(&app, &app.database, &["issue", "show", "2"]);
    assert_eq!(issue["deliveries"]["sent"], 3, "{issue}");
}
