//! Parsing the written forms of a personnummer into a [`Pnr`].
//!
//! The shape of the input is decided by its length after trimming:
//!
//! | length | form            | separator at |
//! |--------|-----------------|--------------|
//! | 10     | `YYMMDDNNNC`    | –            |
//! | 11     | `YYMMDD-NNNC`, `YYMMDD+NNNC` | 6 |
//! | 12     | `YYYYMMDDNNNC`  | –            |
//! | 13     | `YYYYMMDD-NNNC` | 8            |
//!
//! then the characters are checked left to right, then the month, the day
//! (inferring the century for ten-digit forms), the check digit and, for
//! twelve-digit forms, that the person is born by the reference date.

use crate::date::Date;
use crate::error::PnrError;
use crate::format::Form;
use crate::luhn;
use crate::pnr::{COORDINATION_DAY_OFFSET, Pnr, payload};

impl Pnr {
    /// Parses any accepted written form; see [`Pnr::parse_bytes`].
    ///
    /// # Errors
    ///
    /// As [`Pnr::parse_bytes`].
    pub fn parse(input: &str, reference: Date) -> Result<Pnr, PnrError> {
        Pnr::parse_bytes(input.as_bytes(), reference)
    }

    /// Parses a personnummer or samordningsnummer from raw bytes, such as a
    /// field of a CSV file, without allocating.
    ///
    /// Accepted, after trimming ASCII whitespace: `YYYYMMDDNNNC`,
    /// `YYYYMMDD-NNNC`, `YYMMDD-NNNC`, `YYMMDD+NNNC` and `YYMMDDNNNC`.
    ///
    /// `reference` is the date the extract was taken. It fixes the century of
    /// the ten-digit forms: with `-` or no separator the person is 0..=99
    /// years old on the reference date (the latest birth date with those
    /// `YYMMDD` digits that is not after it); with `+` they are 100 years
    /// older. A twelve-digit number must not be born after it.
    ///
    /// # Errors
    ///
    /// The first fault found, in this order: [`PnrError::Empty`],
    /// [`PnrError::Length`], [`PnrError::Character`] or
    /// [`PnrError::Separator`] (whichever comes first in the input),
    /// [`PnrError::Month`], [`PnrError::Day`], [`PnrError::YearOutOfRange`]
    /// (only for a reference date near year 0 or beyond 9999),
    /// [`PnrError::Checksum`], [`PnrError::FutureBirthDate`].
    pub fn parse_bytes(input: &[u8], reference: Date) -> Result<Pnr, PnrError> {
        let (offset, trimmed) = trim_ascii_whitespace(input);
        let (form, separator_at) = match trimmed.len() {
            0 => return Err(PnrError::Empty),
            10 => (Form::Ten, None),
            11 => (Form::TenSeparated, Some(6)),
            12 => (Form::Twelve, None),
            13 => (Form::TwelveDash, Some(8)),
            len => return Err(PnrError::Length { len }),
        };
        let has_century = matches!(form, Form::Twelve | Form::TwelveDash);

        // The digits land where they belong in the normal form; a ten-digit
        // form leaves the two century digits to be inferred.
        let mut digits = [b'0'; 12];
        let mut next = if has_century { 0 } else { 2 };
        let mut plus = false;
        for (i, &byte) in trimmed.iter().enumerate() {
            if Some(i) == separator_at {
                match byte {
                    b'-' => {}
                    b'+' if !has_century => plus = true,
                    _ => {
                        return Err(PnrError::Separator {
                            position: offset + i,
                        });
                    }
                }
            } else if byte.is_ascii_digit() {
                digits[next] = byte;
                next += 1;
            } else {
                return Err(PnrError::Character {
                    position: offset + i,
                });
            }
        }

        let two = |at: usize| (digits[at] - b'0') * 10 + (digits[at + 1] - b'0');
        let month = two(4);
        if !(1..=12).contains(&month) {
            return Err(PnrError::Month);
        }
        let day_digits = two(6);
        let day = if day_digits > COORDINATION_DAY_OFFSET {
            day_digits - COORDINATION_DAY_OFFSET
        } else {
            day_digits
        };
        if !(1..=31).contains(&day) {
            return Err(PnrError::Day);
        }

        let year = if has_century {
            i32::from(two(0)) * 100 + i32::from(two(2))
        } else {
            let year = infer_year(two(2), month, day, reference, plus);
            if !(0..=9999).contains(&year) {
                return Err(PnrError::YearOutOfRange);
            }
            let century = (year / 100) as u8;
            digits[0] = b'0' + century / 10;
            digits[1] = b'0' + century % 10;
            year
        };
        let birth_date = Date::new(year, month, day).ok_or(PnrError::Day)?;

        if digits[11] - b'0' != luhn::check_digit(&payload(&digits)) {
            return Err(PnrError::Checksum);
        }
        if birth_date > reference {
            // Only reachable for twelve-digit forms: inferred centuries never
            // put the birth date after the reference date.
            return Err(PnrError::FutureBirthDate);
        }
        Ok(Pnr::from_valid_digits(digits))
    }
}

/// The year of birth for a ten-digit number with year digits `yy`.
///
/// Without `+`: the latest year ending in `yy` such that (year, month, day) is
/// not after the reference date, compared as a tuple so that 29 February of a
/// common year still picks a century (and is then rejected as an impossible
/// day, not silently moved to another century). With `+`: a century earlier.
fn infer_year(yy: u8, month: u8, day: u8, reference: Date, plus: bool) -> i32 {
    let reference_year = reference.year();
    let mut year = reference_year - (reference_year - i32::from(yy)).rem_euclid(100);
    if year == reference_year && (month, day) > (reference.month(), reference.day()) {
        year -= 100;
    }
    if plus {
        year -= 100;
    }
    year
}

/// The input without leading and trailing ASCII whitespace, and the offset of
/// its first byte in the original.
fn trim_ascii_whitespace(input: &[u8]) -> (usize, &[u8]) {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |last| last + 1);
    (start, &input[start..end])
}

#[cfg(test)]
mod tests;
