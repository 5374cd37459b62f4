//! The outbox transport: each message becomes `<outbox_dir>/<issue>-<delivery>.eml`, written to a
//! temporary name and renamed, so a crash never leaves half a message behind.

use super::SendFailure;
use crate::domain::SmtpReply;
use std::path::Path;
use tokio::io::AsyncWriteExt;

pub async fn write(
    dir: &Path,
    file_stem: &str,
    envelope_from: &str,
    message: &[u8],
) -> Result<SmtpReply, SendFailure> {
    let path = dir.join(format!("{file_stem}.eml"));
    let temporary = dir.join(format!(".{file_stem}.eml.tmp"));
    let mut bytes = Vec::with_capacity(message.len() + 64);
    bytes.extend_from_slice(format!("Return-Path: <{envelope_from}>\r\n").as_bytes());
    bytes.extend_from_slice(message);
    let io = |e: std::io::Error| SendFailure::Connection(format!("outbox {}: {e}", dir.display()));
    // Owner-only: a message carries its reader's unsubscribe token. A temporary file a crash left
    // behind is removed first, so the new one is created with this mode.
    let _ = tokio::fs::remove_file(&temporary).await;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .await
        .map_err(io)?;
    file.write_all(&bytes).await.map_err(io)?;
    file.flush().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&temporary, &path).await.map_err(io)?;
    Ok(SmtpReply {
        code: 250,
        enhanced: None,
        text: format!("written to {}", path.display()),
    })
}
