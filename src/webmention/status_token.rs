//! A webmention's status URL (Webmention §3.2: the 201's `Location`):
//! `/webmention/status/{id}-{signature}`. The id alone reads nothing, so
//! nobody can walk through every mention's state by counting; the sender
//! has the whole token from our 201. Nothing is stored per mention: the
//! signature is checked against the id (`signing.rs`).

use crate::domain::mention::MentionId;
use crate::signing::{Purpose, SigningKey};

/// The status token of mention `id`.
pub fn token(key: &SigningKey, id: MentionId) -> String {
    let message = id.0.to_string();
    format!(
        "{message}-{}",
        key.sign(Purpose::MentionStatus, message.as_bytes())
    )
}

/// The mention a token names, if its signature is ours.
pub fn parse(key: &SigningKey, token: &str) -> Option<MentionId> {
    let (id, signature) = token.split_once('-')?;
    let number: i64 = id.parse().ok().filter(|n| *n > 0)?;
    // One spelling per id: `007` or `+7` would sign differently anyway.
    if number.to_string() != id {
        return None;
    }
    key.verify(Purpose::MentionStatus, id.as_bytes(), signature)
        .then_some(MentionId(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_mention_and_nothing_else_does() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let token = token(&key, MentionId(42));
        assert!(token.starts_with("42-"), "{token}");
        assert_eq!(parse(&key, &token), Some(MentionId(42)));
        let signature = token.strip_prefix("42-").unwrap();
        for forged in [
            "42".to_owned(),
            format!("43-{signature}"),
            format!("042-{signature}"),
            format!("+42-{signature}"),
            format!("-42-{signature}"),
            format!("42-{}", &signature[1..]),
            format!("42-{signature}x"),
        ] {
            assert_eq!(parse(&key, &forged), None, "{forged}");
        }
        let other_key = SigningKey::from_bytes(&[4; 32]);
        assert_eq!(parse(&other_key, &token), None);
    }
}
