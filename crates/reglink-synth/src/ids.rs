//! Identity numbers: handing out unique fake personnummer, and writing them
//! the messy ways real extracts do.
//!
//! # Unique numbers without coordination between threads
//!
//! Chunks of persons are generated in parallel, yet no two persons may share
//! a number. Each birth year's numbers of one kind (male or female,
//! personnummer or samordningsnummer) are laid out as a line of *slots*,
//! `days_in_year x 499` of them; slot `i` is the day `i % days` and the birth
//! number index `i / days`, scrambled per day so numbers do not look
//! sequential. Every chunk owns a contiguous stretch of that line
//! proportional to its share of the population ([`IdAllocator`]), the same
//! stretch in all four kinds, and draws free slots from it. Stretches are
//! disjoint, so numbers are unique by construction, and the day of a slot is
//! uniform within the year whatever the stretch.
//!
//! Because the stretch is the same for every kind, the slot index that is
//! free as a woman's number can be checked at once as a man's number or a
//! samordningsnummer *on the same day*: that is how a person who changes
//! number (new sex, or a personnummer replacing a samordningsnummer) gets a
//! second number with the same birth date.
//!
//! # Written forms
//!
//! [`RawIds::write`] renders a number as a register would: mostly the
//! twelve-digit form, some `YYYYMMDD-NNNC`, `YYMMDD-NNNC` (`+` from the
//! hundredth birthday at the extraction date), `YYMMDDNNNC`, some with
//! surrounding whitespace; and, at a small rate, deliberately broken in one
//! of the [`InvalidKind`]s, which are counted for the report.

use std::collections::BTreeMap;

use reglink_pnr::{Date, Form, Pnr};
use serde::{Deserialize, Serialize};

use crate::dist::Draw;

/// Birth numbers per sex and day: 001..=997 odd for men, 002..=998 even for
/// women (000 and 999 are never handed out). Prime, so any multiplier below
/// it scrambles.
const BIRTH_NUMBERS: u32 = 499;

/// Earliest birth year handed out.
const FIRST_YEAR: i32 = 1900;
/// Latest birth year handed out: no births are simulated after the
/// reference year, and a birth date after the extraction date would not
/// parse (nor would its ten-digit forms keep their century).
const LAST_YEAR: i32 = crate::REFERENCE_YEAR;

/// Which of the four number kinds a slot is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kind {
    /// Even birth number.
    pub female: bool,
    /// Samordningsnummer (day plus sixty).
    pub coordination: bool,
}

impl Kind {
    fn index(self) -> usize {
        usize::from(self.female) * 2 + usize::from(self.coordination)
    }
}

/// A birth date with one free birth number per requested [`Kind`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allocation<const N: usize> {
    pub birth_date: Date,
    pub numbers: [Pnr; N],
}

/// Hands out numbers from one chunk's stretch of the slot line.
#[derive(Debug)]
pub(crate) struct IdAllocator {
    /// The chunk's stretch as a fraction `[lo, hi)` of each year's slots.
    lo: f64,
    hi: f64,
    /// Used slots, per `(year, kind)`, relative to the stretch start.
    used: Vec<Vec<u64>>,
}

impl IdAllocator {
    /// An allocator owning the fraction `[lo, hi)` of every year's slots.
    pub(crate) fn new(lo: f64, hi: f64) -> IdAllocator {
        IdAllocator {
            lo,
            hi,
            used: vec![Vec::new(); ((LAST_YEAR - FIRST_YEAR + 1) * 4) as usize],
        }
    }

    /// A birth date in `year` (or, if this chunk's slots for the year are
    /// exhausted, a neighbouring year) with a free number in every kind of
    /// `kinds`, all marked used.
    pub(crate) fn allocate<const N: usize>(
        &mut self,
        rng: &mut impl Draw,
        year: i32,
        kinds: [Kind; N],
    ) -> Allocation<N> {
        let year = year.clamp(FIRST_YEAR, LAST_YEAR);
        for offset in [0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5] {
            let y = year + offset;
            if (FIRST_YEAR..=LAST_YEAR).contains(&y)
                && let Some(allocation) = self.try_year(rng, y, kinds)
            {
                return allocation;
            }
        }
        // Every neighbouring year full: the chunk's share is far too small
        // for its population, which the chunk plan never produces.
        unreachable!("identity slots exhausted around {year}")
    }

