//! `LanguageTag`: the language a list is written in, as a BCP 47 tag (RFC 5646: `en`, `pt-BR`,
//! `zh-Hant-TW`), written into each message's `<html lang>`.
//!
//! Screen readers pick their voice from it and mailbox providers' language detection and SpamAssassin's
//! `ok_languages` read it, so herald never sends `und` (undetermined, mrml's fallback): a list has a
//! language, `en` unless the operator says otherwise. `parse` checks the tag is well-formed and keeps it
//! in its canonical case (`pt-br` → `pt-BR`, `zh-hant` → `zh-Hant`); it does not look subtags up in the
//! IANA registry, so a well-formed tag naming no language (`qq`) passes. The primary language subtag
//! must be ISO 639's 2 or 3 letters: the 4- to 8-letter forms RFC 5646 reserves are never used and are
//! how a mistake like `english` would otherwise slip through.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{tag}` is not a BCP 47 language tag: {reason} (e.g. `en`, `pt-BR`, `zh-Hant`)")]
pub struct LanguageTagError {
    pub tag: String,
    pub reason: String,
}

/// Longer than any tag a mail client needs; RFC 5646 §4.4.1 asks implementations to take 35.
const MAX_LEN: usize = 64;

impl LanguageTag {
    pub fn parse(raw: &str) -> Result<Self, LanguageTagError> {
        let fail = |reason: &str| LanguageTagError {
            tag: raw.to_owned(),
            reason: reason.to_owned(),
        };
        if raw.is_empty() {
            return Err(fail("it is empty"));
        }
        if raw.len() > MAX_LEN {
            return Err(fail(&format!("it is longer than {MAX_LEN} characters")));
        }
        if raw.contains('_') {
            return Err(fail(&format!(
                "subtags are joined by `-`, not `_` (`{}`)",
                raw.replace('_', "-")
            )));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(fail("it may hold only ASCII letters, digits and `-`"));
        }
        if raw.split('-').any(str::is_empty) {
            return Err(fail("it has an empty subtag (`--`, or `-` at either end)"));
        }
        let mut subtags = raw.split('-').map(str::to_ascii_lowercase).peekable();
        let mut out: Vec<String> = Vec::new();
        let alpha = |s: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
        };
        let language = subtags.next().unwrap_or_default();
        if !alpha(&language, 2..=3) {
            return Err(fail(
                "the language subtag must be the 2 or 3 letters of an ISO 639 code",
            ));
        }
        if language == "und" {
            return Err(fail(
                "`und` means undetermined; name the language the list is written in",
            ));
        }
        out.push(language);
        // Up to three extended language subtags (`zh-yue`).
        for _ in 0..3 {
            match subtags.peek() {
                Some(s) if alpha(s, 3..=3) => out.push(subtags.next().unwrap_or_default()),
                _ => break,
            }
        }
        if let Some(script) = subtags.next_if(|s| alpha(s, 4..=4)) {
            out.push(script[..1].to_ascii_uppercase() + &script[1..]);
        }
        if let Some(region) = subtags
            .next_if(|s| alpha(s, 2..=2) || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())))
        {
            out.push(region.to_ascii_uppercase());
        }
        let mut variants = Vec::new();
        while let Some(variant) = subtags.next_if(|s| {
            (5..=8).contains(&s.len()) || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit())
        }) {
            if variants.contains(&variant) {
                return Err(fail(&format!("the variant `{variant}` is repeated")));
            }
            variants.push(variant.clone());
            out.push(variant);
        }
        let mut singletons = Vec::new();
        while let Some(singleton) = subtags.next() {
            if singleton.len() != 1 {
                return Err(fail(&format!(
                    "`{singleton}` is in no place a subtag of its length can be"
                )));
            }
            let private = singleton == "x";
            if singletons.contains(&singleton) {
                return Err(fail(&format!("the extension `{singleton}` is repeated")));
            }
            let min = if private { 1 } else { 2 };
            let mut any = false;
            out.push(singleton.clone());
            while let Some(part) = subtags.next_if(|s| private || s.len() > 1) {
                if !(min..=8).contains(&part.len()) {
                    return Err(fail(&format!(
                        "`{part}` after `{singleton}-` must be {min} to 8 letters or digits"
                    )));
                }
                any = true;
                out.push(part);
            }
            if !any {
                return Err(fail(&format!("`{singleton}-` is not followed by a subtag")));
            }
            singletons.push(singleton);
        }
        Ok(Self(out.join("-")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LanguageTag {
    /// English: what a list created without `--language` is taken to be written in.
    fn default() -> Self {
        Self("en".to_owned())
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        LanguageTag::parse(raw)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    fn reason(raw: &str) -> String {
        LanguageTag::parse(raw).unwrap_err().to_string()
    }

    #[test]
    fn well_formed_tags_are_kept_in_their_canonical_case() {
        assert_eq!(ok("en"), "en");
        assert_eq!(ok("pt-br"), "pt-BR");
        assert_eq!(ok("ZH-HANT-tw"), "zh-Hant-TW");
        assert_eq!(ok("es-419"), "es-419");
        assert_eq!(ok("zh-yue-HK"), "zh-yue-HK");
        assert_eq!(ok("sl-rozaj-biske"), "sl-rozaj-biske");
        assert_eq!(ok("de-CH-1996"), "de-CH-1996");
        assert_eq!(
            ok("en-US-u-ca-gregory-x-herald"),
            "en-US-u-ca-gregory-x-herald"
        );
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        assert!(
            reason("english").contains("2 or 3 letters"),
            "{}",
            reason("english")
        );
        assert!(reason("pt_BR").contains("`pt-BR`"), "{}", reason("pt_BR"));
        assert!(reason("und").contains("undetermined"));
        assert!(reason("").contains("empty"));
        assert!(reason("en US").contains("ASCII letters"));
        assert!(reason("en--US").contains("empty subtag"));
        assert!(reason("en-US-").contains("empty subtag"));
        assert!(reason("en-US-Latn").contains("no place"));
        assert!(reason("en-a").contains("not followed"));
        assert!(reason("en-u-ca-u-nu").contains("repeated"));
        assert!(reason("1en").contains("ISO 639"));
        assert!(reason(&"a".repeat(65)).contains("longer"));
    }
}
