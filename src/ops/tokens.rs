//! Admin API tokens: `herald token create|ls|revoke`, and checking a presented bearer token.
//!
//! A token is `hld_` + 8 random characters (its prefix, stored in clear to find the row) + 43 random
//! characters (256 bits); only its SHA-256 is stored, compared in constant time. Tokens are random,
//! not passwords, so a fast hash is enough: guessing one means guessing 256 bits.

use super::OpsError;
use crate::{
    store::{Store, TokenRow},
    track::constant_time_eq,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

const SCHEME: &str = "hld_";
const PREFIX_LEN: usize = 8;

/// A token just made: shown once, never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewToken {
    pub name: String,
    pub token: String,
    pub read_only: bool,
}

/// What a valid token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// Why a presented token was refused (the API answers 401 for each, without saying which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Unknown,
}

/// A token name: 1 to 64 letters, digits, `-`, `_` or `.`.
fn name(raw: &str) -> Result<&str, OpsError> {
    if crate::domain::is_short_name(raw) {
        Ok(raw)
    } else {
        Err(OpsError::invalid(
            "name",
            format!("`{raw}` is not a token name (1 to 64 letters, digits, -, _ or .)"),
        ))
    }
}

pub async fn create(
    store: &Store,
    raw_name: &str,
    read_only: bool,
    now: DateTime<Utc>,
) -> Result<NewToken, OpsError> {
    let name = name(raw_name)?;
    let mut random = [0u8; 6 + 32];
    rand::rng().fill_bytes(&mut random);
    let prefix = URL_SAFE_NO_PAD.encode(&random[..6]);
    let token = format!("{SCHEME}{prefix}{}", URL_SAFE_NO_PAD.encode(&random[6..]));
    store
        .create_token(name, &prefix, &Sha256::digest(&token), read_only, now)
        .await?;
    Ok(NewToken {
        name: name.to_owned(),
        token,
        read_only,
    })
}

pub async fn all(store: &Store) -> Result<Vec<TokenRow>, OpsError> {
    Ok(store.tokens().await?)
}

pub async fn revoke(store: &Store, raw_name: &str, now: DateTime<Utc>) -> Result<(), OpsError> {
    Ok(store.revoke_token(name(raw_name)?, now).await?)
}

/// Checks a presented token; on success, what it allows and the token's name (for logs).
pub async fn authenticate(
    store: &Store,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Result<(Access, String), Refusal>, OpsError> {
    let Some(prefix) = presented
        .strip_prefix(SCHEME)
        .and_then(|rest| rest.get(..PREFIX_LEN))
    else {
        return Ok(Err(Refusal::Malformed));
    };
    let Some(stored) = store.token_by_prefix(prefix).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if !constant_time_eq(&Sha256::digest(presented.as_bytes()), &stored.hash) {
        return Ok(Err(Refusal::Unknown));
    }
    store.touch_token(stored.id, now).await?;
    let access = if stored.read_only {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    Ok(Ok((access, stored.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn token_names_are_short_plain_words() {
        assert!(name("ci-deploy.1").is_ok());
        assert!(name("").is_err());
        assert!(name("has space").is_err());
        assert!(name(&"x".repeat(65)).is_err());
    }
}
