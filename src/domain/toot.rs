//! Composing the announcing toot, exactly as the seed's latest version did.
//!
//! Text = title, blank line, description, postfix, tags, URL, each on its own
//! line and each skipped when missing. The text must fit the instance's limit,
//! counted the way Mastodon counts: extended grapheme clusters, with every URL
//! counting as `characters_reserved_per_url`. When it does not fit, the
//! description is shortened with an ellipsis, then the title; the URL never is.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::PostUrl;

/// What a post page says about itself in its `<meta>` tags, `<html lang>`
/// and canonical link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    /// `mastodon:title`, used as it is.
    pub mastodon_title: Option<String>,
    /// `og:title`, else `twitter:title`; reduced by the title pattern.
    pub page_title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<String>,
    pub lang: Option<String>,
    /// `<link rel="canonical" href>` in `<head>`, as written (maybe relative).
    pub canonical_link: Option<String>,
    /// `og:url` in `<head>`, as written.
    pub og_url: Option<String>,
}

/// `BLOG_TITLE_PATTERN`: a regex whose named group `title` extracts the post
/// title from a page title such as "My post | My blog". Like Python's
/// `re.match`, it must match at the start of the page title.
#[derive(Debug, Clone)]
pub struct TitlePattern(Regex);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitlePatternError {
    #[error("not a valid regular expression: {0}")]
    Invalid(String),
    #[error("has no named group `title`, e.g. `^(?P<title>.*) \\| My Blog$`")]
    MissingTitleGroup,
}

impl TitlePattern {
    pub fn new(pattern: &str) -> Result<Self, TitlePatternError> {
        let regex = Regex::new(pattern).map_err(|e| TitlePatternError::Invalid(e.to_string()))?;
        if !regex.capture_names().any(|name| name == Some("title")) {
            return Err(TitlePatternError::MissingTitleGroup);
        }
        Ok(Self(regex))
    }

    /// The `title` group when the pattern matches at the start; otherwise the
    /// page title unchanged (the seed's behaviour).
    pub fn reduce<'a>(&self, page_title: &'a str) -> &'a str {
        self.0
            .captures(page_title)
            .filter(|caps| caps.get(0).is_some_and(|m| m.start() == 0))
            .and_then(|caps| caps.name("title"))
            .map_or(page_title, |m| m.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
            Self::Direct => "direct",
        }
    }
}

impl FromStr for Visibility {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "unlisted" => Ok(Self::Unlisted),
            "private" => Ok(Self::Private),
            "direct" => Ok(Self::Direct),
            other => Err(format!(
                "`{other}` is not one of public, unlisted, private, direct"
            )),
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The instance's status limits (`GET /api/v2/instance`,
/// `configuration.statuses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceLimits {
    pub max_characters: usize,
    pub characters_reserved_per_url: usize,
}

impl Default for InstanceLimits {
    /// Mastodon's defaults.
    fn default() -> Self {
        Self {
            max_characters: 500,
            characters_reserved_per_url: 23,
        }
    }
}

impl InstanceLimits {
    /// Length of `text` as Mastodon counts it.
    pub fn count(&self, text: &str) -> usize {
        text.split_inclusive(char::is_whitespace)
            .map(|token| {
                let word = token.trim_end_matches(char::is_whitespace);
                if is_url(word) {
                    self.characters_reserved_per_url + token[word.len()..].graphemes(true).count()
                } else {
                    token.graphemes(true).count()
                }
            })
            .sum()
    }
}

fn is_url(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && word.len() > 8
}

/// The finished text of an announcing toot, and its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusText {
    pub text: String,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the status cannot fit the instance's limit of {max_characters} characters even with the description and title shortened"
)]
pub struct TooLong {
    pub max_characters: usize,
}

/// The parts of a toot; each missing part is skipped.
#[derive(Debug, Clone, Default)]
struct Parts<'a> {
    title: Option<String>,
    description: Option<String>,
    postfix: Option<&'a str>,
    tags: Option<&'a str>,
}

impl Parts<'_> {
    fn render(&self, url: &PostUrl) -> String {
        let mut text = String::new();
        if let Some(title) = &self.title {
            text.push_str(title);
            text.push_str("\n\n");
        }
        for line in [self.description.as_deref(), self.postfix, self.tags]
            .into_iter()
            .flatten()
        {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(url.as_str());
        text
    }
}

/// Composes the announcing toot for `url` from its page's meta data.
pub fn compose(
    meta: &PageMeta,
    title_pattern: Option<&TitlePattern>,
    postfix: Option<&str>,
    url: &PostUrl,
    limits: InstanceLimits,
) -> Result<StatusText, TooLong> {
    let title = meta.mastodon_title.clone().or_else(|| {
        meta.page_title.as_deref().map(|page_title| {
            title_pattern
                .map_or(page_title, |pattern| pattern.reduce(page_title))
                .to_owned()
        })
    });
    let mut parts = Parts {
        title: non_blank(title),
        description: non_blank(meta.description.clone()),
        postfix: postfix.filter(|p| !p.trim().is_empty()),
        tags: meta.tags.as_deref().filter(|t| !t.trim().is_empty()),
    };
    shorten_to_fit(&mut parts, url, limits)?;
    Ok(StatusText {
        text: parts.render(url),
        language: meta.lang.clone().filter(|l| !l.trim().is_empty()),
    })
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Shortens the description, then the title, until the text fits.
fn shorten_to_fit(
    parts: &mut Parts<'_>,
    url: &PostUrl,
    limits: InstanceLimits,
) -> Result<(), TooLong> {
    let over = |parts: &Parts<'_>| {
        limits
            .count(&parts.render(url))
            .saturating_sub(limits.max_characters)
    };
    for field in [Field::Description, Field::Title] {
        let excess = over(parts);
        if excess == 0 {
            return Ok(());
        }
        let slot = match field {
            Field::Description => &mut parts.description,
            Field::Title => &mut parts.title,
        };
        *slot = slot
            .take()
            .and_then(|value| truncate_with_ellipsis(&value, excess));
    }
    if over(parts) == 0 {
        Ok(())
    } else {
        Err(TooLong {
            max_characters: limits.max_characters,
        })
    }
}

#[derive(Clone, Copy)]
enum Field {
    Description,
    Title,
}

/// Removes at least `excess` graphemes (plus one for the ellipsis) from the
/// end, at a word boundary where possible. `None` when nothing useful is left.
fn truncate_with_ellipsis(value: &str, excess: usize) -> Option<String> {
    let graphemes: Vec<&str> = value.graphemes(true).collect();
    let keep = graphemes.len().checked_sub(excess + 1)?;
    if keep == 0 {
        return None;
    }
    let kept = graphemes[..keep].concat();
    let at_word = match kept.rfind(char::is_whitespace) {
        Some(space) if space > kept.len() / 2 => &kept[..space],
        _ => kept.as_str(),
    };
    let trimmed = at_word.trim_end_matches(|c: char| c.is_whitespace() || ",;:-".contains(c));
    Some(format!("{trimmed}…"))
}

#[cfg(test)]
mod tests;
