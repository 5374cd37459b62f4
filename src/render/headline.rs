//! A Markdown body that opens with the issue's own headline (and deck), as writers paste an article
//! in: the layout already shows both, so the body's copies are left out, with a note. Dropped lines
//! become empty lines, so line numbers in later error messages still match the file.

/// The body without a leading copy of `title` (an ATX `# …` or setext heading of any level) and,
/// right after it, of `deck` (a paragraph), and a note for each copy left out. `show_title` and
/// `show_deck` say whether the layout shows them; what it does not show is kept.
pub fn drop_repeated_headline(
    body: &str,
    body_line: usize,
    file: &str,
    (title, show_title): (&str, bool),
    (deck, show_deck): (&str, bool),
) -> (String, Vec<String>) {
    let mut lines: Vec<&str> = body.split_inclusive('\n').collect();
    let mut notes = Vec::new();
    if !show_title || normalise(title).is_empty() {
        return (body.to_owned(), notes);
    }
    let Some(first) = next_non_blank(&lines, 0) else {
        return (body.to_owned(), notes);
    };
    let Some((text, heading_lines)) = heading_at(&lines, first) else {
        return (body.to_owned(), notes);
    };
    if normalise(&text) != normalise(title) {
        return (body.to_owned(), notes);
    }
    blank(&mut lines, first, heading_lines);
    notes.push(format!(
        "{file}:{}: the body opens with the issue's title, which the layout already shows above it; that heading is left out",
        body_line + first
    ));
    let after = first + heading_lines;
    if show_deck
        && !normalise(deck).is_empty()
        && let Some(start) = next_non_blank(&lines, after)
    {
        let end = (start..lines.len())
            .find(|&i| lines[i].trim().is_empty())
            .unwrap_or(lines.len());
        let paragraph: String = lines[start..end].concat();
        if heading_at(&lines, start).is_none() && normalise(&paragraph) == normalise(deck) {
            blank(&mut lines, start, end - start);
            notes.push(format!(
                "{file}:{}: the paragraph after it repeats the deck, which the layout also shows; left out",
                body_line + start
            ));
        }
    }
    (lines.concat(), notes)
}

fn next_non_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| !lines[i].trim().is_empty())
}

/// The heading text at line `i` and how many lines it takes: `# Title #` (ATX) or `Title` over
/// `===`/`---` (setext).
fn heading_at(lines: &[&str], i: usize) -> Option<(String, usize)> {
    let line = lines[i].trim();
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) {
        let rest = &line[hashes..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            let rest = rest.trim();
            // A closing run of `#` preceded by a space is not part of the text.
            let text = match rest.trim_end_matches('#') {
                t if t.len() < rest.len() && (t.is_empty() || t.ends_with([' ', '\t'])) => t,
                _ => rest,
            };
            return Some((text.trim().to_owned(), 1));
        }
        return None;
    }
    let underline = lines.get(i + 1)?.trim();
    let setext = !underline.is_empty()
        && (underline.chars().all(|c| c == '=') || underline.chars().all(|c| c == '-'));
    setext.then(|| (line.to_owned(), 2))
}

/// For comparing a heading with the title: emphasis markers and backslash escapes dropped, spaces
/// collapsed, case folded, quotes made straight.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '\\'))
        .map(|c| match c {
            '‘' | '’' => '\'',
            '“' | '”' => '"',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn blank(lines: &mut [&str], from: usize, count: usize) {
    for line in &mut lines[from..from + count] {
        *line = if line.ends_with('\n') { "\n" } else { "" };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop(body: &str) -> (String, Vec<String>) {
        drop_repeated_headline(
            body,
            6,
            "issue.md",
            ("The quiet repricing of risk", true),
            ("Bond markets moved first.", true),
        )
    }

    #[test]
    fn a_leading_copy_of_the_title_and_deck_is_left_out_keeping_line_numbers() {
        let body =
            "\n# The *quiet* repricing of risk\n\nBond markets\nmoved first.\n\nHello reader.\n";
        let (out, notes) = drop(body);
        assert_eq!(out, "\n\n\n\n\n\nHello reader.\n");
        assert_eq!(out.lines().count(), body.lines().count());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("issue.md:7: the body opens with the issue's title"));
        assert!(notes[1].starts_with("issue.md:9: the paragraph after it repeats the deck"));
    }

    #[test]
    fn setext_and_closed_atx_headings_count_and_other_openings_are_kept() {
        let (out, notes) = drop("THE QUIET REPRICING OF RISK\n=====\nText.\n");
        assert_eq!(out, "\n\nText.\n");
        assert_eq!(notes.len(), 1);
        let (out, _) = drop("## The quiet repricing of risk ##\nText.\n");
        assert_eq!(out, "\nText.\n");
        for kept in [
            "# Another headline\n\nBond markets moved first.\n",
            "Text first.\n\n# The quiet repricing of risk\n",
            "#The quiet repricing of risk\n",
            "",
        ] {
            let (out, notes) = drop(kept);
            assert_eq!(out, kept);
            assert!(notes.is_empty());
        }
        // A deck that is itself a heading stays: only a paragraph repeats it.
        let (out, notes) = drop("# The quiet repricing of risk\n# Bond markets moved first.\n");
        assert_eq!(out, "\n# Bond markets moved first.\n");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn nothing_is_dropped_when_the_layout_does_not_show_the_title() {
        let body = "# The quiet repricing of risk\nText.\n";
        let (out, notes) = drop_repeated_headline(
            body,
            1,
            "f.md",
            ("The quiet repricing of risk", false),
            ("", true),
        );
        assert_eq!(out, body);
        assert!(notes.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_body_keeps_its_line_count(body in "[#= a-z\\n-]{0,80}", title in "[a-z ]{0,10}") {
            let (out, _) = drop_repeated_headline(&body, 1, "f.md", (&title, true), ("x", true));
            proptest::prop_assert_eq!(out.matches('\n').count(), body.matches('\n').count());
        }
    }
}
