//! Opening SMTP sessions. We open the TCP stream ourselves and set TCP_NODELAY before handing it to
//! lettre (`connect_with_transport`): lettre writes a message body and its final `.` in separate
//! writes, and with Nagle's algorithm on, the second write waits for the peer's delayed ACK, about
//! 40 ms per message. STARTTLS is then lettre's own upgrade; implicit TLS wraps our stream in rustls.
//! Both trust the same roots (`super::tls`): the web PKI, or only `smtp.ca_file`.
//!
//! Never in clear text by accident: `smtp.tls = "starttls"` fails when the server does not offer
//! STARTTLS (no fallback), and credentials are sent only over TLS or to a loopback peer, whatever
//! the configuration says (config loading refuses the rest first; this is the second line).
//! Failures that retrying cannot fix (a refused certificate, a server that does not speak TLS on
//! that port, a refused login, no STARTTLS, an unusable `ca_file`) say so ([`ConnectError::is_configuration_problem`]): sending pauses at once.

use super::{
    SendFailure,
    tls::{Lasting, Trust, TrustError, lasting_failure},
};
use crate::config::{SmtpConfig, TlsMode};
use lettre::transport::smtp::{
    authentication::{Credentials, Mechanism},
    client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
    extension::{ClientId, Extension},
};
use std::{
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::rustls::{ClientConfig, pki_types::ServerName};

/// The SASL mechanisms herald offers, in order of preference: both send the password as it is, so
/// only over TLS (or to loopback).
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach {server}: {source}")]
    Tcp { server: String, source: io::Error },
    #[error("{server} did not answer within {seconds}s")]
    Timeout { server: String, seconds: u64 },
    #[error("SMTP session with {server} failed to open: {source}")]
    Smtp {
        server: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("TLS with {server} failed: {source}")]
    Tls { server: String, source: io::Error },
    #[error(
        "TLS with {server} failed: its certificate was refused: {problem}; herald trusts {trusted}"
    )]
    Certificate {
        server: String,
        problem: String,
        /// What herald trusted, in words (`Trust`'s Display).
        trusted: String,
    },
    #[error(
        "TLS with {server} failed: {problem}; check `smtp.tls` and `smtp.port` (465 is usually \"tls\", 587 \"starttls\")"
    )]
    Handshake { server: String, problem: String },
    #[error(
        "{server} does not offer STARTTLS, which `smtp.tls = \"starttls\"` requires (herald never falls back to plain text)"
    )]
    NoStartTls { server: String },
    #[error("{0}")]
    Trust(#[from] TrustError),
    #[error(
        "{server} offers no AUTH mechanism herald can use (PLAIN or LOGIN){}",
        if *.encrypted { "" } else { " on this unencrypted connection; servers often offer AUTH only after STARTTLS" }
    )]
    NoAuth { server: String, encrypted: bool },
    #[error("AUTH {mechanism} as `{username}` refused by {server}: {reply}")]
    Auth {
        server: String,
        mechanism: Mechanism,
        username: String,
        reply: String,
        /// A 5xx (535: wrong credentials): it will be refused again.
        permanent: bool,
    },
    #[error(
        "not sending the SMTP password to {server} ({peer}): the connection is not encrypted and the peer is not loopback; set `smtp.tls` to \"starttls\" or \"tls\""
    )]
    CleartextAuth { server: String, peer: IpAddr },
}

impl ConnectError {
    /// This machine ran out of file descriptors (EMFILE, ENFILE): a passing local shortage, not
    /// the relay's fault.
    pub fn is_local_shortage(&self) -> bool {
        match self {
            Self::Tcp { source, .. } | Self::Tls { source, .. } => is_descriptor_shortage(source),
            _ => false,
        }
    }

    /// Retrying cannot fix it: herald's operator or the server's must change something first. A
    /// transient refusal of AUTH (454) and any network failure are not such problems.
    pub fn is_configuration_problem(&self) -> bool {
        match self {
            Self::Certificate { .. }
            | Self::Handshake { .. }
            | Self::NoStartTls { .. }
            | Self::Trust(_)
            | Self::NoAuth { .. }
            | Self::CleartextAuth { .. } => true,
            Self::Auth { permanent, .. } => *permanent,
            Self::Tcp { .. } | Self::Timeout { .. } | Self::Smtp { .. } | Self::Tls { .. } => false,
        }
    }
}

