//! Updates and deletes (W3C Webmention §3.1.4, §3.1.5) against the local
//! webmention.rocks update tests 1–2 and delete test 1: their endpoints
//! take a one-time key (so every re-send must rediscover) and fetch our
//! post to check what it links now.

use std::time::Duration;

use backfeed::domain::sent::{GONE_VERSION, SendStatus};

use super::harness::{Scene, item, scene};

async fn run(s: &Scene) -> backfeed::publish::RunReport {
    // A new minute, so nothing depends on two runs sharing a timestamp.
    s.app.advance(Duration::from_secs(60));
    s.publish().await
}

#[tokio::test]
async fn rocks_update_test_1_adding_a_link_re_sends_to_the_old_and_sends_to_the_new() {
    let s = scene(|_| {}).await;
    let (one, two) = (s.rocks.url("/update/1"), s.rocks.url("/update/1/part/2"));
    let post = s.post("update-1", std::slice::from_ref(&one));
    s.feed(&[item(&post, "Update 1", "first")]);
    let first = run(&s).await;
    assert_eq!((first.scan.new, first.done.sent), (1, 1), "{first:#?}");
    assert_eq!(s.rocks.checkmarks(), ["update1:1".to_owned()].into());

    s.post("update-1", &[one.clone(), two.clone()]);
    s.feed(&[item(&post, "Update 1", "with part 2")]);
    let second = run(&s).await;

    assert_eq!(
        (second.scan.changed, second.done.sent),
        (1, 2),
        "{second:#?}"
    );
    assert_eq!(
        s.rocks.checkmarks(),
        ["update1:1", "update1:2", "update1:3"]
            .map(str::to_owned)
            .into()
    );
    assert!(s.rocks.notes().is_empty(), "{:?}", s.rocks.notes());
    assert_eq!(
        s.rocks.gets("/update/1"),
        2,
        "the endpoint was discovered again"
    );
}

#[tokio::test]
async fn rocks_update_test_2_removing_a_link_re_sends_to_it_too() {
    let s = scene(|_| {}).await;
    let (one, two) = (s.rocks.url("/update/2"), s.rocks.url("/update/2/part/2"));
    let post = s.post("update-2", &[one.clone(), two.clone()]);
    s.feed(&[item(&post, "Update 2", "both")]);
    run(&s).await;
    assert_eq!(
        s.rocks.checkmarks(),
        ["update2:1", "update2:2"].map(str::to_owned).into()
    );

    s.post("update-2", std::slice::from_ref(&one));
    s.feed(&[item(&post, "Update 2", "part 2 removed")]);
    let second = run(&s).await;

    assert_eq!(second.done.sent, 2, "{second:#?}");
    assert_eq!(
        s.rocks.checkmarks(),
        ["update2:1", "update2:2", "update2:3", "update2:4"]
            .map(str::to_owned)
            .into()
    );
    assert!(s.rocks.notes().is_empty(), "{:?}", s.rocks.notes());
    let sent = s.sent(&post).await;
    assert_eq!(
        sent.links.len(),
        1,
        "the post links one target now: {sent:#?}"
    );
    assert_eq!(sent.targets.len(), 2, "and was sent to both: {sent:#?}");
}

#[tokio::test]
async fn rocks_delete_test_1_a_post_that_answers_410_re_sends_to_every_target_once() {
    let s = scene(|_| {}).await;
    let target = s.rocks.url("/delete/1");
    let other = s.rocks.url("/extra/capital-rel");
    let post = s.post("delete-1", std::slice::from_ref(&target));
    let kept = s.post("kept", &[]);
    s.feed(&[item(&post, "Delete 1", "x"), item(&kept, "Kept", "y")]);
    run(&s).await;
    // An edit adds a link, then the post is deleted: both targets hear of it.
    s.post("delete-1", &[target.clone(), other.clone()]);
    s.feed(&[item(&post, "Delete 1", "edited"), item(&kept, "Kept", "y")]);
    run(&s).await;
    assert!(s.rocks.checkmarks().contains("delete1:1"));
    let posted_before = s.rocks.posted().len();

    s.app.blog.page_with_status(
        "/posts/delete-1/",
        410,
        "<!DOCTYPE html><title>Deleted</title><p>Deleted</p>",
    );
    s.feed(&[item(&kept, "Kept", "y")]);
    let deleted = run(&s).await;

    assert_eq!(
        (deleted.scan.deleted, deleted.done.sent),
        (1, 2),
        "{deleted:#?}"
    );
    assert!(
        s.rocks.checkmarks().contains("delete1:2"),
        "{:?}",
        s.rocks.notes()
    );
    assert_eq!(s.rocks.posted().len(), posted_before + 2);
    let sent = s.sent(&post).await;
    assert!(sent.gone);
    assert!(
        sent.targets
            .iter()
            .all(|t| t.version == GONE_VERSION && t.status == SendStatus::Sent)
    );

    // Checked once: the next change of the feed sends nothing for it.
    let again_kept = s.post("kept", &[]);
    s.feed(&[item(&again_kept, "Kept", "edited")]);
    let after = run(&s).await;
    assert_eq!((after.scan.deleted, after.done.sent), (0, 0), "{after:#?}");
    assert_eq!(s.rocks.posted().len(), posted_before + 2);
}

#[tokio::test]
async fn a_tombstone_page_with_the_status_meta_tag_counts_as_deleted() {
    let s = scene(|_| {}).await;
    let target = s.rocks.url("/extra/capital-rel");
    let post = s.post("static-delete", std::slice::from_ref(&target));
    s.feed(&[item(&post, "Static", "x")]);
    run(&s).await;

    let tombstone = "<!DOCTYPE html><html><head><meta http-equiv=\"Status\" content=\"410 Gone\">\
                     </head><body><article class=\"h-entry\"><div class=\"e-content\">Deleted</div></article></body></html>";
    s.app.blog.page("/posts/static-delete/", tombstone);
    s.feed(&[]);
    let deleted = run(&s).await;

    assert_eq!(
        (deleted.scan.deleted, deleted.done.sent),
        (1, 1),
        "{deleted:#?}"
    );
    assert!(s.sent(&post).await.gone);
}
