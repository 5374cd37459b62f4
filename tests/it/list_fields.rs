//! A list's language and postal address, from `list create`/`update` to the message a reader gets:
//! `<html lang>` of the HTML part, and the address in the footer of both parts.

use crate::helpers::*;

const ADDRESS: &str = "Análise Semanal Lda\nRua Augusta 1\n1100-048 Lisboa";

/// The decoded HTML and text parts of `message`, with line ends as `\n` (on the wire they are CRLF).
fn parts(message: &str) -> (String, String) {
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .expect("a parseable message");
    let part = |body: Option<std::borrow::Cow<'_, str>>, what: &str| {
        body.unwrap_or_else(|| panic!("no {what} part"))
            .replace("\r\n", "\n")
    };
    (
        part(parsed.body_html(0), "HTML"),
        part(parsed.body_text(0), "text"),
    )
}

#[test]
fn the_lists_language_and_postal_address_reach_the_html_and_text_parts() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&["--language", "pt-br", "--postal-address", ADDRESS]);
    app.ok(&["subscriber", "add", "weekly", "ana@example.com"]);
    app.queue_issue(&[]);

    app.serve_until_idle();

    let messages = app.outbox();
    assert_eq!(messages.len(), 1);
    let (html, text) = parts(&messages[0]);
    assert!(
        html.starts_with(r#"<!doctype html><html lang="pt-BR""#),
        "the tag is stored in its canonical case: {}",
        &html[..200]
    );
    assert!(!html.contains("\"und\""), "{html}");
    assert!(
        html.contains("Análise Semanal Lda<br />\nRua Augusta 1<br />\n1100-048 Lisboa</div>"),
        "{html}"
    );
    assert!(
        text.trim_end()
            .ends_with(&format!("news@example.com\n{ADDRESS}")),
        "{text}"
    );
    let shown = app.json(&["list", "show", "weekly"]);
    assert_eq!(shown["language"], "pt-BR");
    assert_eq!(shown["postal_address"], ADDRESS);
    let listed = app.json(&["list", "ls"]);
    assert_eq!(listed[0]["language"], "pt-BR");
    let table = app.ok(&["list", "show", "weekly"]);
    assert!(
        table.contains(concat!(
            "language        pt-BR\n",
            "postal address  Análise Semanal Lda\n",
            "                Rua Augusta 1\n",
            "                1100-048 Lisboa\n",
        )),
        "{table}"
    );
}

#[test]
fn list_update_changes_the_language_and_removes_the_address_and_a_new_list_is_english() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&["--postal-address", ADDRESS]);
    let issue = app.write("issue.md", ISSUE_MD);
    let preview = |args: &[&str]| {
        let mut all = vec!["render", issue.to_str().unwrap(), "--list", "weekly"];
        all.extend_from_slice(args);
        app.ok(&all)
    };
    assert!(
        preview(&[]).contains(r#"<html lang="en""#),
        "a list created without --language is English"
    );

    let out = app.ok(&[
        "list",
        "update",
        "weekly",
        "--language",
        "fr-CA",
        "--postal-address",
        "",
    ]);

    assert_eq!(
        out.trim(),
        "updated list weekly: language fr-CA, postal address none"
    );
    let shown = app.json(&["list", "show", "weekly"]);
    assert_eq!(shown["language"], "fr-CA");
    assert_eq!(shown["postal_address"], serde_json::Value::Null);
    assert!(preview(&[]).contains(r#"<html lang="fr-CA""#));
    let text = preview(&["--text"]);
    assert!(!text.contains("Rua Augusta"), "{text}");
}

#[test]
fn a_language_or_postal_address_that_is_not_one_is_refused_naming_the_flag() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let create = |flag: &str, value: &str| {
        let out = app.run(&[
            "list",
            "create",
            "weekly",
            "--name",
            "Weekly",
            "--from",
            "news@example.com",
            flag,
            value,
        ]);
        assert!(!out.status.success(), "{flag} {value:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    let english = create("--language", "english");
    let underscore = create("--language", "pt_BR");
    let undetermined = create("--language", "und");
    let literal_newline = create("--postal-address", "1 Main St\\nSpringfield");
    let too_long = create("--postal-address", &"line\n".repeat(9));

    assert_eq!(
        english.trim(),
        "error: --language: `english` is not a BCP 47 language tag: the language subtag must be \
         the 2 or 3 letters of an ISO 639 code (e.g. `en`, `pt-BR`, `zh-Hant`)"
    );
    assert!(
        underscore.contains("--language") && underscore.contains("`pt-BR`"),
        "{underscore}"
    );
    assert!(undetermined.contains("undetermined"), "{undetermined}");
    assert!(
        literal_newline.starts_with("error: --postal-address:")
            && literal_newline.contains("real line breaks"),
        "{literal_newline}"
    );
    assert!(
        too_long.starts_with("error: --postal-address:") && too_long.contains("9 lines"),
        "{too_long}"
    );
    assert_eq!(
        app.json(&["list", "ls"]),
        serde_json::json!([]),
        "no list was created"
    );
    app.create_list(&[]);
    let update = app.run(&["list", "update", "weekly", "--language", "en-"]);
    assert!(!update.status.success());
    assert!(
        String::from_utf8_lossy(&update.stderr).starts_with("error: --language: `en-`"),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    assert_eq!(app.json(&["list", "show", "weekly"])["language"], "en");
}