    fn try_year<const N: usize>(
        &mut self,
        rng: &mut impl Draw,
        year: i32,
        kinds: [Kind; N],
    ) -> Option<Allocation<N>> {
        let days = days_in_year(year);
        let capacity = f64::from(days * BIRTH_NUMBERS);
        let start = (self.lo * capacity).floor() as u32;
        let end = ((self.hi * capacity).floor() as u32).min(days * BIRTH_NUMBERS);
        let len = end.checked_sub(start).filter(|len| *len > 0)?;
        let words = len.div_ceil(64) as usize;
        let base = ((year - FIRST_YEAR) * 4) as usize;
        for kind in kinds {
            let bits = &mut self.used[base + kind.index()];
            if bits.is_empty() {
                bits.resize(words, 0);
            }
        }
        let is_free = |used: &[Vec<u64>], slot: u32| {
            kinds.iter().all(|kind| {
                let bits = &used[base + kind.index()];
                bits[(slot / 64) as usize] & (1 << (slot % 64)) == 0
            })
        };
        let mut found = None;
        for _ in 0..24 {
            let slot = rng.int(0, len as i32 - 1) as u32;
            if is_free(&self.used, slot) {
                found = Some(slot);
                break;
            }
        }
        if found.is_none() {
            let from = rng.int(0, len as i32 - 1) as u32;
            found = (0..len)
                .map(|k| (from + k) % len)
                .find(|&slot| is_free(&self.used, slot));
        }
        let slot = found?;
        for kind in kinds {
            self.used[base + kind.index()][(slot / 64) as usize] |= 1 << (slot % 64);
        }
        let absolute = start + slot;
        let day_of_year = absolute % days;
        let index = absolute / days;
        let scrambled = (index * 211 + day_of_year * 37 + (year as u32) * 101) % BIRTH_NUMBERS;
        let first_day = jan_first(year);
        let birth_date = Date::from_days_since_epoch(first_day + day_of_year as i32);
        let numbers = kinds.map(|kind| {
            let birth_number = 2 * scrambled as u16 + if kind.female { 2 } else { 1 };
            Pnr::from_parts(birth_date, birth_number, kind.coordination)
                .unwrap_or_else(|_| unreachable!("birth number and year are in range"))
        });
        Some(Allocation {
            birth_date,
            numbers,
        })
    }
}

/// Days since the epoch of 1 January `year`.
pub(crate) fn jan_first(year: i32) -> i32 {
    day_of(year, 1, 1)
}

/// Days since the epoch of `year`-`month`-`day`, for dates known to exist
/// (the generator asks for millions of them, so this is the arithmetic of
/// the proleptic Gregorian calendar, not a validated [`Date`]).
pub(crate) fn day_of(year: i32, month: u8, day: u8) -> i32 {
    debug_assert!(Date::new(year, month, day).is_some());
    let (m, d) = (i32::from(month), i32::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_year(year: i32) -> u32 {
    (jan_first(year + 1) - jan_first(year)) as u32
}

/// The ways an identifier is deliberately broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum InvalidKind {
    /// A valid number with its check digit changed.
    WrongCheckDigit,
    /// Month 00/13 or day 00/32, with a check digit that matches the digits.
    ImpossibleDate,
    /// Eight, nine or fourteen characters: no accepted form has those lengths.
    WrongLength,
    /// A letter in place of one digit.
    Letter,
    /// The empty string.
    Empty,
    /// A space where the `-`/`+` separator belongs.
    SpaceSeparator,
}

impl InvalidKind {
    const ALL: [InvalidKind; 6] = [
        InvalidKind::WrongCheckDigit,
        InvalidKind::ImpossibleDate,
        InvalidKind::WrongLength,
        InvalidKind::Letter,
        InvalidKind::Empty,
        InvalidKind::SpaceSeparator,
    ];
}

/// How many deliberately invalid identifiers a file holds, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidIdCounts {
    /// Valid number with a changed check digit.
    pub wrong_check_digit: u64,
    /// Impossible month or day (check digit consistent with the digits).
    pub impossible_date: u64,
    /// A length no written form has (8, 9 or 14 characters).
    pub wrong_length: u64,
    /// A letter in place of a digit.
    pub letter: u64,
    /// Empty string (an empty field in CSV).
    pub empty: u64,
    /// A space in place of the separator.
    pub space_separator: u64,
}

