//! `backfeed check`: a first-run and after-upgrade self-test that says,
//! line by line, what works and what to fix: the store (reachable,
//! migrated); the Mastodon token (valid, whose, its scopes); that
//! `BLOG_POST_PATTERN` matches the posts in the blog's feeds; that the
//! blog's pages advertise our webmention endpoint; that the widget loads.
//!
//! Invariant: the exit code is 0 only when nothing needed by an enabled
//! feature failed; what cannot be checked for want of a setting is a
//! warning, a feature that is off is skipped. It only reads: nothing is
//! posted, sent or changed (the store's migrations run, as at start-up).

mod endpoint;
mod feed;

use std::process::ExitCode;

use url::Url;

use crate::App;
use crate::clients::http::{Fetched, HttpClient};
use crate::clients::mastodon::oauth::{LoginError, MastodonOAuth, missing_scopes};
use crate::config::Config;

/// How one line came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn tag(self) -> &'static str {
        match self {
            Self::Ok => "[ ok ]",
            Self::Warn => "[warn]",
            Self::Fail => "[FAIL]",
            Self::Skip => "[skip]",
        }
    }
}

/// The lines so far, printed as they come.
#[derive(Default)]
struct Report {
    failed: usize,
    warned: usize,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: impl AsRef<str>) {
        println!("{} {what}: {}", status.tag(), detail.as_ref());
        match status {
            Status::Fail => self.failed += 1,
            Status::Warn => self.warned += 1,
            Status::Ok | Status::Skip => {}
        }
    }

    fn fix(&self, hint: impl AsRef<str>) {
        println!("       fix: {}", hint.as_ref());
    }
}

pub async fn run(config: Config) -> ExitCode {
    let mut report = Report::default();
    let fetcher = match HttpClient::new(config.fetch.clone()) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("backfeed: cannot start the HTTP client: {error}");
            return ExitCode::FAILURE;
        }
    };
    check_store(&mut report, &config).await;
    check_mastodon(&mut report, &config).await;
    let posts = check_feeds(&mut report, &config, &fetcher).await;
    let base = check_endpoint(&mut report, &config, &fetcher, &posts).await;
    check_widget(&mut report, &config, &fetcher, base.as_ref()).await;
    if config.admin_token.is_some() {
        let at = base.as_ref().and_then(|b| b.join("admin/").ok());
        let at = at.map_or_else(|| "/admin/".to_owned(), |u| u.to_string());
        report.line(Status::Ok, "admin pages", format!("on, at {at}"));
    } else {
        report.line(
            Status::Skip,
            "admin pages",
            "off (set BACKFEED_ADMIN_TOKEN to turn them on)",
        );
    }
    println!();
    if report.failed == 0 {
        println!(
            "Everything needed for the enabled features is in order{}.",
            if report.warned > 0 {
                " (see the warnings)"
            } else {
                ""
            }
        );
        ExitCode::SUCCESS
    } else {
        println!("{} check(s) failed.", report.failed);
        ExitCode::FAILURE
    }
}

async fn check_store(report: &mut Report, config: &Config) {
    let shown = config.database.redacted();
    let app = match App::build(config.clone()).await {
        Ok(app) => app,
        Err(error) => {
            report.line(Status::Fail, "store", format!("{shown}: {error}"));
            report.fix(
                "check DATABASE_URL, and that the database is running and reachable from here",
            );
            return;
        }
    };
    match app.store.ping().await {
        Ok(()) => report.line(
            Status::Ok,
            "store",
            format!("{shown} is reachable and its schema is migrated to this version"),
        ),
        Err(error) => {
            report.line(Status::Fail, "store", format!("{shown}: {error}"));
            report.fix("check that the database is running and reachable from here");
        }
    }
}

