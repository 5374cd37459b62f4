//! The trust herald's TLS clients share: the SMTP session (implicit TLS and STARTTLS alike) and the
//! IMAP bounce intake. It is the web PKI roots built into the binary, or, when a `ca_file` is set,
//! only the certificates in that file: a private CA replaces the public roots rather than joining
//! them, so a relay on a private CA cannot be impersonated with any public certificate. There is no
//! way to skip verification. The file is read each time a connection opens, so a corrected file is
//! used from the next session on, without a restart. One rustls crypto backend: ring.

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use std::{
    fmt, io,
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio_rustls::rustls::{
    self, ClientConfig, RootCertStore,
    crypto::ring,
    pki_types::{CertificateDer, pem::PemObject},
};

/// Why a `ca_file` cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("`{key}` {}: cannot read it: {source}", path.display())]
    Unreadable {
        key: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("`{key}` {}: not a PEM file: {reason}", path.display())]
    Malformed {
        key: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("`{key}` {}: holds no certificate (no -----BEGIN CERTIFICATE----- block)", path.display())]
    Empty { key: &'static str, path: PathBuf },
    #[error("`{key}` {}: a certificate in it cannot be a trust anchor: {source}", path.display())]
    Unusable {
        key: &'static str,
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// The certificates a TLS client accepts a server's chain from.
pub enum Trust {
    /// Mozilla's roots, as the `webpki-roots` crate carries them; `key` is the unset `ca_file`.
    WebPki { key: &'static str },
    /// Only the certificates of one file.
    CaFile {
        /// The config key that named the file, for messages.
        key: &'static str,
        path: PathBuf,
        certificates: Vec<CertificateDer<'static>>,
    },
}

impl Trust {
    /// The web PKI roots, or only the certificates in `ca_file` (named `key` in messages), each
    /// checked to be usable as a trust anchor.
    pub fn load(ca_file: Option<&Path>, key: &'static str) -> Result<Self, TrustError> {
        let Some(path) = ca_file else {
            return Ok(Self::WebPki { key });
        };
        let bytes = std::fs::read(path).map_err(|source| TrustError::Unreadable {
            key,
            path: path.to_owned(),
            source,
        })?;
        let certificates = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrustError::Malformed {
                key,
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(TrustError::Empty {
                key,
                path: path.to_owned(),
            });
        }
        let trust = Self::CaFile {
            key,
            path: path.to_owned(),
            certificates,
        };
        trust.roots()?;
        Ok(trust)
    }

    fn roots(&self) -> Result<RootCertStore, TrustError> {
        match self {
            Self::WebPki { .. } => Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            Self::CaFile {
                key,
                path,
                certificates,
            } => {
                let mut roots = RootCertStore::empty();
                for certificate in certificates {
                    roots
                        .add(certificate.clone())
                        .map_err(|source| TrustError::Unusable {
                            key,
                            path: path.clone(),
                            source,
                        })?;
                }
                Ok(roots)
            }
        }
    }

    /// A rustls client configuration (TLS 1.2 and 1.3, ring) that trusts exactly these roots.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TrustError> {
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError::Setup(e.to_string()))?
            .with_root_certificates(self.roots()?)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// The same trust for lettre's STARTTLS upgrade, which builds its own rustls configuration
    /// (TLS 1.2 and 1.3, ring: the only provider linked) from these parameters.
    pub fn starttls_parameters(&self, host: &str) -> Result<TlsParameters, TrustError> {
        let builder = TlsParameters::builder(host.to_owned());
        let builder = match self {
            Self::WebPki { .. } => Ok(builder.certificate_store(CertificateStore::WebpkiRoots)),
            Self::CaFile { certificates, .. } => certificates.iter().try_fold(
                builder.certificate_store(CertificateStore::None),
                |builder, certificate| {
                    Certificate::from_der(certificate.to_vec())
                        .map(|c| builder.add_root_certificate(c))
                },
            ),
        };
        builder
            .and_then(|b| b.build())
            .map_err(|e| TrustError::Setup(e.to_string()))
    }
}

/// What a pause reason says herald trusted.
impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WebPki { key } => write!(f, "the web PKI roots (`{key}` is not set)"),
            Self::CaFile { key, path, .. } => {
                write!(f, "only the CA certificates in `{key}` {}", path.display())
            }
        }
    }
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A TLS failure that the next attempt would meet again, in words.
#[derive(Debug, PartialEq, Eq)]
pub enum Lasting {
    /// The server's certificate was refused (or none was presented).
    Certificate(String),
    /// The handshake itself cannot succeed: the server does not speak TLS there, or shares no
    /// protocol version or cipher suite with herald.
    Handshake(String),
}

/// Whether a failed TLS handshake will fail again, and why; `None` for a failure that may pass
/// (a reset, a timeout, a closed connection).
pub fn lasting_failure(error: &(dyn std::error::Error + 'static)) -> Option<Lasting> {
    use rustls::{AlertDescription, CertificateError, Error};
    let e = rustls_error(error)?;
    Some(match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            Lasting::Certificate("it is not signed by a CA herald trusts (UnknownIssuer)".into())
        }
        Error::InvalidCertificate(e) => Lasting::Certificate(e.to_string()),
        Error::NoCertificatesPresented => {
            Lasting::Certificate("the server presented no certificate".into())
        }
        Error::UnsupportedNameType => {
            Lasting::Certificate("the server name is not a DNS name or IP address".into())
        }
        // A plain-text greeting read as a TLS record.
        Error::InvalidMessage(_) | Error::PeerSentOversizedRecord => {
            Lasting::Handshake(format!("the server does not speak TLS there ({e})"))
        }
        Error::PeerIncompatible(_)
        | Error::AlertReceived(
            AlertDescription::HandshakeFailure
            | AlertDescription::ProtocolVersion
            | AlertDescription::InsufficientSecurity,
        ) => Lasting::Handshake(format!(
            "the server has no TLS version or cipher suite in common with herald ({e})"
        )),
        _ => return None,
    })
}

