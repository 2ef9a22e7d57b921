//! Reading pseudonymised extracts into typed columns.
//!
//! Each source is read in parallel, one task per Parquet row group, keeping
//! only the columns the study maps. Every row is either kept, rejected (with
//! a reason and its row number) or counted as outside the study period.
//! Code columns become dictionary indices; the dictionaries are merged after
//! the parallel read so the result does not depend on the thread count.

pub(crate) mod col;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use rayon::prelude::*;

use reglink_extract::ExtractError;
use reglink_extract::pseudonymised::{self, SchemaProblem};

use crate::LinkError;
use crate::report::RejectCount;
use crate::study::{Concept, SourceKind, Study};
use col::{Bad, Col, Want};

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
}

impl LoadStats {
    fn reject(&mut self, reason: String, row: u64) {
        let r = self.rejected.entry(reason).or_default();
        r.rows += 1;
        if r.first_rows.len() < FIRST_ROWS {
            r.first_rows.push(row);
        }
    }

    fn merge(&mut self, other: LoadStats) {
        self.rows_read += other.rows_read;
        self.outside_period += other.outside_period;
        self.rounded += other.rounded;
        for (reason, count) in other.rejected {
            let r = self.rejected.entry(reason).or_default();
            r.rows += count.rows;
            for row in count.first_rows {
                if r.first_rows.len() < FIRST_ROWS {
                    r.first_rows.push(row);
                }
            }
        }
    }
}

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

