//! The SQLite database's files: an owner-only directory and file, created before SQLite opens them.

use super::StoreError;
use std::path::Path;

/// Creates `dir` (and its parents) with mode 0700 when it does not exist yet.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Creates `path`, owner-only (0600), for writing; fails when it exists (nothing is replaced).
pub fn create_new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Creates an empty `path` with mode 0600 unless it exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    match create_new_private_file(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates the database's directory (0700) and an empty database file (0600) unless they exist.
pub fn create_database_file(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|source| StoreError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    create_private_file(path).map_err(|source| StoreError::CreateFile {
        path: path.display().to_string(),
        source,
    })
}

/// Logs a warning when the database file can be read by users other than its owner.
pub fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            database = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the database is readable by other users; it holds the token key: chmod 600 it (and its -wal/-shm files)"
        );
    }
}
