//! RFC 3339 timestamps, the way providers and the host write them.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::error::{Error, Result};

/// An instant with the UTC offset it was written in, read and written as RFC 3339 text
/// (`2024-02-10T08:01:02.123456Z`). The host gives [`crate::Sync::last_sync_time`] as one; a
/// plugin uses it for a provider's `updated_at`, to compare and to store in a checkpoint.
///
/// It behaves like Go's `time.Time` in JSON, so a Rust plugin saves the same records as a Go
/// one: it serializes as RFC 3339 with up to nanoseconds, trailing zeros of the fraction
/// dropped, in the offset it was parsed with (`Z` for UTC). Comparisons are between instants:
/// `10:00:00+02:00` equals `08:00:00Z`.
#[derive(Clone, Copy, Debug)]
pub struct Timestamp {
    secs: i64,   // since the Unix epoch
    nanos: u32,  // within the second
    offset: i32, // seconds east of UTC, for display
}

impl Timestamp {
    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch, in UTC.
    /// `nanos` past a second carry into `secs`.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp {
            secs: secs + (nanos / 1_000_000_000) as i64,
            nanos: nanos % 1_000_000_000,
            offset: 0,
        }
    }

    /// Parses RFC 3339 text: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to nine
    /// digits, and `Z` or an offset `±HH:MM`.
    pub fn parse(s: &str) -> Result<Timestamp> {
        parse_rfc3339(s.as_bytes())
            .ok_or_else(|| Error::msg(format!("parse time {:?}: not an RFC 3339 time", s)))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second, 0 to 999,999,999.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The same instant in UTC, which writes with `Z`.
    pub fn to_utc(self) -> Timestamp {
        Timestamp { offset: 0, ..self }
    }

    /// The offset from UTC the timestamp is written in, in seconds east.
    pub fn offset_seconds(&self) -> i32 {
        self.offset
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Timestamp) -> bool {
        (self.secs, self.nanos) == (other.secs, other.nanos)
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Timestamp) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Timestamp) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.secs, self.nanos).hash(h)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Timestamp> {
        Timestamp::parse(s)
    }
}

/// Writes RFC 3339 with nanoseconds, trailing zeros of the fraction dropped (Go's
/// `time.RFC3339Nano`).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_RFC3339];
        let (year, n) = self.write_rfc3339(&mut buf);
        if four_digits(year) {
            f.write_str(as_ascii(&buf[..n]))
        } else {
            write!(f, "{:04}{}", year, as_ascii(&buf[4..n]))
        }
    }
}

/// The longest text [`Timestamp::write_rfc3339`] writes: `YYYY-MM-DDTHH:MM:SS.NNNNNNNNN+HH:MM`.
const MAX_RFC3339: usize = 35;

/// `b`, which holds only ASCII, as text.
fn as_ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("RFC 3339 text is ASCII")
}

/// Reports whether `year` is written in four digits, as every year parse reads is.
fn four_digits(year: i64) -> bool {
    (0..=9999).contains(&year)
}

impl Timestamp {
    /// Writes the timestamp into `buf` by hand, digit by digit: a record holds two timestamps
    /// or more, and a page a thousand records, which `write!` would make half the cost of
    /// encoding the page. It returns the year and the text's length: `buf[4..len]` is what
    /// follows the year, and `buf[..4]` the year when it has four digits ([`four_digits`]).
    fn write_rfc3339(&self, buf: &mut [u8; MAX_RFC3339]) -> (i64, usize) {
        let local = self.secs + self.offset as i64;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let t = local.rem_euclid(86_400);
        if four_digits(y) {
            put_digits(&mut buf[0..4], y as u32);
        }
        buf[4] = b'-';
        put_digits(&mut buf[5..7], m as u32);
        buf[7] = b'-';
        put_digits(&mut buf[8..10], d as u32);
        buf[10] = b'T';
        put_digits(&mut buf[11..13], (t / 3600) as u32);
        buf[13] = b':';
        put_digits(&mut buf[14..16], (t / 60 % 60) as u32);
        buf[16] = b':';
        put_digits(&mut buf[17..19], (t % 60) as u32);
        let mut n = 19;
        if self.nanos > 0 {
            buf[n] = b'.';
            put_digits(&mut buf[n + 1..n + 10], self.nanos);
            n += 10;
            while buf[n - 1] == b'0' {
                n -= 1;
            }
        }
        if self.offset == 0 {
            buf[n] = b'Z';
            return (y, n + 1);
        }
        buf[n] = if self.offset < 0 { b'-' } else { b'+' };
        let off = self.offset.unsigned_abs() / 60;
        put_digits(&mut buf[n + 1..n + 3], off / 60);
        buf[n + 3] = b':';
        put_digits(&mut buf[n + 4..n + 6], off % 60);
        (y, n + 6)
    }
}

