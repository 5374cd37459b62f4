//! No input panics the source parser, the Markdown renderer or the placeholder parser: property tests
//! over arbitrary text and bytes, and over the example issue mutated with the characters its syntax
//! is made of. An error is a fine answer; a panic or a crash is not. `PROPTEST_CASES=5000` runs longer.

use herald::render::{
    IssueContext, IssueSource, Layout, Layouts, PersonalTemplate, SourceKind, render_issue,
    render_mjml,
};
use proptest::prelude::*;
use std::{path::Path, sync::OnceLock};

const EXAMPLE: &str = include_str!("../../examples/issue.md");
const LAYOUT_MJML: &str = include_str!("../../templates/default.mjml");
/// Two of the official MJML templates: one with CRLF line endings, one with most elements.
const RACOON: &str = include_str!("../corpora/mjml-templates/racoon.mjml");
const UGG_ROYALE: &str = include_str!("../corpora/mjml-templates/ugg-royale.mjml");

/// The default layout as a whole MJML issue.
fn example_mjml() -> String {
    LAYOUT_MJML.replace(
        "{{ content }}",
        "<p>Hello {{ subscriber.name }}, &amp; <b>more</b></p>",
    )
}

fn layout() -> &'static Layout {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        Layouts::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")))
            .load("default")
            .unwrap()
    })
}

fn context() -> IssueContext {
    IssueContext {
        list_name: "Weekly".into(),
        list_address: "news@example.com".into(),
        list_language: "en".into(),
        list_postal_address: "1 Main Street\nSpringfield".into(),
    }
}

/// Parses and renders `text` as an issue of `kind`, and compiles what it stores: every step may refuse
/// the input, none may panic.
fn render_whole(kind: SourceKind, text: &str) {
    let Ok(source) = IssueSource::parse("fuzz", kind, text) else {
        return;
    };
    if let Ok(rendered) = render_issue(&source, Some("Subject"), &context(), layout()) {
        assert!(PersonalTemplate::compile(&rendered.html_template).is_ok());
        assert!(PersonalTemplate::compile(&rendered.text_template).is_ok());
    }
}

/// A character the issue syntax is made of, or any other one.
fn syntax_char() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "-", "---", "\n", "\r\n", " ", "\t", "\u{3000}", "\u{2003}", "\u{feff}", ":", "\"", "'",
            "{{", "}}", "{", "}", "|", "default:", "<", ">", "/", "*", "_", "`", "#", "[", "](",
            ")", "&#112;", "<mj-section>", "</mj-column>", "<mj-wrapper>", " a=", "=\"x\"", "&#123;", "&amp;", "<mj-text>", "</mj-text>", "<div>", "</div>", "<!--", "-->",
            "hrldph", "0z", "subject:", "{{ unsubscribe_url }}", "{{ content }}", "é", "😀",
            // What the lenient MJML parser reads as mjml 4 does.
            "\r", "=", "'", "/>", "<br>", "<p>", "</p>", "</mj-section>", "<mj-image src=x>",
            "</mj-image>", "<mj-raw>", "<mj-attributes>", "<mj-all a=b/>", "<mj-style inline=inline>",
            "<!--[if mso]>", "<![endif]-->", "<![CDATA[", "]]>", "<?xml ", "<!DOCTYPE html>",
            "<script>", "</style>", "<mj-social>", "<mj-navbar-link>", "a=b/",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// `example` with a few characters inserted, removed or replaced.
