//! What each page of the local webmention.rocks serves: discovery tests
//! 1–22 exactly as the research notes (§2.1, §2.2) describe the site (the
//! layout's stylesheet `<link>`s first with `href` before `rel`, the test's
//! own tag last in `<head>`, body markup inside the h-entry's `e-content`,
//! the other `<a>`s without `rel`), and the cases the site lacks.

/// One test page: its `Link` header fields, its `<head>` tag, its body
/// markup, and where the endpoint must be found (path and query).
pub struct Page {
    pub links: Vec<String>,
    pub head: String,
    pub body: String,
    /// `text/html` unless said otherwise.
    pub content_type: &'static str,
    pub expected: Option<(String, Option<&'static str>)>,
}

fn page(links: &[String], head: &str, body: &str, expected: &str) -> Page {
    Page {
        links: links.to_vec(),
        head: head.to_owned(),
        body: body.to_owned(),
        content_type: "text/html; charset=utf-8",
        expected: Some((expected.to_owned(), None)),
    }
}

/// Discovery test `n` (1–22; 7's header name is served by a raw server),
/// with `base` the site's root URL (no trailing slash).
pub fn discovery(n: u32, base: &str) -> Page {
    let wm = format!("/test/{n}/webmention");
    let abs = format!("{base}{wm}");
    let error = format!("/test/{n}/webmention/error");
    match n {
        1 => page(&[format!("<{wm}>; rel=webmention")], "", "", &wm),
        2 | 7 => page(&[format!("<{abs}>; rel=webmention")], "", "", &wm),
        3 => page(
            &[],
            &format!(r#"<link rel="webmention" href="{wm}">"#),
            "",
            &wm,
        ),
        4 => page(
            &[],
            &format!(r#"<link href="{abs}" rel="webmention">"#),
            "",
            &wm,
        ),
        5 => page(
            &[],
            "",
            &format!(r#"<a rel="webmention" href="{wm}">Webmention endpoint</a>"#),
            &wm,
        ),
        6 => page(
            &[],
            "",
            &format!(r#"<a href="{abs}" rel="webmention">Webmention endpoint</a>"#),
            &wm,
        ),
        8 => page(&[format!(r#"<{abs}>; rel="webmention""#)], "", "", &wm),
        9 => page(
            &[],
            &format!(r#"<link rel="webmention somethingelse" href="{abs}">"#),
            "",
            &wm,
        ),
        10 => page(
            &[format!(r#"<{abs}>; rel="webmention somethingelse""#)],
            "",
            "",
            &wm,
        ),
        11 => page(
            &[format!(r#"<{wm}>; rel="webmention""#)],
            &format!(r#"<link rel="webmention" href="{error}">"#),
            &format!(r#"<a href="{error}" rel="webmention">Webmention endpoint</a>"#),
            &wm,
        ),
        12 => page(
            &[],
            &format!(r#"<link rel="not-webmention" href="{error}">"#),
            &format!(r#"<a href="{wm}" rel="webmention">Webmention endpoint</a>"#),
            &wm,
        ),
        13 => page(
            &[],
            "",
            &format!(
                r#"<p>An endpoint in a comment:</p><!-- <a href="{error}" rel="webmention"></a> --><a href="{wm}" rel="webmention">Webmention endpoint</a>"#
            ),
            &wm,
        ),
        14 => page(
            &[],
            "",
            &format!(
                r#"<p>Escaped: <code>&lt;a href="{error}" rel="webmention"&gt;&lt;/a&gt;</code></p><a href="{wm}" rel="webmention">Webmention endpoint</a>"#
            ),
            &wm,
        ),
        15 => page(&[], r#"<link rel="webmention" href="">"#, "", "/test/15"),
        16 => page(
            &[],
            "",
            &format!(
                r#"<a href="{wm}" rel="webmention">Webmention endpoint</a><p>and later</p><link rel="webmention" href="{error}">"#
            ),
            &wm,
        ),
        17 => page(
            &[],
            "",
            &format!(
                r#"<link rel="webmention" href="{wm}"><p>and later</p><a href="{error}" rel="webmention">Webmention endpoint</a>"#
            ),
            &wm,
        ),
        18 => page(
            &[
                format!(r#"<{base}{error}>; rel="other""#),
                format!(r#"<{abs}>; rel="webmention""#),
            ],
            "",
            "",
            &wm,
        ),
        19 => page(
            &[format!(
                r#"<{base}{error}>; rel="other", <{abs}>; rel="webmention""#
            )],
            "",
            "",
            &wm,
        ),
        20 => page(
            &[],
            "",
            &format!(
                r#"<link rel="webmention"><a href="{wm}" rel="webmention">Webmention endpoint</a>"#
            ),
            &wm,
        ),
        21 => Page {
            expected: Some((wm.clone(), Some("query=yes"))),
            ..page(
                &[],
                &format!(r#"<link rel="webmention" href="{wm}?query=yes">"#),
                "",
                &wm,
            )
        },
        22 => page(
            &[],
            r#"<link rel="webmention" href="22/webmention">"#,
            "",
            &wm,
        ),
        other => panic!("no discovery test {other} in this table"),
    }
}

/// The cases webmention.rocks lacks (research §2.6), at `/extra/<name>`.
pub const EXTRAS: [&str; 10] = [
    "other-rel-header",
    "capital-rel",
    "params-first",
    "no-space",
    "text-plain",
    "no-href-then-href",
    "answers-204",
    "503-then-202",
    "refuses",
    "no-endpoint",
];

pub fn extra(name: &str) -> Page {
    let wm = format!("/extra/{name}/webmention");
    let link_tag = format!(r#"<link rel="webmention" href="{wm}">"#);
    match name {
        "other-rel-header" => page(
            &[format!(r#"</extra/{name}/style.css>; rel="stylesheet""#)],
            &link_tag,
            "",
            &wm,
        ),
        "capital-rel" => page(
            &[],
            &format!(r#"<link rel="Webmention" href="{wm}">"#),
            "",
            &wm,
        ),
        "params-first" => page(
            &[format!(r#"<{wm}>; type="text/html"; rel=webmention"#)],
            "",
            "",
            &wm,
        ),
        "no-space" => page(&[format!("<{wm}>;rel=webmention")], "", "", &wm),
        "text-plain" => Page {
            content_type: "text/plain; charset=utf-8",
            expected: None,
            ..page(
                &[],
                &link_tag,
                &format!(r#"<a rel="webmention" href="{wm}">x</a>"#),
                &wm,
            )
        },
        "no-href-then-href" => page(
            &[],
            &format!(r#"<link rel="webmention">{link_tag}"#),
            "",
            &wm,
        ),
        "answers-204" | "503-then-202" | "refuses" => page(&[], &link_tag, "", &wm),
        "no-endpoint" => Page {
            expected: None,
            ..page(&[], "", "", &wm)
        },
        other => panic!("no extra case {other}"),
    }
}

/// The site's layout around a test's markup.
pub fn layout(path: &str, head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Test</title>\n\
         <link href=\"/assets/semantic.min.css\" rel=\"stylesheet\">\n\
         <link href=\"/assets/style.css\" rel=\"stylesheet\">\n\
         <link href=\"/assets/comments.css\" rel=\"stylesheet\">\n\
         <script src=\"/assets/jquery.js\"></script>\n<script src=\"/assets/semantic.min.js\"></script>\n\
         <script src=\"/assets/script.js\"></script>\n{head}\n</head>\n<body>\n\
         <div class=\"h-entry\">\n<a href=\"/\" class=\"p-author h-card\">Webmention Rocks!</a>\n\
         <h2 class=\"p-name\"><a href=\"{path}\">Test</a></h2>\n\
         <div class=\"e-content\">{body}</div>\n<a class=\"u-url\" href=\"{path}\">permalink</a>\n\
         </div>\n</body>\n</html>\n"
    )
}
