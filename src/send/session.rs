//! A sending session: a reused SMTP connection, or the outbox directory that stands in for one.

use super::{SendFailure, outbox, smtp, transaction, transaction::Failed};
use crate::config::{Config, SmtpConfig, TransportKind};
use lettre::{Address, transport::smtp::client::AsyncSmtpConnection};
use std::{path::PathBuf, time::Duration};

/// A session idle this long is closed and reopened rather than reused: servers drop idle clients
/// (Postfix after 300 s, many others sooner) and the first message would meet a dead socket.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

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
        /// A network error, a timeout or a 421 left the session unusable.
        broken: bool,
        /// Messages this session has carried.
        carried: u32,
        last_used: tokio::time::Instant,
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
                let (connection, pipelining) = smtp::connect(config, hello)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Session::Smtp {
                    connection: Box::new(connection),
                    timeout: config.timeout,
                    pipelining,
                    broken: false,
                    carried: 0,
                    last_used: tokio::time::Instant::now(),
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
    ) -> Result<crate::domain::SmtpReply, Failed> {
        let refused = |failure| Failed {
            failure,
            broken: false,
            before_data: true,
            sender_refused: false,
        };
        match self {
            Session::Smtp {
                connection,
                timeout,
                pipelining,
                broken,
                carried,
                last_used,
            } => {
                let (from, to) = (
                    address(from).map_err(refused)?,
                    address(to).map_err(refused)?,
                );
                message.extend_from_slice(b".\r\n");
                let message = std::str::from_utf8(&message)
                    .ok()
                    .filter(|m| m.is_ascii())
                    .ok_or_else(|| {
                        refused(SendFailure::Unsendable("message is not 7-bit ASCII".into()))
                    })?;
                // MAIL, RCPT, DATA and the body each get the timeout; the whole exchange gets four.
                let limit = *timeout * 4;
                let sent = tokio::time::timeout(
                    limit,
                    transaction::send(connection, *pipelining, &from, &to, message),
                )
                .await;
                *carried += 1;
                *last_used = tokio::time::Instant::now();
                match sent {
                    Err(_) => {
                        *broken = true;
                        let failure = SendFailure::Connection(format!(
                            "no reply within {}s",
                            limit.as_secs()
                        ));
                        Err(Failed {
                            failure,
                            broken: true,
                            before_data: false,
                            sender_refused: false,
                        })
                    }
                    Ok(Err(failed)) => {
                        *broken |= failed.broken;
                        Err(failed)
                    }
                    Ok(Ok(reply)) => Ok(reply),
                }
            }
            Session::Outbox { dir } => outbox::write(dir, file_stem, from, &message)
                .await
                .map_err(refused),
        }
    }

    /// Carried messages before and has sat idle long enough that the server may have dropped it.
    pub fn is_stale(&self) -> bool {
        match self {
            Session::Smtp {
                last_used, carried, ..
            } => *carried > 0 && last_used.elapsed() > IDLE_LIMIT,
            Session::Outbox { .. } => false,
        }
    }

    /// Has carried at least one message before.
    pub fn is_reused(&self) -> bool {
        matches!(self, Session::Smtp { carried, .. } if *carried > 0)
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
