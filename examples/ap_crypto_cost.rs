//! For `bench/activitypub.sh` (bench/README.md): what one RSA-2048
//! signature and one verification cost in this build, with the key pair and
//! the verifier backfeed's ActivityPub code uses (every delivery and every
//! actor fetch signs once; every inbox POST verifies once).
//!
//! ```text
//! ap_crypto_cost [ROUNDS]     default 200; prints one JSON object
//! ```

use std::time::Instant;

use backfeed::activitypub::KeyPair;
use backfeed::protocol::http_signature;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const KEY_PEM: &str = include_str!("../tests/fixtures/activitypub/test-key.pem");

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("ROUNDS is a number"))
        .unwrap_or(200);
    let key = KeyPair::from_pkcs8_pem(KEY_PEM).expect("the test key");
    let public = key.public_key();
    let message =
        "(request-target): post /inbox\nhost: a.example\ndate: Sun, 06 Dec 2026 10:00:00 GMT";

    let started = Instant::now();
    let mut signature = String::new();
    for _ in 0..rounds {
        signature = key.sign_base64(message.as_bytes());
    }
    let sign = started.elapsed() / rounds;

    let bytes = STANDARD.decode(&signature).expect("base64");
    let started = Instant::now();
    for _ in 0..rounds * 10 {
        http_signature::verify_rsa(&public, message, &bytes).expect("it verifies");
    }
    let verify = started.elapsed() / (rounds * 10);

    println!(
        "{{\"rounds\":{rounds},\"sign_ms\":{:.3},\"verify_ms\":{:.3}}}",
        sign.as_secs_f64() * 1000.0,
        verify.as_secs_f64() * 1000.0
    );
}
