//! The JSON documents others read: WebFinger (RFC 7033), NodeInfo 2.1, the
//! actor, and its ordered collections (paged). Wire shapes only; what goes
//! in them is decided by the callers.
//!
//! The actor carries only standard contexts plus inline terms, so JSON-LD
//! processors that preload contexts (Fedify) never fetch one (research §4.2).

use serde_json::{Value, json};

use super::keys::KeyPair;
use super::urls::Urls;
use crate::config::ActivityPubConfig;

pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const ACTIVITY_JSON: &str = "application/activity+json";
pub const JRD_JSON: &str = "application/jrd+json";
/// Items per collection page.
pub const PAGE_SIZE: usize = 20;

/// Text made safe inside HTML (the five special characters only).
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What a WebFinger `resource` may name: `acct:blog@host`, `blog@host`
/// (backfeed's host or the handle domain, whose `/.well-known/webfinger`
/// forwards here), or the actor's URL. `None`: not us (404). The subject
/// is always the one canonical handle, as Mastodon's round trip requires
/// (research §1.1: the "split domain" setup).
pub fn webfinger(config: &ActivityPubConfig, urls: &Urls, resource: &str) -> Option<Value> {
    let resource = resource.trim();
    let actor = urls.actor();
    if resource != actor {
        let acct = resource.strip_prefix("acct:").unwrap_or(resource);
        let acct = acct.strip_prefix('@').unwrap_or(acct);
        let (user, domain) = acct.rsplit_once('@')?;
        let ours = [Some(config.domain()), config.handle_domain.clone()];
        if !user.eq_ignore_ascii_case(&config.actor)
            || !ours
                .iter()
                .flatten()
                .any(|d| d.eq_ignore_ascii_case(domain))
        {
            return None;
        }
    }
    Some(json!({
        "subject": format!("acct:{}", config.handle()),
        "aliases": [actor, config.blog_url.as_str()],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
             "href": config.blog_url.as_str()},
        ],
    }))
}

/// `/.well-known/nodeinfo` (FEP-f1d5): where the 2.1 document is.
pub fn nodeinfo_links(urls: &Urls) -> Value {
    json!({"links": [{
        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
        "href": urls.at(super::urls::paths::NODEINFO).as_str(),
    }]})
}

/// NodeInfo 2.1: one user, no registrations.
pub fn nodeinfo(version: &str, posts: u64) -> Value {
    json!({
        "version": "2.1",
        "software": {
            "name": "backfeed",
            "version": version,
            "repository": "https://github.com/backfeed/backfeed",
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": false,
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": posts,
        },
        "metadata": {},
    })
}

/// The actor (a `Person`, so it is not shown as a bot).
pub fn actor(config: &ActivityPubConfig, urls: &Urls, key: &KeyPair) -> Value {
    let actor = urls.actor();
    let mut doc = json!({
        "@context": [
            AS_CONTEXT,
            "https://w3id.org/security/v1",
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "toot": "http://joinmastodon.org/ns#",
                "discoverable": "toot:discoverable",
                "indexable": "toot:indexable",
                "schema": "http://schema.org#",
                "PropertyValue": "schema:PropertyValue",
                "value": "schema:value",
            },
        ],
        "id": actor,
        "type": "Person",
        "preferredUsername": config.actor,
        // FEP-2c59: the handle, stated (Mastodon >= 4.6 prefers it).
        "webfinger": config.handle(),
        "name": config.name,
        "url": config.blog_url.as_str(),
        "inbox": urls.inbox(),
        "outbox": urls.outbox(),
        "followers": urls.followers(),
        "following": urls.following(),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": false,
        "discoverable": config.discoverable,
        "indexable": config.indexable,
        "publicKey": {
            "id": urls.key_id(),
            "owner": actor,
            "publicKeyPem": key.public_pem(),
        },
        "attachment": config.links.iter().map(|link| {
            let url = escape_html(link.url.as_str());
            json!({
                "type": "PropertyValue",
                "name": link.name,
                "value": format!(
                    "<a href=\"{url}\" rel=\"me nofollow noopener\" target=\"_blank\">{url}</a>"
                ),
            })
        }).collect::<Vec<_>>(),
    });
    if let Some(summary) = &config.summary {
        doc["summary"] = json!(format!("<p>{}</p>", escape_html(summary)));
    }
    if let Some(icon) = &config.icon {
        doc["icon"] = json!({"type": "Image", "url": icon.as_str()});
    }
    if let Some(header) = &config.header {
        doc["image"] = json!({"type": "Image", "url": header.as_str()});
    }
    doc
}

