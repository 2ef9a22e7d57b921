//! Reading the rows of one row group: each row is kept, rejected with a
//! reason (the first bad value's concept and what is wrong with it), or
//! counted as outside the study period.
//!
//! Within a row the values are read in a fixed order (pseudonym, time,
//! period, codes, numbers, household, role), so a row with several bad values
//! is always rejected for the same one.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, PrimitiveArray, RecordBatch};
use reglink_extract::pseudonymised::pseudonym_value;

use super::col::{Bad, Col, Want};
use super::plan::Layout;
use super::{
    LoadStats, NO_CODE, NO_NUMBER, OPEN, ROLE_MISSING, ROLE_OTHER, is_number_concept, want_of,
};
use crate::study::{Concept, SourceKind};

/// The codes one row group read for one concept: a local dictionary and
/// indices into it ([`NO_CODE`] where missing).
#[derive(Default)]
pub(super) struct LocalCodes {
    index: HashMap<String, u32>,
    pub dictionary: Vec<String>,
    pub values: Vec<u32>,
}

impl LocalCodes {
    /// The index of `code`, added to the dictionary if new.
    fn intern(&mut self, code: &str) -> u32 {
        if let Some(&i) = self.index.get(code) {
            return i;
        }
        let i = self.dictionary.len() as u32;
        self.index.insert(code.to_string(), i);
        self.dictionary.push(code.to_string());
        i
    }
}

/// Reads the codes of one column of a batch.
enum CodeReader<'a> {
    /// A dictionary column: its values interned once per batch.
    Dict {
        keys: &'a PrimitiveArray<Int32Type>,
        interned: Vec<Result<u32, Bad>>,
    },
    Plain(Col<'a>),
}

impl<'a> CodeReader<'a> {
    fn new(array: &'a ArrayRef, concept: Concept, local: &mut LocalCodes) -> CodeReader<'a> {
        if let Some(dict) = array.as_dictionary_opt::<Int32Type>() {
            let values = dict.values().as_string::<i32>();
            let interned = (0..values.len())
                .map(|v| {
                    let text = if values.is_valid(v) {
                        values.value(v).trim()
                    } else {
                        ""
                    };
                    if text.is_empty() {
                        Err(Bad::Missing)
                    } else {
                        Ok(local.intern(text))
                    }
                })
                .collect();
            return CodeReader::Dict {
                keys: dict.keys(),
                interned,
            };
        }
        CodeReader::Plain(
            Col::new(array, want_of(concept))
                .unwrap_or_else(|| unreachable!("types checked when opened")),
        )
    }

    fn get(&self, i: usize, buf: &mut String, local: &mut LocalCodes) -> Result<u32, Bad> {
        match self {
            CodeReader::Dict { keys, interned } => {
                if keys.is_valid(i) {
                    interned[keys.value(i) as usize]
                } else {
                    Err(Bad::Missing)
                }
            }
            CodeReader::Plain(col) => {
                col.code(i, buf)?;
                Ok(local.intern(buf))
            }
        }
    }
}

/// The readers of one batch's columns.
struct Readers<'a> {
    pseudonyms: &'a FixedSizeBinaryArray,
    record_keys: &'a PrimitiveArray<UInt32Type>,
    birth: Option<(Col<'a>, Col<'a>)>,
    /// EB month, AF start or LISA year.
    time: Col<'a>,
    end: Option<Col<'a>>,
    household: Option<Col<'a>>,
    role: Option<Col<'a>>,
    /// In the order of [`Chunk::codes`].
    codes: Vec<CodeReader<'a>>,
    /// In the order of [`Chunk::numbers`].
    numbers: Vec<Col<'a>>,
}

