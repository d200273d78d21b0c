//! The `[activitypub]` settings: the blog as its own fediverse account.
//!
//! Off unless `BACKFEED_ACTIVITYPUB=true`; then `public_url` is required,
//! because every id we mint (actor, inbox, objects) is built from it and
//! never from a request's `Host` header (research §2.4: proxies rewrite it).

use url::Url;

use super::ConfigError;
use super::values::{self, Reader};

/// What a post becomes in followers' timelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectType {
    /// Mastodon shows title, summary and a link (research §1.6).
    #[default]
    Article,
    /// Mastodon shows the full text.
    Note,
}

impl ObjectType {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "article" => Ok(Self::Article),
            "note" => Ok(Self::Note),
            other => Err(format!("`{other}` is not `article` or `note`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Article => "Article",
            Self::Note => "Note",
        }
    }
}

/// One profile field (`PropertyValue` attachment): a label and a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLink {
    pub name: String,
    pub url: Url,
}

/// The blog actor.
#[derive(Debug, Clone)]
pub struct ActivityPubConfig {
    /// backfeed's public base URL: every id is built from it.
    pub public_url: Url,
    /// The user part of the handle (`blog` in `@blog@host`).
    pub actor: String,
    /// The handle's domain when it is not backfeed's own host: the blog's,
    /// whose `/.well-known/webfinger` forwards to backfeed.
    pub handle_domain: Option<String>,
    /// Display name; defaults to the handle's user part.
    pub name: String,
    /// The bio (plain text; escaped into HTML).
    pub summary: Option<String>,
    pub icon: Option<Url>,
    pub header: Option<Url>,
    /// The actor's `url`: the blog's home page.
    pub blog_url: Url,
    pub links: Vec<ProfileLink>,
    pub discoverable: bool,
    pub indexable: bool,
    pub object: ObjectType,
    /// List the followers' ids in the followers collection (the count is
    /// always shown).
    pub show_followers: bool,
}

impl ActivityPubConfig {
    /// `host` or `host:port` of the public URL: the handle's domain.
    pub fn domain(&self) -> String {
        let host = self.public_url.host_str().unwrap_or_default();
        match self.public_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// `blog@domain`: on the handle domain when there is one, else on
    /// backfeed's own host.
    pub fn handle(&self) -> String {
        let domain = self.handle_domain.clone().unwrap_or_else(|| self.domain());
        format!("{}@{domain}", self.actor)
    }
}

pub(super) fn activitypub_config(
    r: &Reader<'_>,
    public_url: Option<&Url>,
    first_site: Option<&Url>,
) -> Result<Option<ActivityPubConfig>, ConfigError> {
    if !r
        .parsed("activitypub.enabled", values::parse_bool)?
        .unwrap_or(false)
    {
        return Ok(None);
    }
    let public_url = match public_url {
        Some(url) => url.clone(),
        None => r.required(
            "public_url",
            "needed for ActivityPub (BACKFEED_ACTIVITYPUB=true): every id is built from it",
            values::parse_http_url,
        )?,
    };
    let actor = r
        .parsed("activitypub.actor", parse_actor)?
        .unwrap_or_else(|| "blog".to_owned());
    let blog_url = match r.parsed("activitypub.blog_url", values::parse_http_url)? {
        Some(url) => url,
        None => first_site.cloned().unwrap_or_else(|| public_url.clone()),
    };
    Ok(Some(ActivityPubConfig {
        name: r.text("activitypub.name").unwrap_or_else(|| actor.clone()),
        summary: r.text("activitypub.summary"),
        icon: r.parsed("activitypub.icon", values::parse_http_url)?,
        header: r.parsed("activitypub.header", values::parse_http_url)?,
        links: r
            .parsed("activitypub.links", parse_links)?
            .unwrap_or_default(),
        discoverable: r
            .parsed("activitypub.discoverable", values::parse_bool)?
            .unwrap_or(true),
        indexable: r
            .parsed("activitypub.indexable", values::parse_bool)?
            .unwrap_or(true),
        object: r
            .parsed("activitypub.object", ObjectType::parse)?
            .unwrap_or_default(),
        handle_domain: r.parsed("activitypub.handle_domain", parse_domain)?,
        show_followers: r
            .parsed("activitypub.show_followers", values::parse_bool)?
            .unwrap_or(false),
        public_url,
        actor,
        blog_url,
    }))
}

/// A handle's user part: what Mastodon accepts (letters, digits, `_`; we
/// also allow `-` and `.` inside).
fn parse_actor(value: &str) -> Result<String, String> {
    let name = value.trim().trim_start_matches('@');
    let valid = (1..=30).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-']);
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` is not a user name (1 to 30 letters, digits, `_`, `-` or `.`)"
        ))
    }
}

/// A host name, with a port if any (`blog.example`, `localhost:8080`).
fn parse_domain(value: &str) -> Result<String, String> {
    let domain = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let url = url::Url::parse(&format!("https://{domain}/"))
        .map_err(|_| format!("`{domain}` is not a host name"))?;
    if url.path() != "/" || url.host_str().is_none() || domain.contains('@') {
        return Err(format!("`{domain}` is not a host name (no scheme or path)"));
    }
    Ok(domain)
}

/// `Label=https://…` entries, comma-separated (TOML: a list).
fn parse_links(value: &str) -> Result<Vec<ProfileLink>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (name, url) = entry
                .split_once('=')
                .ok_or_else(|| format!("`{entry}` is not `Label=https://…`"))?;
            Ok(ProfileLink {
                name: name.trim().to_owned(),
                url: values::parse_http_url(url)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_names_are_handle_safe() {
        assert_eq!(parse_actor("@blog").unwrap(), "blog");
        assert_eq!(parse_actor("my_blog.2").unwrap(), "my_blog.2");
        for bad in ["", "a b", "a/b", ".x", "x-", &"x".repeat(31)] {
            assert!(parse_actor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profile_links_are_labels_with_urls() {
        let links = parse_links("Blog=https://blog.example/, Code = https://code.example").unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].name, "Code");
        assert_eq!(links[1].url.as_str(), "https://code.example/");
        assert!(parse_links("https://blog.example").is_err());
        assert!(parse_links("x=ftp://a").is_err());
    }
}
