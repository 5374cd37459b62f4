//! A sending session: a reused SMTP connection, or the outbox directory that stands in for one.

use super::{SendFailure, outbox, smtp, transaction, transaction::Failed};
use crate::config::{Config, SmtpConfig, TransportKind};
use crate::domain::{EmailAddress, mask};
use lettre::{
    Address,
    transport::smtp::{client::AsyncSmtpConnection, extension::Extension},
};
use std::{path::PathBuf, time::Duration};

/// A session idle this long is closed and reopened rather than reused: servers drop idle clients
/// (Postfix after 300 s, many others sooner) and the first message would meet a dead socket.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// Opens sessions of the configured kind.
#[derive(Debug, Clone)]
pub enum Connector {
    /// Boxed: the SMTP settings dwarf the outbox's one path.
    Smtp {
        config: Box<SmtpConfig>,
        hello: String,
    },
    Outbox {
        dir: PathBuf,
    },
}

/// Why no session could be opened.
#[derive(Debug, Clone)]
pub struct OpenError {
    pub reason: String,
    pub kind: OpenFailure,
}

/// What a failure to open a session means for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// The server cannot be reached or broke off (refused, reset, timed out, a 4xx): retried with
    /// backoff; sending pauses once it lasts `smtp.unreachable_pause_seconds`.
    Unreachable,
    /// This machine ran out of descriptors: retried, never taken for the relay being unreachable.
    LocalShortage,
    /// Retrying cannot fix it (a refused certificate or login, no STARTTLS, an unusable
    /// `smtp.ca_file`): sending pauses at once with the reason.
    Configuration,
}

pub enum Session {
    Smtp {
        connection: Box<AsyncSmtpConnection>,
        timeout: Duration,
        /// How long the reply to the final dot may take (`smtp.data_timeout_seconds`).
        data_timeout: Duration,
        /// The server offered PIPELINING: MAIL, RCPT and DATA go out in one write.
        pipelining: bool,
        /// A network error, a timeout or a 421 left the session unusable.
        broken: bool,
        /// Messages this session has carried.
        carried: u32,
        last_used: tokio::time::Instant,
        /// Counts the session in `herald_smtp_sessions_open` for as long as it exists, however it
        /// ends (closed, dropped broken, or with a worker that panicked).
        _open: OpenGauge,
    },
    Outbox {
        dir: PathBuf,
    },
}

impl Connector {
    pub fn from_config(config: &Config) -> Self {
        match config.smtp.transport {
            TransportKind::Smtp => Self::Smtp {
                config: Box::new(config.smtp.clone()),
                hello: config.hello_name().to_owned(),
            },
            TransportKind::Outbox => Self::Outbox {
                dir: config.smtp.outbox_dir.clone(),
            },
        }
    }

    /// Sessions to run: `smtp.connections`, or one writer for the outbox.
    pub fn sessions(&self, config: &Config) -> usize {
        match self {
            Self::Smtp { .. } => config.smtp.connections,
            Self::Outbox { .. } => 1,
        }
    }

    /// `smtp 127.0.0.1:25` or `outbox var/outbox`, for logs and pause reasons.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { config, .. } => format!("smtp {}:{}", config.host, config.port),
            Self::Outbox { dir } => format!("outbox {}", dir.display()),
        }
    }

    pub async fn open(&self) -> Result<Session, OpenError> {
        match self {
            Self::Smtp { config, hello } => {
                let (connection, pipelining) =
                    smtp::connect(config, hello).await.map_err(|e| OpenError {
                        kind: if e.is_local_shortage() {
                            OpenFailure::LocalShortage
                        } else if e.is_configuration_problem() {
                            OpenFailure::Configuration
                        } else {
                            OpenFailure::Unreachable
                        },
                        reason: e.to_string(),
                    })?;
                Ok(Session::Smtp {
                    connection: Box::new(connection),
                    timeout: config.timeout,
                    data_timeout: config.data_timeout,
                    pipelining,
                    broken: false,
                    carried: 0,
                    last_used: tokio::time::Instant::now(),
                    _open: OpenGauge::new(),
                })
            }
            Self::Outbox { dir } => {
                // Owner-only, like the messages in it (each carries its reader's tokens).
                crate::store::create_private_dir(dir).map_err(|e| OpenError {
                    kind: if smtp::is_descriptor_shortage(&e) {
                        OpenFailure::LocalShortage
                    } else {
                        OpenFailure::Unreachable
                    },
                    reason: format!("cannot create outbox {}: {e}", dir.display()),
                })?;
                Ok(Session::Outbox { dir: dir.clone() })
            }
        }
    }
}

