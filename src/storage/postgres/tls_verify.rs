//! The two certificate checks behind `sslmode` (see `tls.rs`).
//!
//! [`AnyCertificate`] is `prefer`/`require`: the connection is encrypted,
//! the certificate is not checked (libpq's meaning; it protects against
//! passive listening only). [`TrustedChain`] is `verify-ca` (the chain must
//! lead to a trusted root) and `verify-full` (and the certificate must name
//! the host).
//!
//! Invariant: both still check the handshake's signatures with the
//! certificate's key, so the session is bound to the certificate shown;
//! and a refusal says why in words an operator can act on (the roots
//! trusted, the host name expected), never with the connection URL.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error, OtherError, RootCertStore, SignatureScheme};

use crate::storage::StoreError;

/// Accepts any certificate (`prefer`, `require`).
#[derive(Debug)]
pub struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl AnyCertificate {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        Self { provider }
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Checks the chain against `roots` and, when `check_name`, the host name
/// (`verify-ca`, `verify-full`).
#[derive(Debug)]
pub struct TrustedChain {
    webpki: Arc<WebPkiServerVerifier>,
    /// "the CA certificates in /etc/ca.pem", for refusals.
    roots: String,
    check_name: bool,
}

impl TrustedChain {
    pub fn new(
        roots: RootCertStore,
        described: String,
        check_name: bool,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, StoreError> {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| {
                StoreError::Unavailable(format!("PostgreSQL TLS settings: {described}: {e}"))
            })?;
        Ok(Self {
            webpki,
            roots: described,
            check_name,
        })
    }

    fn explain(&self, error: Error, server_name: &ServerName<'_>) -> Error {
        let Error::InvalidCertificate(problem) = &error else {
            return error;
        };
        let text = match problem {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate is not trusted: no chain to {} \
                 (give the provider's CA file as sslrootcert=<file>)",
                self.roots
            ),
            CertificateError::NotValidForName => format!(
                "the server's certificate is not valid for the host name `{}`",
                server_name.to_str()
            ),
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => format!(
                "the server's certificate is not valid for the host name `{}`: it names {} \
                ",
                expected.to_str(),
                presented
                    .iter()
                    .map(|name| bare_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("the server's certificate was refused: {other}"),
        };
        Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refusal(text)))))
    }
}

impl ServerCertVerifier for TrustedChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            // webpki checks the chain before the name, so a name error means
            // the chain was trusted: all `verify-ca` asks for.
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(error) => Err(self.explain(error, server_name)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// rustls gives a certificate's names as `DnsName("db.example")`; the name.
fn bare_name(presented: &str) -> &str {
    match (presented.find('"'), presented.rfind('"')) {
        (Some(start), Some(end)) if start < end => &presented[start + 1..end],
        _ => presented,
    }
}

/// The refusal in words, if `error` (a connection error's cause chain)
/// holds one of ours; rustls would show it wrapped in its own `Debug`.
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        let rustls_error = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Error>())
            .or_else(|| current.downcast_ref::<Error>());
        if let Some(Error::InvalidCertificate(CertificateError::Other(other))) = rustls_error
            && let Some(refusal) = other.0.downcast_ref::<Refusal>()
        {
            return Some(refusal.0.clone());
        }
        cause = current.source();
    }
    None
}

/// A refusal in words (rustls carries it as the certificate error's cause).
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}
