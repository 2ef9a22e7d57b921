//! Reading pseudonymised extracts into typed columns.
//!
//! Each source is read in parallel, one task per Parquet row group, keeping
//! only the columns the study maps. Every row is either kept, rejected (with
//! a reason and its row number) or counted as outside the study period.
//! Code columns become dictionary indices; the dictionaries are merged after
//! the parallel read so the result does not depend on the thread count.
//!
//! `plan.rs` decides what to read before any row is read (the schema checked,
//! the mapped columns found and typed); `chunk.rs` reads one row group a row
//! at a time; `col.rs` reads a value of any Arrow type a column may have.

pub(crate) mod chunk;
pub(crate) mod col;
pub(crate) mod households;
pub(crate) mod plan;
pub(crate) mod spill;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use rayon::prelude::*;

use crate::LinkError;
use crate::report::RejectCount;
use crate::study::{Concept, Source, Study};
use chunk::{Chunk, LocalCodes};
use col::Want;
use plan::Plan;

/// End day of an open AF spell.
pub(crate) const OPEN: i32 = i32::MAX;
/// A missing code.
pub(crate) const NO_CODE: u32 = u32::MAX;
/// A missing number.
pub(crate) const NO_NUMBER: i64 = i64::MIN;

/// EB roles.
pub(crate) const ROLE_APPLICANT: u8 = 0;
pub(crate) const ROLE_CO_APPLICANT: u8 = 1;
pub(crate) const ROLE_CHILD: u8 = 2;
pub(crate) const ROLE_OTHER: u8 = 3;
pub(crate) const ROLE_MISSING: u8 = u8::MAX;

/// How many row numbers a reject reason keeps.
const FIRST_ROWS: usize = 20;

/// The rows of one source that are inside the study period and readable.
#[derive(Debug, Default)]
pub(crate) struct SourceData {
    pub person: Vec<u128>,
    pub record_key: Vec<u32>,
    /// Birth year from `--derive`, 0 when the source has none.
    pub birth_year: Vec<i32>,
    /// 1 man, 2 woman, 0 unknown.
    pub sex: Vec<u8>,
    /// EB month, AF start day or LISA year.
    pub time: Vec<i32>,
    /// AF end day ([`OPEN`] while open).
    pub end: Vec<i32>,
    pub household: Vec<u64>,
    pub role: Vec<u8>,
    /// Per code concept: indices into its dictionary.
    pub codes: Vec<(Concept, Vec<u32>)>,
    /// Per code concept: the distinct codes seen.
    pub dictionaries: Vec<(Concept, Vec<String>)>,
    /// Per number concept.
    pub numbers: Vec<(Concept, Vec<i64>)>,
    pub stats: LoadStats,
    pub key_id: String,
    pub pseudonym_study: String,
    pub has_birth: bool,
}

impl SourceData {
    pub(crate) fn len(&self) -> usize {
        self.person.len()
    }

    /// Moves every column's row `i` to `dest[i]`, the columns in parallel.
    /// Rows keep their relative file order within a destination bucket, so
    /// "first in file order" still means the lower row index.
    pub(crate) fn scatter(&mut self, dest: &[u32]) {
        fn apply<T: Copy + Default + Send>(v: &mut Vec<T>, dest: &[u32]) {
            if v.is_empty() {
                return;
            }
            let mut out = vec![T::default(); v.len()];
            for (x, &d) in v.iter().zip(dest) {
                out[d as usize] = *x;
            }
            *v = out;
        }
        rayon::scope(|s| {
            s.spawn(|_| apply(&mut self.person, dest));
            s.spawn(|_| apply(&mut self.record_key, dest));
            s.spawn(|_| apply(&mut self.birth_year, dest));
            s.spawn(|_| apply(&mut self.sex, dest));
            s.spawn(|_| apply(&mut self.time, dest));
            s.spawn(|_| apply(&mut self.end, dest));
            s.spawn(|_| apply(&mut self.household, dest));
            s.spawn(|_| apply(&mut self.role, dest));
            for (_, v) in self.codes.iter_mut() {
                s.spawn(move |_| apply(v, dest));
            }
            for (_, v) in self.numbers.iter_mut() {
                s.spawn(move |_| apply(v, dest));
            }
        });
    }

    pub(crate) fn codes(&self, concept: Concept) -> Option<&[u32]> {
        self.codes
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn dictionary(&self, concept: Concept) -> Option<&[String]> {
        self.dictionaries
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn numbers(&self, concept: Concept) -> Option<&[i64]> {
        self.numbers
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, v)| v.as_slice())
    }
}