impl InvalidIdCounts {
    /// All invalid identifiers, whatever the kind.
    pub fn total(&self) -> u64 {
        self.wrong_check_digit
            + self.impossible_date
            + self.wrong_length
            + self.letter
            + self.empty
            + self.space_separator
    }

    pub(crate) fn add(&mut self, kind: InvalidKind) {
        *match kind {
            InvalidKind::WrongCheckDigit => &mut self.wrong_check_digit,
            InvalidKind::ImpossibleDate => &mut self.impossible_date,
            InvalidKind::WrongLength => &mut self.wrong_length,
            InvalidKind::Letter => &mut self.letter,
            InvalidKind::Empty => &mut self.empty,
            InvalidKind::SpaceSeparator => &mut self.space_separator,
        } += 1;
    }

    pub(crate) fn merge(&mut self, other: &InvalidIdCounts) {
        self.wrong_check_digit += other.wrong_check_digit;
        self.impossible_date += other.impossible_date;
        self.wrong_length += other.wrong_length;
        self.letter += other.letter;
        self.empty += other.empty;
        self.space_separator += other.space_separator;
    }
}

/// What one register file's identifier column looked like, for the report.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdColumnStats {
    pub invalid: InvalidIdCounts,
    /// Rows written with a number the person no longer has.
    pub old_number_rows: u64,
    /// Coded values replaced by unknown codes, per column.
    pub unknown_codes: BTreeMap<&'static str, u64>,
    /// Rows with at least one unknown code.
    pub unknown_rows: u64,
}

impl IdColumnStats {
    pub(crate) fn merge(&mut self, other: &IdColumnStats) {
        self.invalid.merge(&other.invalid);
        self.old_number_rows += other.old_number_rows;
        self.unknown_rows += other.unknown_rows;
        for (column, n) in &other.unknown_codes {
            *self.unknown_codes.entry(column).or_default() += n;
        }
    }

    /// Counts one unknown code in `column`.
    pub(crate) fn unknown(&mut self, column: &'static str) {
        *self.unknown_codes.entry(column).or_default() += 1;
    }
}

/// Writes identifiers in mixed forms, injecting invalid ones at a fixed rate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawIds {
    /// The extraction date the ten-digit forms are relative to.
    pub reference: Date,
    /// Share of rows given an invalid identifier.
    pub invalid_rate: f64,
}

/// Share of rows per register with a deliberately invalid identifier.
pub(crate) const INVALID_RATE: f64 = 0.002;

impl RawIds {
    /// The raw text of `pnr` for one row; invalid identifiers are counted in
    /// `stats`.
    pub(crate) fn write(
        &self,
        rng: &mut impl Draw,
        pnr: &Pnr,
        stats: &mut IdColumnStats,
    ) -> String {
        if rng.chance(self.invalid_rate) {
            let kind = InvalidKind::ALL[rng.int(0, InvalidKind::ALL.len() as i32 - 1) as usize];
            stats.invalid.add(kind);
            return self.invalid(rng, pnr, kind);
        }
        let u = rng.unit();
        if u < 0.98 {
            pnr.format(form_for(u / 0.98), self.reference)
        } else {
            let body = pnr.format(form_for(rng.unit()), self.reference);
            match rng.int(0, 3) {
                0 => format!(" {body}"),
                1 => format!("{body} "),
                2 => format!("  {body} "),
                _ => format!("\t{body}"),
            }
        }
    }