impl Session {
    /// Sends one message; `Ok` carries the server's reply. `gate` is awaited right before the message
    /// itself goes out (after the envelope was accepted); if it fails, nothing is delivered.
    pub async fn send(
        &mut self,
        from: &str,
        to: &str,
        mut message: Vec<u8>,
        file_stem: &str,
        gate: impl std::future::Future<Output = Result<(), String>>,
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
                data_timeout,
                pipelining,
                broken,
                carried,
                last_used,
                ..
            } => {
                let (from, to) = (
                    address(from).map_err(refused)?,
                    address(to).map_err(refused)?,
                );
                message.extend_from_slice(b".\r\n");
                let message = std::str::from_utf8(&message)
                    .map_err(|_| refused(SendFailure::Unsendable("message is not UTF-8".into())))?;
                // UTF-8 in the envelope or in a header (the To of such an address, RFC 6532) needs
                // SMTPUTF8 (RFC 6531), which this server must offer: a relay without it could only
                // refuse or mangle the message.
                let smtputf8 = from.utf8 || to.utf8 || !message.is_ascii();
                if smtputf8
                    && !connection
                        .server_info()
                        .supports_feature(Extension::SmtpUtfEight)
                {
                    let what = [&from, &to]
                        .into_iter()
                        .find(|a| a.utf8)
                        .map(|a| format!("address {}", mask(a.envelope.as_ref())))
                        .unwrap_or_else(|| "a message header that is not ASCII".into());
                    return Err(refused(SendFailure::Unsendable(format!(
                        "{what} needs SMTPUTF8, which the server does not offer"
                    ))));
                }
                // MAIL, RCPT, DATA and the body each get `smtp.timeout_seconds` (in
                // `transaction::send`); this bound on the whole exchange is only a backstop.
                let limit = *timeout * 5 + *data_timeout;
                let sent = tokio::time::timeout(
                    limit,
                    transaction::send(
                        connection,
                        *pipelining,
                        smtputf8,
                        transaction::Timeouts {
                            command: *timeout,
                            data: *data_timeout,
                        },
                        &from.envelope,
                        &to.envelope,
                        message,
                        gate,
                    ),
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
            Session::Outbox { dir } => {
                gate.await
                    .map_err(|reason| refused(SendFailure::Connection(reason)))?;
                outbox::write(dir, file_stem, from, &message)
                    .await
                    .map_err(refused)
            }
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

/// One open SMTP session in the `sessions_open` gauge, from creation to drop.
pub struct OpenGauge(());

impl OpenGauge {
    fn new() -> Self {
        crate::metrics::Metrics::get().sessions_open.inc();
        Self(())
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        crate::metrics::Metrics::get().sessions_open.dec();
    }
}

/// An address as the envelope carries it.
struct Envelope {
    envelope: Address,
    /// The local part is not ASCII: only SMTPUTF8 can carry it.
    utf8: bool,
}

/// The envelope form of a stored address: its domain as an A-label (so a row stored before herald
/// converted domains is still sendable), its local part as is.
fn address(a: &str) -> Result<Envelope, SendFailure> {
    let parsed = EmailAddress::parse_international(a).map_err(|_| {
        SendFailure::Unsendable(format!("address {} is not a valid address", mask(a)))
    })?;
    let envelope = parsed
        .as_str()
        .parse::<Address>()
        .map_err(|e| SendFailure::Unsendable(format!("address refused: {e}")))?;
    Ok(Envelope {
        envelope,
        utf8: parsed.needs_smtputf8(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_address_has_an_a_label_domain_even_when_stored_as_a_u_label() {
        let a = address("anna@bücher.de").ok().unwrap();
        assert_eq!(a.envelope.to_string(), "anna@xn--bcher-kva.de");
        assert!(!a.utf8);
    }

    #[test]
    fn an_envelope_address_with_a_non_ascii_local_part_needs_smtputf8() {
        let a = address("jürgen@bücher.de").ok().unwrap();
        assert_eq!(a.envelope.to_string(), "jürgen@xn--bcher-kva.de");
        assert!(a.utf8);
    }
}
