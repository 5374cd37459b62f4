//! Short names operators give things that show up in labels and logs (API tokens, a daemon's name
//! in metrics and claims): 1 to 64 ASCII letters, digits, `.`, `-` or `_`.

/// Whether `raw` is such a name.
pub fn is_short_name(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::is_short_name;

    #[test]
    fn short_names_are_1_to_64_plain_characters() {
        assert!(is_short_name("mail-1.eu_west"));
        assert!(is_short_name(&"a".repeat(64)));
        assert!(!is_short_name(""));
        assert!(!is_short_name(&"a".repeat(65)));
        assert!(!is_short_name("two words"));
        assert!(!is_short_name("ünï"));
    }
}
