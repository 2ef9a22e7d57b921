//! The validated identity number and what can be read from it.

use std::fmt;

use crate::date::Date;
use crate::error::PnrError;
use crate::luhn;

/// Added to the day of birth in a samordningsnummer (coordination number).
pub(crate) const COORDINATION_DAY_OFFSET: u8 = 60;

/// A valid Swedish personnummer or samordningsnummer, in normal form.
///
/// Holds the twelve ASCII digits `YYYYMMDDNNNC`; a samordningsnummer keeps its
/// day plus sixty. Every value has a valid calendar date, a valid check digit
/// and a four-digit year: it can only be built by [`Pnr::parse`],
/// [`Pnr::parse_bytes`] or [`Pnr::from_parts`].
///
/// Deliberately has no `Display`, `AsRef`, `Deref` or serde support, and its
/// `Debug` prints `Pnr(<redacted>)`, so a number cannot end up in a log line or
/// an error message by accident. The digits are reachable only through
/// [`normalised`](Pnr::normalised) (for keyed hashing) and
/// [`format`](Pnr::format) (for writing an identifier back out on purpose).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pnr {
    digits: [u8; 12],
}

/// Legal sex as recorded in the number: the last digit of the birth number is
/// odd for men and even for women.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Odd last birth-number digit.
    Male,
    /// Even last birth-number digit.
    Female,
}

impl Pnr {
    /// Wraps twelve ASCII digits that the caller has fully validated (date,
    /// check digit, year range).
    pub(crate) const fn from_valid_digits(digits: [u8; 12]) -> Pnr {
        Pnr { digits }
    }

    /// Builds the number of the person born on `birth_date` with birth number
    /// `birth_number` (0..=999), computing the check digit. With
    /// `coordination`, the result is a samordningsnummer (day plus sixty).
    ///
    /// # Errors
    ///
    /// [`PnrError::BirthNumber`] if `birth_number` exceeds 999, and
    /// [`PnrError::YearOutOfRange`] if the year is outside 0000..=9999.
    ///
    /// ```
    /// use reglink_pnr::{Date, Pnr};
    ///
    /// let born = Date::new(1981, 12, 18).unwrap();
    /// let pnr = Pnr::from_parts(born, 987, false)?;
    /// assert_eq!(pnr.normalised(), b"198112189876");
    /// let samordningsnummer = Pnr::from_parts(born, 987, true)?;
    /// assert_eq!(&samordningsnummer.normalised()[6..8], b"78");
    /// assert_eq!(samordningsnummer.birth_date(), born);
    /// # Ok::<(), reglink_pnr::PnrError>(())
    /// ```
    pub fn from_parts(
        birth_date: Date,
        birth_number: u16,
        coordination: bool,
    ) -> Result<Pnr, PnrError> {
        if birth_number > 999 {
            return Err(PnrError::BirthNumber);
        }
        let year = u32::try_from(birth_date.year())
            .ok()
            .filter(|year| *year <= 9999)
            .ok_or(PnrError::YearOutOfRange)?;
        let day = if coordination {
            birth_date.day() + COORDINATION_DAY_OFFSET
        } else {
            birth_date.day()
        };
        let mut digits = [b'0'; 12];
        write_decimal(&mut digits[0..4], year);
        write_decimal(&mut digits[4..6], u32::from(birth_date.month()));
        write_decimal(&mut digits[6..8], u32::from(day));
        write_decimal(&mut digits[8..11], u32::from(birth_number));
        digits[11] = b'0' + luhn::check_digit(&payload(&digits));
        Ok(Pnr { digits })
    }

    /// The twelve ASCII digits `YYYYMMDDNNNC`, without separator; a
    /// samordningsnummer keeps its day plus sixty. This is the one canonical
    /// form: two inputs denote the same person exactly when their normal
    /// forms are equal, so it is what gets keyed-hashed into a pseudonym.
    pub fn normalised(&self) -> &[u8; 12] {
        &self.digits
    }

    /// The date of birth; for a samordningsnummer the real day (sixty less
    /// than the day digits).
    pub fn birth_date(&self) -> Date {
        let day = self.decimal(6..8);
        let day = if day > u32::from(COORDINATION_DAY_OFFSET) {
            day - u32::from(COORDINATION_DAY_OFFSET)
        } else {
            day
        };
        // Validated at construction: a real day, year 0..=9999.
        Date::from_valid_ymd(
            self.decimal(0..4) as i32,
            self.decimal(4..6) as u8,
            day as u8,
        )
    }