async fn check_mastodon(report: &mut Report, config: &Config) {
    let Some(announce) = &config.announce else {
        report.line(
            Status::Skip,
            "mastodon",
            "announcing is off (set MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN and BLOG_POST_PATTERN, or run `backfeed mastodon login <instance>`)",
        );
        return;
    };
    let mastodon = &announce.mastodon;
    let login_again = format!(
        "run `backfeed mastodon login {}` for a new token",
        mastodon.base.host
    );
    let oauth = match MastodonOAuth::new(mastodon.base.clone(), &config.fetch) {
        Ok(oauth) => oauth,
        Err(error) => {
            report.line(Status::Fail, "mastodon", error.to_string());
            return;
        }
    };
    let token = mastodon.token.expose();
    match oauth.verify_credentials(token).await {
        Ok(account) if account.username.eq_ignore_ascii_case(&mastodon.user) => report.line(
            Status::Ok,
            "mastodon token",
            format!("valid, for @{}@{}", account.username, mastodon.base.host),
        ),
        Ok(account) => {
            report.line(
                Status::Fail,
                "mastodon token",
                format!(
                    "belongs to @{}, but MASTODON_USER is `{}`",
                    account.username, mastodon.user
                ),
            );
            report.fix(format!("set MASTODON_USER={}", account.username));
        }
        Err(LoginError::CannotReadAccount) => report.line(
            Status::Warn,
            "mastodon token",
            "cannot read its own account (no `profile` or `read:accounts` scope), so whose it is goes unchecked",
        ),
        Err(error) => {
            report.line(Status::Fail, "mastodon token", error.to_string());
            report.fix(&login_again);
            return;
        }
    }
    match oauth.app_scopes(token).await {
        Ok(Some(scopes)) => {
            let missing = missing_scopes(&scopes);
            if missing.is_empty() {
                report.line(Status::Ok, "mastodon scopes", scopes.join(" "));
            } else {
                report.line(
                    Status::Fail,
                    "mastodon scopes",
                    format!("{} lacks {}", scopes.join(" "), missing.join(" and ")),
                );
                report.fix(&login_again);
            }
        }
        Ok(None) => report.line(
            Status::Warn,
            "mastodon scopes",
            "the instance does not say (Mastodon before 4.3); backfeed needs read:statuses and write:statuses",
        ),
        Err(error) => {
            report.line(Status::Fail, "mastodon scopes", error.to_string());
            report.fix(&login_again);
        }
    }
}

/// Checks `BLOG_POST_PATTERN` against every feed; returns the posts found.
async fn check_feeds(report: &mut Report, config: &Config, fetcher: &HttpClient) -> Vec<Url> {
    let mut posts = Vec::new();
    if config.publish.feeds.is_empty() {
        report.line(
            Status::Warn,
            "feed",
            "BACKFEED_FEEDS is not set, so BLOG_POST_PATTERN and the post pages go unchecked",
        );
        return posts;
    }
    for feed_url in &config.publish.feeds {
        let what = format!("feed {feed_url}");
        let found = fetch(fetcher, feed_url, "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5")
            .await
            .and_then(|page| feed::post_urls(&page.body, &page.final_url));
        let urls = match found {
            Ok(urls) if urls.is_empty() => {
                report.line(Status::Warn, &what, "lists no posts");
                continue;
            }
            Ok(urls) => urls,
            Err(error) => {
                report.line(Status::Fail, &what, error);
                report.fix("check BACKFEED_FEEDS");
                continue;
            }
        };
        match &config.announce {
            None => report.line(Status::Ok, &what, format!("lists {} posts", urls.len())),
            Some(announce) => {
                let unmatched: Vec<&Url> = urls
                    .iter()
                    .filter(|u| !announce.post_pattern.matches(u.as_str()))
                    .collect();
                if unmatched.is_empty() {
                    report.line(
                        Status::Ok,
                        &what,
                        format!("BLOG_POST_PATTERN matches all {} posts", urls.len()),
                    );
                } else {
                    let examples: Vec<String> =
                        unmatched.iter().take(3).map(|u| u.to_string()).collect();
                    report.line(
                        Status::Fail,
                        &what,
                        format!(
                            "BLOG_POST_PATTERN matches {} of {} posts; not {}",
                            urls.len() - unmatched.len(),
                            urls.len(),
                            examples.join(", ")
                        ),
                    );
                    report.fix(
                        "change BLOG_POST_PATTERN so that it matches the start of every post's URL",
                    );
                }
            }
        }
        posts.extend(urls);
    }
    posts
}

