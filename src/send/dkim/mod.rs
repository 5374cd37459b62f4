//! DKIM signing: keys parsed once (`key`), relaxed canonicalization (`canon`), and the
//! DKIM-Signature headers put in front of each message (`signer`).

mod canon;
mod key;
mod signer;

pub use canon::RelaxedBody;
pub use key::{Algorithm, KeyError, PrivateKey, generate, zone_line};
pub use signer::{Signature, Signer};

/// A DKIM selector (`s=`): one or more DNS labels of letters, digits, `-` and `_`, e.g. `s2026`.
pub fn is_selector(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// DMARC's relaxed alignment of a From domain with a signing domain: the same organizational domain.
/// Without a public-suffix list that is approximated as sharing the last two labels, or the last three
/// when the second-level label is a common public one under a country code (`co.uk`, `com.au`, …).
pub fn aligned(from_domain: &str, signing_domain: &str) -> bool {
    let organizational = |d: &str| -> Option<String> {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = d.split('.').filter(|l| !l.is_empty()).collect();
        let n = labels.len();
        let public_second = n >= 3
            && labels[n - 1].len() == 2
            && matches!(
                labels[n - 2],
                "co" | "com" | "net" | "org" | "ac" | "gov" | "edu" | "ne" | "or"
            );
        let keep = if public_second { 3 } else { 2 };
        (n >= keep).then(|| labels[n - keep..].join("."))
    };
    match (organizational(from_domain), organizational(signing_domain)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alignment_is_relaxed() {
        assert!(super::aligned("news.example.com", "example.com"));
        assert!(super::aligned("Example.com", "example.com."));
        assert!(super::aligned("example.com", "mail.example.com"));
        assert!(!super::aligned("example.org", "example.com"));
        assert!(!super::aligned("badexample.com", "example.com"));
        assert!(!super::aligned("com", "example.com"));
        assert!(super::aligned("news.example.com", "mail.example.com"));
        assert!(!super::aligned("a.co.uk", "b.co.uk"));
        assert!(super::aligned("news.shop.co.uk", "shop.co.uk"));
    }
}
