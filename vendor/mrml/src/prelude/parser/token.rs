use std::fmt::Display;

use htmlparser::{StrSpan, Token};

use super::{MrmlCursor, WarningKind};

#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.start, self.end)
    }
}

impl<'a> From<&StrSpan<'a>> for Span {
    fn from(value: &StrSpan<'a>) -> Self {
        Self {
            start: value.start(),
            end: value.end(),
        }
    }
}

impl<'a> From<StrSpan<'a>> for Span {
    fn from(value: StrSpan<'a>) -> Self {
        Self {
            start: value.start(),
            end: value.end(),
        }
    }
}

impl<'a> From<Token<'a>> for Span {
    fn from(value: Token<'a>) -> Self {
        match value {
            Token::Attribute { span, .. }
            | Token::Cdata { span, .. }
            | Token::Comment { span, .. }
            | Token::Declaration { span, .. }
            | Token::DtdEnd { span }
            | Token::DtdStart { span, .. }
            | Token::ElementEnd { span, .. }
            | Token::ElementStart { span, .. }
            | Token::EmptyDtd { span, .. }
            | Token::EntityDeclaration { span, .. }
            | Token::ConditionalCommentStart { span, .. }
            | Token::ConditionalCommentEnd { span, .. }
            | Token::ProcessingInstruction { span, .. } => span.into(),
            Token::Text { text } => text.into(),
        }
    }
}

#[derive(Debug)]
pub(crate) enum MrmlToken<'a> {
    Attribute(Attribute<'a>),
    ConditionalCommentEnd(ConditionalCommentEnd<'a>),
    ConditionalCommentStart(ConditionalCommentStart<'a>),
    Comment(Comment<'a>),
    ElementClose(ElementClose<'a>),
    ElementEnd(ElementEnd<'a>),
    ElementStart(ElementStart<'a>),
    Text(Text<'a>),
}

impl<'a> MrmlToken<'a> {
    pub(crate) fn parse(
        cursor: &mut MrmlCursor<'a>,
        value: Token<'a>,
    ) -> Result<Self, super::Error> {
        match value {
            Token::Attribute {
                prefix,
                local,
                value,
                span,
            } => Ok(MrmlToken::Attribute(Attribute {
                prefix,
                local,
                value,
                span,
            })),
            Token::Comment { text, span } => Ok(MrmlToken::Comment(Comment { span, text })),
            Token::ElementEnd {
                end: htmlparser::ElementEnd::Close(prefix, local),
                span,
            } => Ok(MrmlToken::ElementClose(ElementClose {
                span,
                prefix,
                local,
            })),
            Token::ElementEnd {
                end: htmlparser::ElementEnd::Empty,
                span,
            } => Ok(MrmlToken::ElementEnd(ElementEnd { span, empty: true })),
            Token::ElementEnd {
                end: htmlparser::ElementEnd::Open,
                span,
            } => Ok(MrmlToken::ElementEnd(ElementEnd { span, empty: false })),
            Token::ElementStart {
                prefix,
                local,
                span,
            } => Ok(MrmlToken::ElementStart(ElementStart {
                prefix,
                local,
                span,
            })),
            Token::ConditionalCommentEnd { span } => {
                Ok(MrmlToken::ConditionalCommentEnd(ConditionalCommentEnd {
                    span,
                }))
            }
            Token::ConditionalCommentStart { span, condition: _ } => Ok(
                MrmlToken::ConditionalCommentStart(ConditionalCommentStart { span }),
            ),
            Token::Text { text } => Ok(MrmlToken::Text(Text { text })),
            other => Err(super::Error::UnexpectedToken {
                origin: cursor.origin(),
                position: other.into(),
            }),
        }
    }
}

impl MrmlToken<'_> {
    pub fn span(&self) -> Span {
        match self {
            Self::Attribute(item) => item.span,
            Self::ConditionalCommentEnd(item) => item.span,
            Self::ConditionalCommentStart(item) => item.span,
            Self::Comment(item) => item.span,
            Self::ElementClose(item) => item.span,
            Self::ElementEnd(item) => item.span,
            Self::ElementStart(item) => item.span,
            Self::Text(item) => item.text,
        }
        .into()
    }
}

#[derive(Debug)]
pub(crate) struct Attribute<'a> {
    pub prefix: StrSpan<'a>,
    pub local: StrSpan<'a>,
    pub value: Option<StrSpan<'a>>,
    pub span: StrSpan<'a>,
}

impl Attribute<'_> {
    pub fn qualified_name(&self) -> String {
        if self.prefix.is_empty() {
            self.local.to_string()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }
}

#[derive(Debug)]
pub(crate) struct ConditionalCommentEnd<'a> {
    pub span: StrSpan<'a>,
}

#[derive(Debug)]
pub(crate) struct ConditionalCommentStart<'a> {
    pub span: StrSpan<'a>,
}

#[derive(Debug)]
pub(crate) struct Comment<'a> {
    pub span: StrSpan<'a>,
    pub text: StrSpan<'a>,
}

#[derive(Debug)]
pub(crate) struct ElementClose<'a> {
    #[allow(unused)]
    pub prefix: StrSpan<'a>,
    pub local: StrSpan<'a>,
    pub span: StrSpan<'a>,
}

#[derive(Debug)]
pub(crate) struct ElementStart<'a> {
    pub prefix: StrSpan<'a>,
    pub local: StrSpan<'a>,
    pub span: StrSpan<'a>,
}