impl<'a> Readers<'a> {
    /// Wraps the batch's columns; a dictionary column's values are interned
    /// into `codes` at once.
    fn new(
        layout: &Layout,
        batch: &'a RecordBatch,
        codes: &mut [(Concept, LocalCodes)],
        numbers: &[(Concept, Vec<i64>)],
    ) -> Readers<'a> {
        let col = |concept: Concept| {
            layout.column(concept).map(|i| {
                Col::new(batch.column(i), want_of(concept))
                    .unwrap_or_else(|| unreachable!("types checked when opened"))
            })
        };
        let time_concept = match layout.kind {
            SourceKind::Eb => Concept::Month,
            SourceKind::Af => Concept::Start,
            SourceKind::Lisa => Concept::Year,
        };
        let birth = layout.birth.and_then(|(b, s)| {
            Some((
                Col::new(batch.column(b), Want::Number)?,
                Col::new(batch.column(s), Want::Number)?,
            ))
        });
        Readers {
            pseudonyms: batch.column(layout.pseudonym).as_fixed_size_binary(),
            record_keys: batch.column(layout.record_key).as_primitive(),
            birth,
            time: col(time_concept).unwrap_or_else(|| unreachable!("required concept")),
            end: col(Concept::End),
            household: col(Concept::Household),
            role: col(Concept::Role),
            codes: codes
                .iter_mut()
                .map(|(c, local)| {
                    let i = layout.column(*c).unwrap_or_else(|| unreachable!("mapped"));
                    CodeReader::new(batch.column(i), *c, local)
                })
                .collect(),
            numbers: numbers
                .iter()
                .map(|(c, _)| col(*c).unwrap_or_else(|| unreachable!("mapped")))
                .collect(),
        }
    }

    /// The row's time and, for AF, end day ([`OPEN`] while open; 0 otherwise).
    fn time(&self, kind: SourceKind, i: usize) -> Result<(i32, i32), Skip> {
        match kind {
            SourceKind::Eb => match self.time.month(i) {
                Ok(m) => Ok((m, 0)),
                Err(bad) => Err(rejected(Concept::Month, bad)),
            },
            SourceKind::Af => {
                let start = self
                    .time
                    .date(i)
                    .map_err(|bad| rejected(Concept::Start, bad))?;
                let end = match self.end.as_ref().map(|c| c.date(i)) {
                    None | Some(Err(Bad::Missing)) => OPEN,
                    Some(Ok(d)) => d,
                    Some(Err(bad)) => return Err(rejected(Concept::End, bad)),
                };
                if end < start {
                    return Err(Skip::Reject("end_before_start".into()));
                }
                Ok((start, end))
            }
            SourceKind::Lisa => match self.time.number(i) {
                Ok(y) if (0..=9999).contains(&y) => Ok((y as i32, 0)),
                Ok(_) => Err(rejected(Concept::Year, Bad::Invalid)),
                Err(bad) => Err(rejected(Concept::Year, bad)),
            },
        }
    }

    /// The row's household key (`u64::MAX` when there is none).
    fn household(&self, i: usize, buf: &mut String) -> Result<u64, Skip> {
        match self.household.as_ref().map(|c| household_key(c, i, buf)) {
            None | Some(Err(Bad::Missing)) => Ok(u64::MAX),
            Some(Ok(h)) => Ok(h),
            Some(Err(bad)) => Err(rejected(Concept::Household, bad)),
        }
    }

    /// The row's EB role: the position of its code among `roles`,
    /// [`ROLE_OTHER`] for another code, [`ROLE_MISSING`] for none.
    fn role(&self, roles: &[String; 3], i: usize, buf: &mut String) -> Result<u8, Skip> {
        match self.role.as_ref().map(|c| c.code(i, buf)) {
            None | Some(Err(Bad::Missing)) => Ok(ROLE_MISSING),
            Some(Ok(())) => Ok(match roles.iter().position(|r| *r == *buf) {
                Some(p) => p as u8,
                None => ROLE_OTHER,
            }),
            Some(Err(bad)) => Err(rejected(Concept::Role, bad)),
        }
    }
}

/// Why a row is not kept.
enum Skip {
    /// Rejected, for this reason.
    Reject(String),
    /// Outside the study period.
    Outside,
}

/// The reject reason of a bad value of `concept`: `amount_ambiguous`.
fn rejected(concept: Concept, bad: Bad) -> Skip {
    Skip::Reject(format!("{}_{}", concept.name(), bad.word()))
}

/// The values of a kept row besides its codes and numbers.
struct Kept {
    time: i32,
    end: i32,
    household: u64,
    role: u8,
    /// How many of its numbers were rounded.
    rounded: u64,
}

/// Buffers reused from row to row.
#[derive(Default)]
struct Scratch {
    text: String,
    codes: Vec<u32>,
    numbers: Vec<i64>,
}

