//! What can go wrong in the store, kept apart so callers can tell "not found" from a broken database.

use crate::domain::UnknownState;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// From the connections herald steps itself (the bulk importer's, the recorder's).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the database file {path}: {source}")]
    CreateFile {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Corrupt(#[from] UnknownState),
    #[error("stored value is invalid: {0}")]
    BadValue(String),
}
