//! One SMTP transaction on an open lettre session, pipelined (RFC 2920) when the server offers it.
//!
//! lettre's `send()` makes four round trips per message, drops the session after any refusal, and
//! copies the body byte by byte to dot-stuff it. Here MAIL, RCPT and DATA go out in one write when
//! the server announced PIPELINING, and then behind the previous message's final dot, in the same
//! write as its body (RFC 2920 lets message content open a group): one round trip per message. The
//! body is written as is (herald's encoder never starts a line with `.`, so there is nothing to
//! stuff), and a refused recipient only costs an RSET: the session stays open for the next message.
//! Everything goes through lettre's public `command` and `read_response`.

use super::SendFailure;
use crate::domain::SmtpReply;
use lettre::transport::smtp::{
    Error,
    client::AsyncSmtpConnection,
    commands::{Data, Ehlo, Mail, Rcpt},
    extension::{ClientId, MailBodyParameter, MailParameter},
    response::Response,
};
use std::{fmt, time::Duration};

/// Text written to the server as is.
struct Raw<'a>(&'a str);

impl fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Whether the server's EHLO reply offers PIPELINING (lettre does not keep that keyword).
pub async fn offers_pipelining(
    connection: &mut AsyncSmtpConnection,
    hello: &str,
) -> Result<bool, Error> {
    let reply = connection
        .command(Ehlo::new(ClientId::Domain(hello.to_owned())))
        .await?;
    Ok(reply
        .message()
        .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING")))
}

/// How long each step may take: a command's reply, and the body with the reply to its final dot.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub command: Duration,
    pub data: Duration,
}

/// How a failed transaction left the session.
pub struct Failed {
    pub failure: SendFailure,
    /// The session cannot carry another message.
    pub broken: bool,
    /// The message body was never sent: nothing can have been delivered.
    pub before_data: bool,
    /// The server refused the envelope sender for good (a 5xx to MAIL): a configuration problem, not
    /// the recipient's.
    pub sender_refused: bool,
}

/// A refusal by the server (the session is fine unless it said 421) or a broken session.
fn classify(e: Error) -> Failed {
    let failure = SendFailure::from_smtp(&e);
    let closing = e.status().map(u16::from) == Some(421);
    let broken = closing || !(e.is_transient() || e.is_permanent());
    Failed {
        failure,
        broken,
        before_data: true,
        sender_refused: false,
    }
}

fn describe(response: &Response) -> SmtpReply {
    let lines: Vec<&str> = response.message().collect();
    SmtpReply::new(u16::from(response.code()), &lines)
}

