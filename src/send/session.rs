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
        /// The stem of the message whose envelope went out behind the last message's final dot:
        /// its replies are still to be read, and only that message can go next.
        staged: Option<String>,
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
                    staged: None,
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

/// What a session can carry, copied out of it so that the next message can be made ready for the
/// wire while the session is busy with the current one.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    smtp: bool,
    /// The server offered PIPELINING.
    pipelining: bool,
    /// The server offered SMTPUTF8.
    smtputf8: bool,
}

/// A message ready for the wire: its envelope checked and written out, its body ending in the final
/// dot (SMTP).
pub struct Outgoing {
    from: String,
    /// Names the message: the outbox file, and the envelope a session holds staged.
    stem: String,
    envelope: Option<transaction::Envelope>,
    body: String,
}

impl Outgoing {
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// MAIL, RCPT and DATA for a session to send ahead (behind another message's final dot), and
    /// the stem that names them; `None` for the outbox.
    pub fn ahead(&self) -> Option<(String, String)> {
        let envelope = self.envelope.as_ref()?;
        Some((envelope.pipelined(), self.stem.clone()))
    }

    /// The message and its envelope sender as they were before it was made ready (as the worker
    /// builds them), to make it ready again for another session.
    pub fn into_message(self) -> (Vec<u8>, String) {
        let mut body = self.body.into_bytes();
        if self.envelope.is_some() {
            body.truncate(body.len() - b".\r\n".len());
        }
        (body, self.from)
    }
}

impl Capabilities {
    /// The server takes a message's envelope right behind the previous message's final dot.
    pub fn pipelines(&self) -> bool {
        self.smtp && self.pipelining
    }

    /// Checks `from` and `to`, and that this session can carry `message`, and writes the envelope;
    /// a refusal (`SendFailure::Unsendable`) says why not.
    pub fn prepare(
        &self,
        from: String,
        to: &str,
        mut message: Vec<u8>,
        stem: String,
    ) -> Result<Outgoing, SendFailure> {
        if !self.smtp {
            let body = String::from_utf8(message)
                .map_err(|_| SendFailure::Unsendable("message is not UTF-8".into()))?;
            return Ok(Outgoing {
                from,
                stem,
                envelope: None,
                body,
            });
        }
        let (sender, recipient) = (address(&from)?, address(to)?);
        message.extend_from_slice(b".\r\n");
        let body = String::from_utf8(message)
            .map_err(|_| SendFailure::Unsendable("message is not UTF-8".into()))?;
        // UTF-8 in the envelope or in a header (the To of such an address, RFC 6532) needs
        // SMTPUTF8 (RFC 6531), which this server must offer: a relay without it could only refuse
        // or mangle the message.
        let smtputf8 = sender.utf8 || recipient.utf8 || !body.is_ascii();
        if smtputf8 && !self.smtputf8 {
            let what = [&sender, &recipient]
                .into_iter()
                .find(|a| a.utf8)
                .map(|a| format!("address {}", mask(a.envelope.as_ref())))
                .unwrap_or_else(|| "a message header that is not ASCII".into());
            return Err(SendFailure::Unsendable(format!(
                "{what} needs SMTPUTF8, which the server does not offer"
            )));
        }
        let envelope =
            transaction::Envelope::new(&sender.envelope, &recipient.envelope, smtputf8, &body);
        Ok(Outgoing {
            from,
            stem,
            envelope: Some(envelope),
            body,
        })
    }
}

