//! Admin sessions as signed cookies: nothing stored, nothing to migrate.
//!
//! Signing in with the admin token hands the browser a cookie
//! `v1.<expiry>.<id>.<mac>`, where the MAC is HMAC-SHA256 under a key
//! *derived from the admin token* (`HMAC(token, "backfeed admin session
//! key v1")`). So sessions survive a restart and work across instances
//! sharing the token, and changing `BACKFEED_ADMIN_TOKEN` ends every
//! session at once. The CSRF token of a session is another MAC of its id
//! under the same key: forms carry it, and nothing else can compute it.
//!
//! Invariant: a cookie is only ever accepted after its MAC is checked in
//! constant time and its expiry (read through the app's `Clock`) is in the
//! future; a session signed out on this process is refused until it would
//! have expired (`Revoked`). Other processes forget a sign-out, which is
//! why sessions are short ([`SESSION_TTL`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// How long a session lasts after signing in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The cookie's name.
pub const COOKIE: &str = "backfeed_admin";

const VERSION: &str = "v1";

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// 128 random bits, hex: what the CSRF token and a sign-out refer to.
    id: String,
    pub expires_at: OffsetDateTime,
}

/// The key sessions and CSRF tokens are signed with.
#[derive(Clone)]
pub struct SessionKeys {
    key: [u8; 32],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(***)")
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        mac.update(&[0]);
    }
    mac
}

impl SessionKeys {
    /// Derives the signing key from the admin token.
    pub fn derive(admin_token: &str) -> Self {
        let key = mac(admin_token.as_bytes(), &[b"backfeed admin session key v1"])
            .finalize()
            .into_bytes();
        let mut bytes = [0; 32];
        bytes.copy_from_slice(&key);
        Self { key: bytes }
    }

    /// A new session from now, and its cookie value.
    pub fn issue(&self, now: OffsetDateTime) -> (Session, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let expires_at = now + SESSION_TTL;
        let payload = format!("{VERSION}.{}.{id}", expires_at.unix_timestamp());
        let tag = mac(&self.key, &[b"session", payload.as_bytes()])
            .finalize()
            .into_bytes();
        let cookie = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag));
        (Session { id, expires_at }, cookie)
    }

    /// The session a cookie value stands for, if it is genuine and current.
    pub fn verify(&self, cookie: &str, now: OffsetDateTime) -> Option<Session> {
        let (payload, tag) = cookie.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        mac(&self.key, &[b"session", payload.as_bytes()])
            .verify_slice(&tag)
            .ok()?;
        let mut fields = payload.split('.');
        let (version, expiry, id) = (fields.next()?, fields.next()?, fields.next()?);
        if version != VERSION || fields.next().is_some() {
            return None;
        }
        let expires_at = OffsetDateTime::from_unix_timestamp(expiry.parse().ok()?).ok()?;
        (expires_at > now).then(|| Session {
            id: id.to_owned(),
            expires_at,
        })
    }

    /// The CSRF token of `session`, for its forms.
    pub fn csrf_token(&self, session: &Session) -> String {
        let tag = mac(&self.key, &[b"csrf", session.id.as_bytes()])
            .finalize()
            .into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    /// Whether `given` is `session`'s CSRF token (compared in constant time).
    pub fn csrf_matches(&self, session: &Session, given: Option<&str>) -> bool {
        let expected = self.csrf_token(session);
        given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())))
    }
}

/// Sessions signed out on this process, kept until they would have expired.
#[derive(Default)]
pub struct Revoked(Mutex<HashMap<String, OffsetDateTime>>);

impl Revoked {
    pub fn revoke(&self, session: &Session, now: OffsetDateTime) {
        if let Ok(mut revoked) = self.0.lock() {
            revoked.retain(|_, expires_at| *expires_at > now);
            revoked.insert(session.id.clone(), session.expires_at);
        }
    }

    pub fn contains(&self, session: &Session) -> bool {
        self.0
            .lock()
            .map(|revoked| revoked.contains_key(&session.id))
            // A poisoned lock fails closed: the session is refused.
            .unwrap_or(true)
    }
}

/// The value of our cookie in a `Cookie` header, if present.
pub fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// `Set-Cookie` for a new session. No `Path`: the browser then scopes the
/// cookie to the directory it signed in at (`/admin`, or `/prod/admin`
/// behind an API Gateway stage), which is exactly the admin pages.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={value}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        SESSION_TTL.as_secs()
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    #[test]
    fn a_session_cookie_is_accepted_until_it_expires() {
        let keys = SessionKeys::derive("admin-token-0123456789");
        let (session, cookie) = keys.issue(NOW);
        assert_eq!(keys.verify(&cookie, NOW), Some(session.clone()));
        let late = NOW + SESSION_TTL - Duration::from_secs(1);
        assert!(keys.verify(&cookie, late).is_some());
        assert_eq!(keys.verify(&cookie, NOW + SESSION_TTL), None);
    }

    #[test]
    fn a_forged_or_altered_cookie_is_refused() {
        let keys = SessionKeys::derive("admin-token-0123456789");
        let (_, cookie) = keys.issue(NOW);
        let other = SessionKeys::derive("another-token-0123456789");
        assert_eq!(other.verify(&cookie, NOW), None, "another token's key");
        let (payload, tag) = cookie.rsplit_once('.').unwrap();
        let later = payload.replacen(
            &(NOW + SESSION_TTL).unix_timestamp().to_string(),
            &(NOW + SESSION_TTL * 100).unix_timestamp().to_string(),
            1,
        );
        assert_eq!(keys.verify(&format!("{later}.{tag}"), NOW), None);
        for broken in ["", ".", "v1..", "v1.1.2.3.4", &cookie[1..], "garbage"] {
            assert_eq!(keys.verify(broken, NOW), None, "{broken}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let keys = SessionKeys::derive("admin-token-0123456789");
        let (first, _) = keys.issue(NOW);
        let (second, _) = keys.issue(NOW);
        let token = keys.csrf_token(&first);
        assert!(keys.csrf_matches(&first, Some(&token)));
        assert!(!keys.csrf_matches(&second, Some(&token)));
        assert!(!keys.csrf_matches(&first, None));
        assert!(!keys.csrf_matches(&first, Some("")));
    }

    #[test]
    fn a_signed_out_session_stays_refused() {
        let keys = SessionKeys::derive("admin-token-0123456789");
        let (session, _) = keys.issue(NOW);
        let revoked = Revoked::default();
        assert!(!revoked.contains(&session));
        revoked.revoke(&session, NOW);
        assert!(revoked.contains(&session));
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; backfeed_admin=v1.2.3.4; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers), Some("v1.2.3.4"));
        assert!(set_cookie("x", true).ends_with("HttpOnly; SameSite=Strict; Secure"));
        assert!(!clear_cookie(false).contains("Secure"));
    }
}
