//! Plain text from rendered HTML, for issues written directly in MJML (which have no Markdown source).

/// Drops `<head>`, `<style>` and tags; turns block ends into line breaks, links into `text <url>`, and
/// decodes the common entities.
pub fn html_to_text(html: &str) -> String {
    let body = html.find("<body").map(|i| &html[i..]).unwrap_or(html);
    let mut out = String::with_capacity(body.len() / 4);
    let mut rest = body;
    let mut pending_href: Vec<Option<String>> = Vec::new();
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let Some(gt) = rest[lt..].find('>').map(|i| i + lt) else {
            break;
        };
        let tag = &rest[lt + 1..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        rest = &rest[gt + 1..];
        match (name.as_str(), closing) {
            ("style" | "script" | "title", false) => {
                let end = format!("</{name}");
                rest = rest.find(&end).map(|i| &rest[i..]).unwrap_or("");
            }
            ("a", false) => pending_href.push(attribute(tag, "href")),
            ("a", true) => {
                if let Some(Some(href)) = pending_href.pop()
                    && !href.starts_with('#')
                    && !out.ends_with(href.as_str())
                {
                    out.push_str(&format!(" <{href}>"));
                }
            }
            ("br", _) => out.push('\n'),
            ("p" | "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "li" | "table", true)
                if !out.ends_with("\n\n") =>
            {
                out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
            }
            ("li", false) => out.push_str("- "),
            _ => {}
        }
    }
    push_text(&mut out, rest);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in lines {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        text.push_str(line);
    }
    text
}

fn push_text(out: &mut String, raw: &str) {
    let collapsed: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        if !raw.is_empty() && !out.ends_with([' ', '\n']) && !out.is_empty() {
            out.push(' ');
        }
        return;
    }
    if raw.starts_with(char::is_whitespace) && !out.ends_with([' ', '\n']) && !out.is_empty() {
        out.push(' ');
    }
    out.push_str(&decode_entities(&collapsed));
    if raw.ends_with(char::is_whitespace) {
        out.push(' ');
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest[1..].split(quote).next()?;
    Some(decode_entities(value))
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&rsquo;", "\u{2019}")
        .replace("&lsquo;", "\u{2018}")
        .replace("&mdash;", "\u{2014}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_line_breaks_and_links_keep_their_target() {
        let html = "<html><head><style>p{}</style></head><body><div><p>Hello &amp; welcome</p>\
                    <p>Read <a href=\"https://x.example/a\">more</a>.</p></div></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hello & welcome\n\nRead more <https://x.example/a>."
        );
    }
}
