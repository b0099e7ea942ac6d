//! Wall-clock timestamps for the store: UTC milliseconds since the Unix epoch, written and
//! read as RFC 3339 (`2026-11-27T08:52:45.123Z`), and ages such as `90d` for retention.
//!
//! Hand-rolled (Howard Hinnant's days-from-civil arithmetic) because a date crate would be a
//! new dependency for a dozen lines; the store only ever needs UTC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::StoreError;

const MS_PER_DAY: i64 = 86_400_000;

/// A moment in UTC with millisecond resolution. Ordered; serialised as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn unix_ms(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_millis() as i64),
            Err(e) => Timestamp(-(e.duration().as_millis() as i64)),
        }
    }

    /// This moment minus `d`, saturating rather than wrapping.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_sub(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }

    /// (year, month 1–12, day 1–31) in UTC.
    pub fn date(self) -> (i64, u32, u32) {
        civil_from_days(self.0.div_euclid(MS_PER_DAY))
    }

    pub fn to_rfc3339(self) -> String {
        let (y, m, d) = self.date();
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (mi, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// RFC 3339 with `Z` or a `±hh:mm` offset and optional fraction, or a bare date
    /// `YYYY-MM-DD` meaning midnight UTC. A time without a zone is refused: guessing the
    /// zone would silently shift a `--since` by hours.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        parse_rfc3339(s.trim())
            .map(Timestamp)
            .ok_or_else(|| StoreError::BadTime {
                input: s.to_string(),
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s)
            .map(Timestamp)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time")))
    }
}

/// An age such as `90d` or `12h` (days or hours; the unit is required so `90` is not
/// mistaken for seconds when deleting personal data).
pub fn parse_age(s: &str) -> Result<Duration, StoreError> {
    let bad = || StoreError::BadAge {
        input: s.to_string(),
    };
    let t = s.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let secs_per = match unit {
        'd' | 'D' => 86_400u64,
        'h' | 'H' => 3_600,
        _ => return Err(bad()),
    };
    let n: u64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
    let secs = n.checked_mul(secs_per).ok_or_else(bad)?;
    // Beyond a century an age is a typo, and far beyond it the cut-off leaves the
    // calendar (`99999999999d` reached year -273788674).
    if secs > MAX_AGE_DAYS * 86_400 {
        return Err(StoreError::Invalid(format!(
            "{s:?} reaches back more than 100 years ({MAX_AGE_DAYS}d): give an age up to that, like 90d"
        )));
    }
    Ok(Duration::from_secs(secs))
}

/// The oldest age accepted: a century.
pub const MAX_AGE_DAYS: u64 = 36_500;

#[cfg(test)]
mod age_tests {
    use super::*;

    #[test]
    fn an_age_beyond_a_century_is_refused() {
        assert_eq!(
            parse_age("36500d").unwrap(),
            Duration::from_secs(36_500 * 86_400)
        );
        let err = parse_age("99999999999d").unwrap_err().to_string();
        assert!(err.contains("more than 100 years"), "{err}");
        assert!(parse_age("876001h").is_err());
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<i64> {
        let t = s.get(from..to)?;
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)? as u32, num(8, 10)? as u32);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let day_ms = days_from_civil(y, mo, d) * MS_PER_DAY;
    if b.len() == 10 {
        return Some(day_ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_ms = match &s[i..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6 && zone.as_bytes()[3] == b':' => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3_600_000 + om * 60_000)
        }
        _ => return None,
    };
    Some(day_ms + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for z in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn formats_and_parses_rfc3339() {
        let t = Timestamp::parse("2026-11-27T08:52:45.123Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T08:52:45.123Z");
        assert_eq!(t.date(), (2026, 11, 27));
        let shanghai = Timestamp::parse("2026-11-27T16:52:45.123+08:00").unwrap();
        assert_eq!(shanghai, t);
        let coarse = Timestamp::parse("2026-11-27T08:52:45Z").unwrap();
        assert_eq!(t.unix_ms() - coarse.unix_ms(), 123);
        let fine = Timestamp::parse("2026-11-27T08:52:45.123999Z").unwrap();
        assert_eq!(fine, t);
        assert_eq!(
            Timestamp::parse("2024-02-29").unwrap().to_rfc3339(),
            "2024-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_unix_ms(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn refuses_ambiguous_or_impossible_times() {
        for bad in [
            "",
            "2026-11-27T08:52:45",
            "2026-13-01",
            "2025-02-29",
            "2026-11-27T24:00:00Z",
            "2026-11-27T08:52:45.Z",
            "2026-11-27T08:52:45+0800",
            "27/11/2026",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_uses_rfc3339() {
        let t = Timestamp::from_unix_ms(1_795_000_000_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{}\"", t.to_rfc3339()));
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"soon\"").is_err());
    }

    #[test]
    fn ages_need_a_unit() {
        assert_eq!(parse_age("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_age("0d").unwrap(), Duration::ZERO);
        for bad in ["90", "d", "-1d", "1.5d", "90m", "", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad:?} accepted");
        }
        let now = Timestamp::from_unix_ms(10 * MS_PER_DAY);
        assert_eq!(
            now.minus(parse_age("90d").unwrap()).unix_ms(),
            -80 * MS_PER_DAY
        );
    }
}
