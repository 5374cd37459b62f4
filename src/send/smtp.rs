//! Opening SMTP sessions. We open the TCP stream ourselves and set TCP_NODELAY before handing it to
//! lettre (`connect_with_transport`): lettre writes a message body and its final `.` in separate
//! writes, and with Nagle's algorithm on, the second write waits for the peer's delayed ACK, about
//! 40 ms per message. STARTTLS is then lettre's own upgrade; implicit TLS wraps our stream in rustls.

use crate::config::{SmtpConfig, TlsMode};
use lettre::transport::smtp::{
    authentication::{Credentials, Mechanism},
    client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
    extension::ClientId,
};
use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

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
}

impl ConnectError {
    /// This machine ran out of file descriptors (EMFILE, ENFILE): a passing local shortage, not
    /// the relay's fault.
    pub fn is_local_shortage(&self) -> bool {
        match self {
            Self::Tcp { source, .. } | Self::Tls { source, .. } => is_descriptor_shortage(source),
            Self::Timeout { .. } | Self::Smtp { .. } => false,
        }
    }
}

/// EMFILE (24) or ENFILE (23).
pub fn is_descriptor_shortage(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
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
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|source| ConnectError::Tcp {
            server: server.to_owned(),
            source,
        })?;
    tcp.set_nodelay(true).map_err(|source| ConnectError::Tcp {
        server: server.to_owned(),
        source,
    })?;
    let hello_text = hello;
    let hello = ClientId::Domain(hello.to_owned());
    let stream: Box<dyn AsyncTokioStream> =
        match config.tls {
            TlsMode::Tls => Box::new(implicit_tls(tcp, &config.host).await.map_err(|source| {
                ConnectError::Tls {
                    server: server.to_owned(),
                    source,
                }
            })?),
            TlsMode::None | TlsMode::StartTls => Box::new(tcp),
        };
    let mut session = AsyncSmtpConnection::connect_with_transport(stream, &hello)
        .await
        .map_err(smtp_error)?;
    if config.tls == TlsMode::StartTls {
        let parameters = TlsParameters::new(config.host.clone()).map_err(smtp_error)?;
        session
            .starttls(parameters, &hello)
            .await
            .map_err(smtp_error)?;
    }
    // Before AUTH: a new EHLO resets the session, and some servers forget the login with it.
    let pipelining = super::transaction::offers_pipelining(&mut session, hello_text)
        .await
        .map_err(smtp_error)?;
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        let credentials = Credentials::new(user.clone(), password.expose().to_owned());
        session
            .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await
            .map_err(smtp_error)?;
    }
    Ok((session, pipelining))
}

async fn implicit_tls(tcp: TcpStream, host: &str) -> io::Result<TlsStream> {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, pki_types::ServerName};
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let peer = tcp.peer_addr()?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
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
