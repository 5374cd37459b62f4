//! The IMAP intake: `serve` polls `bounce.imap.folder` for reports, over implicit TLS or STARTTLS.
//!
//! The same order as the Maildir intake keeps it crash-safe: a message is flagged deleted (or moved
//! to the processed folder) only after its events are committed and synced to disk; a crash in
//! between leaves it in the folder and the next poll hands it in again, where its SHA-256 makes the
//! second recording a no-op. A message that is not a report is moved to `unparsed_folder`; one that
//! cannot be moved is logged and left (it only comes back as a duplicate). Fetching uses
//! `BODY.PEEK[]`, so a message that could not be recorded is not even marked seen. Servers with a
//! namespace prefix want the folders configured with it (`INBOX.herald-processed`).

use super::mailbox::{Folders, Next, PollReport};
use crate::{
    clock::SharedClock,
    config::{ImapConfig, TlsMode},
    domain::{BounceSource, mask_all},
    send::Trust,
    track::BounceIntake,
};
use futures_util::TryStreamExt;
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

/// At most this many messages are fetched per round.
const BATCH: usize = 200;

pub struct ImapIntake {
    pub config: ImapConfig,
    pub max_bytes: usize,
    pub timeout: Duration,
    pub intake: BounceIntake,
    pub clock: SharedClock,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, io::Error),
    #[error("{0}")]
    Tls(String),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl ImapIntake {
    /// Polls every `bounce.imap.poll_seconds` until `stop`. The first poll always runs to its end
    /// (so `serve --until-idle` reads the mailbox once); later ones are abandoned at shutdown, which
    /// is safe: nothing is removed before its commit. Each poll is bounded by `8 × smtp.timeout`.
    pub async fn run(self, stop: CancellationToken) {
        let where_ = format!(
            "{}:{}/{}",
            self.config.host, self.config.port, self.config.folder
        );
        tracing::info!(mailbox = %where_, "polling the bounce IMAP mailbox");
        let limit = self.timeout * 8;
        let mut first = true;
        loop {
            let poll = tokio::time::timeout(limit, self.poll_once());
            let polled = if first {
                Some(poll.await)
            } else {
                tokio::select! {
                    r = poll => Some(r),
                    _ = stop.cancelled() => None,
                }
            };
            first = false;
            match polled {
                None => return,
                Some(Ok(Ok(r))) if r != PollReport::default() => {
                    tracing::info!(
                        recorded = r.recorded,
                        unparsed = r.unparsed,
                        kept = r.kept,
                        "bounce mailbox polled"
                    )
                }
                Some(Ok(Ok(_))) => {}
                Some(Ok(Err(e))) => {
                    tracing::warn!(mailbox = %where_, error = %mask_all(&e.to_string()), "cannot poll the bounce mailbox")
                }
                Some(Err(_)) => {
                    tracing::warn!(mailbox = %where_, limit_s = limit.as_secs(), "cannot poll the bounce mailbox: timed out")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// One session: log in, hand in every message of the folder, remove or move what was recorded.
    pub async fn poll_once(&self) -> Result<PollReport, ImapError> {
        let c = &self.config;
        let stream = self.connect().await?;
        let client = async_imap::Client::new(stream);
        let mut session = client
            .login(&c.username, c.password.expose())
            .await
            .map_err(|(e, _)| e)?;
        let result = self.process(&mut session).await;
        let _ = tokio::time::timeout(self.timeout, session.logout()).await;
        result
    }

    async fn process(
        &self,
        session: &mut async_imap::Session<ImapStream>,
    ) -> Result<PollReport, ImapError> {
        let c = &self.config;
        let capabilities = session.capabilities().await?;
        let (can_move, uidplus) = (
            capabilities.has_str("MOVE"),
            capabilities.has_str("UIDPLUS"),
        );
        session.select(&c.folder).await?;
        // UNDELETED: a message flagged by an earlier round that could not expunge is not read twice.
        let mut uids: Vec<u32> = session.uid_search("UNDELETED").await?.into_iter().collect();
        uids.sort_unstable();
        uids.truncate(BATCH);
        let mut report = PollReport::default();
        let folders = Folders {
            after: c.after,
            processed: &c.processed_folder,
            unparsed: &c.unparsed_folder,
        };
        // What to do with each recorded message, done only once the records are on disk.
        let mut done: Vec<(u32, Next)> = Vec::new();
        for uid in uids {
            let raw = {
                let mut fetches = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
                let mut raw = None;
                while let Some(f) = fetches.try_next().await? {
                    if let Some(body) = f.body() {
                        raw = Some(body[..body.len().min(self.max_bytes)].to_vec());
                    }
                }
                raw
            };
            let Some(raw) = raw else { continue };
            let handed_in = self
                .intake
                .ingest(&raw, BounceSource::Imap, None, self.clock.now())
                .await;
            match report.settle(handed_in, folders, &format!("uid {uid}")) {
                Next::Stop => break,
                next => done.push((uid, next)),
            }
        }
        if done.is_empty() {
            return Ok(report);
        }
        if let Err(e) = self.intake.sync_to_disk().await {
            tracing::warn!(error = %e, "cannot sync the database; the mailbox messages stay for the next poll");
            return Ok(report);
        }
        let mut to_delete = Vec::new();
        let mut folders_made: Vec<&str> = Vec::new();
        for (uid, next) in done {
            let Next::MoveTo(folder) = next else {
                to_delete.push(uid);
                continue;
            };
            if !folders_made.contains(&folder) {
                // Fails harmlessly when the folder exists.
                let _ = session.create(folder).await;
                folders_made.push(folder);
            }
            let moved = if can_move {
                session.uid_mv(uid.to_string(), folder).await
            } else {
                session.uid_copy(uid.to_string(), folder).await
            };
            match moved {
                Ok(()) if can_move => {}
                Ok(()) => to_delete.push(uid),
                // Recorded already: left in place, it comes back as a duplicate that changes nothing.
                Err(e) => {
                    tracing::warn!(uid, %folder, error = %e, "cannot move a recorded bounce message")
                }
            }
        }
        if !to_delete.is_empty() {
            let set = to_delete
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let flagged = session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
            let _: Vec<_> = flagged.try_collect().await?;
            // UID EXPUNGE removes only herald's messages, not ones another client flagged.
            if uidplus {
                let expunged = session.uid_expunge(&set).await?;
                let _: Vec<_> = expunged.try_collect().await?;
            } else {
                let expunged = session.expunge().await?;
                let _: Vec<_> = expunged.try_collect().await?;
            }
        }
        Ok(report)
    }

    async fn connect(&self) -> Result<ImapStream, ImapError> {
        let c = &self.config;
        let address = format!("{}:{}", c.host, c.port);
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(&address))
            .await
            .map_err(|_| ImapError::Timeout(self.timeout))?
            .map_err(|e| ImapError::Connect(address.clone(), e))?;
        tcp.set_nodelay(true).ok();
        match c.tls {
            TlsMode::Tls => {
                let mut client =
                    async_imap::Client::new(ImapStream::Tls(Box::new(self.tls(tcp).await?)));
                greeting(&mut client).await?;
                Ok(client.into_inner())
            }
            TlsMode::StartTls => {
                let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
                greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await?;
                let ImapStream::Plain(tcp) = client.into_inner() else {
                    unreachable!("a plain stream was wrapped above");
                };
                Ok(ImapStream::Tls(Box::new(self.tls(tcp).await?)))
            }
            TlsMode::None => {
                let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
                greeting(&mut client).await?;
                Ok(client.into_inner())
            }
        }
    }

    async fn tls(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
        use tokio_rustls::rustls::pki_types::ServerName;
        let c = &self.config;
        // The same trust as the SMTP client: the web PKI roots, or only the CAs in the file.
        let config = Trust::load(c.ca_file.as_deref(), "bounce.imap.ca_file")
            .and_then(|trust| trust.client_config())
            .map_err(|e| ImapError::Tls(e.to_string()))?;
        let name = ServerName::try_from(c.host.clone())
            .map_err(|e| ImapError::Tls(format!("bounce.imap.host `{}`: {e}", c.host)))?;
        tokio::time::timeout(
            self.timeout,
            tokio_rustls::TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| ImapError::Timeout(self.timeout))?
        .map_err(|e| ImapError::Tls(format!("TLS with {}: {e}", c.host)))
    }
}

async fn greeting(client: &mut async_imap::Client<ImapStream>) -> Result<(), ImapError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Tls(
            "the server closed the connection before greeting".into(),
        )),
        Err(e) => Err(ImapError::Imap(e.into())),
    }
}

/// A plain or TLS stream for async-imap.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
