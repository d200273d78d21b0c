//! PostgreSQL over TLS, as hosted databases (DigitalOcean, AWS RDS) demand
//! it: a local server that accepts TCP connections only over TLS, with a CA
//! and a server certificate for `db.backfeed.test` made here (rcgen). The
//! URLs name that host and reach it through `hostaddr=127.0.0.1`, as libpq
//! allows, so no name is ever looked up and the certificate's name can be
//! checked.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use backfeed::storage::postgres::PostgresStore;
use backfeed::storage::{StoreError, conformance};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use crate::support_postgres::{PgServer, fresh_database};

/// The name in the server's certificate.
const HOST: &str = "db.backfeed.test";
const PASSWORD: &str = "hunter2";

struct TlsServer {
    server: PgServer,
    /// The CA's certificate (PEM), for `sslrootcert`.
    ca: PathBuf,
}

/// Only Unix-socket connections (the tests' own set-up) go without TLS.
const HBA: &str = "local all all trust\n\
                   hostssl all all 127.0.0.1/32 trust\n\
                   hostnossl all all 0.0.0.0/0 reject\n";

fn tls_server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "backfeed test CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = CertificateParams::new(vec![HOST.to_owned()])
            .expect("server params")
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let dir = tempfile::Builder::new()
            .prefix("backfeed-pg-ca-")
            .tempdir()
            .expect("a directory for the CA")
            .keep();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, ca_cert.pem()).expect("writing the CA");
        let server = PgServer::start_with(
            &[
                ("server.crt", server_cert.pem().as_bytes()),
                ("server.key", server_key.serialize_pem().as_bytes()),
                ("pg_hba_tls.conf", HBA.as_bytes()),
            ],
            &[
                "ssl=on",
                "ssl_cert_file={dir}/server.crt",
                "ssl_key_file={dir}/server.key",
                "hba_file={dir}/pg_hba_tls.conf",
            ],
        );
        TlsServer { server, ca }
    })
}

/// A URL for a fresh database on the TLS server, reached as `host`, with
/// `parameters` (`sslmode=…`) added.
async fn tls_url(host: &str, parameters: &str) -> String {
    let tls = tokio::task::spawn_blocking(tls_server)
        .await
        .expect("starting the TLS PostgreSQL");
    let plain = tls.server.fresh_database().await;
    let database = plain.rsplit('/').next().expect("a database name");
    let mut url = format!(
        "postgres://postgres:{PASSWORD}@{host}:{}/{database}?hostaddr=127.0.0.1",
        tls.server.port
    );
    if !parameters.is_empty() {
        url.push('&');
        url.push_str(&parameters.replace("{ca}", &tls.ca.to_string_lossy()));
    }
    url
}

async fn refused(url: &str) -> String {
    match PostgresStore::connect(url).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains(PASSWORD), "the password shows: {message}");
            message
        }
        Err(other) => panic!("expected Unavailable, got {other}"),
        Ok(_) => panic!("connected, but should have been refused: {url}"),
    }
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    // The server refuses TCP without TLS, so connecting at all proves it.
    let url = tls_url(HOST, "sslmode=require").await;
    PostgresStore::connect(&url)
        .await
        .expect("connects over TLS");
    // libpq's default, `prefer`, reaches a server that demands TLS too:
    // what a hosted database needs from a URL without `sslmode`.
    let url = tls_url(HOST, "").await;
    PostgresStore::connect(&url)
        .await
        .expect("prefer connects over TLS");
}

#[tokio::test]
async fn require_refuses_a_server_without_tls() {
    let plain = fresh_database().await;
    let url = plain.replace("postgres@", &format!("postgres:{PASSWORD}@")) + "?sslmode=require";
    let message = refused(&url).await;
    assert!(message.contains("does not support TLS"), "{message}");
    assert!(message.contains("sslmode=require"), "{message}");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_no_trusted_root_signed() {
    // No sslrootcert: the system's roots, which do not know our CA.
    let message = refused(&tls_url(HOST, "sslmode=verify-full").await).await;
    assert!(message.contains("not trusted"), "{message}");
    assert!(message.contains("system's trusted roots"), "{message}");
}

#[tokio::test]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let other = "other.backfeed.test";
    let url = tls_url(other, "sslmode=verify-full&sslrootcert={ca}").await;
    let message = refused(&url).await;
    assert!(
        message.contains(&format!("not valid for the host name `{other}`")),
        "{message}"
    );
    assert!(
        message.contains(HOST),
        "names what the certificate holds: {message}"
    );
    // verify-ca checks the chain only, so the same name passes there.
    let url = tls_url(other, "sslmode=verify-ca&sslrootcert={ca}").await;
    PostgresStore::connect(&url)
        .await
        .expect("verify-ca does not check the name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_verified_tls_passes_the_storage_conformance_suite() {
    let url = tls_url(HOST, "sslmode=verify-full&sslrootcert={ca}").await;
    let store = PostgresStore::connect(&url)
        .await
        .expect("verify-full with the CA connects");
    conformance::run(Arc::new(store)).await;
}