impl ElementStart<'_> {
    pub fn qualified_name(&self) -> String {
        if self.prefix.is_empty() {
            self.local.to_string()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }
}

#[derive(Debug)]
pub(crate) struct ElementEnd<'a> {
    pub span: StrSpan<'a>,
    pub empty: bool,
}

#[derive(Debug)]
pub(crate) struct Text<'a> {
    pub text: StrSpan<'a>,
}

/// herald: HTML's void elements, as htmlparser2 lists them (for the elements inside raw content).
fn is_html_void(name: &str) -> bool {
    [
        "area", "base", "basefont", "br", "col", "command", "embed", "frame", "hr", "img", "input",
        "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr",
    ]
    .iter()
    .any(|v| v.eq_ignore_ascii_case(name))
}

/// herald: the elements whose start tag closes an open element of the listed names (htmlparser2's
/// `openImpliesClose`), for the elements inside raw content.
fn implies_close(opening: &str, open: &str) -> bool {
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(open));
    let form = [
        "input", "option", "optgroup", "select", "button", "datalist", "textarea",
    ];
    match opening.to_ascii_lowercase().as_str() {
        "tr" => is(&["tr", "th", "td"]),
        "th" => is(&["th"]),
        "td" => is(&["thead", "th", "td"]),
        "body" => is(&["head", "link", "script"]),
        "li" => is(&["li"]),
        "select" | "input" | "output" | "button" | "datalist" | "textarea" => is(&form),
        "option" => is(&["option"]),
        "optgroup" => is(&["optgroup", "option"]),
        "dd" | "dt" => is(&["dd", "dt"]),
        "rt" | "rp" => is(&["rt", "rp"]),
        "tbody" | "tfoot" => is(&["thead", "tbody"]),
        "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "address" | "article" | "aside"
        | "blockquote" | "details" | "div" | "dl" | "fieldset" | "figcaption" | "figure"
        | "footer" | "form" | "header" | "hr" | "main" | "nav" | "ol" | "pre" | "section"
        | "table" | "ul" => is(&["p"]),
        _ => false,
    }
}

