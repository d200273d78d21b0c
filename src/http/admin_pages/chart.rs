//! Comments per day and source as a small inline SVG bar chart, with the
//! same numbers as a table for screen readers and for copying.
//!
//! Pure: counts in, markup out. Colours come from the stylesheet (classes),
//! since the pages' CSP allows no inline style.

use maud::{Markup, html};
use time::Date;

/// One day's comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub mastodon: u32,
    pub webmention: u32,
}

const WIDTH: u32 = 600;
const HEIGHT: u32 = 150;
const TOP: u32 = 10;
const BOTTOM: u32 = 20;

fn label(date: Date) -> String {
    format!("{:02}-{:02}", u8::from(date.month()), date.day())
}

pub fn chart(days: &[Day]) -> Markup {
    let (mastodon, webmention) = days.iter().fold((0, 0), |(m, w), d| {
        (m + u64::from(d.mastodon), w + u64::from(d.webmention))
    });
    let most = days
        .iter()
        .map(|d| d.mastodon + d.webmention)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / u32::try_from(days.len().max(1)).unwrap_or(1);
    let plot = HEIGHT - TOP - BOTTOM;
    let scale = |n: u32| (u64::from(n) * u64::from(plot) / u64::from(most)) as u32;
    let summary = format!(
        "{mastodon} Mastodon replies and {webmention} webmentions in the last {} days; at most {most} on one day.",
        days.len()
    );
    html! {
        figure {
            svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
                aria-labelledby="chart-title chart-desc" {
                title #chart-title { "Comments per day, by source" }
                desc #chart-desc { (summary) }
                line.axis x1="0" x2=(WIDTH) y1=(HEIGHT - BOTTOM) y2=(HEIGHT - BOTTOM) {}
                @for (i, day) in days.iter().enumerate() {
                    @let x = u32::try_from(i).unwrap_or(0) * slot + 1;
                    @let m = scale(day.mastodon);
                    @let w = scale(day.webmention);
                    g {
                        title { (label(day.date)) ": " (day.mastodon) " Mastodon, " (day.webmention) " webmention" }
                        @if m > 0 {
                            rect.mastodon x=(x) y=(HEIGHT - BOTTOM - m) width=(slot - 2) height=(m) {}
                        }
                        @if w > 0 {
                            rect.webmention x=(x) y=(HEIGHT - BOTTOM - m - w) width=(slot - 2) height=(w) {}
                        }
                    }
                    @if i % 7 == 0 {
                        text x=(x) y=(HEIGHT - 5) { (label(day.date)) }
                    }
                }
            }
            figcaption {
                ul.legend {
                    li { span.mastodon aria-hidden="true" {} "Mastodon replies (" (mastodon) ")" }
                    li { span.webmention aria-hidden="true" {} "Webmentions (" (webmention) ")" }
                }
            }
        }
        details {
            summary { "The numbers as a table" }
            table.chart-table {
                thead { tr { th scope="col" { "Day" } th.num scope="col" { "Mastodon" } th.num scope="col" { "Webmention" } } }
                tbody {
                    @for day in days {
                        tr { th scope="row" { (day.date) } td.num { (day.mastodon) } td.num { (day.webmention) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_empty_days_draw_nothing() {
        let days = [
            Day {
                date: date!(2026 - 12 - 01),
                mastodon: 0,
                webmention: 0,
            },
            Day {
                date: date!(2026 - 12 - 02),
                mastodon: 3,
                webmention: 1,
            },
        ];
        let svg = chart(&days).into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(
            svg.contains(r#"class="mastodon" x="301" y="40" width="298" height="90""#),
            "{svg}"
        );
        assert!(svg.contains("3 Mastodon replies and 1 webmentions in the last 2 days"));
        assert!(svg.contains("12-02: 3 Mastodon, 1 webmention"));
    }
}
