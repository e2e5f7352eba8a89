//! The one timestamp format on the wire: RFC 3339 in UTC with millisecond precision
//! (`2026-11-27T04:23:05.123Z`), held in memory as milliseconds since the Unix epoch.
//!
//! Strings read the same in every language and sort correctly as text; milliseconds make
//! deadline arithmetic in the saga trivial. The calendar is the `time` crate's; this file only
//! fixes the spelling: exactly what is written, and exactly what is read.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

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

/// What every timestamp is written as: exactly three fractional digits, then `Z`.
const WIRE_FORMAT: &[BorrowedFormatItem<'_>] = format_description!(
    version = 2,
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// What is read: an optional fraction of any length (truncated to milliseconds), then `Z` or
/// `+00:00`. Upper-case `T` and `Z` only, no other offset, no leap second.
const ACCEPTED_FORMAT: &[BorrowedFormatItem<'_>] = format_description!(
    version = 2,
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][first [Z] [+00:00]]"
);

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
        // years 0000-9999 are inside the range `time` represents, so neither step can fail
        let date_time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .map_err(|_| fmt::Error)?;
        let text = date_time.format(WIRE_FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Accepts `YYYY-MM-DDTHH:MM:SS` with an optional fraction of up to nine digits (truncated
    /// to milliseconds) and a `Z` or `+00:00` suffix. Other offsets are rejected: the contract
    /// is UTC only.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TimestampError::Syntax(text.to_owned());
        if !within_contract(text) {
            return Err(syntax());
        }
        let date_time = PrimitiveDateTime::parse(text, ACCEPTED_FORMAT).map_err(|_| syntax())?;
        let millis = date_time
            .assume_utc()
            .unix_timestamp_nanos()
            .div_euclid(1_000_000);
        Timestamp::from_unix_millis(i64::try_from(millis).map_err(|_| syntax())?)
    }
}

/// The two rules a format description cannot state: the year has no sign (`time` would read
/// `+2023`), and a fraction has at most nine digits (nanoseconds; `time` reads more).
fn within_contract(text: &str) -> bool {
    let unsigned_year = text.starts_with(|c: char| c.is_ascii_digit());
    let fraction_digits = text.split_once('.').map_or(0, |(_, fraction)| {
        fraction.bytes().take_while(u8::is_ascii_digit).count()
    });
    unsigned_year && fraction_digits <= 9
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
        assert_eq!(
            "2023-11-14T22:13:20.999999999Z".parse(),
            Ok(expected.plus_millis(999))
        );
    }

    #[test]
    fn the_range_ends_are_years_0000_and_9999() {
        let first = Timestamp::from_unix_millis(MIN_MILLIS).unwrap();
        let last = Timestamp::from_unix_millis(MAX_MILLIS).unwrap();
        assert_eq!(first.to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!("0000-01-01T00:00:00Z".parse(), Ok(first));
        assert_eq!("9999-12-31T23:59:59.999999Z".parse(), Ok(last));
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
            // what a general RFC 3339 reader takes but this contract does not
            "+2023-11-14T22:13:20Z",
            "2023-11-14t22:13:20Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20z",
            "2023-11-14T22:13:20-00:00",
            "2016-12-31T23:59:60Z",
            "2023-11-14T22:13:20.1234567891Z",
            "2023-11-14T22:13:20.123Z ",
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
        fn the_wire_text_is_always_24_characters_in_utc(millis in MIN_MILLIS..=MAX_MILLIS) {
            let text = Timestamp::from_unix_millis(millis).unwrap().to_string();
            prop_assert_eq!(text.len(), 24);
            prop_assert_eq!(&text[19..20], ".");
            prop_assert!(text.ends_with('Z'));
        }

        #[test]
        fn more_fraction_digits_and_a_zero_offset_read_the_same(
            millis in MIN_MILLIS..=MAX_MILLIS,
            extra in "[0-9]{0,6}",
            offset in prop_oneof![Just("Z"), Just("+00:00")],
        ) {
            let stamp = Timestamp::from_unix_millis(millis).unwrap();
            let wire = stamp.to_string();
            let text = format!("{}{extra}{offset}", &wire[..23]);
            prop_assert_eq!(text.parse::<Timestamp>(), Ok(stamp));
        }

        #[test]
        fn text_order_matches_time_order(a in 0..MAX_MILLIS, b in 0..MAX_MILLIS) {
            let (x, y) = (Timestamp(a), Timestamp(b));
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }
    }
}