/// The rustls error behind `error`, looking through lettre's errors and the io::Errors that
/// tokio-rustls wraps handshake failures in (an io::Error's `source()` skips its payload).
fn rustls_error<'a>(mut error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(e) = error.downcast_ref::<rustls::Error>() {
            return Some(e);
        }
        if let Some(inner) = error
            .downcast_ref::<io::Error>()
            .and_then(|e| e.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        error = error.source()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ca_file_means_the_web_pki_roots() {
        let trust = Trust::load(None, "smtp.ca_file").unwrap();
        assert!(matches!(trust, Trust::WebPki { .. }));
        assert_eq!(
            trust.to_string(),
            "the web PKI roots (`smtp.ca_file` is not set)"
        );
        assert!(trust.client_config().is_ok());
        assert!(trust.starttls_parameters("mail.example.com").is_ok());
    }

    #[test]
    fn an_unreadable_or_empty_ca_file_is_an_error_naming_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = Trust::load(Some(&missing), "smtp.ca_file").unwrap_err();
        assert!(matches!(e, TrustError::Unreadable { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("smtp.ca_file") && text.contains("missing.pem"),
            "{text}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just some text\n").unwrap();
        let e = Trust::load(Some(&empty), "smtp.ca_file").unwrap_err();
        assert!(matches!(e, TrustError::Empty { .. }), "{e}");
        assert!(e.to_string().contains("empty.pem"), "{e}");
    }

    #[test]
    fn a_pem_block_that_is_not_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(
            &file,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = Trust::load(Some(&file), "bounce.imap.ca_file").unwrap_err();
        assert!(matches!(e, TrustError::Unusable { .. }), "{e}");
        assert!(e.to_string().contains("bounce.imap.ca_file"), "{e}");
    }

    #[test]
    fn a_certificate_error_is_found_behind_lettre_and_io_wrappers() {
        let inner = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapper(#[source] io::Error);
        let wrapped = Wrapper(inner);
        assert!(matches!(
            lasting_failure(&wrapped),
            Some(Lasting::Certificate(problem)) if problem.contains("not signed by a CA herald trusts")
        ));

        let reset = Wrapper(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(lasting_failure(&reset), None);
    }
}
