//! Each parameter and format of the read API against webmention.io's
//! behaviour as its source has it (`controllers/api.rb`,
//! `helpers/formats.rb`, `views/mentions.erb`; research notes §3.5): the
//! expected answers below are what that code gives for the same data.

use std::time::Duration;

use backfeed::domain::mention::{Author, MentionData, MentionId, Moderation, Relation, Transition};
use backfeed::storage::Store;
use time::OffsetDateTime;
use url::Url;

use crate::helpers::{TestApp, spawn_app_with_clock};

const READ_TOKEN: &str = "compat-read-token-0123456789";
const ADMIN_TOKEN: &str = "compat-admin-token-0123456789";

struct Site {
    app: TestApp,
    /// Ids in the order received (oldest first).
    ids: Vec<MentionId>,
    post: String,
    other_post: String,
    start: OffsetDateTime,
}

/// Six mentions of two posts on the fake blog, received a minute apart,
/// and one of another host's page:
/// 0 reply to `post` (published 2026-01-03), 1 like, 2 rsvp yes,
/// 3 rsvp no, 4 rsvp maybe (published 2026-01-01), 5 mention of
/// `other_post`; 6 reply to https://elsewhere.example/.
async fn site() -> Site {
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_READ_TOKENS".into(), READ_TOKEN.into());
            env.insert("BACKFEED_ADMIN_TOKEN".into(), ADMIN_TOKEN.into());
        },
        false,
    )
    .await;
    let post = app.blog.url("/posts/compat/");
    let other_post = app.blog.url("/posts/other/");
    let start = app.app.clock.now();
    let plan: [(&str, Relation, Option<&str>); 7] = [
        (&post, Relation::Reply, Some("2026-01-03T10:00:00Z")),
        (&post, Relation::Like, None),
        (&post, Relation::Rsvp("yes".into()), None),
        (&post, Relation::Rsvp("no".into()), None),
        (
            &post,
            Relation::Rsvp("maybe".into()),
            Some("2026-01-01T10:00:00Z"),
        ),
        (&other_post, Relation::Mention, None),
        ("https://elsewhere.example/", Relation::Reply, None),
    ];
    let mut ids = Vec::new();
    for (n, (target, relation, published)) in plan.into_iter().enumerate() {
        let at = start + Duration::from_secs(60 * n as u64);
        ids.push(store_mention(&*app.app.store, n, target, relation, published, at).await);
    }
    Site {
        app,
        ids,
        post,
        other_post,
        start,
    }
}