fn mutated(example: String) -> impl Strategy<Value = String> {
    prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, syntax_char()), 1..12).prop_map(
        move |edits| {
            let mut text = example.clone();
            for (at, how, insert) in edits {
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([text.len()])
                    .collect();
                let i = boundaries[at.index(boundaries.len())];
                let next = text[i..].chars().next().map_or(i, |c| i + c.len_utf8());
                match how {
                    0 => text.insert_str(i, &insert),
                    1 => text.replace_range(i..next, ""),
                    _ => text.replace_range(i..next, &insert),
                }
            }
            text
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_the_parsers_or_the_renderer(text in any::<String>()) {
        render_whole(SourceKind::Markdown, &text);
        render_whole(SourceKind::Mjml, &text);
        let _ = PersonalTemplate::compile(&text);
    }

    #[test]
    fn arbitrary_bytes_read_from_a_file_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.md");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(source) = IssueSource::read(&path) {
            let _ = render_issue(&source, Some("S"), &context(), layout());
        }
    }

    #[test]
    fn front_matter_made_of_syntax_never_panics(
        pieces in prop::collection::vec(syntax_char(), 0..40)
    ) {
        let text = format!("---{}\n---\nbody {{{{ unsubscribe_url }}}}\n", pieces.concat());
        render_whole(SourceKind::Markdown, &text);
        render_whole(SourceKind::Markdown, &pieces.concat());
        render_whole(SourceKind::Mjml, &pieces.concat());
    }

    #[test]
    fn a_mutated_example_issue_never_panics(text in mutated(EXAMPLE.to_owned())) {
        render_whole(SourceKind::Markdown, &text);
    }

    #[test]
    fn a_mutated_mjml_issue_never_panics(text in mutated(example_mjml())) {
        render_whole(SourceKind::Mjml, &text);
    }

    /// mrml alone (no front matter, no placeholders in the way), on arbitrary text: the lenient
    /// parser accepts far more than it refuses, so this reaches the renderer with odd trees.
    #[test]
    fn arbitrary_text_never_panics_mrml(text in any::<String>()) {
        let _ = render_mjml(&text);
        let _ = render_mjml(&format!("<mjml><mj-body>{text}"));
        let _ = render_mjml(&format!("<mjml><mj-body><mj-section><mj-column><mj-text>{text}"));
    }

    #[test]
    fn mjml_made_of_syntax_never_panics_mrml(pieces in prop::collection::vec(syntax_char(), 0..60)) {
        let _ = render_mjml(&format!("<mjml><mj-head>{}", pieces.concat()));
        let _ = render_mjml(&format!("<mjml><mj-body>{}</mj-body></mjml>", pieces.concat()));
    }

    #[test]
    fn real_templates_mutated_never_panic_mrml(
        text in prop_oneof![mutated(RACOON.to_owned()), mutated(UGG_ROYALE.to_owned())]
    ) {
        let _ = render_mjml(&text);
    }

    /// Elements left open, nested at random: refused past the depth limit, never a stack overflow.
    #[test]
    fn unclosed_nesting_never_overflows(
        tags in prop::collection::vec(
            prop::sample::select(vec![
                "<mj-section>", "<mj-column>", "<mj-wrapper>", "<mj-hero>", "<mj-group>", "<div>",
                "<div a=b/>", "<mj-text>", "<mj-raw>", "<mj-image>", "<mj-button>", "<mj-social>",
                "<mj-navbar>", "<mj-accordion>", "<mj-accordion-element>", "<mj-carousel>", "</div>",
                "</mj-section>", "<mj-attributes>", "<mj-head>", "<mj-body>",
            ]),
            0..400,
        )
    ) {
        let _ = render_mjml(&format!("<mjml>{}", tags.concat()));
    }
}

/// Every prefix of real templates (a file cut short, mid-tag or mid-comment) renders or is refused,
/// and never panics: mjml 4 closes whatever is open at the end of the text, and so does mrml.
#[test]
fn truncated_mjml_never_panics() {
    let example = example_mjml();
    // Every tag boundary of the example; every 53rd byte of the templates (debug builds render a
    // template in milliseconds).
    let at_tags: Vec<usize> = example
        .match_indices(['<', '>', '"', '='])
        .flat_map(|(i, _)| [i, i + 1])
        .collect();
    let cuts = |text: &str, step| -> Vec<usize> {
        (0..text.len())
            .step_by(step)
            .filter(|&i| text.is_char_boundary(i))
            .collect()
    };
    for (text, cuts) in [
        (example.as_str(), at_tags),
        (RACOON, cuts(RACOON, 53)),
        (UGG_ROYALE, cuts(UGG_ROYALE, 53)),
    ] {
        for cut in cuts {
            let _ = render_mjml(&text[..cut]);
        }
    }
}

/// The official templates render, CRLF ones too.
#[test]
fn the_official_templates_render() {
    for text in [RACOON, UGG_ROYALE] {
        render_mjml(text).unwrap();
        render_mjml(&text.replace("\r\n", "\n")).unwrap();
        render_mjml(&text.replace("\r\n", "\n").replace('\n', "\r\n")).unwrap();
    }
}

#[test]
fn the_unmutated_examples_render() {
    let source = IssueSource::parse("examples/issue.md", SourceKind::Markdown, EXAMPLE).unwrap();
    let rendered = render_issue(&source, None, &context(), layout()).unwrap();
    assert!(rendered.warnings.is_empty());
    let source = IssueSource::parse("issue.mjml", SourceKind::Mjml, &example_mjml()).unwrap();
    render_issue(&source, Some("S"), &context(), layout()).unwrap();
}
