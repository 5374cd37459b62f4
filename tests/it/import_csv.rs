//! CSV import: bad rows are reported with their line numbers and the rest imported.

use crate::helpers::*;

#[test]
fn rejected_rows_are_reported_with_line_numbers_and_the_rest_imported() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);
    let csv = "email,name,plan\n\
               ann@example.com,Ann Lee,pro\n\
               not-an-address,Bob,free\n\
               cy@example.org,,\n\
               dee@example.net,Dee,free,extra\n\
               \n\
               eve@@example.com,Eve,pro\n\
               ann@example.com,Ann B. Lee,team\n";
    let file = app.write("subs.csv", csv);

    let report = app.json(&["subscriber", "import", "weekly", file.to_str().unwrap()]);

    assert_eq!(
        (
            report["added"].as_i64(),
            report["updated"].as_i64(),
            report["rejected"].as_i64()
        ),
        (Some(2), Some(1), Some(3))
    );
    let rows = report["rejected_rows"].as_array().unwrap();
    let lines: Vec<i64> = rows.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [3, 5, 7]);
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not-an-address")
    );
    assert!(rows[1]["reason"].as_str().unwrap().contains("4 fields"));
    let subs = app.json(&["subscriber", "ls", "weekly"]);
    let subs = subs.as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(
        subs[0]["name"], "Ann B. Lee",
        "a repeated address updates the row"
    );
    assert_eq!(subs[0]["attributes"]["plan"], "team");
}

#[test]
fn a_file_without_an_email_column_is_refused_with_a_clear_error() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);
    let file = app.write("subs.csv", "mail,name\na@example.com,A\n");
    let out = app.run(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no `email` column") && err.contains("line 1"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
