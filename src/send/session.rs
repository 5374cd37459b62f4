//! A sending session: a reused SMTP connection, or the outbox directory that stands in for one.

use super::{SendFailure, outbox, smtp};
use crate::config::{Config, SmtpConfig, TransportKind};
use lettre::{Address, address::Envelope, transport::smtp::client::AsyncSmtpConnection};
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
            Self::Smtp { config, hello } => smtp::connect(config, hello)
                .await
                .map(|connection| Session::Smtp {
                    connection: Box::new(connection),
                    timeout: config.timeout,
                })
                .map_err(|e| e.to_string()),
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
        message: &[u8],
        file_stem: &str,
    ) -> Result<String, SendFailure> {
        match self {
            Session::Smtp {
                connection,
                timeout,
            } => {
                let envelope = envelope(from, to)?;
                // MAIL, RCPT, DATA and the body each get the timeout; the whole exchange gets four.
                let sent =
                    tokio::time::timeout(*timeout * 4, connection.send(&envelope, message)).await;
                match sent {
                    Err(_) => {
                        connection.abort().await;
                        Err(SendFailure::Connection(format!(
                            "no reply within {}s",
                            timeout.as_secs() * 4
                        )))
                    }
                    Ok(Err(e)) => Err(SendFailure::from_smtp(&e)),
                    Ok(Ok(response)) => Ok(format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    )),
                }
            }
            Session::Outbox { dir } => outbox::write(dir, file_stem, from, message).await,
        }
    }

    /// Whether the session can carry another message (lettre drops a session after any error).
    pub fn is_usable(&self) -> bool {
        match self {
            Session::Smtp { connection, .. } => !connection.has_broken(),
            Session::Outbox { .. } => true,
        }
    }

    pub async fn close(self) {
        if let Session::Smtp { mut connection, .. } = self {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
    }
}

fn envelope(from: &str, to: &str) -> Result<Envelope, SendFailure> {
    let parse = |a: &str| {
        a.parse::<Address>()
            .map_err(|e| SendFailure::Unsendable(format!("address refused: {e}")))
    };
    Envelope::new(Some(parse(from)?), vec![parse(to)?])
        .map_err(|e| SendFailure::Unsendable(e.to_string()))
}