/// Checks that the sites' home pages and a few posts advertise our
/// webmention endpoint; returns this service's base URL (the public URL,
/// else where the advertised endpoint lives).
async fn check_endpoint(
    report: &mut Report,
    config: &Config,
    fetcher: &HttpClient,
    posts: &[Url],
) -> Option<Url> {
    let mut base = config.public_url.clone();
    let Some(webmention) = &config.webmention else {
        report.line(
            Status::Skip,
            "webmention endpoint",
            "receiving webmentions is off (set BACKFEED_SITES)",
        );
        return base;
    };
    let expected: Vec<Url> = config
        .public_url
        .iter()
        .flat_map(|u| [u.join("webmention"), u.join("web-mentions")])
        .flatten()
        .collect();
    let mut pages: Vec<Url> = webmention.sites.bases().to_vec();
    pages.extend(posts.iter().take(3).cloned());
    for page in pages {
        let what = format!("page {page}");
        let fetched = match fetch(fetcher, &page, "text/html").await {
            Ok(fetched) => fetched,
            Err(error) => {
                report.line(Status::Fail, &what, error);
                continue;
            }
        };
        let links: Vec<&str> = fetched
            .headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let Some(found) = endpoint::find(&links, &fetched.text_lossy(), &fetched.final_url) else {
            report.line(Status::Fail, &what, "advertises no webmention endpoint");
            let href = expected.first().map_or_else(
                || "https://<this service>/webmention".to_owned(),
                Url::to_string,
            );
            report.fix(format!(
                r#"add <link rel="webmention" href="{href}"> to the blog's pages"#
            ));
            continue;
        };
        if !expected.is_empty() {
            if expected.contains(&found) {
                report.line(Status::Ok, &what, format!("advertises {found}"));
            } else {
                report.line(
                    Status::Fail,
                    &what,
                    format!("advertises {found}, not this service ({})", expected[0]),
                );
                report.fix(format!(
                    r#"point the blog's <link rel="webmention"> at {}"#,
                    expected[0]
                ));
            }
            continue;
        }
        // Without BACKFEED_PUBLIC_URL: is a backfeed of this version there?
        let Ok(there) = found.join("./") else {
            continue;
        };
        match status_rev(fetcher, &there).await {
            Some(rev) if rev == config.version => {
                report.line(
                    Status::Ok,
                    &what,
                    format!("advertises {found}, a backfeed of this version"),
                );
                base.get_or_insert(there);
            }
            Some(rev) => report.line(
                Status::Warn,
                &what,
                format!(
                    "advertises {found}, a backfeed of version {rev} (this one is {})",
                    config.version
                ),
            ),
            None => {
                report.line(
                    Status::Fail,
                    &what,
                    format!("advertises {found}, where no backfeed answers"),
                );
                report.fix(
                    "point the blog's <link rel=\"webmention\"> at this service's /webmention",
                );
            }
        }
    }
    base
}

/// `rev` from `GET {base}status`, if a backfeed answers there.
async fn status_rev(fetcher: &HttpClient, base: &Url) -> Option<String> {
    let url = base.join("status").ok()?;
    let page = fetch(fetcher, &url, "application/json").await.ok()?;
    let body: serde_json::Value = serde_json::from_slice(&page.body).ok()?;
    body["rev"].as_str().map(str::to_owned)
}

async fn check_widget(
    report: &mut Report,
    config: &Config,
    fetcher: &HttpClient,
    base: Option<&Url>,
) {
    let Some(base) = base else {
        report.line(
            Status::Warn,
            "widget",
            "where readers load it from is unknown: set BACKFEED_PUBLIC_URL to check it",
        );
        return;
    };
    let Ok(url) = base.join("widget.js") else {
        return;
    };
    let what = format!("widget {url}");
    match fetch(fetcher, &url, "text/javascript").await {
        Ok(page) => {
            let javascript = page
                .content_type()
                .is_some_and(|t| t.contains("javascript"));
            let cors =
                page.headers.contains_key("access-control-allow-origin") || config.platform_cors;
            if javascript && cors {
                report.line(
                    Status::Ok,
                    &what,
                    "loads, as a script other sites may embed",
                );
            } else {
                report.line(
                    Status::Fail,
                    &what,
                    format!(
                        "answers {} without {}",
                        page.content_type().unwrap_or_default(),
                        if javascript {
                            "Access-Control-Allow-Origin"
                        } else {
                            "a JavaScript type"
                        }
                    ),
                );
                report
                    .fix("serve backfeed's own /widget.js there (a proxy in front may rewrite it)");
            }
        }
        Err(error) => {
            report.line(Status::Fail, &what, error);
            report.fix("check BACKFEED_PUBLIC_URL, and that this service is reachable there");
        }
    }
}

/// A successful fetch, or a sentence saying what went wrong.
async fn fetch(fetcher: &HttpClient, url: &Url, accept: &str) -> Result<Fetched, String> {
    let page = fetcher.get(url, accept).await.map_err(|e| e.to_string())?;
    if page.status.is_success() {
        Ok(page)
    } else {
        Err(format!("answers HTTP {}", page.status))
    }
}
