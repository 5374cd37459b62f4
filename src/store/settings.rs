//! Settings kept in the database: generated secrets (the token key, the erasure salt).

use super::{Store, StoreError, on_backend};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        on_backend!(self, b => b.setting(key).await)
    }

    /// Returns the value stored under `key`, storing `make()` first if there is none. Safe when the CLI
    /// and the daemon race: the first insert wins and both read it back.
    pub async fn setting_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        on_backend!(self, b => b.setting_or_insert(key, make).await)
    }

    /// The secret kept under `key`: 256 random bits in hex, made and stored on first use.
    pub async fn secret_setting(&self, key: &str) -> Result<String, StoreError> {
        on_backend!(self, b => b.setting_or_insert(key, random_secret).await)
    }
}

/// 256 random bits in hex.
pub(super) fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
