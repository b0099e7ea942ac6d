//! Times as trainers and managers read them, and the one way every command and filter reads
//! a time.
//!
//! The store keeps UTC ([`Timestamp`]); people see local time with its zone, from `TZ` or
//! the system's setting ([`TimeZone::system`]). Every time a person types — `review`'s `d`,
//! `report --from/--to`, `store list --since/--until` — is read by [`parse_when`]: an age
//! (`7d`, `12h`: that long before now), a date (`2026-11-01`: local midnight) or an RFC 3339
//! time with its offset.

use jiff::tz::TimeZone;
use jiff::Timestamp as JTimestamp;

use crate::store::{parse_age, Timestamp};

/// A time a person typed that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a time: use an age like 7d or 12h, a date like 2026-11-01, or a time like 2026-11-01T09:00:00+08:00")]
pub struct BadWhen {
    pub input: String,
}

fn zoned(t: Timestamp, tz: &TimeZone) -> jiff::ZonedDateTime {
    JTimestamp::from_millisecond(t.unix_ms())
        .unwrap_or(JTimestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
}

/// "11-27 17:12": enough to tell attempts apart in a list.
pub fn short(t: Timestamp, tz: &TimeZone) -> String {
    zoned(t, tz).strftime("%m-%d %H:%M").to_string()
}

/// "2026-11-27 17:12".
pub fn minute(t: Timestamp, tz: &TimeZone) -> String {
    zoned(t, tz).strftime("%Y-%m-%d %H:%M").to_string()
}

/// "2026-11-27".
pub fn date(t: Timestamp, tz: &TimeZone) -> String {
    zoned(t, tz).strftime("%Y-%m-%d").to_string()
}

/// The zone as a label beside local times: "UTC+08:00" (and its name when the system knows
/// one, "Asia/Shanghai UTC+08:00"), at moment `t` (the offset can change with the season).
pub fn zone_label(t: Timestamp, tz: &TimeZone) -> String {
    let z = zoned(t, tz);
    let offset = z.offset().seconds();
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    let utc = format!("UTC{sign}{h:02}:{m:02}");
    match tz.iana_name() {
        Some(name) if name != "UTC" && name != "Etc/UTC" => format!("{name} {utc}"),
        _ => utc,
    }
}

/// The short zone label: "UTC+08:00".
pub fn offset_label(t: Timestamp, tz: &TimeZone) -> String {
    let offset = zoned(t, tz).offset().seconds();
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    format!("UTC{sign}{h:02}:{m:02}")
}

/// Local midnight at the start of a date typed as `YYYY-MM-DD`.
fn local_midnight(s: &str, tz: &TimeZone) -> Option<Timestamp> {
    let d: jiff::civil::Date = s.parse().ok()?;
    let z = d.to_zoned_datetime(tz.clone()).ok()?;
    Some(Timestamp::from_unix_ms(z.timestamp().as_millisecond()))
}

fn is_bare_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-'
}

/// A time as a person types it: an age before `now` (`7d`, `12h`), a date (local midnight
/// in `tz`) or an RFC 3339 time with its offset.
pub fn parse_when(s: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, BadWhen> {
    let t = s.trim();
    let bad = || BadWhen {
        input: s.to_string(),
    };
    if t.ends_with(['d', 'D', 'h', 'H']) {
        return parse_age(t).map(|age| now.minus(age)).map_err(|_| bad());
    }
    if is_bare_date(t) {
        return local_midnight(t, tz).ok_or_else(bad);
    }
    Timestamp::parse(t).map_err(|_| bad())
}

/// The end of a range as a person types it: as [`parse_when`], except that a bare date
/// means the end of that (local) day, so `--to 2026-11-30` includes the 30th.
pub fn parse_until(s: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, BadWhen> {
    let t = s.trim();
    if is_bare_date(t) {
        let bad = || BadWhen {
            input: s.to_string(),
        };
        let d: jiff::civil::Date = t.parse().map_err(|_| bad())?;
        let next = d.tomorrow().map_err(|_| bad())?;
        let z = next.to_zoned_datetime(tz.clone()).map_err(|_| bad())?;
        return Ok(Timestamp::from_unix_ms(z.timestamp().as_millisecond()));
    }
    parse_when(s, now, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> TimeZone {
        TimeZone::posix("CST-8").unwrap()
    }

    #[test]
    fn local_times_follow_the_zone() {
        let t = Timestamp::parse("2026-11-27T09:12:00Z").unwrap();
        assert_eq!(short(t, &shanghai()), "11-27 17:12");
        assert_eq!(minute(t, &TimeZone::UTC), "2026-11-27 09:12");
        assert_eq!(offset_label(t, &shanghai()), "UTC+08:00");
        assert_eq!(zone_label(t, &TimeZone::UTC), "UTC+00:00");
        // Late evening in New York is the next day in UTC.
        let ny = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        let late = Timestamp::parse("2026-11-28T03:30:00Z").unwrap();
        assert_eq!(date(late, &ny), "2026-11-27");
        assert_eq!(offset_label(late, &ny), "UTC-05:00");
    }

    #[test]
    fn one_syntax_ages_dates_and_times() {
        let now = Timestamp::parse("2026-11-27T12:00:00Z").unwrap();
        let tz = shanghai();
        assert_eq!(
            parse_when("7d", now, &tz).unwrap(),
            Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
        );
        assert_eq!(
            parse_when(" 12h ", now, &tz).unwrap(),
            Timestamp::parse("2026-11-27T00:00:00Z").unwrap()
        );
        // A date is local midnight: 00:00 in Shanghai is 16:00 UTC the day before.
        assert_eq!(
            parse_when("2026-11-20", now, &tz).unwrap(),
            Timestamp::parse("2026-11-19T16:00:00Z").unwrap()
        );
        assert_eq!(
            parse_until("2026-11-20", now, &tz).unwrap(),
            Timestamp::parse("2026-11-20T16:00:00Z").unwrap()
        );
        assert_eq!(
            parse_when("2026-11-20T09:00:00+08:00", now, &tz).unwrap(),
            Timestamp::parse("2026-11-20T01:00:00Z").unwrap()
        );
        for bad in [
            "last week",
            "7",
            "2026-13-01",
            "",
            "7m",
            "2026-11-20T09:00:00",
        ] {
            let e = parse_when(bad, now, &tz).unwrap_err().to_string();
            assert!(e.contains("7d") && e.contains("2026-11-01"), "{bad:?}: {e}");
        }
    }
}
