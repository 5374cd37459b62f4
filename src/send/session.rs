//! A sending session: a reused SMTP connection, or the outbox directory that stands in for one.

use super::{SendFailure, outbox, smtp, transaction};
use crate::config::{Config, SmtpConfig, TransportKind};
use lettre::{Address, transport::smtp::client::AsyncSmtpConnection};
use std::{path::PathBuf, time::Duration};

/// Opens sessions of the configured kind.
#[derive(Debug, Clone)]
pub enum Connector {
    Smtp { config: SmtpConfig, hello: String },
    Outbox { dir: PathBuf },
}

pub enum Session {
    Smtp {
        connection: Box<AsyncSmtpConnection>,
        timeout: Duration,
        /// The server offered PIPELINING: MAIL, RCPT and DATA go out in one write.
        pipelining: bool,
        /// A network error or timeout left the session unusable.
        broken: bool,
    },
    Outbox {
        dir: PathBuf,
    },
}

impl Connector {
    pub fn from_config(config: &Config) -> Self {
        match config.smtp.transport {
            TransportKind::Smtp => Self::Smtp {
                config: config.smtp.clone(),
                hello: config.hello_name().to_owned(),
            },
            TransportKind::Outbox => Self::Outbox {
                dir: config.smtp.outbox_dir.clone(),
            },
        }
    }

    /// `smtp 127.0.0.1:25` or `outbox var/outbox`, for logs and pause reasons.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { config, .. } => format!("smtp {}:{}", config.host, config.port),
            Self::Outbox { dir } => format!("outbox {}", dir.display()),
        }
    }

    pub async fn open(&self) -> Result<Session, String> {
        match self {
            Self::Smtp { config, hello } => {
                let mut connection = smtp::connect(config, hello)
                    .await
                    .map_err(|e| e.to_string())?;
                let pipelining = transaction::offers_pipelining(&mut connection, hello)
                    .await
                    .map_err(|e| format!("EHLO to {}:{} failed: {e}", config.host, config.port))?;
                Ok(Session::Smtp {
                    connection: Box::new(connection),
                    timeout: config.timeout,
                    pipelining,
                    broken: false,
                })
            }
            Self::Outbox { dir } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("cannot create outbox {}: {e}", dir.display()))?;
                Ok(Session::Outbox { dir: dir.clone() })
            }
        }
    }
}

impl Session {
    /// Sends one message; `Ok` carries the server's reply.
    pub async fn send(
        &mut self,
        from: &str,
        to: &str,
        mut message: Vec<u8>,
        file_stem: &str,
    ) -> Result<String, SendFailure> {
        match self {
            Session::Smtp {
                connection,
                timeout,
                pipelining,
                broken,
            } => {
                let (from, to) = (address(from)?, address(to)?);
                message.extend_from_slice(b".\r\n");
                let message = std::str::from_utf8(&message)
                    .ok()
                    .filter(|m| m.is_ascii())
                    .ok_or_else(|| SendFailure::Unsendable("message is not 7-bit ASCII".into()))?;
                // MAIL, RCPT, DATA and the body each get the timeout; the whole exchange gets four.
                let limit = *timeout * 4;
                match tokio::time::timeout(
                    limit,
                    transaction::send(connection, *pipelining, &from, &to, message),
                )
                .await
                {
                    Err(_) => {
                        *broken = true;
                        Err(SendFailure::Connection(format!(
                            "no reply within {}s",
                            limit.as_secs()
                        )))
                    }
                    Ok(Err(failed)) => {
                        *broken |= failed.broken;
                        Err(failed.failure)
                    }
                    Ok(Ok(reply)) => Ok(reply),
                }
            }
            Session::Outbox { dir } => outbox::write(dir, file_stem, from, &message).await,
        }
    }

    /// Whether the session can carry another message.
    pub fn is_usable(&self) -> bool {
        match self {
            Session::Smtp {
                connection, broken, ..
            } => !*broken && !connection.has_broken(),
            Session::Outbox { .. } => true,
        }
    }

    pub async fn close(self) {
        if let Session::Smtp {
            mut connection,
            broken: false,
            ..
        } = self
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
    }
}

fn address(a: &str) -> Result<Address, SendFailure> {
    if !a.is_ascii() {
        return Err(SendFailure::Unsendable(format!(
            "address {} needs SMTPUTF8, which herald does not send yet",
            crate::domain::mask(a)
        )));
    }
    a.parse::<Address>()
        .map_err(|e| SendFailure::Unsendable(format!("address refused: {e}")))
}