/// The rows of one row group.
pub(super) struct Chunk {
    pub person: Vec<u128>,
    pub record_key: Vec<u32>,
    pub birth_year: Vec<i32>,
    pub sex: Vec<u8>,
    pub time: Vec<i32>,
    pub end: Vec<i32>,
    pub household: Vec<u64>,
    pub role: Vec<u8>,
    pub codes: Vec<(Concept, LocalCodes)>,
    pub numbers: Vec<(Concept, Vec<i64>)>,
    pub stats: LoadStats,
}

impl Chunk {
    /// An empty chunk with a column for every code and number concept read.
    pub(super) fn new(layout: &Layout) -> Chunk {
        let concepts = || layout.mapped.iter().map(|(c, _)| *c);
        Chunk {
            person: Vec::new(),
            record_key: Vec::new(),
            birth_year: Vec::new(),
            sex: Vec::new(),
            time: Vec::new(),
            end: Vec::new(),
            household: Vec::new(),
            role: Vec::new(),
            codes: concepts()
                .filter(|c| c.is_code())
                .map(|c| (c, LocalCodes::default()))
                .collect(),
            numbers: concepts()
                .filter(|c| is_number_concept(*c))
                .map(|c| (c, Vec::new()))
                .collect(),
            stats: LoadStats::default(),
        }
    }

    /// Reads a batch whose first row is the file's row `first_row` (1-based).
    pub(super) fn push_batch(&mut self, layout: &Layout, batch: &RecordBatch, first_row: u64) {
        let readers = Readers::new(layout, batch, &mut self.codes, &self.numbers);
        self.reserve(layout, batch.num_rows());
        let mut scratch = Scratch::default();
        // In a part of a source, rows are named by their row in the source.
        let rows_in_source = layout
            .row
            .and_then(|r| batch.column(r).as_primitive_opt::<Int64Type>());
        let row_number = |i: usize| match rows_in_source {
            Some(rows) if rows.is_valid(i) => rows.value(i).max(0) as u64 + 1,
            _ => first_row + i as u64,
        };
        for i in 0..batch.num_rows() {
            self.stats.rows_read += 1;
            if rows_in_source.is_some() {
                let number = row_number(i);
                self.stats.row_sums.0 += u128::from(number);
                self.stats.row_sums.1 = self.stats.row_sums.1.wrapping_add(mix(number));
            }
            match self.read_row(layout, &readers, i, &mut scratch) {
                Ok(kept) => self.push_row(layout, &readers, i, &kept, &scratch),
                Err(Skip::Outside) => self.stats.outside_period += 1,
                Err(Skip::Reject(reason)) => self.stats.reject(reason, row_number(i)),
            }
        }
    }

    /// Room for `n` more rows in the columns every kept row fills.
    fn reserve(&mut self, layout: &Layout, n: usize) {
        self.person.reserve(n);
        self.record_key.reserve(n);
        self.time.reserve(n);
        if layout.birth.is_some() {
            self.birth_year.reserve(n);
            self.sex.reserve(n);
        }
        for (_, local) in self.codes.iter_mut() {
            local.values.reserve(n);
        }
        for (_, v) in self.numbers.iter_mut() {
            v.reserve(n);
        }
    }

    /// Reads row `i`; its codes and numbers go to `scratch`.
    fn read_row(
        &mut self,
        layout: &Layout,
        r: &Readers<'_>,
        i: usize,
        scratch: &mut Scratch,
    ) -> Result<Kept, Skip> {
        if !r.pseudonyms.is_valid(i) {
            return Err(Skip::Reject("pseudonym_missing".into()));
        }
        let (time, end) = r.time(layout.kind, i)?;
        // Rows outside the study period are counted and not read further.
        if !layout.inside(time, end) {
            return Err(Skip::Outside);
        }
        self.read_codes(layout.kind, r, i, scratch)?;
        let rounded = self.read_numbers(r, i, scratch)?;
        let household = r.household(i, &mut scratch.text)?;
        let role = r.role(&layout.roles, i, &mut scratch.text)?;
        Ok(Kept {
            time,
            end,
            household,
            role,
            rounded,
        })
    }

    /// Reads row `i`'s codes into `scratch.codes`. A missing code is
    /// [`NO_CODE`], except an EB municipality, without which the row is rejected.
    fn read_codes(
        &mut self,
        kind: SourceKind,
        r: &Readers<'_>,
        i: usize,
        scratch: &mut Scratch,
    ) -> Result<(), Skip> {
        scratch.codes.clear();
        for (reader, (concept, local)) in r.codes.iter().zip(self.codes.iter_mut()) {
            match reader.get(i, &mut scratch.text, local) {
                Ok(code) => scratch.codes.push(code),
                Err(Bad::Missing)
                    if !(*concept == Concept::Municipality && kind == SourceKind::Eb) =>
                {
                    scratch.codes.push(NO_CODE)
                }
                Err(bad) => return Err(rejected(*concept, bad)),
            }
        }
        Ok(())
    }