/// MAIL parameters. `smtputf8`: an address or a header is UTF-8, so SMTPUTF8 (RFC 6531); UTF-8
/// header bytes are 8-bit data, so also BODY=8BITMIME (RFC 6152), which a server offering SMTPUTF8
/// must support. A 7-bit message to ASCII addresses has none, as before.
fn mail_parameters(smtputf8: bool, message: &str) -> Vec<MailParameter> {
    let mut parameters = Vec::new();
    if smtputf8 {
        parameters.push(MailParameter::SmtpUtfEight);
        if !message.is_ascii() {
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
    }
    parameters
}

/// The envelope of one transaction as it goes on the wire: MAIL (with its parameters) and RCPT.
#[derive(Debug, Clone)]
pub struct Envelope {
    mail: String,
    rcpt: String,
}

impl Envelope {
    /// `smtputf8`: an address or a header is UTF-8 (see `mail_parameters`).
    pub fn new(
        from: &lettre::Address,
        to: &lettre::Address,
        smtputf8: bool,
        message: &str,
    ) -> Self {
        Self {
            mail: Mail::new(Some(from.clone()), mail_parameters(smtputf8, message)).to_string(),
            rcpt: Rcpt::new(to.clone(), vec![]).to_string(),
        }
    }

    /// MAIL, RCPT and DATA in one group (RFC 2920).
    pub fn pipelined(&self) -> String {
        format!("{}{}{}", self.mail, self.rcpt, Data)
    }
}

/// Sends `message` (CRLF lines, 7-bit unless the envelope says SMTPUTF8, no line starting with `.`,
/// ending with the end-of-data line `.` CRLF) with `envelope`. `staged`: the envelope already went
/// out behind the previous message's final dot; only its replies are read here. `gate` is awaited
/// once the server is ready for the body (after its 354), before the body goes out: the caller's
/// previous outcome is committed meanwhile (see `crate::track::recorder`). When it fails, the body
/// is never sent and the session is dropped mid-DATA, so the server discards the transaction. When
/// it yields the next message's envelope (pipelining only), that goes out in the same write as this
/// body, after its final dot, and `wrote_next` is set: RFC 2920 lets message content open a group,
/// so a message costs one round trip, not two. Its replies follow the one to this dot.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    connection: &mut AsyncSmtpConnection,
    pipelining: bool,
    timeouts: Timeouts,
    envelope: &Envelope,
    staged: bool,
    mut message: String,
    gate: impl std::future::Future<Output = Result<Option<String>, String>>,
    wrote_next: &mut bool,
) -> Result<SmtpReply, Failed> {
    let Timeouts {
        command: limit,
        data: data_limit,
    } = timeouts;
    let Envelope { mail, rcpt } = envelope;
    let (mail_reply, rcpt_reply, data_reply) = if pipelining {
        let mail_reply = if staged {
            within(limit, "MAIL", connection.read_response()).await?
        } else {
            within(
                limit,
                "MAIL",
                connection.command(Raw(&envelope.pipelined())),
            )
            .await?
        };
        let mail_reply = match mail_reply {
            Err(e) if !(e.is_transient() || e.is_permanent()) => return Err(classify(e)),
            other => other,
        };
        let rcpt_reply = within(limit, "RCPT", connection.read_response()).await?;
        let data_reply = within(limit, "DATA", connection.read_response()).await?;
        (mail_reply, rcpt_reply, data_reply)
    } else {
        let mail_reply = match within(limit, "MAIL", connection.command(Raw(mail))).await? {
            Ok(r) => Ok(r),
            Err(e) => {
                let sender_refused = e.is_permanent();
                return Err(Failed {
                    sender_refused,
                    ..abandon(connection, e, false).await
                });
            }
        };
        let rcpt_reply = match within(limit, "RCPT", connection.command(Raw(rcpt))).await? {
            Ok(r) => Ok(r),
            Err(e) => return Err(abandon(connection, e, false).await),
        };
        let data_reply = within(limit, "DATA", connection.command(Data)).await?;
        (mail_reply, rcpt_reply, data_reply)
    };
    let sender_refused = matches!(&mail_reply, Err(e) if e.is_permanent());
    let first_refusal = [mail_reply, rcpt_reply].into_iter().find_map(Result::err);
    let outcome = match (first_refusal, data_reply) {
        // DATA accepted although MAIL or RCPT was refused: a server out of step; drop the session.
        (Some(e), Ok(_)) => Err(Failed {
            broken: true,
            ..classify(e)
        }),
        (Some(e), Err(_)) => Err(abandon(connection, e, false).await),
        (None, Err(e)) => Err(abandon(connection, e, false).await),
        (None, Ok(_)) => {
            match gate.await {
                Err(reason) => {
                    return Err(Failed {
                        failure: SendFailure::Connection(reason),
                        broken: true,
                        before_data: true,
                        sender_refused,
                    });
                }
                Ok(Some(next)) if pipelining => {
                    message.push_str(&next);
                    *wrote_next = true;
                }
                Ok(_) => {}
            }
            // The body and the reply to its final dot get `data_limit` (RFC 5321 suggests ten
            // minutes: relays may scan the message before they answer).
            match tokio::time::timeout(data_limit, connection.command(Raw(&message))).await {
                Ok(Ok(response)) => Ok(describe(&response)),
                // The whole body went out and the server answered: a refusal like any other. (No
                // RSET: the transaction is over, and a next envelope may follow the dot.)
                Ok(Err(e)) if e.is_transient() || e.is_permanent() => {
                    Err(abandon(connection, e, true).await)
                }
                // The body went out but no reply came back: the server may well have taken it.
                Ok(Err(e)) => Err(unconfirmed(format!(
                    "no reply after the message was sent ({e}); probably delivered"
                ))),
                Err(_) => Err(unconfirmed(format!(
                    "no reply within {}s after the message was sent; probably delivered",
                    data_limit.as_secs()
                ))),
            }
        }
    };
    outcome.map_err(|failed| Failed {
        sender_refused,
        ..failed
    })
}

fn unconfirmed(text: String) -> Failed {
    Failed {
        failure: SendFailure::Unconfirmed(text),
        broken: true,
        before_data: false,
        sender_refused: false,
    }
}

/// `command` with `smtp.timeout_seconds` applied: no reply in time breaks the session before the
/// message body went out (so nothing can have been delivered).
async fn within<T>(
    limit: Duration,
    what: &str,
    command: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<Result<T, Error>, Failed> {
    tokio::time::timeout(limit, command)
        .await
        .map_err(|_| Failed {
            failure: SendFailure::Connection(format!(
                "no reply to {what} within {}s",
                limit.as_secs()
            )),
            broken: true,
            before_data: true,
            sender_refused: false,
        })
}

/// After a refusal, resets the transaction so the session can carry the next message.
async fn abandon(connection: &mut AsyncSmtpConnection, e: Error, after_data: bool) -> Failed {
    let failed = Failed {
        before_data: !after_data,
        ..classify(e)
    };
    if failed.broken || after_data {
        // A broken session cannot be reset; after the end of data the transaction is already over.
        return failed;
    }
    let reset = connection.command(Raw("RSET\r\n")).await;
    Failed {
        broken: reset.is_err(),
        ..failed
    }
}