    fn invalid(&self, rng: &mut impl Draw, pnr: &Pnr, kind: InvalidKind) -> String {
        let digits = pnr.normalised();
        match kind {
            InvalidKind::WrongCheckDigit => {
                let form = if rng.chance(0.7) {
                    Form::Twelve
                } else {
                    Form::TenSeparated
                };
                let mut text = pnr.format(form, self.reference).into_bytes();
                let last = text.len() - 1;
                text[last] = b'0' + (text[last] - b'0' + rng.int(1, 9) as u8) % 10;
                ascii(text)
            }
            InvalidKind::ImpossibleDate => {
                let mut d = *digits;
                let (at, value) = match rng.int(0, 3) {
                    0 => (4, *b"13"),
                    1 => (4, *b"00"),
                    2 => (6, *b"00"),
                    _ => (6, *b"32"),
                };
                d[at..at + 2].copy_from_slice(&value);
                d[11] = b'0' + luhn_check_digit(&d[2..11]);
                if rng.chance(0.7) {
                    ascii(d.to_vec())
                } else {
                    let mut ten = d[2..8].to_vec();
                    ten.push(b'-');
                    ten.extend_from_slice(&d[8..]);
                    ascii(ten)
                }
            }
            InvalidKind::WrongLength => match rng.int(0, 2) {
                // The birth date alone.
                0 => ascii(digits[..8].to_vec()),
                // A ten-digit number missing its last digit.
                1 => ascii(digits[2..11].to_vec()),
                // Two digits too many.
                _ => {
                    let mut d = digits.to_vec();
                    d.extend_from_slice(&digits[10..12]);
                    ascii(d)
                }
            },
            InvalidKind::Letter => {
                let mut d = digits.to_vec();
                let at = rng.int(0, 11) as usize;
                d[at] = b"OIlSBZX"[rng.int(0, 6) as usize];
                ascii(d)
            }
            InvalidKind::Empty => String::new(),
            InvalidKind::SpaceSeparator => {
                let form = if rng.chance(0.6) {
                    Form::TenSeparated
                } else {
                    Form::TwelveDash
                };
                pnr.format(form, self.reference).replace(['-', '+'], " ")
            }
        }
    }
}

/// Maps a uniform draw to a written form: 80 % twelve digits, 8 % with a
/// dash, 8 % ten with separator, 2 % ten without (of the 98 % that are not
/// wrapped in whitespace). The pnr crate writes `+` for a centenarian even in
/// the separator-less form, so no form is ambiguous at the extraction date.
fn form_for(u: f64) -> Form {
    if u < 0.80 / 0.98 {
        Form::Twelve
    } else if u < 0.88 / 0.98 {
        Form::TwelveDash
    } else if u < 0.96 / 0.98 {
        Form::TenSeparated
    } else {
        Form::Ten
    }
}

fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|_| unreachable!("ASCII digits and letters"))
}