    /// Reads row `i`'s numbers into `scratch.numbers` ([`NO_NUMBER`] where
    /// missing); returns how many were rounded.
    fn read_numbers(&self, r: &Readers<'_>, i: usize, scratch: &mut Scratch) -> Result<u64, Skip> {
        scratch.numbers.clear();
        let mut rounded = 0;
        for (reader, (concept, _)) in r.numbers.iter().zip(&self.numbers) {
            match reader.number_exact(i) {
                Ok(n) => {
                    scratch.numbers.push(n.value);
                    rounded += u64::from(n.rounded);
                }
                Err(Bad::Missing) => scratch.numbers.push(NO_NUMBER),
                Err(bad) => return Err(rejected(*concept, bad)),
            }
        }
        Ok(rounded)
    }

    /// Appends kept row `i`.
    fn push_row(
        &mut self,
        layout: &Layout,
        r: &Readers<'_>,
        i: usize,
        kept: &Kept,
        scratch: &Scratch,
    ) {
        self.person.push(pseudonym_value(r.pseudonyms.value(i)));
        self.record_key.push(r.record_keys.value(i));
        if let Some((b, s)) = &r.birth {
            self.birth_year.push(
                b.number(i)
                    .ok()
                    .and_then(|v| i32::try_from(v).ok())
                    .unwrap_or(0),
            );
            self.sex.push(
                s.number(i)
                    .ok()
                    .filter(|v| (1..=2).contains(v))
                    .unwrap_or(0) as u8,
            );
        }
        self.time.push(kept.time);
        if layout.kind == SourceKind::Af {
            self.end.push(kept.end);
        }
        if r.household.is_some() {
            self.household.push(kept.household);
        }
        if r.role.is_some() {
            self.role.push(kept.role);
        }
        for ((_, local), &v) in self.codes.iter_mut().zip(&scratch.codes) {
            local.values.push(v);
        }
        for ((_, values), &v) in self.numbers.iter_mut().zip(&scratch.numbers) {
            values.push(v);
        }
        self.stats.rounded += kept.rounded;
    }
}

/// A household id as a 63-bit key: integers as they are, text hashed (two
/// text ids colliding would merge two households; at 63 bits that does not
/// happen at register sizes).
fn household_key(col: &Col<'_>, i: usize, buf: &mut String) -> Result<u64, Bad> {
    if let Some(v) = col.integer(i) {
        return v.map(|v| (v as u64) & (u64::MAX >> 1)).ok_or(Bad::Missing);
    }
    col.code(i, buf)?;
    Ok(text_key(buf.as_bytes()) & (u64::MAX >> 1))
}

/// A 64-bit hash of `bytes` that is the same in every build and on every
/// machine (std's `DefaultHasher` promises neither): the parts of a source
/// linked on different workers must give a household the same key. Each
/// 8-byte word is mixed in by a bijection (the splitmix64 finaliser), so two
/// ids of one length differing in their last word never collide, and others
/// collide with chance about 2^-64 (2^-63 once the key is cut to 63 bits).
/// Not a keyed hash: household ids are not secret, and the key never leaves
/// the process.
pub(crate) fn text_key(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    mix(h)
}

/// The splitmix64 finaliser: a bijection of `u64` that spreads every input
/// bit over the output.
pub(crate) fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod text_key_tests {
    use super::text_key;

    #[test]
    fn a_text_key_is_fixed_and_tells_ids_apart() {
        // Fixed values: a change of this function changes which households
        // parts linked by different builds would merge.
        assert_eq!(text_key(b""), 0);
        assert_eq!(text_key(b"H1"), 16_047_156_335_676_634_499);
        let keys: std::collections::HashSet<u64> = (0..100_000u32)
            .map(|i| text_key(format!("HH{i:07}").as_bytes()))
            .collect();
        assert_eq!(keys.len(), 100_000);
        assert_ne!(text_key(b"12345678"), text_key(b"12345678\0"));
    }
}
