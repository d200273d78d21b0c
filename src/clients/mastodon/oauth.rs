//! Getting and checking the owner's token: registering backfeed as an
//! application (`POST /api/v1/apps`), the authorisation URL, exchanging the
//! code the owner pastes (`POST /oauth/token`), and checking a token
//! (`GET /api/v1/accounts/verify_credentials`, `GET
//! /api/v1/apps/verify_credentials`). Used by `backfeed mastodon login`
//! and `backfeed check`, never by a request.
//!
//! backfeed needs `read:statuses` (whole reply threads) and
//! `write:statuses` (the announcing toot). Reading the token's own account
//! needs one more scope: `profile` on Mastodon 4.3 and later (discovered
//! from `/.well-known/oauth-authorization-server`, RFC 8414), else
//! `read:accounts`. Wire types stay in this file.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::error_text;
use crate::clients::http::{FetchError, FetchPolicy, Fetched, HttpClient};
use crate::config::{MastodonBase, Secret};

/// The scopes backfeed works with.
pub const NEEDED_SCOPES: [&str; 2] = ["read:statuses", "write:statuses"];
/// The out-of-band redirect: the instance shows the code for pasting.
pub const REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";
const CLIENT_NAME: &str = "backfeed";
const WEBSITE: &str = "https://github.com/backfeed/backfeed";

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{instance} could not be reached: {source}")]
    Unreachable {
        instance: String,
        #[source]
        source: FetchError,
    },
    #[error("{instance} refused to register backfeed as an application (HTTP {status}): {reason}")]
    AppRefused {
        instance: String,
        status: u16,
        reason: String,
    },
    #[error(
        "{instance} refused the authorisation code ({reason}); codes are used once and expire within minutes: open the authorisation URL again for a new one"
    )]
    CodeRefused { instance: String, reason: String },
    #[error(
        "the token lacks the scope {missing}: authorise again and leave every requested permission ticked ({wanted})",
        missing = missing.join(" and "),
        wanted = NEEDED_SCOPES.join(" ")
    )]
    MissingScope { missing: Vec<String> },
    #[error(
        "{instance} refused the token (HTTP {status}): it was revoked, or it is not a token of this instance"
    )]
    TokenRefused { instance: String, status: u16 },
    #[error(
        "the token cannot read its own account (HTTP 403): it lacks the `profile` (Mastodon 4.3+) or `read:accounts` scope"
    )]
    CannotReadAccount,
    #[error("{instance} gave an unexpected answer: {detail}")]
    Unexpected { instance: String, detail: String },
}

/// backfeed as registered on an instance.
#[derive(Debug, Clone)]
pub struct RegisteredApp {
    pub client_id: String,
    pub client_secret: Secret,
}

/// A token and the scopes the instance says it has.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: Secret,
    pub scopes: Vec<String>,
}

/// The account a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The local user name (`MASTODON_USER`).
    pub username: String,
    pub acct: String,
}

pub struct MastodonOAuth {
    http: HttpClient,
    base: MastodonBase,
}

impl MastodonOAuth {
    /// The instance is the operator's own choice: private addresses are
    /// allowed (self-hosted instances), as for the API client.
    pub fn new(base: MastodonBase, policy: &FetchPolicy) -> Result<Self, FetchError> {
        let policy = FetchPolicy {
            allow_private_addresses: true,
            ..policy.clone()
        };
        Ok(Self {
            http: HttpClient::new(policy)?,
            base,
        })
    }