/// Row accounting of one source.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadStats {
    pub rows_read: u64,
    pub rejected: BTreeMap<String, RejectCount>,
    pub outside_period: u64,
    /// Numbers in kept rows whose fraction was rounded half to even to whole units.
    pub rounded: u64,
    /// In a part of a source (a file with [`plan::ROW_COLUMN`]), the sum
    /// of the (1-based) row numbers of the rows read, and the wrapping sum
    /// of a hash of each (`chunk::mix`): with `rows_read`, a checksum that
    /// tells rows read once each from rows lost or read twice. Zero when a
    /// source is read whole, where nothing needs it.
    pub row_sums: (u128, u64),
}

impl LoadStats {
    fn reject(&mut self, reason: String, row: u64) {
        let r = self.rejected.entry(reason).or_default();
        r.rows += 1;
        if r.first_rows.len() < FIRST_ROWS {
            r.first_rows.push(row);
        }
    }

    pub(crate) fn merge(&mut self, other: LoadStats) {
        self.rows_read += other.rows_read;
        self.outside_period += other.outside_period;
        self.rounded += other.rounded;
        self.row_sums.0 += other.row_sums.0;
        self.row_sums.1 = self.row_sums.1.wrapping_add(other.row_sums.1);
        for (reason, count) in other.rejected {
            let r = self.rejected.entry(reason).or_default();
            r.rows += count.rows;
            // Parts of a source need not come in file order.
            r.first_rows.extend(count.first_rows);
            r.first_rows.sort_unstable();
            r.first_rows.dedup();
            r.first_rows.truncate(FIRST_ROWS);
        }
    }
}

/// What a concept's column is read as.
fn want_of(concept: Concept) -> Want {
    match concept {
        Concept::Month => Want::Month,
        Concept::Start | Concept::End => Want::Date,
        Concept::Year
        | Concept::Amount
        | Concept::Earnings
        | Concept::DisposableIncome
        | Concept::UnemploymentBenefit => Want::Number,
        Concept::Household | Concept::Role => Want::Code,
        c if c.is_code() => Want::Code,
        _ => Want::Number,
    }
}

/// Whether `concept` is read as a number column of its own.
fn is_number_concept(concept: Concept) -> bool {
    matches!(
        concept,
        Concept::Amount
            | Concept::Earnings
            | Concept::DisposableIncome
            | Concept::UnemploymentBenefit
    )
}

/// The rows of source `source_id`'s file, from its metadata (its schema
/// checked as for reading).
pub(crate) fn rows_in(study: &Study, source_id: usize) -> Result<u64, LinkError> {
    Ok(plan::plan(study, source_id)?.rows)
}

/// Reads one source: its row groups in parallel, then gathered in file order.
pub(crate) fn load_source(study: &Study, source_id: usize) -> Result<SourceData, LinkError> {
    let source = &study.sources[source_id];
    let plan = plan::plan(study, source_id)?;
    let chunks: Vec<Chunk> = (0..plan.first_rows.len())
        .into_par_iter()
        .map(|rg| read_row_group(source, &plan, rg))
        .collect::<Result<_, _>>()?;
    Ok(gather(plan, chunks))
}

/// Reads row group `rg` of the source.
fn read_row_group(source: &Source, plan: &Plan, rg: usize) -> Result<Chunk, LinkError> {
    let options = ArrowReaderOptions::new().with_schema(plan.read_schema.clone());
    let reader =
        ParquetRecordBatchReaderBuilder::try_new_with_options(plan::open(source)?, options)
            .and_then(|b| {
                b.with_projection(plan.mask.clone())
                    .with_row_groups(vec![rg])
                    .with_batch_size(64 * 1024)
                    .build()
            })
            .map_err(|e| plan::parquet_error(source, e))?;
    let mut chunk = Chunk::new(&plan.layout);
    let mut row = plan.first_rows[rg];
    for batch in reader {
        let batch = batch.map_err(|e| plan::arrow_error(source, e))?;
        chunk.push_batch(&plan.layout, &batch, row);
        row += batch.num_rows() as u64;
    }
    Ok(chunk)
}