impl Session {
    /// What this session can carry.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            Session::Smtp {
                connection,
                pipelining,
                ..
            } => Capabilities {
                smtp: true,
                pipelining: *pipelining,
                smtputf8: connection
                    .server_info()
                    .supports_feature(Extension::SmtpUtfEight),
            },
            Session::Outbox { .. } => Capabilities {
                smtp: false,
                pipelining: false,
                smtputf8: true,
            },
        }
    }

    /// Sends one message; `Ok` carries the server's reply. `gate` is awaited right before the message
    /// itself goes out (after the envelope was accepted); if it fails, nothing is delivered.
    pub async fn send(
        &mut self,
        from: &str,
        to: &str,
        message: Vec<u8>,
        file_stem: &str,
        gate: impl std::future::Future<Output = Result<(), String>>,
    ) -> Result<crate::domain::SmtpReply, Failed> {
        match self
            .capabilities()
            .prepare(from.to_owned(), to, message, file_stem.to_owned())
        {
            Ok(outgoing) => {
                self.transmit(outgoing, async { gate.await.map(|()| None) })
                    .await
            }
            Err(failure) => Err(refused(failure)),
        }
    }

    /// This session holds the envelope of the message named `stem` staged: sent ahead, its
    /// replies not yet read. Only that message can be sent next.
    pub fn has_staged(&self, stem: &str) -> bool {
        matches!(self, Session::Smtp { staged: Some(s), .. } if s == stem)
    }

    /// Sends a message made ready by [`Capabilities::prepare`] for this session (or one with the
    /// same capabilities); `Ok` carries the server's reply. `gate` is awaited right before the
    /// message itself goes out (after its envelope was accepted); if it fails, nothing is
    /// delivered. If it yields the next message's envelope and stem ([`Outgoing::ahead`]), the
    /// envelope goes out behind this message's final dot and the session holds it staged for that
    /// message.
    pub async fn transmit(
        &mut self,
        outgoing: Outgoing,
        gate: impl std::future::Future<Output = Result<Option<(String, String)>, String>>,
    ) -> Result<crate::domain::SmtpReply, Failed> {
        match self {
            Session::Smtp {
                connection,
                timeout,
                data_timeout,
                pipelining,
                broken,
                staged,
                carried,
                last_used,
                ..
            } => {
                let Some(envelope) = &outgoing.envelope else {
                    return Err(refused(SendFailure::Unsendable(
                        "message made ready for the outbox, not for SMTP".into(),
                    )));
                };
                let ahead = staged.take();
                if ahead.as_ref().is_some_and(|stem| *stem != outgoing.stem) {
                    // Another message's envelope is waiting for its body: this session cannot
                    // carry anything else.
                    *broken = true;
                    return Err(Failed {
                        failure: SendFailure::Connection(
                            "the session holds another message's envelope".into(),
                        ),
                        broken: true,
                        before_data: true,
                        sender_refused: false,
                    });
                }
                // MAIL, RCPT, DATA and the body each get `smtp.timeout_seconds` (in
                // `transaction::send`); this bound on the whole exchange is only a backstop.
                let limit = *timeout * 5 + *data_timeout;
                let mut next_stem = None;
                let gate = async {
                    let next = gate.await?;
                    Ok(next.map(|(commands, stem)| {
                        next_stem = Some(stem);
                        commands
                    }))
                };
                let mut wrote_next = false;
                let sent = tokio::time::timeout(
                    limit,
                    transaction::send(
                        connection,
                        *pipelining,
                        transaction::Timeouts {
                            command: *timeout,
                            data: *data_timeout,
                        },
                        envelope,
                        ahead.is_some(),
                        outgoing.body,
                        gate,
                        &mut wrote_next,
                    ),
                )
                .await;
                *carried += 1;
                *last_used = tokio::time::Instant::now();
                let result = match sent {
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
                };
                if wrote_next && !*broken {
                    *staged = next_stem;
                }
                result
            }
            Session::Outbox { dir } => {
                gate.await
                    .map_err(|reason| refused(SendFailure::Connection(reason)))?;
                outbox::write(
                    dir,
                    &outgoing.stem,
                    &outgoing.from,
                    outgoing.body.as_bytes(),
                )
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
        // A session holding a staged envelope is in the middle of a transaction: no QUIT, it is
        // dropped and the server discards the transaction.
        if let Session::Smtp {
            mut connection,
            broken: false,
            staged: None,
            ..
        } = self
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
    }
}

/// A message refused before anything was sent.
pub(super) fn refused(failure: SendFailure) -> Failed {
    Failed {
        failure,
        broken: false,
        before_data: true,
        sender_refused: false,
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
