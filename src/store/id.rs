//! Attempt ids: `20261127T085245.123456Z-1a2b3c4d` — the UTC creation time to the
//! microsecond, then 32 random bits. They sort by time as plain strings, name the attempt's
//! directory (`attempts/2026/11/27/<id>/`), and are validated before they touch a path.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::time::civil_from_days;
use super::StoreError;

const LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttemptId(String);

impl AttemptId {
    /// A new id for an attempt created at `now`.
    pub fn generate(now: SystemTime) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs() as i64;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        // RandomState is seeded from the OS per process, so the suffix differs between two
        // desks that start an attempt in the same microsecond; pid and counter separate
        // attempts within one process.
        let suffix = RandomState::new().hash_one((
            since.as_nanos(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        )) as u32;
        AttemptId(format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:06}Z-{suffix:08x}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60,
            since.subsec_micros()
        ))
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        let ok = b.len() == LEN
            && digits(0..8)
            && b[8] == b'T'
            && digits(9..15)
            && b[15] == b'.'
            && digits(16..22)
            && b[22] == b'Z'
            && b[23] == b'-'
            && b[24..]
                .iter()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(AttemptId(s.to_string()))
        } else {
            Err(StoreError::BadId { id: s.to_string() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `YYYY/MM/DD/<id>` relative to the attempts directory.
    pub fn rel_dir(&self) -> PathBuf {
        let s = &self.0;
        [&s[0..4], &s[4..6], &s[6..8], s.as_str()].iter().collect()
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AttemptId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        AttemptId::parse(&s)
    }
}

impl From<AttemptId> for String {
    fn from(id: AttemptId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_encode_time_sort_and_differ() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        let a = AttemptId::generate(t);
        let b = AttemptId::generate(t);
        assert_ne!(a, b, "same microsecond must still give distinct ids");
        assert!(a.as_str().starts_with("20261118T110640."), "{a}");
        assert!(a.as_str()[..23].ends_with(".123456Z"), "{a}");
        let later = AttemptId::generate(t + Duration::from_micros(1));
        assert!(later > a && later > b);
        assert_eq!(AttemptId::parse(a.as_str()).unwrap(), a);
        assert_eq!(
            a.rel_dir(),
            PathBuf::from("2026").join("11").join("18").join(a.as_str())
        );
    }

    #[test]
    fn rejects_anything_that_could_escape_the_store() {
        for bad in [
            "",
            "../../etc/passwd",
            "20261127T085245.123456Z-1a2b3c4",
            "20261127T085245.123456Z-1a2b3c4G",
            "20261127T085245.123456Z-1a2b/c4d",
            "20261127X085245.123456Z-1a2b3c4d",
            "20261127T085245.123456Z-1a2b3c4d0",
        ] {
            assert!(AttemptId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(serde_json::from_str::<AttemptId>("\"../x\"").is_err());
    }
}
