//! Dates and times in `dt-*` values: recognising the pieces the value-class
//! pattern allows (<https://microformats.org/wiki/value-class-pattern#Date_and_time_parsing>)
//! and assembling them as `YYYY-MM-DD HH:MM[:SS][±HH:MM|Z]`.
//!
//! Invariant: the authored level of detail is kept (`15:34` never becomes
//! `15:34:00`), 12-hour times become 24-hour ones, time zones gain their
//! colon and an upper-case `Z`; text that is not a date or time is returned
//! unchanged, never rejected.

use std::sync::LazyLock;

use regex::Regex;

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}-(?:[0-9]{2}-[0-9]{2}|[0-9]{3})$").expect("static regex")
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^
        (?P<h>[0-9]{1,2}) (?: :(?P<m>[0-9]{2}) (?: :(?P<s>[0-9]{2}(?:\.[0-9]+)?) )? )?
        \s* (?: (?P<ampm>[ap]) \.? m \.? )?
        \s* (?P<tz> z | [+-][0-9]{2}(?::?[0-9]{2})? )?
        $",
    )
    .expect("static regex")
});
static DATETIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<date>[0-9]{4}-(?:[0-9]{2}-[0-9]{2}|[0-9]{3}))(?:[Tt]|\s+)(?P<rest>.+)$")
        .expect("static regex")
});
static TZ: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$").expect("static regex"));

/// A normalised time of day and its time zone, if any.
type Time = (String, Option<String>);

/// Assembles the value-class pieces of a `dt-*` property; `None` when no
/// piece is a date or a time.
pub(super) fn assemble(parts: &[String]) -> Option<String> {
    let (mut date, mut time, mut zone): (Option<String>, Option<String>, Option<String>) =
        (None, None, None);
    for part in parts.iter().map(|p| p.trim()) {
        if let Some((d, t)) = split_datetime(part) {
            date.get_or_insert(d);
            if time.is_none() {
                time = Some(t.0);
                zone = zone.or(t.1);
            }
        } else if DATE.is_match(part) {
            date.get_or_insert_with(|| part.to_owned());
        } else if let Some((t, z)) = parse_time(part) {
            if time.is_none() {
                time = Some(t);
                zone = zone.or(z);
            }
        } else if TZ.is_match(part) {
            zone.get_or_insert_with(|| normalise_zone(part));
        }
    }
    let zone = zone.unwrap_or_default();
    match (date, time) {
        (Some(d), Some(t)) => Some(format!("{d} {t}{zone}")),
        (Some(d), None) => Some(d),
        (None, Some(t)) => Some(format!("{t}{zone}")),
        (None, None) => None,
    }
}

/// Rewrites a complete date-time in the corpus's form (space separator,
/// 24-hour time, `±HH:MM` zones); anything else comes back unchanged.
pub(super) fn normalise(value: &str) -> String {
    if let Some((date, (time, zone))) = split_datetime(value.trim()) {
        return format!("{date} {time}{}", zone.unwrap_or_default());
    }
    value.to_owned()
}

/// The date a value starts with, if it starts with one.
pub(super) fn leading_date(value: &str) -> Option<&str> {
    let value = value.trim();
    if DATE.is_match(value) {
        return Some(value);
    }
    DATETIME
        .captures(value)
        .and_then(|c| c.name("date"))
        .map(|m| m.as_str())
}

/// Whether a value is a time of day with no date (so a date may be implied).
pub(super) fn is_time_only(value: &str) -> bool {
    parse_time(value.trim()).is_some()
}

fn split_datetime(value: &str) -> Option<(String, Time)> {
    let captures = DATETIME.captures(value)?;
    let time = parse_time(captures.name("rest")?.as_str().trim())?;
    Some((captures["date"].to_owned(), time))
}

fn parse_time(value: &str) -> Option<Time> {
    let c = TIME.captures(value)?;
    let hour: u32 = c["h"].parse().ok()?;
    let minute = c.name("m").map(|m| m.as_str());
    let ampm = c.name("ampm").map(|m| m.as_str().to_ascii_lowercase());
    // A bare number is not a time; "5pm" and "17:30" are.
    if minute.is_none() && ampm.is_none() {
        return None;
    }
    let hour = match ampm.as_deref() {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some("p") => hour % 12 + 12,
        Some(_) => hour % 12,
        None if hour > 24 => return None,
        None => hour,
    };
    let mut time = format!("{hour:02}:{}", minute.unwrap_or("00"));
    if let Some(second) = c.name("s") {
        time.push(':');
        time.push_str(second.as_str());
    }
    Some((time, c.name("tz").map(|z| normalise_zone(z.as_str()))))
}

fn normalise_zone(zone: &str) -> String {
    if zone.eq_ignore_ascii_case("z") {
        return "Z".to_owned();
    }
    match zone.len() {
        5 if !zone.contains(':') => format!("{}:{}", &zone[..3], &zone[3..]),
        _ => zone.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn a_date_and_a_time_combine_with_a_space() {
        assert_eq!(
            assemble(&parts(&["2009-06-26", "19:00"])).unwrap(),
            "2009-06-26 19:00"
        );
        assert_eq!(
            assemble(&parts(&["2009-06-26", "07:00pm", "-0800"])).unwrap(),
            "2009-06-26 19:00-08:00"
        );
        assert_eq!(
            assemble(&parts(&["5:30 p.m.", "2009-06-26"])).unwrap(),
            "2009-06-26 17:30"
        );
        assert_eq!(
            assemble(&parts(&["12am", "2009-06-26"])).unwrap(),
            "2009-06-26 00:00"
        );
    }

    #[test]
    fn pieces_that_are_neither_give_nothing() {
        assert_eq!(assemble(&parts(&["soon", "42"])), None);
    }

    #[test]
    fn full_datetimes_normalise_keeping_their_precision() {
        assert_eq!(normalise("2012-06-25T17:08:26"), "2012-06-25 17:08:26");
        assert_eq!(normalise("2012-06-25t17:08z"), "2012-06-25 17:08Z");
        assert_eq!(normalise("2012-06-25 17:08+0130"), "2012-06-25 17:08+01:30");
        assert_eq!(normalise("2012-06-25"), "2012-06-25");
        assert_eq!(normalise("next tuesday"), "next tuesday");
    }

    #[test]
    fn dates_are_found_at_the_start_of_values() {
        assert_eq!(leading_date("2012-06-25 17:08"), Some("2012-06-25"));
        assert_eq!(leading_date("2012-177"), Some("2012-177"));
        assert_eq!(leading_date("17:08"), None);
        assert!(is_time_only("17:08Z"));
        assert!(!is_time_only("2012-06-25"));
    }
}
