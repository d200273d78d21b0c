//! Leaving webmention.io: its JF2 export (pages of `/api/mentions.jf2`)
//! becomes verified, approved mentions, with hostile HTML made harmless and
//! a malformed entry reported.

use backfeed::config::DatabaseUrl;
use backfeed::domain::mention::{Moderation, Relation, Verification};
use backfeed::storage::{self, MentionQuery};
use url::Url;

use super::{counts, migrated, sqlite_url};

const TARGET: &str = "https://blog.example/posts/hello/";

fn page(children: &[String]) -> String {
    format!(
        r#"{{"type":"feed","name":"Webmentions","children":[{}]}}"#,
        children.join(",")
    )
}

fn entry(id: u32, source: &str, property: &str, extra: &str) -> String {
    // webmention.io names the target under the relation (an RSVP replies).
    let relation = if property == "rsvp" {
        "in-reply-to"
    } else {
        property
    };
    format!(
        r#"{{"type":"entry","wm-id":{id},"wm-source":"{source}","wm-target":"{TARGET}",
            "wm-property":"{property}","{relation}":"{TARGET}","wm-received":"2023-0{id}-01T10:00:00Z",
            "wm-private":false,"url":"{source}"{extra}}}"#
    )
}

fn export() -> String {
    let hostile = r#","author":{"type":"card","name":"Alice","photo":"javascript:alert(3)","url":"https://alice.example/"},
        "content":{"html":"<p onmouseover=\"alert(0)\">Nice post!<script>alert('xss')</script><img src=\"x.png\" onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">click</a></p>","text":"Nice post!"},
        "published":"2023-01-01T09:00:00Z""#;
    let first = page(&[
        entry(1, "https://alice.example/replies/1", "in-reply-to", hostile),
        entry(2, "https://bob.example/likes/1", "like-of", ""),
    ]);
    let second = page(&[
        r#"{"type":"entry","wm-id":3,"wm-source":"https://carol.example/x","wm-property":"mention-of"}"#
            .to_owned(),
        entry(4, "https://dave.example/private", "mention-of", "")
            .replace(r#""wm-private":false"#, r#""wm-private":true"#),
        entry(5, "https://erin.example/rsvp", "rsvp", r#","rsvp":"Yes""#),
    ]);
    // Two pages one after another, as `curl` appends them to one file.
    format!("{first}\n{second}\n")
}

#[tokio::test]
async fn a_webmention_io_export_is_imported_sanitised_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webmention-io.jf2");
    std::fs::write(&file, export()).unwrap();
    let from = format!("jf2:{}", file.display());
    let to = sqlite_url(&dir.path().join("mentions.db"));

    let dry = migrated(&from, &to, &["--dry-run"]).await;
    assert!(dry.starts_with("dry run"), "{dry}");
    assert_eq!(counts(&dry, "mentions"), [5, 4, 0, 0, 1], "{dry}");

    let summary = migrated(&from, &to, &[]).await;
    assert_eq!(counts(&summary, "mentions"), [5, 4, 0, 0, 1], "{summary}");
    assert!(
        summary.contains("page 2 entry 1 (wm-id 3): no wm-target"),
        "{summary}"
    );
    let again = migrated(file.to_str().unwrap(), &to, &[]).await;
    assert_eq!(counts(&again, "mentions"), [5, 0, 4, 0, 1], "{again}");

    let store = storage::open(
        &DatabaseUrl::parse(&to).unwrap(),
        &backfeed::clock::Clock::system(),
    )
    .await
    .unwrap();
    let all = store.export_mentions(None, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|m| m.verification == Verification::Verified));
    let visible = store
        .query_mentions(&MentionQuery {
            targets: vec![Url::parse(TARGET).unwrap()],
            ..MentionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(visible.len(), 3, "the private mention waits for the owner");
    let private = all
        .iter()
        .find(|m| m.source.as_str() == "https://dave.example/private")
        .unwrap();
    assert_eq!(private.moderation, Moderation::Pending);

    let reply = all
        .iter()
        .find(|m| m.source.as_str() == "https://alice.example/replies/1")
        .unwrap();
    assert_eq!(
        reply.received_at,
        time::macros::datetime!(2023-01-01 10:00:00 UTC)
    );
    let data = reply.data.clone().unwrap();
    assert_eq!(data.relation, Relation::Reply);
    let html = data.content_html.unwrap();
    for forbidden in ["<script", "alert", "onerror", "onmouseover", "javascript:"] {
        assert!(!html.contains(forbidden), "{forbidden} survived: {html}");
    }
    assert!(html.contains("Nice post!"), "{html}");
    let author = data.author.unwrap();
    assert_eq!(author.name.as_deref(), Some("Alice"));
    assert_eq!(author.photo, None, "a javascript: photo is dropped");

    let rsvp = all
        .iter()
        .find(|m| m.source.as_str() == "https://erin.example/rsvp")
        .unwrap();
    assert_eq!(
        rsvp.data.as_ref().unwrap().relation,
        Relation::Rsvp("yes".into())
    );
}
