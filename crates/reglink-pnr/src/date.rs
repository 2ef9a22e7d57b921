//! A tiny proleptic Gregorian civil date.
//!
//! Register extracts only ever need whole days: birth dates, the date an
//! extract was taken, event dates. [`Date`] is exactly that, convertible to and
//! from a count of days since 1970-01-01 (the representation of Arrow's
//! `Date32`), so the rest of the workspace needs no date library.

use std::fmt;
use std::str::FromStr;

use crate::error::PnrError;

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
///
/// Counting from a March 1st puts the leap day at the end of the counting
/// year, which keeps the day/date conversions free of special cases.
const DAYS_FROM_0000_03_01_TO_EPOCH: i64 = 719_468;
/// Days in one 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;

/// A calendar date (proleptic Gregorian), without time or time zone.
///
/// Every `Date` is a real day: `Date::new(2023, 2, 29)` is `None`. The range is
/// exactly the days whose [`days_since_epoch`](Date::days_since_epoch) fits in
/// an `i32` (about 5.8 million years either side of 1970), so the conversion
/// to Arrow's `Date32` never fails.
///
/// Ordering is chronological.
///
/// ```
/// use reglink_pnr::Date;
///
/// let d = Date::new(2024, 2, 29).expect("2024 is a leap year");
/// assert_eq!(d.to_string(), "2024-02-29");
/// assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), d);
/// assert_eq!(Date::new(2023, 2, 29), None);
/// assert_eq!("2024-02-29".parse::<Date>(), Ok(d));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date `year`-`month`-`day`, or `None` if there is no such day
    /// (month outside 1..=12, day outside the month, 29 February of a common
    /// year) or it lies outside the representable range.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Only years near the ends of the range need the exact check; this
        // keeps the common case free of the day-count arithmetic.
        if !(-5_000_000..=5_000_000).contains(&year) {
            i32::try_from(days_from_civil(year, month, day)).ok()?;
        }
        Some(Date { year, month, day })
    }

    /// A date the caller has already validated (a real day within range).
    pub(crate) const fn from_valid_ymd(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// The year; 2024 for 2024-02-29. Year 0 is 1 BC, as in ISO 8601.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1..=31.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01, negative before it; the value Arrow stores in a
    /// `Date32` column.
    pub fn days_since_epoch(&self) -> i32 {
        // `new` and `from_days_since_epoch` only ever build dates in range.
        i32::try_from(days_from_civil(self.year, self.month, self.day))
            .unwrap_or_else(|_| unreachable!("every Date fits in i32 days"))
    }

    /// The date `days` after 1970-01-01 (before it when negative). Total: every
    /// `i32` is a date.
    pub fn from_days_since_epoch(days: i32) -> Date {
        civil_from_days(i64::from(days))
    }

    /// Parses an ISO 8601 calendar date, `YYYY-MM-DD`.
    ///
    /// Strict: exactly four year digits, two month digits and two day digits,
    /// no surrounding whitespace. Years outside 0000..=9999 are written with a
    /// sign and at least four digits (`-0044-03-15`, `+12024-01-01`), the
    /// expanded form that [`Display`](fmt::Display) produces for them.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let bytes = s.as_bytes();
        let (sign, rest) = match bytes.first() {
            Some(b'+') => (Some(1), &bytes[1..]),
            Some(b'-') => (Some(-1), &bytes[1..]),
            _ => (None, bytes),
        };
        // `rest` is YYYY..-MM-DD: the year takes all but the last six bytes.
        let year_len = rest.len().checked_sub(6)?;
        let year_len_ok = match sign {
            None => year_len == 4,
            // Seven digits cover every representable year.
            Some(_) => (4..=7).contains(&year_len),
        };
        if !year_len_ok || rest[year_len] != b'-' || rest[year_len + 3] != b'-' {
            return None;
        }
        let year = decimal(&rest[..year_len])?;
        let month = decimal(&rest[year_len + 1..year_len + 3])?;
        let day = decimal(&rest[year_len + 4..])?;
        let year = i32::try_from(year).ok()? * sign.unwrap_or(1);
        Date::new(year, u8::try_from(month).ok()?, u8::try_from(day).ok()?)
    }

    /// `year * 12 + (month - 1)`: months counted from year 0, so that whole
    /// months between two dates are a subtraction.
    ///
    /// ```
    /// use reglink_pnr::Date;
    ///
    /// let jan = Date::new(2024, 1, 31).unwrap();
    /// let mar = Date::new(2024, 3, 1).unwrap();
    /// assert_eq!(mar.month_index() - jan.month_index(), 2);
    /// ```
    pub fn month_index(&self) -> i32 {
        self.year * 12 + i32::from(self.month) - 1
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`; years outside 0000..=9999 in ISO 8601's expanded form
    /// (`-0044-03-15`, `+12024-01-01`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (month, day) = (self.month, self.day);
        match self.year {
            year @ 0..=9999 => write!(f, "{year:04}-{month:02}-{day:02}"),
            year if year < 0 => write!(f, "-{:04}-{month:02}-{day:02}", year.unsigned_abs()),
            year => write!(f, "+{year}-{month:02}-{day:02}"),
        }
    }
}

impl FromStr for Date {
    type Err = PnrError;

    /// Same as [`Date::parse_iso`], failing with [`PnrError::IsoDate`].
    fn from_str(s: &str) -> Result<Date, PnrError> {
        Date::parse_iso(s).ok_or(PnrError::IsoDate)
    }
}

/// Whether `year` has a 29 February.
pub(crate) fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days in `month` (1..=12) of `year`.
pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of a run of ASCII digits, `None` if any byte is not a digit.
fn decimal(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

// The two conversions below follow Howard Hinnant's `days_from_civil` and
// `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms"): shift the
// year to start on 1 March, split it into 400-year eras of exactly 146 097
// days, and within an era count whole years, then months of a fixed
// 153-days-per-five-months pattern.

/// Days since 1970-01-01 of a valid date, in `i64` so no year overflows.
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let month = i64::from(month);
    // January and February belong to the previous March-based year.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let march_month = (month + 9) % 12; // March = 0 .. February = 11
    let day_of_year = (153 * march_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - DAYS_FROM_0000_03_01_TO_EPOCH
}

/// The date `days` after 1970-01-01; the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> Date {
    let days = days + DAYS_FROM_0000_03_01_TO_EPOCH;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days.rem_euclid(DAYS_PER_ERA); // 0..=146_096
    // Remove the leap days accumulated so far, then whole 365-day years remain.
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524
        - day_of_era / (DAYS_PER_ERA - 1))
        / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153; // March = 0 .. February = 11
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // An i32 day count is within ±5.9 million years, so every part fits.
    Date::from_valid_ymd(
        i32::try_from(year).unwrap_or_else(|_| unreachable!("year of an i32 day count")),
        u8::try_from(month).unwrap_or_else(|_| unreachable!("month is 1..=12")),
        u8::try_from(day).unwrap_or_else(|_| unreachable!("day is 1..=31")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::new(year, month, day).expect("test date is valid")
    }

    #[test]
    fn new_rejects_impossible_dates() {
        assert_eq!(Date::new(2024, 0, 1), None);
        assert_eq!(Date::new(2024, 13, 1), None);
        assert_eq!(Date::new(2024, 1, 0), None);
        assert_eq!(Date::new(2024, 1, 32), None);
        assert_eq!(Date::new(2024, 4, 31), None);
        assert_eq!(Date::new(2023, 2, 29), None);
        assert_eq!(
            Date::new(1900, 2, 29),
            None,
            "century, not divisible by 400"
        );
        assert!(Date::new(2000, 2, 29).is_some(), "divisible by 400");
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2024, 12, 31).is_some());
    }

    #[test]
    fn new_rejects_dates_beyond_i32_days() {
        assert_eq!(Date::new(i32::MAX, 1, 1), None);
        assert_eq!(Date::new(i32::MIN, 1, 1), None);
        let first = Date::from_days_since_epoch(i32::MIN);
        let last = Date::from_days_since_epoch(i32::MAX);
        assert_eq!(
            Date::new(first.year(), first.month(), first.day()),
            Some(first)
        );
        assert_eq!(Date::new(last.year(), last.month(), last.day()), Some(last));
        assert_eq!(Date::new(last.year() + 1, last.month(), last.day()), None);
        assert_eq!(
            Date::new(first.year() - 1, first.month(), first.day()),
            None
        );
    }

    #[test]
    fn days_since_epoch_known_values() {
        assert_eq!(date(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(date(1969, 12, 31).days_since_epoch(), -1);
        assert_eq!(date(1970, 3, 1).days_since_epoch(), 59);
        assert_eq!(date(2000, 1, 1).days_since_epoch(), 10_957);
        assert_eq!(date(2024, 2, 29).days_since_epoch(), 19_782);
        assert_eq!(date(1900, 1, 1).days_since_epoch(), -25_567);
        assert_eq!(date(0, 3, 1).days_since_epoch(), -719_468);
    }

    #[test]
    fn from_days_since_epoch_known_values() {
        assert_eq!(Date::from_days_since_epoch(0), date(1970, 1, 1));
        assert_eq!(Date::from_days_since_epoch(-1), date(1969, 12, 31));
        assert_eq!(Date::from_days_since_epoch(19_782), date(2024, 2, 29));
        assert_eq!(Date::from_days_since_epoch(19_783), date(2024, 3, 1));
        assert_eq!(Date::from_days_since_epoch(-25_567), date(1900, 1, 1));
        assert_eq!(Date::from_days_since_epoch(-719_469), date(0, 2, 29));
    }

    #[test]
    fn ordering_is_chronological() {
        assert!(date(2023, 12, 31) < date(2024, 1, 1));
        assert!(date(2024, 1, 31) < date(2024, 2, 1));
        assert!(date(2024, 2, 1) < date(2024, 2, 2));
        assert!(date(-1, 12, 31) < date(0, 1, 1));
    }

    #[test]
    fn month_index_counts_months() {
        assert_eq!(date(0, 1, 1).month_index(), 0);
        assert_eq!(date(2024, 1, 15).month_index(), 2024 * 12);
        assert_eq!(
            date(2024, 12, 1).month_index() - date(2023, 12, 31).month_index(),
            12
        );
        assert_eq!(date(-1, 12, 1).month_index(), -1);
    }

    #[test]
    fn display_is_iso() {
        assert_eq!(date(2024, 2, 9).to_string(), "2024-02-09");
        assert_eq!(date(987, 1, 2).to_string(), "0987-01-02");
        assert_eq!(date(0, 1, 1).to_string(), "0000-01-01");
        assert_eq!(date(-44, 3, 15).to_string(), "-0044-03-15");
        assert_eq!(date(12_024, 1, 1).to_string(), "+12024-01-01");
    }

    #[test]
    fn parse_iso_accepts_the_display_forms() {
        assert_eq!(Date::parse_iso("2024-02-09"), Some(date(2024, 2, 9)));
        assert_eq!(Date::parse_iso("0987-01-02"), Some(date(987, 1, 2)));
        assert_eq!(Date::parse_iso("-0044-03-15"), Some(date(-44, 3, 15)));
        assert_eq!(Date::parse_iso("+12024-01-01"), Some(date(12_024, 1, 1)));
        assert_eq!("2024-02-29".parse::<Date>(), Ok(date(2024, 2, 29)));
    }

    #[test]
    fn parse_iso_is_strict() {
        for bad in [
            "",
            "2024",
            "2024-2-09",
            "2024-02-9",
            "24-02-09",
            "12024-01-01", // five year digits need a sign
            "+12345678-01-01",
            "2024/02/09",
            "2024-02-09 ",
            " 2024-02-09",
            "2024-02-3x",
            "2024-+2-09",
            "2023-02-29",
            "2024-13-01",
            "2024-00-01",
            "2024-01-00",
            "+9999999-01-01", // beyond the i32 day range
        ] {
            assert_eq!(Date::parse_iso(bad), None, "{bad:?}");
        }
        assert_eq!("2024-13-01".parse::<Date>(), Err(PnrError::IsoDate));
    }
}