/// An `OrderedCollection` (no `page`) or one of its pages (`page` from 1),
/// newest first; `items` is `None` when they are not shown (only the count).
pub fn collection(id: &str, total: u64, items: Option<&[Value]>, page: Option<usize>) -> Value {
    let Some(items) = items else {
        return json!({"@context": AS_CONTEXT, "id": id, "type": "OrderedCollection",
                      "totalItems": total});
    };
    let pages = items.len().div_ceil(PAGE_SIZE).max(1);
    match page {
        None => json!({
            "@context": AS_CONTEXT, "id": id, "type": "OrderedCollection", "totalItems": total,
            "first": format!("{id}?page=1"), "last": format!("{id}?page={pages}"),
        }),
        Some(n) => {
            let start = (n.saturating_sub(1)) * PAGE_SIZE;
            let slice: Vec<&Value> = items.iter().skip(start).take(PAGE_SIZE).collect();
            let mut doc = json!({
                "@context": AS_CONTEXT, "id": format!("{id}?page={n}"),
                "type": "OrderedCollectionPage", "partOf": id, "totalItems": total,
                "orderedItems": slice,
            });
            if n < pages {
                doc["next"] = json!(format!("{id}?page={}", n + 1));
            }
            if n > 1 {
                doc["prev"] = json!(format!("{id}?page={}", n - 1));
            }
            doc
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{ObjectType, ProfileLink};
    use url::Url;

    pub(crate) fn config() -> ActivityPubConfig {
        ActivityPubConfig {
            public_url: Url::parse("https://c.example/").unwrap(),
            actor: "blog".into(),
            handle_domain: None,
            name: "A <Blog>".into(),
            summary: Some("Posts & notes".into()),
            icon: None,
            header: None,
            blog_url: Url::parse("https://blog.example/").unwrap(),
            links: vec![ProfileLink {
                name: "Blog".into(),
                url: Url::parse("https://blog.example/").unwrap(),
            }],
            discoverable: true,
            indexable: true,
            object: ObjectType::Article,
            show_followers: false,
        }
    }

    #[test]
    fn webfinger_answers_for_our_handles_and_the_actor_url_only() {
        let config = config();
        let urls = Urls::new(&config);
        for resource in [
            "acct:blog@c.example",
            "blog@c.example",
            "acct:BLOG@C.EXAMPLE",
            "https://c.example/ap/actor",
        ] {
            let jrd = webfinger(&config, &urls, resource).expect(resource);
            assert_eq!(jrd["subject"], "acct:blog@c.example", "{resource}");
            assert_eq!(jrd["links"][0]["href"], "https://c.example/ap/actor");
            assert_eq!(jrd["links"][0]["type"], ACTIVITY_JSON);
        }
        assert!(webfinger(&config, &urls, "acct:blog@blog.example").is_none());
        let mut split = config.clone();
        split.handle_domain = Some("blog.example".into());
        for resource in ["acct:blog@blog.example", "acct:blog@c.example"] {
            let jrd = webfinger(&split, &urls, resource).expect(resource);
            assert_eq!(jrd["subject"], "acct:blog@blog.example", "{resource}");
        }
        for other in ["acct:alice@c.example", "acct:blog@else.example", "blog", ""] {
            assert!(webfinger(&config, &urls, other).is_none(), "{other}");
        }
    }

    #[test]
    fn the_actor_has_what_mastodon_reads() {
        let config = config();
        let urls = Urls::new(&config);
        let key = KeyPair::from_pkcs8_pem(include_str!(
            "../../tests/fixtures/activitypub/test-key.pem"
        ))
        .unwrap();
        let doc = actor(&config, &urls, &key);
        assert_eq!(doc["type"], "Person");
        assert_eq!(doc["preferredUsername"], "blog");
        assert_eq!(doc["inbox"], "https://c.example/ap/inbox");
        assert_eq!(doc["endpoints"]["sharedInbox"], "https://c.example/inbox");
        assert_eq!(
            doc["publicKey"]["id"],
            "https://c.example/ap/actor#main-key"
        );
        assert_eq!(doc["publicKey"]["owner"], "https://c.example/ap/actor");
        assert!(
            doc["publicKey"]["publicKeyPem"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_eq!(doc["manuallyApprovesFollowers"], false);
        assert_eq!(doc["url"], "https://blog.example/");
        assert_eq!(doc["summary"], "<p>Posts &amp; notes</p>");
        assert_eq!(doc["attachment"][0]["type"], "PropertyValue");
    }

    #[test]
    fn collections_page_newest_first_and_hide_items_when_asked() {
        let items: Vec<Value> = (0..45).map(|i| json!(i)).collect();
        let top = collection("https://c.example/x", 45, Some(&items), None);
        assert_eq!(top["first"], "https://c.example/x?page=1");
        assert_eq!(top["last"], "https://c.example/x?page=3");
        let third = collection("https://c.example/x", 45, Some(&items), Some(3));
        assert_eq!(third["orderedItems"].as_array().unwrap().len(), 5);
        assert!(third.get("next").is_none());
        assert_eq!(third["prev"], "https://c.example/x?page=2");
        let hidden = collection("https://c.example/x", 45, None, Some(1));
        assert_eq!(hidden["totalItems"], 45);
        assert!(hidden.get("orderedItems").is_none());
    }
}
