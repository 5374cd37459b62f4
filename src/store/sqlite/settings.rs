//! Settings herald keeps for itself in the database, such as the generated token key.

use super::Sqlite;
use crate::store::StoreError;

impl Sqlite {
    /// The value stored under `key`, if any.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Returns the value stored under `key`, storing `make()` first if there is none. Safe when the CLI
    /// and the daemon race: the first insert wins and both read it back.
    pub async fn setting_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(make())
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The secret kept under `key`: 256 random bits in hex, made and stored on first use.
    pub async fn secret_setting(&self, key: &str) -> Result<String, StoreError> {
        self.setting_or_insert(key, || {
            let bytes: [u8; 32] = rand::random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        })
        .await
    }
}