/// The Luhn check digit over ASCII digits (the nine digits `YYMMDDNNN`).
pub(crate) fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let v = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;
    use reglink_pnr::{PnrError, Sex};
    use std::collections::HashSet;

    fn reference() -> Date {
        Date::new(2026, 6, 30).unwrap()
    }

    const FEMALE: Kind = Kind {
        female: true,
        coordination: false,
    };
    const MALE: Kind = Kind {
        female: false,
        coordination: false,
    };
    const FEMALE_COORD: Kind = Kind {
        female: true,
        coordination: true,
    };

    #[test]
    fn day_arithmetic_matches_the_pnr_crate() {
        let mut day = Date::new(1896, 1, 1).unwrap().days_since_epoch();
        while day < Date::new(2030, 12, 31).unwrap().days_since_epoch() {
            let date = Date::from_days_since_epoch(day);
            assert_eq!(day_of(date.year(), date.month(), date.day()), day, "{date}");
            day += 1;
        }
    }

    #[test]
    fn luhn_matches_the_pnr_crate() {
        let pnr = Pnr::from_parts(Date::new(1981, 12, 18).unwrap(), 987, false).unwrap();
        let d = pnr.normalised();
        assert_eq!(b'0' + luhn_check_digit(&d[2..11]), d[11]);
    }

    #[test]
    fn disjoint_stretches_never_share_a_number() {
        let mut seen = HashSet::new();
        let mut rng = chunk_rng(1, 0);
        // Three chunks splitting the line unevenly; a crowded year.
        for (lo, hi) in [(0.0, 0.001), (0.001, 0.0015), (0.0015, 1.0)] {
            let mut alloc = IdAllocator::new(lo, hi);
            for _ in 0..60 {
                let a = alloc.allocate(&mut rng, 1990, [FEMALE, MALE, FEMALE_COORD]);
                for pnr in a.numbers {
                    assert!(seen.insert(*pnr.normalised()), "duplicate number");
                    assert_eq!(pnr.birth_date(), a.birth_date);
                }
                assert_eq!(a.numbers[0].sex(), Sex::Female);
                assert_eq!(a.numbers[1].sex(), Sex::Male);
                assert!(a.numbers[2].is_coordination());
            }
        }
    }

    #[test]
    fn a_full_year_spills_into_its_neighbours() {
        // A stretch of about 91 slots a year, asked for 200 numbers.
        let mut alloc = IdAllocator::new(0.0, 0.0005);
        let mut rng = chunk_rng(2, 0);
        let mut years = HashSet::new();
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let a = alloc.allocate(&mut rng, 2000, [MALE]);
            years.insert(a.birth_date.year());
            assert!(seen.insert(*a.numbers[0].normalised()));
        }
        assert!(years.contains(&2000) && years.len() > 1);
    }

    #[test]
    fn valid_forms_parse_back_and_invalid_ones_do_not() {
        let ids = RawIds {
            reference: reference(),
            invalid_rate: 0.3,
        };
        let mut rng = chunk_rng(3, 0);
        let mut alloc = IdAllocator::new(0.0, 1.0);
        let mut stats = IdColumnStats::default();
        let mut rejected = 0;
        let mut plus = 0;
        for i in 0..20_000 {
            // Include people aged 100+ at the extraction date.
            let year = 1920 + (i % 100);
            let kind = if i % 7 == 0 { FEMALE_COORD } else { MALE };
            let pnr = alloc.allocate(&mut rng, year, [kind]).numbers[0];
            let raw = ids.write(&mut rng, &pnr, &mut stats);
            plus += usize::from(raw.contains('+'));
            match Pnr::parse(&raw, reference()) {
                Ok(parsed) => assert_eq!(parsed, pnr, "form {raw:?} parsed to another number"),
                Err(_) => rejected += 1,
            }
        }
        assert_eq!(rejected, stats.invalid.total());
        assert!(plus > 0, "no centenarian written with '+'");
        let c = stats.invalid;
        for n in [
            c.wrong_check_digit,
            c.impossible_date,
            c.wrong_length,
            c.letter,
            c.empty,
            c.space_separator,
        ] {
            assert!(n > 500, "{c:?}");
        }
    }

    #[test]
    fn each_invalid_kind_fails_for_its_own_reason() {
        let ids = RawIds {
            reference: reference(),
            invalid_rate: 1.0,
        };
        let pnr = Pnr::from_parts(Date::new(1981, 12, 18).unwrap(), 987, false).unwrap();
        let mut rng = chunk_rng(4, 0);
        for _ in 0..200 {
            let mut stats = IdColumnStats::default();
            let raw = ids.write(&mut rng, &pnr, &mut stats);
            let err = Pnr::parse(&raw, reference()).unwrap_err();
            let c = stats.invalid;
            let expected = match err {
                PnrError::Checksum => c.wrong_check_digit,
                PnrError::Month | PnrError::Day => c.impossible_date,
                PnrError::Length { .. } => c.wrong_length,
                PnrError::Character { .. } => c.letter,
                PnrError::Empty => c.empty,
                PnrError::Separator { .. } => c.space_separator,
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(expected, 1, "{err:?} from {c:?}");
        }
    }

    #[test]
    fn forms_follow_the_documented_mix() {
        let ids = RawIds {
            reference: reference(),
            invalid_rate: 0.0,
        };
        let pnr = Pnr::from_parts(Date::new(1981, 12, 18).unwrap(), 987, false).unwrap();
        let mut rng = chunk_rng(5, 0);
        let mut twelve = 0;
        let mut padded = 0;
        let n = 20_000;
        for _ in 0..n {
            let raw = ids.write(&mut rng, &pnr, &mut IdColumnStats::default());
            twelve += usize::from(raw == "198112189876");
            padded += usize::from(raw.trim() != raw);
        }
        let share = twelve as f64 / n as f64;
        assert!((0.78..0.83).contains(&share), "twelve-digit share {share}");
        let share = padded as f64 / n as f64;
        assert!((0.01..0.03).contains(&share), "padded share {share}");
    }
}