/// herald: mjml 4's content of an ending tag that closes (explicitly or not) at the end tag whose
/// `>` is at `gt`: the text from `start` to there, trimmed, cut before its last `</name`, trimmed
/// (mjml-parser-xml's `onclosetag`; an element closed by its parent's end tag, or by the end of the
/// text, so has no content).
fn ending_tag_content<'a>(source: &'a str, start: usize, gt: usize, name: &str) -> &'a str {
    let trim = |s: &'a str| s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let partial = trim(source.get(start..gt).unwrap_or(""));
    let cut = partial.rfind(&format!("</{name}")).unwrap_or(0);
    trim(&partial[..cut])
}

impl<'a> super::MrmlCursor<'a> {
    /// The qualified name of a start or end tag, as written.
    fn name_of(&self, prefix: &StrSpan<'a>, local: &StrSpan<'a>) -> &'a str {
        if prefix.is_empty() {
            local.as_str()
        } else {
            self.tokenizer
                .text()
                .get(prefix.start()..local.end())
                .unwrap_or(local.as_str())
        }
    }

    /// herald: whether the innermost open element is `mjml` or an `mj-*` element.
    pub(crate) fn in_mj_element(&self) -> bool {
        self.open
            .last()
            .is_some_and(|(name, _)| *name == "mjml" || name.starts_with("mj-"))
    }

    /// Whether an element named `name` is open.
    fn is_open(&self, name: &str) -> bool {
        self.open.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn read_next_token(&mut self) -> Option<Result<MrmlToken<'a>, super::Error>> {
        // herald: a loop, not recursion: a run of skipped tokens (end tags that close nothing) can
        // be as long as the text.
        loop {
            let token = match self.tokenizer.next()? {
                Ok(token) => MrmlToken::parse(self, token),
                Err(source) => Err(super::Error::ParserError {
                    origin: self.origin(),
                    source,
                }),
            };
            match token {
                // Whitespace between elements, from a line break on: `\n` or, in a file with CRLF
                // line endings, `\r\n` (herald: CRLF was refused as an unexpected token).
                Ok(MrmlToken::Text(inner))
                    if inner.text.starts_with(['\n', '\r']) && inner.text.trim().is_empty() => {}
                // herald: an end tag that closes no open element is ignored, as htmlparser2 does.
                Ok(MrmlToken::ElementClose(close))
                    if !self.is_open(self.name_of(&close.prefix, &close.local)) => {}
                other => return Some(other),
            }
        }
    }

    pub(crate) fn next_token(&mut self) -> Option<Result<MrmlToken<'a>, super::Error>> {
        let token = if let Some(item) = self.buffer.pop() {
            Some(Ok(item))
        } else {
            self.read_next_token()
        };
        if let Some(Ok(MrmlToken::ElementStart(start))) = &token {
            let name = self.name_of(&start.prefix, &start.local);
            self.last_start = Some((name, start.span.into()));
            self.attribute_names.clear();
        }
        token
    }

    pub(crate) fn rewind(&mut self, token: MrmlToken<'a>) {
        self.buffer.push(token);
    }

    pub(crate) fn assert_next(&mut self) -> Result<MrmlToken<'a>, super::Error> {
        self.next_token().unwrap_or_else(|| {
            Err(super::Error::EndOfStream {
                origin: self.origin(),
            })
        })
    }

    /// The next attribute of the start tag just read. herald: an attribute the tag already had is
    /// skipped: htmlparser2 keeps the first value for mjml 4 (mrml kept the last).
    pub(crate) fn next_attribute(&mut self) -> Result<Option<Attribute<'a>>, super::Error> {
        loop {
            return match self.next_token() {
                Some(Ok(MrmlToken::Attribute(inner))) => {
                    let name = self.name_of(&inner.prefix, &inner.local);
                    if self.attribute_names.contains(&name) {
                        continue;
                    }
                    self.attribute_names.push(name);
                    Ok(Some(inner))
                }
                Some(Ok(other)) => {
                    self.rewind(other);
                    Ok(None)
                }
                Some(Err(inner)) => Err(inner),
                None => Err(super::Error::EndOfStream {
                    origin: self.origin(),
                }),
            };
        }
    }

    pub(crate) fn assert_element_start(&mut self) -> Result<ElementStart<'a>, super::Error> {
        match self.next_token() {
            Some(Ok(MrmlToken::ElementStart(inner))) => Ok(inner),
            Some(Ok(other)) => Err(super::Error::UnexpectedToken {
                origin: self.origin(),
                position: other.span(),
            }),
            Some(Err(inner)) => Err(inner),
            None => Err(super::Error::EndOfStream {
                origin: self.origin(),
            }),
        }
    }

    /// The end of the start tag just read. herald: an element that this opens (not `/>`, not void) is
    /// pushed on the open elements, and refused deeper than [`super::MAX_DEPTH`].
    pub(crate) fn assert_element_end(&mut self) -> Result<ElementEnd<'a>, super::Error> {
        match self.next_token() {
            Some(Ok(MrmlToken::ElementEnd(inner))) => {
                if let Some((name, span)) = self.last_start.take() {
                    if !inner.empty && !crate::prelude::is_void_element(name) {
                        if self.open.len() >= super::MAX_DEPTH {
                            return Err(super::Error::DepthLimitExceeded {
                                origin: self.origin(),
                                position: span,
                                max: super::MAX_DEPTH,
                            });
                        }
                        self.open.push((name, span));
                    }
                }
                Ok(inner)
            }
            Some(Ok(other)) => Err(super::Error::UnexpectedToken {
                origin: self.origin(),
                position: other.span(),
            }),
            Some(Err(inner)) => Err(inner),
            None => Err(super::Error::EndOfStream {
                origin: self.origin(),
            }),
        }
    }

    /// herald: closes the innermost open element, as htmlparser2 does for mjml 4: at its end tag; or
    /// at the end tag of an element it is inside of (left for that element), or at the end of the
    /// text, with a warning; content the element's parser left (an `mj-image` not closed, whose
    /// following elements mjml 4 reads as its children and does not render) is skipped, with a
    /// warning.
    pub(crate) fn assert_element_close(&mut self) -> Result<(), super::Error> {
        self.close_element(true)
    }

    /// herald: skips the element whose start tag was just read, with a warning: one mjml 4 does not
    /// render where it stands.
    pub(crate) fn skip_element<S: Into<Span>>(&mut self, start: S) -> Result<(), super::Error> {
        self.add_warning(WarningKind::IgnoredElement, start);
        while self.next_attribute()?.is_some() {}
        let depth = self.open.len();
        self.assert_element_end()?;
        if self.open.len() > depth {
            self.close_element(false)?;
        }
        Ok(())
    }

    fn close_element(&mut self, warn_skipped: bool) -> Result<(), super::Error> {
        let Some(&(_, span)) = self.open.last() else {
            // Nothing open (a start tag read without `assert_element_end`): any end tag will do.
            return match self.next_token() {
                Some(Ok(MrmlToken::ElementClose(_))) | None => Ok(()),
                Some(Ok(other)) => Err(super::Error::UnexpectedToken {
                    origin: self.origin(),
                    position: other.span(),
                }),
                Some(Err(inner)) => Err(inner),
            };
        };
        let depth = self.open.len();
        let mut skipped = false;
        loop {
            match self.next_token() {
                Some(Ok(MrmlToken::ElementClose(close))) => {
                    let closing = self.name_of(&close.prefix, &close.local);
                    // Strays are dropped by `read_next_token`: this names an open element.
                    let at = self
                        .open
                        .iter()
                        .rposition(|(n, _)| n.eq_ignore_ascii_case(closing))
                        .unwrap_or(0);
                    if at >= depth {
                        // The end of an element skipped inside this one.
                        self.open.truncate(at);
                        continue;
                    }
                    self.open.truncate(depth - 1);
                    if skipped && warn_skipped {
                        self.add_warning(WarningKind::IgnoredContent, span);
                    }
                    if at < depth - 1 {
                        self.rewind(MrmlToken::ElementClose(close));
                        self.add_warning(WarningKind::UnclosedElement, span);
                    }
                    return Ok(());
                }
                Some(Ok(MrmlToken::Text(inner))) if inner.text.trim().is_empty() => {}
                Some(Ok(MrmlToken::Comment(_))) if !skipped => {}
                Some(Ok(MrmlToken::ElementStart(_))) => {
                    skipped = true;
                    while self.next_attribute()?.is_some() {}
                    self.assert_element_end()?;
                }
                Some(Ok(_)) => skipped = true,
                Some(Err(inner)) => return Err(inner),
                None => {
                    self.open.truncate(depth - 1);
                    if skipped && warn_skipped {
                        self.add_warning(WarningKind::IgnoredContent, span);
                    }
                    self.add_warning(WarningKind::UnclosedElement, span);
                    return Ok(());
                }
            }
        }
    }

    /// herald: the content of the ending tag `name` (see [`super::is_ending_tag`]) whose start tag was
    /// just read, as mjml 4 reads it: the raw text up to its end tag, found as htmlparser2 nests the
    /// elements inside. The end tag that closes it is left to read. `None` when `name` is not an
    /// ending tag (or tokens were put back, which does not happen after a start tag).
    pub(crate) fn raw_content(&mut self, name: &str) -> Option<&'a str> {
        if !super::is_ending_tag(name) || !self.buffer.is_empty() {
            return None;
        }
        let start = self.tokenizer.pos();
        // The elements open inside, each with whether it is an ending tag.
        let mut inside: Vec<&'a str> = Vec::new();
        while let Some(Ok(token)) = self.tokenizer.next() {
            match token {
                Token::ElementStart { prefix, local, .. } => {
                    let opened = self.name_of(&prefix, &local);
                    let mut empty = false;
                    for token in self.tokenizer.by_ref() {
                        if let Ok(Token::ElementEnd { end, .. }) = token {
                            empty = end == htmlparser::ElementEnd::Empty;
                            break;
                        }
                    }
                    if empty {
                        continue;
                    }
                    while inside
                        .last()
                        .is_some_and(|open| implies_close(opened, open))
                    {
                        inside.pop();
                    }
                    if !is_html_void(opened) {
                        inside.push(opened);
                    }
                }
                Token::ElementEnd {
                    end: htmlparser::ElementEnd::Close(prefix, local),
                    span,
                } => {
                    let closing = self.name_of(&prefix, &local);
                    if let Some(at) = inside.iter().rposition(|n| n.eq_ignore_ascii_case(closing)) {
                        inside.truncate(at);
                    } else if closing.eq_ignore_ascii_case(name) || self.is_open(closing) {
                        // Its own end tag, or one that closes it with an element it is in.
                        let content = ending_tag_content(self.source, start, span.end() - 1, name);
                        // mjml 4 cuts the content at the last `</name` written in lower case: an
                        // end tag written otherwise (`</MJ-TEXT>`) leaves it empty.
                        if content.is_empty()
                            && closing.eq_ignore_ascii_case(name)
                            && !self.source[start..span.start()].trim().is_empty()
                        {
                            if let Some(&(_, at)) = self.open.last() {
                                self.add_warning(WarningKind::IgnoredContent, at);
                            }
                        }
                        self.rewind(MrmlToken::ElementClose(ElementClose {
                            prefix,
                            local,
                            span,
                        }));
                        return Some(content);
                    }
                }
                _ => {}
            }
        }
        Some(ending_tag_content(
            self.source,
            start,
            self.source.len(),
            name,
        ))
    }

    pub(crate) fn next_text(&mut self) -> Result<Option<Text<'a>>, super::Error> {
        match self.next_token() {
            Some(Ok(MrmlToken::Text(inner))) => Ok(Some(inner)),
            Some(Ok(other)) => {
                self.rewind(other);
                Ok(None)
            }
            Some(Err(inner)) => Err(inner),
            None => Err(super::Error::EndOfStream {
                origin: self.origin(),
            }),
        }
    }
}
