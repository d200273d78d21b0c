//! TLS to PostgreSQL, with libpq's `sslmode` and `sslrootcert` read from
//! the `DATABASE_URL` query string.
//!
//! libpq's definitions (PostgreSQL docs, "SSL Support", table "SSL Mode
//! Descriptions"), which hosted databases (DigitalOcean, AWS RDS, …) are
//! documented against:
//! - `disable`: no TLS;
//! - `prefer` (the default): TLS when the server offers it, without checking
//!   its certificate; plain otherwise;
//! - `require`: TLS or no connection, certificate not checked. As libpq
//!   does for backwards compatibility, a given `sslrootcert` makes it
//!   `verify-ca`;
//! - `verify-ca`: TLS, the certificate chain must lead to a trusted CA;
//! - `verify-full`: as `verify-ca`, and the certificate must name the host
//!   connected to.
//!
//! `sslrootcert=<file>` trusts the CA certificates in a PEM file;
//! `sslrootcert=system` (as libpq 16 allows) the system's roots. Where libpq
//! would look for `~/.postgresql/root.crt` when none is given, backfeed
//! uses the system's roots: a serverless function has no home directory.
//!
//! Invariant: this module strips exactly the parameters it handles from the
//! URL (tokio-postgres knows neither `sslrootcert` nor the `verify-*`
//! modes), and no error here repeats the URL, so no password is shown.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;
use url::Url;

use super::tls_verify::{AnyCertificate, TrustedChain};
use crate::storage::StoreError;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq's `allow` tries plain first, then TLS; `prefer` is the
            // nearest we do, and means the same to a server that needs TLS.
            "prefer" | "allow" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(invalid(format!(
                    "sslmode=`{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres itself must do: whether to ask for TLS, and
    /// whether a server without it is refused.
    fn driver_mode(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

/// Which CA certificates a verifying mode trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    System,
    File(PathBuf),
}

impl Roots {
    pub fn describe(&self) -> String {
        match self {
            Self::System => "the system's trusted roots".to_owned(),
            Self::File(path) => format!("the CA certificates in {}", path.display()),
        }
    }
}

/// What the URL asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: Mode,
    /// `sslrootcert` as given (`None`: the system's roots, for the
    /// verifying modes).
    pub root_cert: Option<Roots>,
}

impl Tls {
    /// Splits the TLS parameters off a PostgreSQL URL: the URL without them
    /// (for tokio-postgres) and what they ask for.
    pub fn from_url(url: &str) -> Result<(String, Self), StoreError> {
        let mut parsed =
            Url::parse(url).map_err(|e| invalid(format!("not a valid PostgreSQL URL ({e})")))?;
        let (mut mode, mut root_cert) = (Mode::Prefer, None);
        let mut kept = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "sslmode" => mode = Mode::parse(&value)?,
                "sslrootcert" if value == "system" => root_cert = Some(Roots::System),
                "sslrootcert" => root_cert = Some(Roots::File(PathBuf::from(value.as_ref()))),
                "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                    return Err(invalid(format!(
                        "`{key}` (client certificates, revocation lists) is not supported; \
                         backfeed supports sslmode and sslrootcert"
                    )));
                }
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        if mode == Mode::Require && root_cert.is_some() {
            mode = Mode::VerifyCa;
        }
        Ok((parsed.into(), Self { mode, root_cert }))
    }

    pub fn driver_mode(&self) -> SslMode {
        self.mode.driver_mode()
    }

    fn roots(&self) -> Roots {
        self.root_cert.clone().unwrap_or(Roots::System)
    }

    /// "sslmode=verify-full, trusting …", for error messages.
    pub fn describe(&self) -> String {
        match self.mode {
            Mode::VerifyCa | Mode::VerifyFull => {
                format!(
                    "sslmode={}, trusting {}",
                    self.mode.label(),
                    self.roots().describe()
                )
            }
            mode => format!("sslmode={}", mode.label()),
        }
    }

    /// The connector tokio-postgres uses for every TLS connection. Reads the
    /// CA certificates now, so a missing or unreadable file fails at start-up.
    pub fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let provider = Arc::new(crate::clients::tls::crypto_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS set-up: {e}")))?;
        let config = match self.mode {
            Mode::Disable | Mode::Prefer | Mode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate::new(provider)))
                .with_no_client_auth(),
            Mode::VerifyCa | Mode::VerifyFull => {
                let roots = self.roots();
                let store = load_roots(&roots)?;
                let verifier = TrustedChain::new(
                    store,
                    roots.describe(),
                    self.mode == Mode::VerifyFull,
                    provider,
                )?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth()
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

fn load_roots(roots: &Roots) -> Result<RootCertStore, StoreError> {
    let certificates: Vec<CertificateDer<'static>> = match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "sslrootcert=system: no trusted roots found on this system{why} \
                     (Debian: apt-get install ca-certificates), or give sslrootcert=<file>"
                )));
            }
            found.certs
        }
        Roots::File(path) => {
            let read = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    invalid(format!(
                        "sslrootcert: cannot read CA certificates from {}: {e}",
                        path.display()
                    ))
                })?;
            if read.is_empty() {
                return Err(invalid(format!(
                    "sslrootcert: {} holds no PEM certificate",
                    path.display()
                )));
            }
            read
        }
    };
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(invalid(format!(
            "{} holds no usable CA certificate",
            roots.describe()
        )));
    }
    Ok(store)
}

fn invalid(why: String) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL TLS settings: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, Tls) {
        Tls::from_url(url).unwrap()
    }

    #[test]
    fn the_tls_parameters_leave_the_url_and_the_rest_stays() {
        let (url, tls) = split(
            "postgres://u:pw@db.example:25060/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x",
        );
        assert_eq!(
            url,
            "postgres://u:pw@db.example:25060/app?application_name=x"
        );
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root_cert, Some(Roots::File("/etc/ca.pem".into())));
        let (url, tls) = split("postgres://u@db.example/app?sslmode=require");
        assert_eq!(url, "postgres://u@db.example/app");
        assert_eq!((tls.mode, tls.root_cert), (Mode::Require, None));
    }

    #[test]
    fn the_default_is_prefer_and_require_with_a_ca_verifies_the_chain_as_libpq_does() {
        assert_eq!(split("postgres://u@h/d").1.mode, Mode::Prefer);
        let (_, tls) = split("postgres://u@h/d?sslmode=require&sslrootcert=system");
        assert_eq!(
            (tls.mode, tls.root_cert),
            (Mode::VerifyCa, Some(Roots::System))
        );
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_without_the_password() {
        for url in [
            "postgres://u:hunter2@h/d?sslmode=verify-everything",
            "postgres://u:hunter2@h/d?sslcert=/c.pem",
        ] {
            let error = Tls::from_url(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("ssl"), "{error}");
        }
    }

    #[test]
    fn a_missing_ca_file_fails_when_the_connector_is_built() {
        let (_, tls) = split("postgres://u@h/d?sslmode=verify-full&sslrootcert=/no/such/ca.pem");
        let error = tls.connector().err().unwrap().to_string();
        assert!(error.contains("/no/such/ca.pem"), "{error}");
    }
}
