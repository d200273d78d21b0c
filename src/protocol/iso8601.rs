//! ISO 8601 date-times as clients of webmention.io's API write them.
//!
//! `since` is documented as "a full timestamp" (`2017-06-01T10:00:00-0700`,
//! an offset without a colon, which RFC 3339 refuses), and static-site
//! plugins send back a mention's `wm-received` (`…Z`), often without
//! encoding it, so a `+01:00` arrives as ` 01:00`. This reads all of those:
//! a date, optionally `T` (or a space) and a time with optional seconds and
//! fraction, optionally `Z` or an offset as `±HH:MM`, `±HHMM` or `±HH`.
//! No offset means UTC, the zone every stored time is in.
//!
//! Invariant: pure, never panics; `None` for anything else.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Reads an ISO 8601 date or date-time (see the module documentation).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let date = parse_date(date)?;
    if rest.is_empty() {
        return Some(date.midnight().assume_utc());
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let split = rest.find(['Z', 'z', '+', '-', ' ']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let time = parse_time(clock)?;
    let offset = parse_offset(zone)?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(&text[..4])?;
    let month = Month::try_from(u8::try_from(digits(&text[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&text[8..10])?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction`.
fn parse_time(text: &str) -> Option<Time> {
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let mut parts = whole.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = parts.next().map_or(Some(0), two_digits)?;
    if parts.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 => return None,
        Some(f) => digits(f)? * 10u32.pow(9 - f.len() as u32),
    };
    Time::from_hms_nano(hour, minute, second, nanos).ok()
}

/// Empty (UTC), `Z`, `±HH`, `±HHMM`, `±HH:MM`; a leading space stands for
/// a `+` that form decoding turned into one.
fn parse_offset(text: &str) -> Option<UtcOffset> {
    if text.is_empty() || text.eq_ignore_ascii_case("z") {
        return Some(UtcOffset::UTC);
    }
    let (sign, digits_part) = match text.as_bytes()[0] {
        b'+' | b' ' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let compact = digits_part.replacen(':', "", 1);
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match compact.len() {
        2 => (two_digits(&compact)?, 0),
        4 => (two_digits(&compact[..2])?, two_digits(&compact[2..])?),
        _ => return None,
    };
    let hours = i8::try_from(hours).ok()? * sign;
    let minutes = i8::try_from(minutes).ok()? * sign;
    UtcOffset::from_hms(hours, minutes, 0).ok()
}

fn two_digits(text: &str) -> Option<u8> {
    (text.len() == 2).then_some(())?;
    u8::try_from(digits(text)?).ok()
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn reads_the_forms_webmention_io_clients_send() {
        for (text, expected) in [
            ("2017-06-01T10:00:00-0700", datetime!(2017-06-01 17:00 UTC)),
            ("2017-06-01T10:00:00-07:00", datetime!(2017-06-01 17:00 UTC)),
            ("2026-11-01T10:00:00Z", datetime!(2026-11-01 10:00 UTC)),
            (
                "2026-11-01T10:00:00.250Z",
                datetime!(2026-11-01 10:00:00.25 UTC),
            ),
            ("2026-11-01T10:00:00 01:00", datetime!(2026-11-01 09:00 UTC)),
            ("2026-11-01T10:00:00+01", datetime!(2026-11-01 09:00 UTC)),
            ("2026-11-01 10:00", datetime!(2026-11-01 10:00 UTC)),
            ("2026-11-01T10:00:00", datetime!(2026-11-01 10:00 UTC)),
            ("2026-11-01", datetime!(2026-11-01 00:00 UTC)),
        ] {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-01T25:00:00Z",
            "2026-11-01T10:00:00+0",
            "2026-11-01T10",
            "2026-11-01X10:00",
            "1700000000",
            "2026-11-01T10:00:00.Z",
            "２０２６-11-01",
            "2026-11-01T10:00+aé0",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
