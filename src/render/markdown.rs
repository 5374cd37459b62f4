//! Markdown bodies: to HTML for the layout's `{{ content }}`, and to plain text for the text part. A body
//! nested deeper than [`MAX_MARKDOWN_DEPTH`] is refused first, naming where, rather than handed on to
//! the recursive MJML renderer.

use super::{limits::MAX_MARKDOWN_DEPTH, mjml::tags};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION
}

pub fn to_html(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, options()));
    html
}

/// Checks that block quotes, lists, emphasis, links and raw HTML elements nest at most
/// [`MAX_MARKDOWN_DEPTH`] deep; the error has the byte offset where the body goes deeper.
pub fn check_depth(markdown: &str) -> Result<(), (usize, String)> {
    let mut depth: usize = 0;
    let too_deep = |what: &str| {
        format!(
            "{what} nested more than {MAX_MARKDOWN_DEPTH} levels deep (block quotes, lists, emphasis, links or HTML); herald refuses deeper nesting"
        )
    };
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                depth += 1;
                if depth > MAX_MARKDOWN_DEPTH {
                    return Err((range.start, too_deep(&format!("Markdown {}", name(&tag)))));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(html) | Event::InlineHtml(html) => {
                for tag in tags(&html) {
                    depth = depth.saturating_add_signed(tag.depth_change());
                    if depth > MAX_MARKDOWN_DEPTH {
                        let at = (range.start + tag.at).min(range.end);
                        return Err((at, too_deep(&format!("HTML `<{}>`", tag.name))));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a nesting Markdown element is called in an error.
fn name(tag: &Tag<'_>) -> &'static str {
    match tag {
        Tag::BlockQuote(_) => "block quote",
        Tag::List(_) | Tag::Item => "list",
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough => "emphasis",
        Tag::Link { .. } | Tag::Image { .. } => "link",
        _ => "block",
    }
}

/// Readable plain text: paragraphs separated by blank lines, links as `text <url>`, list items as
/// `- item`, headings underlined.
pub fn to_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    let mut heading_start: Option<(usize, HeadingLevel)> = None;
    let mut list_depth = 0usize;
    let mut ordered: Vec<Option<u64>> = Vec::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading_start = Some((out.len(), level)),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, level)) = heading_start.take() {
                    let width = out[start..].chars().count();
                    let rule = if level == HeadingLevel::H1 { '=' } else { '-' };
                    out.push('\n');
                    out.extend(std::iter::repeat_n(rule, width));
                }
                out.push_str("\n\n");
            }
            Event::End(TagEnd::Paragraph) => {
                out.push_str(if list_depth > 0 { "\n" } else { "\n\n" })
            }
            Event::Start(Tag::List(first)) => {
                list_depth += 1;
                ordered.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                list_depth -= 1;
                ordered.pop();
                if list_depth == 0 {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(list_depth.saturating_sub(1)));
                match ordered.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Start(Tag::BlockQuote(_)) => out.push_str("> "),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    out.push_str(&format!(" <{url}>"));
                }
            }
            Event::Start(Tag::Image { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Image) => {
                links.pop();
            }
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => out.push_str("----\n\n"),
            Event::End(TagEnd::CodeBlock) => out.push('\n'),
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push_str("  "),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_paragraphs_links_and_lists() {
        let text = to_text("# Title\n\nA *bold* [claim](https://example.com/x).\n\n- one\n- two\n");
        assert_eq!(
            text,
            "Title\n=====\n\nA bold claim <https://example.com/x>.\n\n- one\n- two"
        );
    }
}