/// Joins the row groups' chunks in file order into the source's columns.
fn gather(plan: Plan, chunks: Vec<Chunk>) -> SourceData {
    let layout = &plan.layout;
    let concepts = || layout.mapped.iter().map(|(c, _)| *c);
    let mut data = SourceData {
        key_id: plan.key_id,
        pseudonym_study: plan.pseudonym_study,
        has_birth: layout.birth.is_some(),
        codes: concepts()
            .filter(|c| c.is_code())
            .map(|c| (c, Vec::new()))
            .collect(),
        numbers: concepts()
            .filter(|c| is_number_concept(*c))
            .map(|c| (c, Vec::new()))
            .collect(),
        ..SourceData::default()
    };
    // Reserve once: appending into growing vectors would briefly double the memory.
    let total: usize = chunks.iter().map(|c| c.person.len()).sum();
    data.person.reserve_exact(total);
    data.record_key.reserve_exact(total);
    if data.has_birth {
        data.birth_year.reserve_exact(total);
        data.sex.reserve_exact(total);
    }
    data.time.reserve_exact(total);
    for (_, v) in data.codes.iter_mut() {
        v.reserve_exact(total);
    }
    for (_, v) in data.numbers.iter_mut() {
        v.reserve_exact(total);
    }
    let mut dictionaries: Vec<Dictionary> =
        data.codes.iter().map(|_| Dictionary::default()).collect();
    for mut chunk in chunks {
        data.person.append(&mut chunk.person);
        data.record_key.append(&mut chunk.record_key);
        data.birth_year.append(&mut chunk.birth_year);
        data.sex.append(&mut chunk.sex);
        data.time.append(&mut chunk.time);
        data.end.append(&mut chunk.end);
        data.household.append(&mut chunk.household);
        data.role.append(&mut chunk.role);
        for ((dictionary, (concept, local)), (into_concept, into)) in dictionaries
            .iter_mut()
            .zip(&chunk.codes)
            .zip(data.codes.iter_mut())
        {
            debug_assert_eq!(concept, into_concept);
            dictionary.append(local, into);
        }
        for ((_, values), (_, into)) in chunk.numbers.iter_mut().zip(data.numbers.iter_mut()) {
            into.append(values);
        }
        data.stats.merge(chunk.stats);
    }
    data.dictionaries = data
        .codes
        .iter()
        .map(|(c, _)| *c)
        .zip(dictionaries.into_iter().map(|d| d.codes))
        .collect();
    data
}

/// The dictionary of one code concept over a whole source, built from the row
/// groups' local dictionaries in file order, so it does not depend on threads.
#[derive(Default)]
struct Dictionary {
    index: HashMap<String, u32>,
    codes: Vec<String>,
}

impl Dictionary {
    /// Appends a row group's codes to `into`, as indices into this dictionary.
    fn append(&mut self, local: &LocalCodes, into: &mut Vec<u32>) {
        let remap: Vec<u32> = local
            .dictionary
            .iter()
            .map(|code| {
                *self.index.entry(code.clone()).or_insert_with(|| {
                    self.codes.push(code.clone());
                    self.codes.len() as u32 - 1
                })
            })
            .collect();
        into.extend(local.values.iter().map(|&v| {
            if v == NO_CODE {
                NO_CODE
            } else {
                remap[v as usize]
            }
        }));
    }
}

/// Days since 1970-01-01 of the first day of month index `m`.
pub(crate) fn month_first_day(m: i32) -> i32 {
    let (y, mo) = (m.div_euclid(12), m.rem_euclid(12) + 1);
    reglink_pnr::Date::new(y, mo as u8, 1)
        .map(|d| d.days_since_epoch())
        .unwrap_or_else(|| unreachable!("valid month"))
}

/// Month index of day `d`.
pub(crate) fn month_of_day(d: i32) -> i32 {
    reglink_pnr::Date::from_days_since_epoch(d).month_index()
}

/// The key id and study of each source (as `(key id, study)`) must agree,
/// or their pseudonyms cannot match.
pub(crate) fn check_same_key(study: &Study, keys: &[(&str, &str)]) -> Result<(), LinkError> {
    for (i, (key_id, pseudonym_study)) in keys.iter().enumerate().skip(1) {
        let (first_key, first_study) = keys[0];
        if *key_id != first_key || *pseudonym_study != first_study {
            return Err(LinkError::NotPseudonymised {
                source_name: study.sources[i].name.clone(),
                path: study.sources[i].path.clone(),
                message: format!(
                    "was pseudonymised under key {key_id} for study {pseudonym_study:?}, but source {} under key {first_key} for study {first_study:?}; pseudonyms only match under one key and one study",
                    study.sources[0].name,
                ),
            });
        }
    }
    Ok(())
}