/// Reads one source.
pub(crate) fn load_source(study: &Study, source_id: usize) -> Result<SourceData, LinkError> {
    let source = &study.sources[source_id];
    let path = &source.path;
    let perr = |message: String| LinkError::Parquet {
        source_name: source.name.clone(),
        path: path.clone(),
        message,
    };
    let open = || {
        File::open(path).map_err(|e| LinkError::Extract {
            source_name: source.name.clone(),
            error: Box::new(reglink_extract::ExtractError::Io {
                path: path.clone(),
                source: e,
            }),
        })
    };
    let not_pseudonymised = |message: &str| LinkError::NotPseudonymised {
        source_name: source.name.clone(),
        path: path.clone(),
        message: message.to_string(),
    };
    if reglink_extract::Format::detect(path).ok() != Some(reglink_extract::Format::Parquet) {
        // Missing files are reported as such, not as "not Parquet".
        open()?;
        return Err(not_pseudonymised("is not a Parquet file"));
    }
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| perr(e.to_string()))?;
    let schema = builder.schema().clone();
    let field_index = |name: &str| schema.fields().iter().position(|f| f.name() == name);
    let pseudonymised::Layout {
        pseudonym,
        record_key,
        birth_year,
        sex,
        key_id,
        study: pseudonym_study,
        ..
    } = pseudonymised::check(path, &schema).map_err(|e| match e {
        ExtractError::NotPseudonymised { problem, .. } => not_pseudonymised(match problem {
            SchemaProblem::MissingMetadata { .. } => "has no key id in its metadata",
            SchemaProblem::MissingColumn { column, .. }
            | SchemaProblem::ColumnType { column, .. }
                if column == pseudonymised::RECORD_KEY =>
            {
                "has no record_key column"
            }
            _ => "has no 16-byte pseudonym column",
        }),
        other => LinkError::Extract {
            source_name: source.name.clone(),
            error: Box::new(other),
        },
    })?;
    let birth = birth_year.zip(sex);

    // Mapped columns: check presence and type up front, naming source and column.
    let mut mapped: Vec<(Concept, usize)> = Vec::new();
    let needed = study.needed_concepts(source_id);
    // Every mapped column must exist with a usable type; only the needed ones are read.
    for (concept, column) in &source.columns {
        let idx = field_index(column).ok_or_else(|| LinkError::MissingColumn {
            source_name: source.name.clone(),
            path: path.clone(),
            concept: concept.name().to_string(),
            column: column.clone(),
            available: schema.fields().iter().map(|f| f.name().clone()).collect(),
        })?;
        let want = want_of(*concept);
        let probe = arrow_array::new_empty_array(schema.field(idx).data_type());
        if Col::new(&probe, want).is_none() {
            return Err(LinkError::ColumnType {
                source_name: source.name.clone(),
                path: path.clone(),
                concept: concept.name().to_string(),
                column: column.clone(),
                found: schema.field(idx).data_type().to_string(),
                expected: want.expected(),
            });
        }
        if needed.contains(concept) {
            mapped.push((*concept, idx));
        }
    }

    let mut roots: Vec<usize> = vec![pseudonym, record_key];
    if let Some((b, s)) = birth {
        roots.extend([b, s]);
    }
    roots.extend(mapped.iter().map(|(_, i)| *i));
    roots.sort_unstable();
    roots.dedup();
    let projection_of = |field: usize| {
        roots
            .iter()
            .position(|&r| r == field)
            .unwrap_or_else(|| unreachable!("projected"))
    };

    let metadata = builder.metadata().clone();
    let mut offsets = Vec::with_capacity(metadata.num_row_groups());
    let mut first_row = 1u64;
    for rg in metadata.row_groups() {
        offsets.push(first_row);
        first_row += rg.num_rows() as u64;
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    drop(builder);
    // Text code columns are read as dictionaries: a batch's few distinct
    // codes are interned once instead of once per row.
    let mut hinted: Vec<arrow_schema::Field> =
        schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (_, idx) in &mapped {
        let only_codes = mapped
            .iter()
            .filter(|(_, i)| i == idx)
            .all(|(c, _)| c.is_code());
        if only_codes && hinted[*idx].data_type() == &DataType::Utf8 {
            let f = &hinted[*idx];
            hinted[*idx] = arrow_schema::Field::new(
                f.name(),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                f.is_nullable(),
            );
        }
    }
    let hint = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(
        hinted,
        schema.metadata().clone(),
    ));

    let layout = Layout {
        kind: source.kind,
        pseudonym: projection_of(pseudonym),
        record_key: projection_of(record_key),
        birth: birth.map(|(b, s)| (projection_of(b), projection_of(s))),
        mapped: mapped
            .iter()
            .map(|(c, i)| (*c, projection_of(*i)))
            .collect(),
        first_month: study.first_month,
        last_month: study.last_month,
        roles: [
            source.roles.applicant.clone(),
            source.roles.co_applicant.clone(),
            source.roles.child.clone(),
        ],
    };
    let chunks: Vec<Result<Chunk, LinkError>> = (0..metadata.num_row_groups())
        .into_par_iter()
        .map(|rg| {
            let options = ArrowReaderOptions::new().with_schema(hint.clone());
            let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(open()?, options)
                .and_then(|b| {
                    b.with_projection(mask.clone())
                        .with_row_groups(vec![rg])
                        .with_batch_size(64 * 1024)
                        .build()
                })
                .map_err(|e| perr(e.to_string()))?;
            let mut chunk = Chunk::new(&layout);
            let mut row = offsets[rg];
            for batch in reader {
                let batch = batch.map_err(|e| perr(e.to_string()))?;
                chunk.push_batch(&layout, &batch, row);
                row += batch.num_rows() as u64;
            }
            Ok(chunk)
        })
        .collect();

    let mut data = SourceData {
        key_id,
        pseudonym_study,
        has_birth: birth.is_some(),
        ..SourceData::default()
    };
    let code_concepts: Vec<Concept> = layout
        .mapped
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| c.is_code())
        .collect();
    let mut dicts: Vec<(HashMap<String, u32>, Vec<String>)> =
        code_concepts.iter().map(|_| Default::default()).collect();
    data.codes = code_concepts.iter().map(|c| (*c, Vec::new())).collect();
    data.numbers = layout
        .mapped
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| {
            matches!(
                c,
                Concept::Amount
                    | Concept::Earnings
                    | Concept::DisposableIncome
                    | Concept::UnemploymentBenefit
            )
        })
        .map(|c| (c, Vec::new()))
        .collect();
    let chunks: Vec<Chunk> = chunks.into_iter().collect::<Result<_, _>>()?;
    // Reserve once: appending into growing vectors would briefly double the memory.
    let total: usize = chunks.iter().map(|c| c.person.len()).sum();
    data.person.reserve_exact(total);
    data.record_key.reserve_exact(total);
    if birth.is_some() {
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
    for mut chunk in chunks {
        data.person.append(&mut chunk.person);
        data.record_key.append(&mut chunk.record_key);
        data.birth_year.append(&mut chunk.birth_year);
        data.sex.append(&mut chunk.sex);
        data.time.append(&mut chunk.time);
        data.end.append(&mut chunk.end);
        data.household.append(&mut chunk.household);
        data.role.append(&mut chunk.role);
        for (k, (concept, local)) in chunk.codes.iter_mut().enumerate() {
            debug_assert_eq!(*concept, data.codes[k].0);
            let (index, global) = &mut dicts[k];
            let remap: Vec<u32> = local
                .dictionary
                .iter()
                .map(|code| {
                    *index.entry(code.clone()).or_insert_with(|| {
                        global.push(code.clone());
                        global.len() as u32 - 1
                    })
                })
                .collect();
            data.codes[k].1.extend(local.values.iter().map(|&v| {
                if v == NO_CODE {
                    NO_CODE
                } else {
                    remap[v as usize]
                }
            }));
        }
        for (k, (_, values)) in chunk.numbers.iter_mut().enumerate() {
            data.numbers[k].1.append(values);
        }
        data.stats.merge(chunk.stats);
    }
    data.dictionaries = code_concepts
        .into_iter()
        .zip(dicts.into_iter().map(|(_, d)| d))
        .collect();
    Ok(data)
}