/// EMFILE (24) or ENFILE (23).
pub fn is_descriptor_shortage(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Whether a password may go over this connection: over TLS, or in clear text only to this machine.
fn may_send_credentials(encrypted: bool, peer: IpAddr) -> bool {
    encrypted || peer.to_canonical().is_loopback()
}

/// How a session becomes encrypted, prepared before connecting.
enum Upgrade {
    /// `smtp.tls = "tls"`: TLS from the first byte.
    Implicit(Arc<ClientConfig>),
    /// `smtp.tls = "starttls"`: lettre's upgrade after the greeting.
    StartTls(TlsParameters),
}

/// An open session and whether the server offers PIPELINING. Everything, the EHLO probe included, runs
/// within `smtp.timeout_seconds`.
pub async fn connect(
    config: &SmtpConfig,
    hello: &str,
) -> Result<(AsyncSmtpConnection, bool), ConnectError> {
    let server = format!("{}:{}", config.host, config.port);
    let seconds = config.timeout.as_secs();
    let opened = tokio::time::timeout(config.timeout, open(config, hello, &server)).await;
    opened.map_err(|_| ConnectError::Timeout {
        server: server.clone(),
        seconds,
    })?
}

async fn open(
    config: &SmtpConfig,
    hello: &str,
    server: &str,
) -> Result<(AsyncSmtpConnection, bool), ConnectError> {
    let smtp_error = |source| ConnectError::Smtp {
        server: server.to_owned(),
        source,
    };
    // The trust, and what TLS needs of it, before connecting: an unusable `ca_file` is refused
    // without a word to the server.
    let (upgrade, trusted) = match config.tls {
        TlsMode::None => (None, String::new()),
        mode => {
            let trust = Trust::load(config.ca_file.as_deref(), "smtp.ca_file")?;
            let upgrade = if mode == TlsMode::Tls {
                Upgrade::Implicit(trust.client_config()?)
            } else {
                Upgrade::StartTls(trust.starttls_parameters(&config.host)?)
            };
            (Some(upgrade), trust.to_string())
        }
    };
    let lasting = |failure| match failure {
        Lasting::Certificate(problem) => ConnectError::Certificate {
            server: server.to_owned(),
            problem,
            trusted: trusted.clone(),
        },
        Lasting::Handshake(problem) => ConnectError::Handshake {
            server: server.to_owned(),
            problem,
        },
    };
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|source| ConnectError::Tcp {
            server: server.to_owned(),
            source,
        })?;
    let peer = tcp.peer_addr().map_err(|source| ConnectError::Tcp {
        server: server.to_owned(),
        source,
    })?;
    tcp.set_nodelay(true).map_err(|source| ConnectError::Tcp {
        server: server.to_owned(),
        source,
    })?;
    let hello_text = hello;
    let hello = ClientId::Domain(hello.to_owned());
    let (stream, starttls): (Box<dyn AsyncTokioStream>, _) = match upgrade {
        Some(Upgrade::Implicit(tls)) => {
            let stream = implicit_tls(tcp, peer, &config.host, tls)
                .await
                .map_err(|source| match lasting_failure(&source) {
                    Some(failure) => lasting(failure),
                    None => ConnectError::Tls {
                        server: server.to_owned(),
                        source,
                    },
                })?;
            (Box::new(stream), None)
        }
        Some(Upgrade::StartTls(parameters)) => (Box::new(tcp), Some(parameters)),
        None => (Box::new(tcp), None),
    };
    let mut session = AsyncSmtpConnection::connect_with_transport(stream, &hello)
        .await
        .map_err(smtp_error)?;
    if let Some(parameters) = starttls {
        // lettre would refuse too, but as an "internal client error"; this says what is wrong.
        if !session.server_info().supports_feature(Extension::StartTls) {
            return Err(ConnectError::NoStartTls {
                server: server.to_owned(),
            });
        }
        if let Err(e) = session.starttls(parameters, &hello).await {
            return Err(match lasting_failure(&e) {
                Some(failure) => lasting(failure),
                None => smtp_error(e),
            });
        }
    }
    // lettre's own flag, true after STARTTLS; our implicit TLS stream is opaque to it.
    let encrypted = config.tls == TlsMode::Tls || session.is_encrypted();
    // Before AUTH: a new EHLO resets the session, and some servers forget the login with it.
    let pipelining = super::transaction::offers_pipelining(&mut session, hello_text)
        .await
        .map_err(smtp_error)?;
    if let (Some(username), Some(password)) = (&config.username, &config.password) {
        if !may_send_credentials(encrypted, peer.ip()) {
            return Err(ConnectError::CleartextAuth {
                server: server.to_owned(),
                peer: peer.ip(),
            });
        }
        let Some(mechanism) = session.server_info().get_auth_mechanism(&MECHANISMS) else {
            return Err(ConnectError::NoAuth {
                server: server.to_owned(),
                encrypted,
            });
        };
        let credentials = Credentials::new(username.clone(), password.expose().to_owned());
        if let Err(e) = session.auth(&[mechanism], &credentials).await {
            // The reply as the server wrote it; lettre's error never carries the credentials.
            let failure = SendFailure::from_smtp(&e);
            return Err(ConnectError::Auth {
                server: server.to_owned(),
                mechanism,
                username: username.clone(),
                permanent: matches!(failure, SendFailure::Permanent(_)),
                reply: failure.text(),
            });
        }
    }
    Ok((session, pipelining))
}

async fn implicit_tls(
    tcp: TcpStream,
    peer: SocketAddr,
    host: &str,
    config: Arc<ClientConfig>,
) -> io::Result<TlsStream> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    Ok(TlsStream {
        inner: stream,
        peer,
    })
}

/// A rustls stream lettre can drive.
struct TlsStream {
    inner: tokio_rustls::client::TlsStream<TcpStream>,
    peer: SocketAddr,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsStream({})", self.peer)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_over_tls_or_to_loopback() {
        let remote: IpAddr = "192.0.2.25".parse().unwrap();
        assert!(may_send_credentials(true, remote));
        assert!(!may_send_credentials(false, remote));
        assert!(!may_send_credentials(
            false,
            "2001:db8::25".parse().unwrap()
        ));
        for local in ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"] {
            assert!(
                may_send_credentials(false, local.parse().unwrap()),
                "{local}"
            );
        }
    }

    #[test]
    fn refused_certificates_logins_and_missing_starttls_are_configuration_problems() {
        let server = "mail.example.com:587".to_owned();
        assert!(
            ConnectError::NoStartTls {
                server: server.clone()
            }
            .is_configuration_problem()
        );
        let auth = |permanent| ConnectError::Auth {
            server: server.clone(),
            mechanism: Mechanism::Plain,
            username: "herald".into(),
            reply: "535 5.7.8 Error: authentication failed".into(),
            permanent,
        };
        assert!(auth(true).is_configuration_problem());
        assert!(!auth(false).is_configuration_problem(), "a 454 may pass");
        assert!(
            !ConnectError::Tcp {
                server,
                source: io::Error::from(io::ErrorKind::ConnectionRefused)
            }
            .is_configuration_problem()
        );
    }
}
