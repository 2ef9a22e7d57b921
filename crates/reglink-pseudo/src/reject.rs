//! Why an identifier was rejected.

use reglink_pnr::PnrError;
use serde::Serialize;

/// The reason a row's identifier was rejected, as counted in reject reports.
///
/// Coarser than [`PnrError`] on purpose: the report says *what kind* of
/// problem a row has, never where in the number it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// Null or blank.
    Missing,
    /// Not 10 or 12 digits (plus separator).
    Length,
    /// A character that is not a digit where a digit belongs.
    Character,
    /// A separator other than `-`/`+`, in the wrong place, or `+` in a 12-digit form.
    Separator,
    /// Impossible calendar date (month, day, or samordningsnummer day).
    Date,
    /// Born after the reference date.
    FutureBirthDate,
    /// The Luhn check digit does not match.
    Checksum,
    /// Any other parse failure.
    Other,
}

impl RejectReason {
    /// All reasons, in report order.
    pub const ALL: [RejectReason; 8] = [
        RejectReason::Missing,
        RejectReason::Length,
        RejectReason::Character,
        RejectReason::Separator,
        RejectReason::Date,
        RejectReason::FutureBirthDate,
        RejectReason::Checksum,
        RejectReason::Other,
    ];

    /// The reason for a parse error.
    pub fn from_error(e: &PnrError) -> RejectReason {
        match e {
            PnrError::Empty => RejectReason::Missing,
            PnrError::Length { .. } => RejectReason::Length,
            PnrError::Character { .. } => RejectReason::Character,
            PnrError::Separator { .. } => RejectReason::Separator,
            PnrError::Month | PnrError::Day => RejectReason::Date,
            PnrError::FutureBirthDate => RejectReason::FutureBirthDate,
            PnrError::Checksum => RejectReason::Checksum,
            _ => RejectReason::Other,
        }
    }

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Missing => "missing",
            RejectReason::Length => "length",
            RejectReason::Character => "character",
            RejectReason::Separator => "separator",
            RejectReason::Date => "date",
            RejectReason::FutureBirthDate => "future_birth_date",
            RejectReason::Checksum => "checksum",
            RejectReason::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        RejectReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(RejectReason::ALL.len() - 1)
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}
