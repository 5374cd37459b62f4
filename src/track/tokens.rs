//! HMAC-signed delivery tokens for unsubscribe links and VERP bounce addresses.
//!
//! A token is base32 (lower case, so it survives MTAs that fold the case of local parts) of the
//! delivery id and a 12-byte tag. Both tags of a delivery come from one HMAC-SHA256(key, label ‖ id):
//! bytes 0..12 sign unsubscribe links, bytes 12..24 bounce addresses. The two never coincide, so a
//! bounce address cannot be replayed as an unsubscribe link, and a message costs one HMAC, not two.

use crate::domain::DeliveryId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 12;
/// A token's length: base32 of the 8-byte id and the tag, 160 bits, so no padding bits.
pub const TOKEN_CHARS: usize = (8 + MAC_LEN) * 8 / 5;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Unsubscribe,
    Bounce,
    /// A signup's confirmation link: the id is the signup's, under a label of its own, so no
    /// delivery token confirms a signup and no signup token unsubscribes anyone.
    Confirm,
}

impl Purpose {
    /// Where this purpose's tag sits in the HMAC output.
    fn range(self) -> std::ops::Range<usize> {
        match self {
            Purpose::Unsubscribe | Purpose::Confirm => 0..MAC_LEN,
            Purpose::Bounce => MAC_LEN..2 * MAC_LEN,
        }
    }
}

/// Both tokens of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub unsubscribe: String,
    pub bounce: String,
}

#[derive(Clone)]
pub struct Tokens {
    /// HMAC-SHA256 keyed once (its inner and outer pads hashed): cloned per token, so a message's
    /// tokens cost no key schedule, and cloning `Tokens` allocates nothing.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(***)")
    }
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length"),
        }
    }

    fn mac(&self, id: u64) -> [u8; 32] {
        self.mac_labelled(b"herald-delivery-v1", id)
    }

    fn mac_labelled(&self, label: &[u8], id: u64) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(label);
        mac.update(&id.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    fn token(id: u64, tag: &[u8]) -> String {
        let mut bytes = [0u8; 8 + MAC_LEN];
        bytes[..8].copy_from_slice(&id.to_be_bytes());
        bytes[8..].copy_from_slice(tag);
        base32(&bytes)
    }

    pub fn sign(&self, purpose: Purpose, delivery: DeliveryId) -> String {
        let id = delivery.0 as u64;
        Self::token(id, &self.mac_for(purpose, id)[purpose.range()])
    }

    fn mac_for(&self, purpose: Purpose, id: u64) -> [u8; 32] {
        match purpose {
            Purpose::Confirm => self.mac_labelled(b"herald-signup-v1", id),
            _ => self.mac(id),
        }
    }

    /// A short hex tag derived from the key and `label`: stable for one installation, different
    /// for another (whose key differs) or another database file (a different label).
    pub fn tag_for(&self, label: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(b"herald-tag-v1");
        mac.update(label);
        mac.finalize().into_bytes()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Both tokens of `delivery`, from one HMAC.
    pub fn sign_pair(&self, delivery: DeliveryId) -> TokenPair {
        let id = delivery.0 as u64;
        let mac = self.mac(id);
        TokenPair {
            unsubscribe: Self::token(id, &mac[Purpose::Unsubscribe.range()]),
            bounce: Self::token(id, &mac[Purpose::Bounce.range()]),
        }
    }

    /// The id and tag of a token in its one canonical spelling (32 lower-case base32 characters):
    /// an upper-cased token, or one with a character added or missing, is no token.
    fn decode(token: &str) -> Option<(u64, Vec<u8>)> {
        if token.len() != TOKEN_CHARS {
            return None;
        }
        let bytes = unbase32(token)?;
        if bytes.len() != 8 + MAC_LEN {
            return None;
        }
        let id = u64::from_be_bytes(bytes[..8].try_into().ok()?);
        Some((id, bytes[8..].to_vec()))
    }

    fn delivery_id(id: u64) -> Option<DeliveryId> {
        i64::try_from(id).ok().filter(|id| *id > 0).map(DeliveryId)
    }

    /// The delivery id a well-formed token claims, without checking its tag: for showing what a
    /// report claims when the key is not at hand. Never act on it.
    pub fn peek_unverified(token: &str) -> Option<DeliveryId> {
        Self::decode(token).and_then(|(id, _)| Self::delivery_id(id))
    }

    /// A signup's confirmation token.
    pub fn sign_signup(&self, signup: i64) -> String {
        self.sign(Purpose::Confirm, DeliveryId(signup))
    }

    /// The signup a confirmation token names, if it is genuine.
    pub fn verify_signup(&self, token: &str) -> Option<i64> {
        self.verify(Purpose::Confirm, token).map(|d| d.0)
    }

    /// The delivery a token names, if the token is genuine (and in its canonical spelling).
    pub fn verify(&self, purpose: Purpose, token: &str) -> Option<DeliveryId> {
        let (id, tag) = Self::decode(token)?;
        let expected = &self.mac_for(purpose, id)[purpose.range()];
        if !constant_time_eq(expected, &tag) {
            return None;
        }
        Self::delivery_id(id)
    }
}

/// Equal lengths and bytes, in time that depends only on the length: the comparison does not stop
/// at the first differing byte, so timing tells a guesser nothing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_verifies_and_names_its_delivery() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let token = t.sign(Purpose::Unsubscribe, DeliveryId(42));
        assert_eq!(t.verify(Purpose::Unsubscribe, &token), Some(DeliveryId(42)));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn a_pair_holds_the_two_single_tokens() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let pair = t.sign_pair(DeliveryId(7));
        assert_eq!(
            pair.unsubscribe,
            t.sign(Purpose::Unsubscribe, DeliveryId(7))
        );
        assert_eq!(pair.bounce, t.sign(Purpose::Bounce, DeliveryId(7)));
        assert_ne!(pair.unsubscribe, pair.bounce);
    }

    #[test]
    fn forged_or_cross_purpose_tokens_are_refused() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let token = t.sign(Purpose::Bounce, DeliveryId(42));
        assert_eq!(t.verify(Purpose::Unsubscribe, &token), None);
        let other = Tokens::new(b"another key entirely, 32 bytes!!");
        assert_eq!(other.verify(Purpose::Bounce, &token), None);
        let mut forged = token.clone().into_bytes();
        forged[3] = if forged[3] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            t.verify(Purpose::Bounce, std::str::from_utf8(&forged).unwrap()),
            None
        );
        assert_eq!(t.verify(Purpose::Bounce, "not-base32!"), None);
    }

    #[test]
    fn only_the_canonical_spelling_verifies() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let token = t.sign(Purpose::Unsubscribe, DeliveryId(42));
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(
            t.verify(Purpose::Unsubscribe, &token.to_ascii_uppercase()),
            None
        );
        assert_eq!(t.verify(Purpose::Unsubscribe, &format!("{token}a")), None);
        assert_eq!(
            t.verify(Purpose::Unsubscribe, &token[..TOKEN_CHARS - 1]),
            None
        );
    }
}