/// Writes `v` into `dst` as decimal digits, zero-padded to `dst`'s length.
fn put_digits(dst: &mut [u8], mut v: u32) {
    for c in dst.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = [0u8; MAX_RFC3339];
        match self.write_rfc3339(&mut buf) {
            (year, n) if four_digits(year) => s.serialize_str(as_ascii(&buf[..n])),
            _ => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Timestamp, E> {
                parse_rfc3339(s.as_bytes()).ok_or_else(|| {
                    E::custom(format_args!("parse time {:?}: not an RFC 3339 time", s))
                })
            }
        }
        d.deserialize_str(Visitor)
    }
}

fn parse_rfc3339(b: &[u8]) -> Option<Timestamp> {
    fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
        let s = b.get(at..at + n)?;
        let mut v = 0i64;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        Some(v)
    }
    fn byte(b: &[u8], at: usize, want: &[u8]) -> Option<()> {
        if want.contains(b.get(at)?) {
            Some(())
        } else {
            None
        }
    }
    let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    byte(b, 4, b"-")?;
    byte(b, 7, b"-")?;
    byte(b, 10, b"Tt")?;
    let (h, mi, s) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    byte(b, 13, b":")?;
    byte(b, 16, b":")?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(b, start, n)? as u32 * 10u32.pow((9 - n) as u32);
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        &c @ (b'+' | b'-') if i + 6 == b.len() => {
            byte(b, i + 3, b":")?;
            let (oh, om) = (digits(b, i + 1, 2)?, digits(b, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 3600 + om * 60) as i32;
            if c == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset as i64;
    Some(Timestamp {
        secs,
        nanos,
        offset,
    })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_go() {
        // (input, how Go's time.Time writes it back after parsing)
        let tests = [
            ("2024-01-18T22:44:52.37935Z", "2024-01-18T22:44:52.37935Z"),
            ("2024-01-01T00:00:41.3Z", "2024-01-01T00:00:41.3Z"),
            ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
            ("2024-02-10T08:01:02.120000Z", "2024-02-10T08:01:02.12Z"),
            ("2024-02-10T08:01:02.000Z", "2024-02-10T08:01:02Z"),
            ("2024-02-10T10:01:02.5+02:00", "2024-02-10T10:01:02.5+02:00"),
            (
                "1969-12-31T23:59:59.999999999-05:30",
                "1969-12-31T23:59:59.999999999-05:30",
            ),
            ("2000-03-01t00:00:00z", "2000-03-01T00:00:00Z"),
        ];
        for (input, want) in tests {
            let t = Timestamp::parse(input).unwrap();
            assert_eq!(t.to_string(), want, "{}", input);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("{:?}", want));
            let back: Timestamp = serde_json::from_str(&json).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn writes_years_beyond_four_digits() {
        // Years outside 0-9999 are written as they always were: at least four digits, signed.
        let tests = [
            (
                Timestamp::from_unix(253_402_300_800, 0),
                "10000-01-01T00:00:00Z",
            ),
            (
                Timestamp::from_unix(-62_167_219_201, 5),
                "-001-12-31T23:59:59.000000005Z",
            ),
            (
                Timestamp::from_unix(-62_167_219_200, 0),
                "0000-01-01T00:00:00Z",
            ),
            (
                Timestamp::from_unix(253_402_300_799, 999_999_999),
                "9999-12-31T23:59:59.999999999Z",
            ),
        ];
        for (t, want) in tests {
            assert_eq!(t.to_string(), want);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("{:?}", want));
        }
    }

    #[test]
    fn compares_instants() {
        let a = Timestamp::parse("2024-02-10T10:00:00+02:00").unwrap();
        let b = Timestamp::parse("2024-02-10T08:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_utc().to_string(), "2024-02-10T08:00:00Z");
        // Text order is not time order: "05.1Z" sorts before "05Z".
        let c = Timestamp::parse("2024-02-10T08:00:05.1Z").unwrap();
        let d = Timestamp::parse("2024-02-10T08:00:05Z").unwrap();
        assert!(c > d);
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z").unwrap(),
            Timestamp::from_unix(0, 0)
        );
        assert_eq!(
            Timestamp::from_unix(1_707_552_062, 123_456_000).to_string(),
            "2024-02-10T08:01:02.123456Z"
        );
    }

    #[test]
    fn refuses_bad_times() {
        for bad in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00+0200",
            "2024-01-01T00:00:00Zx",
            "2024-01-01 00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{:?} parsed", bad);
        }
    }
}