async fn store_mention(
    store: &dyn Store,
    n: usize,
    target: &str,
    relation: Relation,
    published: Option<&str>,
    at: OffsetDateTime,
) -> MentionId {
    let source = Url::parse(&format!("https://s{n}.example/entry/{n}")).unwrap();
    let id = store
        .receive_mention(
            &source,
            &Url::parse(target).unwrap(),
            Moderation::Approved,
            at,
        )
        .await
        .unwrap();
    let seen = store.find_mention(id).await.unwrap().unwrap().updated_at;
    let data = MentionData {
        relation,
        author: Some(Author {
            name: Some(format!("Person {n}")),
            photo: None,
            url: Some(format!("https://s{n}.example/")),
        }),
        content_html: Some(format!("<p>Text {n}</p>")),
        content_text: Some(format!("Text {n}")),
        published: published.map(str::to_owned),
        ..MentionData::default()
    };
    store
        .settle_mention(id, &Transition::Verify(data), seen, at)
        .await
        .unwrap();
    id
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Site {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.app.get(path).await
    }

    async fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// The `wm-id`s of a JF2 answer, in order.
    async fn ids(&self, query: &str) -> Vec<i64> {
        let feed = self.json(&format!("/api/mentions.jf2?{query}")).await;
        feed["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["wm-id"].as_i64().unwrap())
            .collect()
    }

    fn id(&self, n: usize) -> i64 {
        self.ids[n].0
    }

    fn of(&self, ns: &[usize]) -> Vec<i64> {
        ns.iter().map(|n| self.id(*n)).collect()
    }
}

#[tokio::test]
async fn a_listing_without_target_needs_a_valid_token_and_domain_narrows_it_to_one_host() {
    let s = site().await;
    // api.rb: no target and no token → refused; a wrong token → 401.
    for query in ["", "domain=127.0.0.1", "token=wrong-token-0123456789"] {
        let response = s.get(&format!("/api/mentions.jf2?{query}")).await;
        assert_eq!(response.status(), 401, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    }
    // `token` alone: every mention of every site, newest first.
    let all = s.ids(&format!("token={READ_TOKEN}")).await;
    assert_eq!(all, s.of(&[6, 5, 4, 3, 2, 1, 0]));
    // `access_token` is the same parameter; the admin token works too.
    assert_eq!(s.ids(&format!("access_token={READ_TOKEN}")).await, all);
    assert_eq!(s.ids(&format!("token={ADMIN_TOKEN}")).await, all);
    // `domain`: one site's (a host name; here the fake blog's, any port).
    assert_eq!(
        s.ids(&format!("token={READ_TOKEN}&domain=127.0.0.1")).await,
        s.of(&[5, 4, 3, 2, 1, 0])
    );
    assert_eq!(
        s.ids(&format!("token={READ_TOKEN}&domain=elsewhere.example"))
            .await,
        s.of(&[6])
    );
    // A domain that is no site of ours lists nothing (as webmention.io).
    assert!(
        s.ids(&format!("token={READ_TOKEN}&domain=nowhere.example"))
            .await
            .is_empty()
    );
    // Token listings are private to the holder; target queries stay public.
    let response = s
        .get(&format!("/api/mentions.jf2?token={READ_TOKEN}"))
        .await;
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    assert_eq!(s.ids(&format!("target={}", enc(&s.post))).await.len(), 5);
}

#[tokio::test]
async fn targets_repeat_and_a_protocol_relative_one_matches_http_and_https() {
    let s = site().await;
    let both = format!("target[]={}&target[]={}", enc(&s.post), enc(&s.other_post));
    assert_eq!(s.ids(&both).await, s.of(&[5, 4, 3, 2, 1, 0]));
    // The fake blog is http: `//host/path` finds it as webmention.io's
    // expansion to `https:` and `http:` does.
    let relative = s.post.trim_start_matches("http:");
    assert_eq!(s.ids(&format!("target={}", enc(relative))).await.len(), 5);
    // A token given with a target is not needed and not checked.
    assert_eq!(
        s.ids(&format!("target={}&token=wrong", enc(&s.other_post)))
            .await,
        s.of(&[5])
    );
}

#[tokio::test]
async fn per_page_and_page_count_from_zero_and_per_page_wins_in_camel_case() {
    let s = site().await;
    let t = enc(&s.post);
    assert_eq!(
        s.ids(&format!("target={t}&per-page=2")).await,
        s.of(&[4, 3])
    );
    assert_eq!(
        s.ids(&format!("target={t}&per-page=2&page=1")).await,
        s.of(&[2, 1])
    );
    assert_eq!(
        s.ids(&format!("target={t}&per-page=2&page=2")).await,
        s.of(&[0])
    );
    assert!(
        s.ids(&format!("target={t}&per-page=2&page=3"))
            .await
            .is_empty()
    );
    assert_eq!(
        s.ids(&format!("target={t}&perPage=1&per-page=3")).await,
        s.of(&[4])
    );
    // webmention.io has no maximum: `per-page=9001` (its README's example)
    // answers everything while that is within ours.
    assert_eq!(s.ids(&format!("target={t}&per-page=9001")).await.len(), 5);
}

#[tokio::test]
async fn a_per_page_above_the_maximum_is_refused_only_when_more_remain() {
    let s = site().await;
    let target = s.app.blog.url("/posts/many/");
    for n in 0..1_001 {
        let at = s.start + Duration::from_secs(3600 + n as u64);
        store_mention(
            &*s.app.app.store,
            100 + n,
            &target,
            Relation::Like,
            None,
            at,
        )
        .await;
    }
    let t = enc(&target);
    let response = s
        .get(&format!("/api/mentions.jf2?target={t}&per-page=9001"))
        .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("at most 1000"),
        "{body}"
    );
    assert_eq!(
        s.ids(&format!("target={t}&per-page=1000")).await.len(),
        1000
    );
    assert_eq!(
        s.ids(&format!("target={t}&per-page=1000&page=1"))
            .await
            .len(),
        1
    );
    // With fewer left than the maximum, a large per-page is fine again.
    assert_eq!(
        s.ids(&format!("target={t}&per-page=9001&wm-property=rsvp"))
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn sort_by_and_sort_dir_read_as_webmention_io_reads_them() {
    let s = site().await;
    let t = enc(&s.post);
    // Default: created, descending. `sort-dir=down` is descending; any
    // other value ascending, even `desc`.
    let newest_first = s.of(&[4, 3, 2, 1, 0]);
    let oldest_first = s.of(&[0, 1, 2, 3, 4]);
    assert_eq!(s.ids(&format!("target={t}")).await, newest_first);
    assert_eq!(
        s.ids(&format!("target={t}&sort-dir=down")).await,
        newest_first
    );
    for dir in ["up", "desc", "sideways"] {
        assert_eq!(
            s.ids(&format!("target={t}&sort-dir={dir}")).await,
            oldest_first,
            "{dir}"
        );
    }
    // An unknown sort-by is created.
    assert_eq!(
        s.ids(&format!("target={t}&sort-by=rank")).await,
        newest_first
    );
    // published, then created: those without a date last going down.
    assert_eq!(
        s.ids(&format!("target={t}&sort-by=published")).await,
        s.of(&[0, 4, 3, 2, 1])
    );
    // updated: the time webmention.io last saw the mention change.
    let now = s.app.app.clock.now() + Duration::from_secs(3600);
    s.app
        .app
        .store
        .set_moderation(s.ids[1], Moderation::Approved, now)
        .await
        .unwrap();
    s.app.advance(Duration::from_secs(60));
    assert_eq!(
        s.ids(&format!("target={t}&sort-by=updated")).await,
        s.of(&[1, 4, 3, 2, 0])
    );
    // rsvp: "yes" first going down, "no" first going up (README).
    assert_eq!(
        s.ids(&format!("target={t}&sort-by=rsvp")).await,
        s.of(&[2, 4, 3, 1, 0])
    );
    assert_eq!(
        s.ids(&format!("target={t}&sort-by=rsvp&sort-dir=up")).await,
        s.of(&[3, 4, 2, 0, 1])
    );
}

#[tokio::test]
async fn since_is_iso_8601_against_the_received_time_and_since_id_is_exclusive() {
    let s = site().await;
    let t = enc(&s.post);
    // The README's own example form: an offset without a colon.
    let at = (s.start + Duration::from_secs(150)).to_offset(time::macros::offset!(-7));
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    let since = at.format(&format).unwrap();
    assert_eq!(
        s.ids(&format!("target={t}&since={}", enc(&since))).await,
        s.of(&[4, 3])
    );
    // `wm-received` as clients send it back, unencoded (`:` and `Z`).
    let received = backfeed::protocol::jf2::received(s.start + Duration::from_secs(181));
    assert_eq!(
        s.ids(&format!("target={t}&since={received}")).await,
        s.of(&[4])
    );
    assert_eq!(
        s.ids(&format!("target={t}&since_id={}", s.id(2))).await,
        s.of(&[4, 3])
    );
}

#[tokio::test]
async fn wm_property_takes_one_or_several_and_rsvp_means_all_four_values() {
    let s = site().await;
    let t = enc(&s.post);
    assert_eq!(
        s.ids(&format!("target={t}&wm-property=like-of")).await,
        s.of(&[1])
    );
    assert_eq!(
        s.ids(&format!("target={t}&wm-property=rsvp")).await,
        s.of(&[4, 3, 2])
    );
    assert_eq!(
        s.ids(&format!(
            "target={t}&wm-property[]=in-reply-to&wm-property[]=like-of"
        ))
        .await,
        s.of(&[1, 0])
    );
    assert!(
        s.ids(&format!("target={t}&wm-property=likes"))
            .await
            .is_empty()
    );
    let feed = s
        .json(&format!("/api/mentions.jf2?target={t}&wm-property=rsvp"))
        .await;
    let rsvp = &feed["children"][2];
    assert_eq!(rsvp["wm-property"], "rsvp");
    assert_eq!(rsvp["rsvp"], "yes");
    assert_eq!(rsvp["in-reply-to"], s.post.as_str());
}

#[tokio::test]
async fn jsonp_wraps_json_in_a_call_of_a_safe_name_only() {
    let s = site().await;
    let t = enc(&s.other_post);
    let response = s
        .get(&format!(
            "/api/mentions.jf2?target={t}&jsonp=handle.mentions"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = response.text().await.unwrap();
    let json = body
        .strip_prefix("/**/handle.mentions(")
        .and_then(|b| b.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{body}"));
    let feed: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(feed["children"][0]["wm-id"], s.id(5));
    let bad = s
        .get(&format!(
            "/api/mentions.jf2?target={t}&jsonp=alert(document.domain)"
        ))
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_legacy_json_format_and_the_links_alias() {
    let s = site().await;
    let t = enc(&s.post);
    for path in [
        "/api/mentions",
        "/api/mentions.json",
        "/api/links",
        "/api/links.json",
    ] {
        let body = s
            .json(&format!("{path}?target={t}&per-page=1&sort-dir=up"))
            .await;
        let link = &body["links"][0];
        assert_eq!(link["id"], s.id(0), "{path}");
        assert_eq!(link["source"], "https://s0.example/entry/0");
        assert_eq!(link["target"], s.post.as_str());
        assert_eq!(link["verified"], true);
        assert_eq!(link["private"], false);
        assert_eq!(link["activity"]["type"], "reply");
        assert_eq!(link["data"]["author"]["name"], "Person 0");
        assert_eq!(link["data"]["content"], "<p>Text 0</p>");
        assert_eq!(link["data"]["published"], "2026-01-03T10:00:00Z");
        assert_eq!(link["data"]["published_ts"], 1_767_434_400);
    }
    let jf2 = s.json(&format!("/api/links.jf2?target={t}")).await;
    assert_eq!(jf2["type"], "feed");
    let rsvp = s
        .json(&format!("/api/mentions.json?target={t}&wm-property=rsvp"))
        .await;
    let types: Vec<_> = rsvp["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["activity"]["type"].clone(), l["data"]["rsvp"].clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("rsvp".into(), "maybe".into()),
            ("rsvp".into(), "no".into()),
            ("rsvp".into(), "yes".into())
        ]
    );
}

#[tokio::test]
async fn atom_has_an_entry_per_mention_with_its_content() {
    let s = site().await;
    let response = s
        .get(&format!("/api/mentions.atom?target={}", enc(&s.post)))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let xml = response.text().await.unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
    assert!(xml.contains("<title>Mentions</title>"));
    assert_eq!(xml.matches("<entry>").count(), 5);
    // Titled as webmention.io titles them: "<source host> <verb> <target path>".
    assert!(
        xml.contains("<title>s0.example replied to /posts/compat/</title>"),
        "{xml}"
    );
    assert!(xml.contains("<title>s1.example liked /posts/compat/</title>"));
    assert!(xml.contains(&format!(
        "<summary>https://s1.example/entry/1 liked {}</summary>",
        s.post
    )));
    // And, unlike webmention.io's, what was said.
    assert!(xml.contains("&lt;p&gt;Text 0&lt;/p&gt;"), "{xml}");
    assert!(xml.contains("<author><name>Person 0</name>"));
}

#[tokio::test]
async fn html_is_an_h_feed_a_microformats_reader_can_follow() {
    let s = site().await;
    let response = s
        .get(&format!("/api/mentions.html?target={}", enc(&s.other_post)))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    let base = Url::parse(&s.app.address).unwrap();
    let document = backfeed::protocol::mf2::parse(&html, &base);
    let feed = &document.items[0];
    assert_eq!(feed.r#type, ["h-feed"]);
    assert_eq!(feed.children.len(), 1);
    let entry = &feed.children[0];
    assert_eq!(entry.r#type, ["h-entry"]);
    for property in ["mention-of", "author", "content", "url", "published"] {
        assert!(
            entry.properties.contains_key(property),
            "{property}: {html}"
        );
    }
}

#[tokio::test]
async fn count_counts_by_webmention_io_s_types_for_one_or_several_targets() {
    let s = site().await;
    let count = s.json(&format!("/api/count?target={}", enc(&s.post))).await;
    assert_eq!(
        count,
        serde_json::json!({
            "count": 5,
            "type": {"reply": 1, "like": 1, "rsvp-yes": 1, "rsvp-no": 1, "rsvp-maybe": 1},
        })
    );
    let both = s
        .json(&format!(
            "/api/count.json?target[]={}&target[]={}",
            enc(&s.post),
            enc(&s.other_post)
        ))
        .await;
    assert_eq!(both["count"], 6);
    assert_eq!(both["type"]["mention"], 1);
    let missing = s.get("/api/count").await;
    assert_eq!(missing.status(), 400);
}
