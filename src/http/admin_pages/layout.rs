//! The frame every admin page shares: head, navigation, notices, the
//! sign-out form, and small pieces (pagers, times, tabs).
//!
//! Every page lives one level under `/admin/` (`/admin/mentions`,
//! `/admin/posts`, …), so links are relative (`posts`, `assets/admin.css`)
//! and keep working behind a path prefix (an API Gateway stage). Text is
//! interpolated with maud, which escapes it; nothing here writes raw HTML
//! from data. Navigation is one table, [`NAV`]: a new page is one entry.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::http::extract::Params;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The pages, in navigation order. The sending and fediverse issues add
/// "Sent webmentions" and "Followers" here, one entry each.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "./",
        label: "Overview",
        section: Section::Overview,
    },
    NavItem {
        href: "mentions",
        label: "Mentions",
        section: Section::Mentions,
    },
    NavItem {
        href: "posts",
        label: "Posts",
        section: Section::Posts,
    },
    NavItem {
        href: "comments",
        label: "Comments",
        section: Section::Comments,
    },
    NavItem {
        href: "blocks",
        label: "Blocked domains",
        section: Section::Blocks,
    },
    NavItem {
        href: "jobs",
        label: "Jobs",
        section: Section::Jobs,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Mentions,
    Posts,
    Comments,
    Blocks,
    Jobs,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub section: Section,
}

/// What the frame needs from the request.
pub struct Frame<'a> {
    pub title: &'a str,
    /// `None` on pages outside the navigation (sign-in, errors).
    pub section: Option<Section>,
    /// The session's CSRF token; `None` when signed out.
    pub csrf: Option<&'a str>,
    /// A sentence about what the last action did.
    pub notice: Option<Notice>,
}

/// The outcome of an action, shown once after its redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// A whole page, ready to send.
pub fn page(frame: &Frame<'_>, main: Markup) -> Html<String> {
    Html(frame_markup(frame, main).into_string())
}

fn frame_markup(frame: &Frame<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="no-referrer";
                title { (frame.title) " · backfeed admin" }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                script type="module" src=(super::assets::JS_PATH) {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    p.brand { "backfeed" span.muted { " admin" } }
                    @if frame.csrf.is_some() {
                        nav aria-label="Admin pages" {
                            ul {
                                @for item in NAV {
                                    li {
                                        @if frame.section == Some(item.section) {
                                            a href=(item.href) aria-current="page" { (item.label) }
                                        } @else {
                                            a href=(item.href) { (item.label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(csrf) = frame.csrf {
                        form.sign-out method="post" action="sign-out" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (frame.title) }
                    @if let Some(notice) = &frame.notice {
                        @if notice.error {
                            p.notice.error role="alert" { (notice.text) }
                        } @else {
                            p.notice role="status" { (notice.text) }
                        }
                    }
                    (main)
                }
            }
        }
    }
}

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A time as `2026-12-01 10:00 UTC` inside `<time datetime>`.
pub fn time(at: OffsetDateTime) -> Markup {
    let iso = at.format(&Rfc3339).unwrap_or_default();
    let shown = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    );
    html! { time datetime=(iso) { (shown) } }
}

/// A link to a third party's URL: only http(s) URLs become links, and they
/// carry no referrer and no endorsement.
pub fn external_link(url: &str, text: &str) -> Markup {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    html! {
        @if let Some(url) = parsed {
            a href=(url.as_str()) rel="noopener noreferrer nofollow ugc" { (text) }
        } @else {
            span { (text) }
        }
    }
}

/// Tabs that filter a list: links, the current one marked.
pub fn tabs(label: &str, tabs: &[(String, &str, bool)]) -> Markup {
    html! {
        nav.tabs aria-label=(label) {
            ul {
                @for (href, text, current) in tabs {
                    li {
                        @if *current {
                            a href=(href) aria-current="page" { (text) }
                        } @else {
                            a href=(href) { (text) }
                        }
                    }
                }
            }
        }
    }
}

/// "Previous" and "Next" links around "Showing 26–50 of 120".
pub fn pager(base: &str, page: u32, per_page: u32, shown: usize, total: Option<u64>) -> Markup {
    let first = u64::from(page) * u64::from(per_page) + 1;
    let last = first + shown as u64 - 1;
    let more = match total {
        Some(total) => last < total,
        None => shown as u64 == u64::from(per_page),
    };
    let join = if base.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 0 {
                a rel="prev" href={ (base) (join) "page=" (page - 1) } { "← Previous" }
            }
            @if shown > 0 {
                span {
                    "Showing " (first) "–" (last)
                    @if let Some(total) = total { " of " (total) }
                }
            }
            @if more {
                a rel="next" href={ (base) (join) "page=" (page + 1) } { "Next →" }
            }
        }
    }
}

/// At most `max` characters of `text`, with "…" when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// The notice for `?done=<code>&n=<count>` after an action's redirect:
/// `messages` maps codes to sentences with `{n}` for the count. Only known
/// codes show anything, so the query cannot put words on the page.
pub fn notice(params: &Params, messages: &[(&str, &str)]) -> Option<Notice> {
    let done = params.get("done")?;
    let n: u64 = params.number("n", 1).unwrap_or(1);
    let (_, text) = messages.iter().find(|(code, _)| *code == done)?;
    let text = text.replace("{n}", &n.to_string());
    let text = if n == 1 {
        text.replace("(s)", "")
    } else {
        text.replace("(s)", "s")
    };
    Some(Notice { text, error: false })
}

/// Percent-encodes a query value.
pub fn query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_party_text_is_escaped_and_only_http_urls_become_links() {
        let markup = external_link("javascript:alert(1)", "<b>x</b>").into_string();
        assert_eq!(markup, "<span>&lt;b&gt;x&lt;/b&gt;</span>");
        let markup = external_link("https://a.example/\"><script>", "a").into_string();
        assert!(
            markup.contains("href=\"https://a.example/%22%3E%3Cscript%3E\""),
            "{markup}"
        );
        assert!(!markup.contains("<script>"));
    }

    #[test]
    fn notices_come_only_from_known_codes() {
        let messages = [("approve", "Approved {n} mention(s).")];
        let notice = |query: &str| notice(&Params::parse(query.as_bytes()), &messages);
        assert_eq!(
            notice("done=approve&n=3").unwrap().text,
            "Approved 3 mentions."
        );
        assert_eq!(notice("done=approve").unwrap().text, "Approved 1 mention.");
        assert_eq!(notice("done=%3Cscript%3E"), None);
        assert_eq!(notice(""), None);
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("  a   b ", 10), "a b");
        assert_eq!(excerpt("ééééé", 3), "ééé…");
    }

    #[test]
    fn the_pager_links_only_where_there_is_more() {
        let first = pager("mentions?tab=all", 0, 25, 25, Some(60)).into_string();
        assert!(first.contains("Showing 1–25 of 60"));
        assert!(first.contains("href=\"mentions?tab=all&amp;page=1\""));
        assert!(!first.contains("Previous"));
        let last = pager("mentions", 2, 25, 10, Some(60)).into_string();
        assert!(last.contains("href=\"mentions?page=1\""));
        assert!(!last.contains("Next"));
    }
}