    /// Legal sex as recorded in the number (see [`Sex`]).
    pub fn sex(&self) -> Sex {
        if (self.digits[10] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Whether this is a samordningsnummer (coordination number, day plus
    /// sixty) rather than a personnummer.
    pub fn is_coordination(&self) -> bool {
        self.decimal(6..8) > u32::from(COORDINATION_DAY_OFFSET)
    }

    /// The three-digit birth number `NNN`, 0..=999.
    pub fn birth_number(&self) -> u16 {
        self.decimal(8..11) as u16
    }

    /// Age in whole years on `date`: the number of birthdays passed, negative
    /// if `date` is before the birth date. Someone born on 29 February has a
    /// birthday on 1 March in common years.
    pub fn age_at(&self, date: Date) -> i32 {
        age_between(self.birth_date(), date)
    }

    /// The value of the digits in `range` (at most four, so no overflow).
    fn decimal(&self, range: std::ops::Range<usize>) -> u32 {
        self.digits[range]
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
    }
}

impl fmt::Debug for Pnr {
    /// Always `Pnr(<redacted>)`: the digits never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pnr(<redacted>)")
    }
}

/// Whole years from `birth` to `date`: birthdays passed, comparing (month, day)
/// so a 29 February birthday falls on 1 March in common years.
pub(crate) fn age_between(birth: Date, date: Date) -> i32 {
    let years = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        years - 1
    } else {
        years
    }
}

/// The nine digits `YYMMDDNNN` that the check digit protects.
pub(crate) fn payload(digits: &[u8; 12]) -> [u8; 9] {
    let mut payload = [0; 9];
    payload.copy_from_slice(&digits[2..11]);
    payload
}

/// Writes `value` as zero-padded decimal filling `out`.
fn write_decimal(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::new(year, month, day).expect("test date is valid")
    }

    #[test]
    fn from_parts_matches_a_hand_checked_number() {
        let pnr = Pnr::from_parts(date(1981, 12, 18), 987, false).unwrap();
        assert_eq!(pnr.normalised(), b"198112189876");
    }

    #[test]
    fn from_parts_pads_and_offsets() {
        let pnr = Pnr::from_parts(date(905, 3, 7), 4, true).unwrap();
        assert_eq!(&pnr.normalised()[..11], b"09050367004");
        assert!(pnr.is_coordination());
        assert_eq!(pnr.birth_date(), date(905, 3, 7));
        assert_eq!(pnr.birth_number(), 4);
    }

    #[test]
    fn from_parts_rejects_a_four_digit_birth_number() {
        assert!(Pnr::from_parts(date(1981, 12, 18), 999, false).is_ok());
        assert_eq!(
            Pnr::from_parts(date(1981, 12, 18), 1000, false),
            Err(PnrError::BirthNumber)
        );
    }

    #[test]
    fn from_parts_rejects_years_without_four_digits() {
        assert!(Pnr::from_parts(date(0, 1, 1), 1, false).is_ok());
        assert!(Pnr::from_parts(date(9999, 12, 31), 1, false).is_ok());
        assert_eq!(
            Pnr::from_parts(date(-1, 12, 31), 1, false),
            Err(PnrError::YearOutOfRange)
        );
        assert_eq!(
            Pnr::from_parts(date(10_000, 1, 1), 1, false),
            Err(PnrError::YearOutOfRange)
        );
    }

    #[test]
    fn accessors_read_the_parts_back() {
        let born = date(1999, 2, 28);
        let man = Pnr::from_parts(born, 123, false).unwrap();
        assert_eq!(man.birth_date(), born);
        assert_eq!(man.birth_number(), 123);
        assert_eq!(man.sex(), Sex::Male);
        assert!(!man.is_coordination());

        let woman = Pnr::from_parts(born, 120, true).unwrap();
        assert_eq!(woman.birth_date(), born);
        assert_eq!(woman.birth_number(), 120);
        assert_eq!(woman.sex(), Sex::Female);
        assert!(woman.is_coordination());
        assert_ne!(woman.normalised(), man.normalised());
    }

    #[test]
    fn coordination_day_thirty_one_reads_back() {
        let pnr = Pnr::from_parts(date(2001, 1, 31), 500, true).unwrap();
        assert_eq!(&pnr.normalised()[6..8], b"91");
        assert_eq!(pnr.birth_date(), date(2001, 1, 31));
    }

    #[test]
    fn debug_is_redacted() {
        let pnr = Pnr::from_parts(date(1981, 12, 18), 987, true).unwrap();
        let debug = format!("{pnr:?}");
        assert_eq!(debug, "Pnr(<redacted>)");
        assert!(!debug.bytes().any(|b| b.is_ascii_digit()));
        let nested = format!("{:?}", Some(pnr));
        assert!(!nested.bytes().any(|b| b.is_ascii_digit()), "{nested}");
    }

    #[test]
    fn age_counts_birthdays() {
        let pnr = Pnr::from_parts(date(1950, 6, 15), 1, false).unwrap();
        assert_eq!(pnr.age_at(date(2000, 6, 14)), 49);
        assert_eq!(pnr.age_at(date(2000, 6, 15)), 50);
        assert_eq!(pnr.age_at(date(1950, 6, 15)), 0);
        assert_eq!(pnr.age_at(date(1950, 6, 14)), -1);
    }

    #[test]
    fn leap_day_birthday_is_first_of_march_in_common_years() {
        let pnr = Pnr::from_parts(date(2000, 2, 29), 1, false).unwrap();
        assert_eq!(pnr.age_at(date(2001, 2, 28)), 0);
        assert_eq!(pnr.age_at(date(2001, 3, 1)), 1);
        assert_eq!(pnr.age_at(date(2004, 2, 28)), 3);
        assert_eq!(pnr.age_at(date(2004, 2, 29)), 4);
    }
}
