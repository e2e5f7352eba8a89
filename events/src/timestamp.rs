//! The one timestamp format on the wire: RFC 3339 in UTC with millisecond precision
//! (`2026-11-27T04:23:05.123Z`), held in memory as milliseconds since the Unix epoch.
//!
//! Strings read the same in every language and sort correctly as text; milliseconds make
//! deadline arithmetic in the saga trivial. The conversion is written out here (Howard
//! Hinnant's civil-date algorithms) so the contract crate needs no date library.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Valid range: years 0000 to 9999, so that every value has exactly one RFC 3339 spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp {0} ms is outside years 0000-9999")]
    OutOfRange(i64),
    #[error("invalid RFC 3339 timestamp {0:?}: expected YYYY-MM-DDTHH:MM:SS[.fff]Z")]
    Syntax(String),
}

const MIN_MILLIS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
const MILLIS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The Unix epoch, handy as a neutral value in tests and samples.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// Builds a timestamp from milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Result<Self, TimestampError> {
        if (MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            Ok(Timestamp(millis))
        } else {
            Err(TimestampError::OutOfRange(millis))
        }
    }

    /// Reads the system clock. Only the runtime calls this: domain code gets `now` passed in.
    pub fn now() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0
    }

    /// This timestamp moved forward by `millis` (saturating at the end of the valid range).
    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis).clamp(MIN_MILLIS, MAX_MILLIS))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
        let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
        )
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Accepts `YYYY-MM-DDTHH:MM:SS` with an optional fraction (truncated to milliseconds)
    /// and a `Z` or `+00:00` suffix. Other offsets are rejected: the contract is UTC only.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TimestampError::Syntax(text.to_owned());
        let body = text
            .strip_suffix('Z')
            .or_else(|| text.strip_suffix("+00:00"))
            .ok_or_else(syntax)?;
        let bytes = body.as_bytes();
        if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
            return Err(syntax());
        }
        if bytes[13] != b':' || bytes[16] != b':' {
            return Err(syntax());
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let digits = &body[range];
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse().map_err(|_| syntax())
            } else {
                Err(syntax())
            }
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        let millis = match &body[19..] {
            "" => 0,
            fraction => parse_fraction_millis(fraction).ok_or_else(syntax)?,
        };
        let valid_date = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        if !valid_date || hour > 23 || minute > 59 || second > 59 {
            return Err(syntax());
        }
        let days = days_from_civil(year, month, day);
        Timestamp::from_unix_millis(
            days * MILLIS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis,
        )
    }
}

/// Parses `.d`, `.dd`, `.ddd`, ... into milliseconds, ignoring digits past the third.
fn parse_fraction_millis(fraction: &str) -> Option<i64> {
    let digits = fraction.strip_prefix('.')?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut padded = [b'0'; 3];
    for (slot, digit) in padded.iter_mut().zip(digits.bytes()) {
        *slot = digit;
    }
    std::str::from_utf8(&padded).ok()?.parse().ok()
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            Timestamp::UNIX_EPOCH.to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let instant = Timestamp::from_unix_millis(1_700_000_000_123).unwrap();
        assert_eq!(instant.to_string(), "2023-11-14T22:13:20.123Z");
        let before_epoch = Timestamp::from_unix_millis(-1).unwrap();
        assert_eq!(before_epoch.to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_variants_of_utc() {
        let expected = Timestamp::from_unix_millis(1_700_000_000_000).unwrap();
        assert_eq!("2023-11-14T22:13:20Z".parse(), Ok(expected));
        assert_eq!("2023-11-14T22:13:20+00:00".parse(), Ok(expected));
        assert_eq!("2023-11-14T22:13:20.0009Z".parse(), Ok(expected));
        assert_eq!(
            "2023-11-14T22:13:20.5Z".parse(),
            Ok(expected.plus_millis(500))
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20+02:00",
            "2023-02-30T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-1a-14T22:13:20Z",
            "+023-11-14T22:13:20Z",
        ] {
            assert!(
                bad.parse::<Timestamp>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn rejects_out_of_range_millis() {
        assert!(Timestamp::from_unix_millis(MAX_MILLIS + 1).is_err());
        assert!(Timestamp::from_unix_millis(MIN_MILLIS - 1).is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(millis in MIN_MILLIS..=MAX_MILLIS) {
            let stamp = Timestamp::from_unix_millis(millis).unwrap();
            prop_assert_eq!(stamp.to_string().parse::<Timestamp>(), Ok(stamp));
        }

        #[test]
        fn text_order_matches_time_order(a in 0..MAX_MILLIS, b in 0..MAX_MILLIS) {
            let (x, y) = (Timestamp(a), Timestamp(b));
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }
    }
}
