//! Why a personnummer (or a date) was rejected.

use thiserror::Error;

/// Why an input is not a valid personnummer or samordningsnummer.
///
/// Messages name the kind of fault and, where it helps, a position; they
/// **never** contain the input or any of its digits, because they end up in
/// user-facing reports about rows of a register file. The caller adds the row
/// and column.
///
/// Positions are 0-based byte offsets into the input as given, before any
/// whitespace was trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PnrError {
    /// The input is empty or only whitespace.
    #[error("empty personnummer")]
    Empty,

    /// After trimming whitespace the input has a length no accepted form has
    /// (accepted: ten, eleven, twelve or thirteen bytes).
    #[error(
        "personnummer has length {len}; expected YYMMDD-NNNC, YYMMDDNNNC, YYYYMMDDNNNC or YYYYMMDD-NNNC"
    )]
    Length {
        /// Length in bytes after trimming surrounding whitespace.
        len: usize,
    },

    /// A character other than an ASCII digit where a digit belongs.
    #[error("personnummer has a non-digit at byte offset {position}")]
    Character {
        /// 0-based byte offset of the offending character.
        position: usize,
    },

    /// The character where the separator belongs is not a valid separator:
    /// a space or other character instead of `-`/`+`, or a `+` in the
    /// twelve-digit form (which carries the century itself).
    #[error(
        "personnummer has an invalid separator at byte offset {position}; hint: use '-', or '+' only in the ten-digit form for people aged one hundred or more"
    )]
    Separator {
        /// 0-based byte offset of the offending character.
        position: usize,
    },

    /// The month digits are not a month.
    #[error("personnummer has an impossible month")]
    Month,

    /// The day digits are not a day of that month and year, neither as a
    /// personnummer day nor as a samordningsnummer day (real day plus sixty).
    #[error("personnummer has an impossible day of the month")]
    Day,

    /// A twelve-digit number whose birth date is after the reference date.
    #[error("personnummer has a birth date after the reference date")]
    FutureBirthDate,

    /// The check digit does not match (a mistyped or transposed digit).
    #[error("personnummer check digit does not match; hint: a digit is probably mistyped")]
    Checksum,

    /// [`Pnr::from_parts`](crate::Pnr::from_parts) was given a birth number
    /// above the three-digit maximum.
    #[error("birth number has more than three digits")]
    BirthNumber,

    /// The birth year does not fit the four digits of the normal form: a
    /// [`Pnr::from_parts`](crate::Pnr::from_parts) date outside years
    /// 0000..=9999, or a ten-digit number whose century, inferred from the
    /// reference date, falls outside them.
    #[error("birth year does not fit in four digits; hint: check the reference date")]
    YearOutOfRange,

    /// A date string is not an ISO 8601 calendar date (`YYYY-MM-DD`).
    #[error("not a calendar date of the form YYYY-MM-DD")]
    IsoDate,
}
