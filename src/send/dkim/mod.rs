//! DKIM signing: keys parsed once (`key`), relaxed canonicalization (`canon`), and the
//! DKIM-Signature headers put in front of each message (`signer`).

mod canon;
mod key;
mod signer;

pub use canon::RelaxedBody;
pub use key::{Algorithm, KeyError, PrivateKey, generate, zone_line};
pub use signer::{Signature, Signer};

/// DMARC's relaxed alignment of a From domain with a signing domain: the same domain, or one a
/// subdomain of the other (their organizational domain is the same, without a public-suffix list).
pub fn aligned(from_domain: &str, signing_domain: &str) -> bool {
    let (a, b) = (
        from_domain.trim_end_matches('.').to_ascii_lowercase(),
        signing_domain.trim_end_matches('.').to_ascii_lowercase(),
    );
    !a.is_empty()
        && (a == b
            || a.ends_with(&format!(".{b}"))
            || (b.ends_with(&format!(".{a}")) && a.contains('.')))
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
    }
}