struct Layout {
    kind: SourceKind,
    pseudonym: usize,
    record_key: usize,
    birth: Option<(usize, usize)>,
    mapped: Vec<(Concept, usize)>,
    first_month: i32,
    last_month: i32,
    roles: [String; 3],
}

impl Layout {
    fn column(&self, concept: Concept) -> Option<usize> {
        self.mapped
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, i)| *i)
    }
}

#[derive(Default)]
struct LocalCodes {
    index: HashMap<String, u32, ahash::RandomState>,
    dictionary: Vec<String>,
    values: Vec<u32>,
}

impl LocalCodes {
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
        keys: &'a arrow_array::PrimitiveArray<arrow_array::types::Int32Type>,
        interned: Vec<Result<u32, Bad>>,
    },
    Plain(Col<'a>),
}

impl<'a> CodeReader<'a> {
    fn new(array: &'a ArrayRef, concept: Concept, local: &mut LocalCodes) -> CodeReader<'a> {
        if let Some(dict) = array.as_dictionary_opt::<arrow_array::types::Int32Type>() {
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

/// The rows of one row group.
struct Chunk {
    person: Vec<u128>,
    record_key: Vec<u32>,
    birth_year: Vec<i32>,
    sex: Vec<u8>,
    time: Vec<i32>,
    end: Vec<i32>,
    household: Vec<u64>,
    role: Vec<u8>,
    codes: Vec<(Concept, LocalCodes)>,
    numbers: Vec<(Concept, Vec<i64>)>,
    stats: LoadStats,
}

impl Chunk {
    fn new(layout: &Layout) -> Chunk {
        Chunk {
            person: Vec::new(),
            record_key: Vec::new(),
            birth_year: Vec::new(),
            sex: Vec::new(),
            time: Vec::new(),
            end: Vec::new(),
            household: Vec::new(),
            role: Vec::new(),
            codes: layout
                .mapped
                .iter()
                .filter(|(c, _)| c.is_code())
                .map(|(c, _)| (*c, LocalCodes::default()))
                .collect(),
            numbers: layout
                .mapped
                .iter()
                .filter(|(c, _)| {
                    matches!(
                        c,
                        Concept::Amount
                            | Concept::Earnings
                            | Concept::DisposableIncome
                            | Concept::UnemploymentBenefit
                    )
                })
                .map(|(c, _)| (*c, Vec::new()))
                .collect(),
            stats: LoadStats::default(),
        }
    }

    fn push_batch(&mut self, layout: &Layout, batch: &RecordBatch, first_row: u64) {
        let columns: Vec<&ArrayRef> = batch.columns().iter().collect();
        let pseudonyms = columns[layout.pseudonym].as_fixed_size_binary();
        let keys = columns[layout.record_key].as_primitive::<arrow_array::types::UInt32Type>();
        let birth = layout.birth.map(|(b, s)| (columns[b], columns[s]));
        let birth =
            birth.and_then(|(b, s)| Some((Col::new(b, Want::Number)?, Col::new(s, Want::Number)?)));
        let col = |concept: Concept| {
            layout.column(concept).map(|i| {
                Col::new(columns[i], want_of(concept))
                    .unwrap_or_else(|| unreachable!("types checked when opened"))
            })
        };
        let time_concept = match layout.kind {
            SourceKind::Eb => Concept::Month,
            SourceKind::Af => Concept::Start,
            SourceKind::Lisa => Concept::Year,
        };
        let time = col(time_concept).unwrap_or_else(|| unreachable!("required concept"));
        let end = col(Concept::End);
        let household = col(Concept::Household);
        let role = col(Concept::Role);
        let code_cols: Vec<CodeReader<'_>> = self
            .codes
            .iter_mut()
            .map(|(c, local)| {
                let array = columns[layout.column(*c).unwrap_or_else(|| unreachable!())];
                CodeReader::new(array, *c, local)
            })
            .collect();
        let number_cols: Vec<Col<'_>> = self
            .numbers
            .iter()
            .map(|(c, _)| col(*c).unwrap_or_else(|| unreachable!()))
            .collect();
        let (first_day, last_day) = (
            month_first_day(layout.first_month),
            month_first_day(layout.last_month + 1) - 1,
        );
        let n = batch.num_rows();
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
        let mut buf = String::new();
        let mut codes_row: Vec<u32> = Vec::with_capacity(code_cols.len());
        let mut numbers_row: Vec<i64> = Vec::with_capacity(number_cols.len());

        'rows: for i in 0..batch.num_rows() {
            let row = first_row + i as u64;
            self.stats.rows_read += 1;
            let reject = |stats: &mut LoadStats, concept: Concept, bad: Bad| {
                stats.reject(format!("{}_{}", concept.name(), bad.word()), row);
            };
            if !pseudonyms.is_valid(i) {
                self.stats.reject("pseudonym_missing".into(), row);
                continue;
            }
            let (t, e) = match layout.kind {
                SourceKind::Eb => match time.month(i) {
                    Ok(m) => (m, 0),
                    Err(bad) => {
                        reject(&mut self.stats, Concept::Month, bad);
                        continue;
                    }
                },
                SourceKind::Af => {
                    let start = match time.date(i) {
                        Ok(d) => d,
                        Err(bad) => {
                            reject(&mut self.stats, Concept::Start, bad);
                            continue;
                        }
                    };
                    let end = match end.as_ref().map(|c| c.date(i)) {
                        None | Some(Err(Bad::Missing)) => OPEN,
                        Some(Ok(d)) => d,
                        Some(Err(bad)) => {
                            reject(&mut self.stats, Concept::End, bad);
                            continue;
                        }
                    };
                    if end < start {
                        self.stats.reject("end_before_start".into(), row);
                        continue;
                    }
                    (start, end)
                }
                SourceKind::Lisa => match time.number(i) {
                    Ok(y) if (0..=9999).contains(&y) => (y as i32, 0),
                    Ok(_) => {
                        reject(&mut self.stats, Concept::Year, Bad::Invalid);
                        continue;
                    }
                    Err(bad) => {
                        reject(&mut self.stats, Concept::Year, bad);
                        continue;
                    }
                },
            };
            // Rows outside the study period are counted and not read further.
            let inside = match layout.kind {
                SourceKind::Eb => (layout.first_month..=layout.last_month).contains(&t),
                SourceKind::Af => t <= last_day && e >= first_day,
                SourceKind::Lisa => (layout.first_month.div_euclid(12)
                    ..=layout.last_month.div_euclid(12))
                    .contains(&t),
            };
            if !inside {
                self.stats.outside_period += 1;
                continue;
            }
            codes_row.clear();
            for (k, c) in code_cols.iter().enumerate() {
                let concept = self.codes[k].0;
                match c.get(i, &mut buf, &mut self.codes[k].1) {
                    Ok(code) => codes_row.push(code),
                    Err(Bad::Missing)
                        if !(concept == Concept::Municipality && layout.kind == SourceKind::Eb) =>
                    {
                        codes_row.push(NO_CODE)
                    }
                    Err(bad) => {
                        reject(&mut self.stats, concept, bad);
                        continue 'rows;
                    }
                }
            }
            numbers_row.clear();
            let mut rounded_row = 0;
            for (k, c) in number_cols.iter().enumerate() {
                match c.number_exact(i) {
                    Ok(n) => {
                        numbers_row.push(n.value);
                        rounded_row += u64::from(n.rounded);
                    }
                    Err(Bad::Missing) => numbers_row.push(NO_NUMBER),
                    Err(bad) => {
                        reject(&mut self.stats, self.numbers[k].0, bad);
                        continue 'rows;
                    }
                }
            }
            let household_id = match household.as_ref().map(|c| household_key(c, i, &mut buf)) {
                None | Some(Err(Bad::Missing)) => u64::MAX,
                Some(Ok(h)) => h,
                Some(Err(bad)) => {
                    reject(&mut self.stats, Concept::Household, bad);
                    continue;
                }
            };
            let role_code = match role.as_ref().map(|c| c.code(i, &mut buf)) {
                None | Some(Err(Bad::Missing)) => ROLE_MISSING,
                Some(Ok(())) => match layout.roles.iter().position(|r| *r == buf) {
                    Some(p) => p as u8,
                    None => ROLE_OTHER,
                },
                Some(Err(bad)) => {
                    reject(&mut self.stats, Concept::Role, bad);
                    continue;
                }
            };
            self.person.push(u128::from_be_bytes(
                pseudonyms
                    .value(i)
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("16 bytes")),
            ));
            self.record_key.push(keys.value(i));
            if let Some((b, s)) = &birth {
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
            self.time.push(t);
            if layout.kind == SourceKind::Af {
                self.end.push(e);
            }
            if household.is_some() {
                self.household.push(household_id);
            }
            if role.is_some() {
                self.role.push(role_code);
            }
            for (k, &v) in codes_row.iter().enumerate() {
                self.codes[k].1.values.push(v);
            }
            for (k, &v) in numbers_row.iter().enumerate() {
                self.numbers[k].1.push(v);
            }
            self.stats.rounded += rounded_row;
        }
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
    let mut h = std::collections::hash_map::DefaultHasher::new();
    buf.hash(&mut h);
    Ok(h.finish() & (u64::MAX >> 1))
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

/// The key id and study of each source must agree, or their pseudonyms cannot match.
pub(crate) fn check_same_key(study: &Study, data: &[SourceData]) -> Result<(), LinkError> {
    for (i, d) in data.iter().enumerate().skip(1) {
        if d.key_id != data[0].key_id || d.pseudonym_study != data[0].pseudonym_study {
            return Err(LinkError::NotPseudonymised {
                source_name: study.sources[i].name.clone(),
                path: study.sources[i].path.clone(),
                message: format!(
                    "was pseudonymised under key {} for study {:?}, but source {} under key {} for study {:?}; pseudonyms only match under one key and one study",
                    d.key_id,
                    d.pseudonym_study,
                    study.sources[0].name,
                    data[0].key_id,
                    data[0].pseudonym_study
                ),
            });
        }
    }
    Ok(())
}
