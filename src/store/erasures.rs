//! Erasing a person: every row that holds their address or name loses it (subscriber rows become
//! anonymous placeholders, so issue counts and delivery ids stay as they were), and a salted hash of
//! the address keeps them from being imported again.

use super::{Store, StoreError, on_backend};
use crate::domain::EmailAddress;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The domain of an erased subscriber's placeholder address (`erased-RANDOM@erased.invalid`).
pub(super) const ERASED_DOMAIN: &str = "@erased.invalid";

/// Whether a stored address is an erased reader's placeholder: nobody's, so no page or report
/// shows or records anything for it.
pub(super) fn is_placeholder(email: &str) -> bool {
    email.ends_with(ERASED_DOMAIN)
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    /// Lists the address was on.
    pub lists: Vec<String>,
    /// Deliveries kept for the issues' counts, now pointing at an anonymous placeholder.
    pub deliveries: u64,
    /// Bounce and complaint records stripped of the address, the diagnostic and the raw report.
    pub bounces: u64,
    /// Whether the address had been added before (`false`: nothing of it was stored, but it is
    /// now kept out all the same).
    pub found: bool,
}

/// The salted hashes of erased addresses, to check imports against.
#[derive(Debug, Clone)]
pub struct Erasures {
    pub(super) salt: String,
    pub(super) hashes: HashSet<Vec<u8>>,
}

impl Erasures {
    /// No address erased (for tests of the parsers).
    pub fn none() -> Self {
        Self {
            salt: String::new(),
            hashes: HashSet::new(),
        }
    }

    pub fn contains(&self, email: &EmailAddress) -> bool {
        !self.hashes.is_empty() && self.hashes.contains(&hash(&self.salt, email))
    }
}

pub(super) fn hash(salt: &str, email: &EmailAddress) -> Vec<u8> {
    Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update([0])
        .chain_update(email.as_str().as_bytes())
        .finalize()
        .to_vec()
}

/// The setting holding the erasure hashes' salt (generated on first use).
const SALT: &str = "erasure_salt";

impl Store {
    /// Every erased address's hash.
    pub async fn erasures(&self) -> Result<Erasures, StoreError> {
        let salt = self.secret_setting(SALT).await?;
        on_backend!(self, b => b.erasures(salt).await)
    }

    /// Erases `email` from every list, in one transaction.
    pub async fn erase(
        &self,
        email: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<Erased, StoreError> {
        let salt = self.secret_setting(SALT).await?;
        on_backend!(self, b => b.erase(email, &salt, now).await)
    }
}
