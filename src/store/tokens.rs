//! The admin API's bearer tokens: only a hash of each is stored.

use super::{Store, StoreError, on_backend};
use chrono::{DateTime, Utc};

/// A token as `token ls` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenRow {
    pub name: String,
    /// The token's first characters (`hld_` and the prefix), enough to tell tokens apart.
    pub prefix: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a presented token's prefix found: the stored hash to compare, and the access it grants.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub id: i64,
    pub name: String,
    pub hash: Vec<u8>,
    pub read_only: bool,
}

impl Store {
    /// Stores a new token; refused when a token in force has that name.
    pub async fn create_token(
        &self,
        name: &str,
        prefix: &str,
        hash: &[u8],
        read_only: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.create_token(name, prefix, hash, read_only, now).await)
    }

    /// Every token, newest first, revoked ones included.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        on_backend!(self, b => b.tokens().await)
    }

    /// Revokes the token in force named `name`.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, b => b.revoke_token(name, now).await)
    }

    /// The token in force with `prefix`, if any.
    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<StoredToken>, StoreError> {
        on_backend!(self, b => b.token_by_prefix(prefix).await)
    }

    /// Notes that token `id` was used (at most once a minute per token, so reads stay reads).
    pub async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, b => b.touch_token(id, now).await)
    }
}