    fn instance(&self) -> String {
        self.base.host.clone()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, LoginError> {
        self.http
            .execute(request.header("Accept", "application/json"))
            .await
            .map_err(|source| LoginError::Unreachable {
                instance: self.instance(),
                source,
            })
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, response: &Fetched) -> Result<T, LoginError> {
        serde_json::from_slice(&response.body).map_err(|e| LoginError::Unexpected {
            instance: self.instance(),
            detail: format!("HTTP {} with an unreadable body: {e}", response.status),
        })
    }

    /// The scopes to ask for: the needed ones, and the one that lets the
    /// token read its own account on this instance.
    pub async fn scopes_to_request(&self) -> Result<String, LoginError> {
        let url = self
            .base
            .endpoint("/.well-known/oauth-authorization-server");
        let response = self.send(self.http.request(Method::GET, url)).await?;
        let profile = response.status.is_success()
            && self
                .parse::<ServerMetadataWire>(&response)
                .is_ok_and(|m| m.scopes_supported.iter().any(|s| s == "profile"));
        let account = if profile { "profile" } else { "read:accounts" };
        Ok(format!("{} {account}", NEEDED_SCOPES.join(" ")))
    }

    pub async fn register(&self, scopes: &str) -> Result<RegisteredApp, LoginError> {
        let url = self.base.endpoint("/api/v1/apps");
        let form = [
            ("client_name", CLIENT_NAME),
            ("redirect_uris", REDIRECT_URI),
            ("scopes", scopes),
            ("website", WEBSITE),
        ];
        let response = self
            .send(self.http.request(Method::POST, url).form(&form))
            .await?;
        if !response.status.is_success() {
            return Err(LoginError::AppRefused {
                instance: self.instance(),
                status: response.status.as_u16(),
                reason: error_text(&response.body).unwrap_or_else(|| "no reason given".to_owned()),
            });
        }
        let app: AppWire = self.parse(&response)?;
        Ok(RegisteredApp {
            client_id: app.client_id,
            client_secret: Secret::new(app.client_secret),
        })
    }

    /// Where the owner signs in and allows backfeed; the instance then
    /// shows a code to paste.
    pub fn authorize_url(&self, app: &RegisteredApp, scopes: &str) -> Url {
        let mut url = self.base.endpoint("/oauth/authorize");
        url.query_pairs_mut()
            .append_pair("client_id", &app.client_id)
            .append_pair("scope", scopes)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("response_type", "code");
        url
    }

    pub async fn exchange(
        &self,
        app: &RegisteredApp,
        code: &str,
        scopes: &str,
    ) -> Result<Token, LoginError> {
        let url = self.base.endpoint("/oauth/token");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.trim()),
            ("client_id", &app.client_id),
            ("client_secret", app.client_secret.expose()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scopes),
        ];
        let response = self
            .send(self.http.request(Method::POST, url).form(&form))
            .await?;
        if !response.status.is_success() {
            let reason = serde_json::from_slice::<OAuthErrorWire>(&response.body)
                .map(|e| e.error_description.unwrap_or(e.error))
                .unwrap_or_else(|_| format!("HTTP {}", response.status));
            return Err(LoginError::CodeRefused {
                instance: self.instance(),
                reason,
            });
        }
        let token: TokenWire = self.parse(&response)?;
        Ok(Token {
            access_token: Secret::new(token.access_token),
            scopes: token
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The account `token` belongs to.
    pub async fn verify_credentials(&self, token: &str) -> Result<Account, LoginError> {
        let url = self.base.endpoint("/api/v1/accounts/verify_credentials");
        let response = self
            .send(self.http.request(Method::GET, url).bearer_auth(token))
            .await?;
        match response.status.as_u16() {
            200..=299 => {
                let account: AccountWire = self.parse(&response)?;
                Ok(Account {
                    username: account.username,
                    acct: account.acct,
                })
            }
            403 => Err(LoginError::CannotReadAccount),
            status @ 401 => Err(LoginError::TokenRefused {
                instance: self.instance(),
                status,
            }),
            status => Err(LoginError::Unexpected {
                instance: self.instance(),
                detail: format!(
                    "HTTP {status} from verify_credentials: {}",
                    error_text(&response.body).unwrap_or_default()
                ),
            }),
        }
    }

    /// The scopes of the application `token` was issued to, where the
    /// instance says (Mastodon 4.3+); `None` where it does not.
    pub async fn app_scopes(&self, token: &str) -> Result<Option<Vec<String>>, LoginError> {
        let url = self.base.endpoint("/api/v1/apps/verify_credentials");
        let response = self
            .send(self.http.request(Method::GET, url).bearer_auth(token))
            .await?;
        if matches!(response.status.as_u16(), 401 | 403) {
            return Err(LoginError::TokenRefused {
                instance: self.instance(),
                status: response.status.as_u16(),
            });
        }
        if !response.status.is_success() {
            return Ok(None);
        }
        let app: AppScopesWire = self.parse(&response)?;
        Ok(app.scopes)
    }
}

/// The needed scopes `granted` lacks (`read` grants every `read:…`, and
/// so on).
pub fn missing_scopes(granted: &[String]) -> Vec<String> {
    NEEDED_SCOPES
        .iter()
        .filter(|needed| {
            let parent = needed.split(':').next().unwrap_or_default();
            !granted.iter().any(|g| g == *needed || g == parent)
        })
        .map(|s| (*s).to_owned())
        .collect()
}

#[derive(Deserialize)]
struct ServerMetadataWire {
    #[serde(default)]
    scopes_supported: Vec<String>,
}

#[derive(Deserialize)]
struct AppWire {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
struct AppScopesWire {
    scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenWire {
    access_token: String,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorWire {
    error: String,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct AccountWire {
    username: String,
    acct: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn broad_scopes_grant_their_parts() {
        assert!(missing_scopes(&scopes(&["read", "write"])).is_empty());
        assert!(
            missing_scopes(&scopes(&["read:statuses", "write:statuses", "profile"])).is_empty()
        );
        assert_eq!(
            missing_scopes(&scopes(&["read:statuses", "profile"])),
            vec!["write:statuses"]
        );
        assert_eq!(missing_scopes(&[]).len(), 2);
        assert_eq!(
            missing_scopes(&scopes(&["write:statuses:extra", "read:status"])).len(),
            2
        );
    }

    #[test]
    fn the_authorisation_url_asks_for_a_code_to_paste() {
        let oauth = MastodonOAuth::new(
            MastodonBase::parse("social.example").unwrap(),
            &FetchPolicy::default(),
        )
        .unwrap();
        let app = RegisteredApp {
            client_id: "abc".to_owned(),
            client_secret: Secret::new("s"),
        };
        assert_eq!(
            oauth
                .authorize_url(&app, "read:statuses write:statuses profile")
                .as_str(),
            "https://social.example/oauth/authorize?client_id=abc&scope=read%3Astatuses+write%3Astatuses+profile&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=code"
        );
    }
}
