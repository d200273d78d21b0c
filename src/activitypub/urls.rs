//! Every id the actor uses, minted from the configured public URL (research
//! §2.4: ids derived from a request's scheme or host break behind a proxy).
//! Paths are fixed; `public_url` may carry a prefix (`/backfeed/`), which is
//! kept in every id and in the request target signatures are checked with.

use url::Url;

use crate::config::ActivityPubConfig;

/// The router's paths of the actor's resources (without the public prefix).
pub mod paths {
    pub const ACTOR: &str = "/ap/actor";
    pub const INBOX: &str = "/ap/inbox";
    pub const SHARED_INBOX: &str = "/inbox";
    pub const OUTBOX: &str = "/ap/outbox";
    pub const FOLLOWERS: &str = "/ap/followers";
    pub const FOLLOWING: &str = "/ap/following";
    pub const NODEINFO: &str = "/nodeinfo/2.1";
    /// A post's object (`publish::object_id`).
    pub const POST: &str = "/ap/posts/{id}";
}

#[derive(Debug, Clone)]
pub struct Urls {
    base: Url,
}

impl Urls {
    pub fn new(config: &ActivityPubConfig) -> Self {
        let mut base = config.public_url.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self { base }
    }

    /// The public URL of a router path (`/ap/actor` → `https://c.example/ap/actor`).
    pub fn at(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|_| self.base.clone())
    }

    /// The path a sender used for a router path: the public prefix kept.
    pub fn public_path(&self, path: &str) -> String {
        format!("{}{}", self.base.path().trim_end_matches('/'), path)
    }

    /// `host` or `host:port`: what senders sign as the `host` header.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    pub fn actor(&self) -> String {
        self.at(paths::ACTOR).into()
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor())
    }

    pub fn inbox(&self) -> String {
        self.at(paths::INBOX).into()
    }

    pub fn shared_inbox(&self) -> String {
        self.at(paths::SHARED_INBOX).into()
    }

    pub fn outbox(&self) -> String {
        self.at(paths::OUTBOX).into()
    }

    pub fn followers(&self) -> String {
        self.at(paths::FOLLOWERS).into()
    }

    pub fn following(&self) -> String {
        self.at(paths::FOLLOWING).into()
    }

    /// A fresh id for an activity of ours (`…/ap/activities/<uuid>`).
    pub fn new_activity(&self) -> String {
        self.at(&format!("/ap/activities/{}", uuid::Uuid::new_v4()))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(public: &str) -> Urls {
        let mut config = crate::activitypub::documents::tests::config();
        config.public_url = Url::parse(public).unwrap();
        Urls::new(&config)
    }

    #[test]
    fn ids_keep_the_public_prefix_and_port() {
        let u = urls("http://localhost:8080");
        assert_eq!(u.actor(), "http://localhost:8080/ap/actor");
        assert_eq!(u.host(), "localhost:8080");
        assert_eq!(u.public_path("/ap/inbox"), "/ap/inbox");
        let u = urls("https://c.example/backfeed");
        assert_eq!(u.inbox(), "https://c.example/backfeed/ap/inbox");
        assert_eq!(u.key_id(), "https://c.example/backfeed/ap/actor#main-key");
        assert_eq!(u.host(), "c.example");
        assert_eq!(u.public_path("/inbox"), "/backfeed/inbox");
    }
}
