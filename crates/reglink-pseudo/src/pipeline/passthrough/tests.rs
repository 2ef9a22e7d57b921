//! The fast path against the general path, on Parquet extracts written with
//! as many encodings, page layouts and row-group layouts as parquet-rs makes.
//!
//! Every test pseudonymises one input twice, with `passthrough` on and off,
//! and checks that
//!
//! - the two outputs have the same Arrow schema and the same rows, read
//!   plainly, with the page index, and through a row selection that skips
//!   pages;
//! - the two reports agree;
//! - both agree with an oracle computed here from the input (the kept rows
//!   of every other column, and the keyed hash of every kept number);
//! - the fast path really ran: its output keeps the input's row groups less
//!   the rejected rows, copies untouched row groups byte for byte, and
//!   rewrites the others page by page (same pages, same encodings, fewer
//!   rows), while the general output is one row group;
//! - every statistic in the fast output is true of the values it describes.

// Test code: each test writes a file with many encodings and checks it.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampNanosecondType, UInt32Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    LargeStringArray, ListArray, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, PageType, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::metadata::{ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use proptest::prelude::*;
use reglink_pnr::{Date, Form, Pnr};

use super::Plan;
use crate::pipeline::{
    BIRTH_MONTH_COLUMN, BIRTH_YEAR_COLUMN, PSEUDONYM_COLUMN, RECORD_KEY_COLUMN, SEX_COLUMN,
    pseudonymise,
};
use crate::{Crosswalk, MasterKey, PseudonymiseOptions, PseudonymiseReport, StudyKey};

// ---------------------------------------------------------------------------
// Identifiers

fn reference() -> Date {
    Date::new(2026, 6, 30).unwrap()
}

fn study_key() -> StudyKey {
    MasterKey::from_bytes([11; 32])
        .study_key("passthrough")
        .unwrap()
}

/// A person born between 1901 and 2021, from a seed.
fn person(seed: u32) -> Pnr {
    let seed = u64::from(seed);
    let days = -25_000 + (seed.wrapping_mul(7919) % 44_000) as i32;
    let n = (seed.wrapping_mul(37).wrapping_add(seed >> 7) % 1000) as u16;
    Pnr::from_parts(Date::from_days_since_epoch(days), n, false).unwrap()
}

/// The identifier of one generated row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    /// `person(seed)`, in one of the written forms.
    Valid(u32),
    /// `person(seed)` with a wrong check digit.
    Checksum(u32),
    /// Not digits (as an integer: too short).
    Letters(u32),
    /// The empty string (as an integer: February 30).
    Empty,
    /// Null.
    Null,
}

impl Id {
    fn valid(self) -> bool {
        matches!(self, Id::Valid(_))
    }

    fn pnr(self) -> Option<Pnr> {
        match self {
            Id::Valid(seed) => Some(person(seed)),
            _ => None,
        }
    }

    /// One of the invalid kinds, chosen by `k`.
    fn invalid(k: usize, seed: u32) -> Id {
        match k % 4 {
            0 => Id::Checksum(seed),
            1 => Id::Letters(seed),
            2 => Id::Empty,
            _ => Id::Null,
        }
    }

    fn text(self) -> Option<String> {
        let forms = [
            Form::Twelve,
            Form::TwelveDash,
            Form::TenSeparated,
            Form::Ten,
        ];
        let text = match self {
            Id::Valid(seed) => person(seed).format(forms[seed as usize % 4], reference()),
            Id::Checksum(seed) => wrong_check_digit(seed),
            Id::Letters(seed) => {
                ["19900102x1234", "ABCDEFGHIJKL", "1990-01-02", "x"][seed as usize % 4].to_string()
            }
            Id::Empty => String::new(),
            Id::Null => return None,
        };
        debug_assert_eq!(
            Pnr::parse(&text, reference()).is_ok(),
            self.valid(),
            "{text}"
        );
        Some(text)
    }

    fn int(self) -> Option<i64> {
        let value: i64 = match self {
            Id::Valid(seed) => std::str::from_utf8(person(seed).normalised())
                .unwrap()
                .parse()
                .unwrap(),
            Id::Checksum(seed) => wrong_check_digit(seed).parse().unwrap(),
            Id::Letters(seed) => 12_345 + i64::from(seed % 100),
            Id::Empty => 199_002_301_234,
            Id::Null => return None,
        };
        debug_assert_eq!(
            Pnr::parse(&value.to_string(), reference()).is_ok(),
            self.valid()
        );
        Some(value)
    }
}

fn wrong_check_digit(seed: u32) -> String {
    let mut digits = person(seed).normalised().to_vec();
    digits[11] = b'0' + (digits[11] - b'0' + 1) % 10;
    String::from_utf8(digits).unwrap()
}

fn id_array(ids: &[Id], int: bool) -> ArrayRef {
    if int {
        Arc::new(Int64Array::from_iter(ids.iter().map(|id| id.int())))
    } else {
        Arc::new(StringArray::from_iter(ids.iter().map(|id| id.text())))
    }
}

fn id_type(int: bool) -> DataType {
    if int { DataType::Int64 } else { DataType::Utf8 }
}

// ---------------------------------------------------------------------------
// Other columns

/// splitmix64 of a row and a salt: deterministic, well spread.
fn mix(seed: u64, row: usize, salt: u64) -> u64 {
    let mut z = seed
        .wrapping_add((row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(salt.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The columns of the wide table, other than the id, for `rows` rows.
fn wide_columns(rows: usize, seed: u64) -> Vec<(Field, ArrayRef)> {
    let h = |r: usize, salt: u64| mix(seed, r, salt);
    let rs = 0..rows;
    let mut cols: Vec<(Field, ArrayRef)> = Vec::new();
    let mut add = |name: &str, nullable: bool, array: ArrayRef| {
        cols.push((Field::new(name, array.data_type().clone(), nullable), array));
    };
    add(
        "int32_nullable",
        true,
        Arc::new(Int32Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 1);
            (v % 5 != 0).then_some((v >> 8) as i32 % 1000 - 500)
        }))),
    );
    add(
        "int64_distinct",
        false,
        Arc::new(Int64Array::from_iter_values(
            rs.clone().map(|r| h(r, 2) as i64),
        )),
    );
    add(
        "float64",
        true,
        Arc::new(Float64Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 3);
            match v % 23 {
                0..=2 => None,
                3 => Some(f64::NAN),
                4 => Some(-0.0),
                5 => Some(0.0),
                _ => Some(((v >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e6),
            }
        }))),
    );
    add(
        "utf8_low",
        true,
        Arc::new(StringArray::from_iter(rs.clone().map(|r| {
            let v = h(r, 4);
            (v % 4 != 0).then(|| ["alpha", "beta", "gamma", ""][(v >> 4) as usize % 4])
        }))),
    );
    add(
        "utf8_high",
        false,
        Arc::new(StringArray::from_iter_values(rs.clone().map(|r| {
            let v = h(r, 5);
            if v % 11 == 0 {
                String::new()
            } else {
                format!("v{r}-{}", "x".repeat((v >> 8) as usize % 9))
            }
        }))),
    );
    add(
        "boolean",
        true,
        Arc::new(BooleanArray::from_iter(rs.clone().map(|r| {
            let v = h(r, 6);
            (v % 6 != 0).then_some((v >> 3) & 1 == 1)
        }))),
    );
    add(
        "fixed5",
        true,
        Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                rs.clone().map(|r| {
                    let v = h(r, 7);
                    (v % 8 != 0).then(|| v.to_le_bytes()[..5].to_vec())
                }),
                5,
            )
            .unwrap(),
        ),
    );
    add(
        "date32",
        true,
        Arc::new(Date32Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 8);
            (v % 9 != 0).then_some((v % 20_000) as i32 - 5_000)
        }))),
    );
    add(
        "timestamp_us",
        false,
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                rs.clone()
                    .map(|r| 1_600_000_000_000_000 + (h(r, 9) % 1_000_000_000_000) as i64),
            )
            .with_timezone("+00:00"),
        ),
    );
    add(
        "all_null",
        true,
        Arc::new(Int32Array::from_iter(rs.clone().map(|_| None::<i32>))),
    );
    add(
        "constant",
        false,
        Arc::new(StringArray::from_iter_values(rs.clone().map(|_| "same"))),
    );
    add(
        "decimal",
        true,
        Arc::new(
            Decimal128Array::from_iter(rs.clone().map(|r| {
                let v = h(r, 10);
                (v % 7 != 0).then_some((v % 2_000_000_000_000_000) as i128 - 1_000_000_000_000_000)
            }))
            .with_precision_and_scale(20, 3)
            .unwrap(),
        ),
    );
    add(
        "int16",
        true,
        Arc::new(Int16Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 11);
            (v % 3 != 0).then_some(v as i16)
        }))),
    );
    add(
        "delta_i64",
        true,
        Arc::new(Int64Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 12);
            (v % 10 != 0).then_some(r as i64 * 3 + (v % 5) as i64)
        }))),
    );
    add(
        "bss_f32",
        true,
        Arc::new(Float32Array::from_iter(rs.clone().map(|r| {
            let v = h(r, 13);
            (v % 12 != 0).then_some((v % 100_000) as f32 / 7.0)
        }))),
    );
    add(
        "dict_utf8",
        true,
        Arc::new(DictionaryArray::<Int32Type>::from_iter(rs.clone().map(
            |r| {
                let v = h(r, 14);
                (v % 5 != 0)
                    .then(|| ["north", "south", "east", "west", "up"][(v >> 5) as usize % 5])
            },
        ))),
    );
    add(
        "nullable_without_nulls",
        true,
        Arc::new(Int64Array::from_iter(
            rs.clone().map(|r| Some(h(r, 16) as i64 % 77)),
        )),
    );
    add(
        "constant_with_nulls",
        true,
        Arc::new(StringArray::from_iter(
            rs.clone().map(|r| (h(r, 17) % 3 != 0).then_some("same")),
        )),
    );
    add(
        "large_utf8",
        true,
        Arc::new(LargeStringArray::from_iter(rs.map(|r| {
            let v = h(r, 15);
            (v % 4 != 0).then(|| format!("large-{}", v % 97))
        }))),
    );
    cols
}

/// A batch of `columns` with the id column inserted at `id_at`.
fn with_id(
    id_name: &str,
    ids: &[Id],
    int: bool,
    id_at: usize,
    mut columns: Vec<(Field, ArrayRef)>,
) -> RecordBatch {
    columns.insert(
        id_at,
        (Field::new(id_name, id_type(int), true), id_array(ids, int)),
    );
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

// ---------------------------------------------------------------------------
// Writing inputs

/// How an input file is written.
#[derive(Debug, Clone, Copy)]
struct Config {
    compression: Compression,
    version: WriterVersion,
    dictionary: bool,
    statistics: EnabledStatistics,
    /// Rows per data page.
    page_rows: usize,
    /// Rows per write batch: the granularity at which `page_rows` applies.
    write_batch: usize,
    /// Four columns of the wide table get the encodings the page filter
    /// leaves to the decoder: DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT,
    /// DELTA_BYTE_ARRAY and DELTA_LENGTH_BYTE_ARRAY.
    special_encodings: bool,
}

impl Config {
    fn properties(&self, max_group_rows: Option<usize>) -> WriterProperties {
        let mut builder = WriterProperties::builder()
            .set_compression(self.compression)
            .set_writer_version(self.version)
            .set_dictionary_enabled(self.dictionary)
            // Small, so that high-cardinality columns fall back to PLAIN
            // part way through a chunk.
            .set_dictionary_page_size_limit(512)
            .set_data_page_row_count_limit(self.page_rows)
            .set_write_batch_size(self.write_batch)
            .set_statistics_enabled(self.statistics)
            .set_max_row_group_row_count(max_group_rows);
        if self.special_encodings {
            for (name, encoding) in [
                ("delta_i64", Encoding::DELTA_BINARY_PACKED),
                ("bss_f32", Encoding::BYTE_STREAM_SPLIT),
                ("utf8_high", Encoding::DELTA_BYTE_ARRAY),
                ("large_utf8", Encoding::DELTA_LENGTH_BYTE_ARRAY),
            ] {
                let path = ColumnPath::from(name);
                builder = builder
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, encoding);
            }
        }
        builder.build()
    }
}

/// How the rows are cut into row groups.
#[derive(Debug, Clone)]
enum Groups {
    /// These sizes exactly (the writer is flushed after each).
    Sizes(Vec<usize>),
    /// At most this many rows each, cut by the writer.
    Max(usize),
}

fn write_parquet(path: &Path, batch: &RecordBatch, config: &Config, groups: &Groups) {
    let max = match groups {
        Groups::Sizes(_) => None,
        Groups::Max(n) => Some(*n),
    };
    let file = fs::File::create(path).unwrap();
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(config.properties(max))).unwrap();
    match groups {
        Groups::Sizes(sizes) => {
            assert_eq!(sizes.iter().sum::<usize>(), batch.num_rows());
            let mut at = 0;
            for &n in sizes {
                writer.write(&batch.slice(at, n)).unwrap();
                writer.flush().unwrap();
                at += n;
            }
        }
        Groups::Max(_) => writer.write(batch).unwrap(),
    }
    writer.close().unwrap();
}

// ---------------------------------------------------------------------------
// Reading outputs

fn metadata(path: &Path) -> Arc<ParquetMetaData> {
    let file = fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .clone()
}

fn collect(
    schema: SchemaRef,
    reader: impl Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>,
) -> RecordBatch {
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

/// The whole file as one batch.
fn read_all(path: &Path) -> RecordBatch {
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let schema = builder.schema().clone();
    collect(schema, builder.with_batch_size(97).build().unwrap())
}

/// The whole file as one batch, with the page index loaded by `policy`.
fn read_with_page_index(path: &Path, policy: PageIndexPolicy) -> RecordBatch {
    let options = ArrowReaderOptions::new().with_page_index_policy(policy);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        fs::File::open(path).unwrap(),
        options,
    )
    .unwrap();
    let schema = builder.schema().clone();
    collect(schema, builder.build().unwrap())
}

/// A selection of rows that skips whole pages and cuts others.
fn selection(rows: usize) -> RowSelection {
    let mut selectors = Vec::new();
    let mut at = 0;
    for k in 0.. {
        if at >= rows {
            break;
        }
        let n = [1, 3, 11, 2, 23, 5, 1, 40][k % 8].min(rows - at);
        selectors.push(if k % 2 == 0 {
            RowSelector::select(n)
        } else {
            RowSelector::skip(n)
        });
        at += n;
    }
    RowSelection::from(selectors)
}

fn read_selected(path: &Path) -> RecordBatch {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        fs::File::open(path).unwrap(),
        options,
    )
    .unwrap();
    let rows = builder.metadata().file_metadata().num_rows() as usize;
    let schema = builder.schema().clone();
    collect(
        schema,
        builder
            .with_row_selection(selection(rows))
            .with_batch_size(13)
            .build()
            .unwrap(),
    )
}

/// Column `column` of row group `group`, decoded.
fn read_chunk(path: &Path, group: usize, column: usize) -> ArrayRef {
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [column]);
    let reader = builder
        .with_row_groups(vec![group])
        .with_projection(mask)
        .build()
        .unwrap();
    let arrays: Vec<ArrayRef> = reader.map(|b| b.unwrap().column(0).clone()).collect();
    let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    arrow_select::concat::concat(&refs).unwrap()
}

/// Asserts two batches are equal, naming the first differing cell if not.
fn assert_batches_equal(left: &RecordBatch, right: &RecordBatch, what: &str) {
    assert_eq!(left.schema(), right.schema(), "{what}: schemas differ");
    assert_eq!(
        left.num_rows(),
        right.num_rows(),
        "{what}: row counts differ"
    );
    for (j, field) in left.schema().fields().iter().enumerate() {
        let (a, b) = (left.column(j), right.column(j));
        if a == b {
            continue;
        }
        let row = (0..a.len())
            .find(|&r| a.slice(r, 1) != b.slice(r, 1))
            .unwrap_or(0);
        panic!(
            "{what}: column {:?} differs first at row {row} (0-based, of {}): {:?} vs {:?}",
            field.name(),
            a.len(),
            a.slice(row, 1),
            b.slice(row, 1)
        );
    }
}

// ---------------------------------------------------------------------------
// Running both paths

struct Run {
    report: PseudonymiseReport,
    path: PathBuf,
}

fn run_both(
    dir: &Path,
    input: &Path,
    id_column: &str,
    derive: bool,
    crosswalk: Option<&Crosswalk>,
) -> (Run, Run) {
    let go = |name: &str, passthrough: bool| {
        let path = dir.join(name);
        let mut opts = PseudonymiseOptions::new(input, &path, id_column, reference());
        opts.derive_columns = derive;
        opts.passthrough = passthrough;
        // Small batches for the general path: its batching must not show.
        opts.batch_size = 50;
        let report = pseudonymise(&opts, &study_key(), crosswalk, &|_| {}).unwrap();
        Run { report, path }
    };
    (go("fast.parquet", true), go("general.parquet", false))
}

/// The two outputs and reports say the same thing.
fn assert_equivalent(fast: &Run, general: &Run) {
    let (f, g) = (&fast.report, &general.report);
    assert_eq!(
        (f.rows_in, f.rows_out, f.rows_rejected, f.rows_remapped),
        (g.rows_in, g.rows_out, g.rows_rejected, g.rows_remapped),
        "report totals"
    );
    assert_eq!(f.rejects, g.rejects, "reject rows per reason");
    let fast_batch = read_all(&fast.path);
    assert_batches_equal(&fast_batch, &read_all(&general.path), "fast vs general");
    assert_eq!(fast_batch.num_rows() as u64, f.rows_out);
    assert_batches_equal(
        &read_with_page_index(&fast.path, PageIndexPolicy::Optional),
        &fast_batch,
        "fast output read with its page index",
    );
    assert_batches_equal(
        &read_with_page_index(&general.path, PageIndexPolicy::Required),
        &fast_batch,
        "general output read with its page index required",
    );

    assert_batches_equal(
        &read_selected(&fast.path),
        &read_selected(&general.path),
        "fast vs general through a row selection",
    );
}

/// Both paths agree with what the output must be: the input's kept rows,
/// the id column replaced by the keyed hash of the (remapped) number.
fn assert_matches_oracle(
    input: &Path,
    ids: &[Id],
    id_index: usize,
    derive: bool,
    remap: &dyn Fn(Pnr) -> Pnr,
    run: &Run,
) {
    let input_batch = read_all(input);
    let keep = BooleanArray::from_iter(ids.iter().map(|id| Some(id.valid())));
    let kept = arrow_select::filter::filter_record_batch(&input_batch, &keep).unwrap();
    let out = read_all(&run.path);
    let n_in = input_batch.num_columns();
    let key = study_key();
    let pnrs: Vec<Pnr> = ids.iter().filter_map(|id| id.pnr()).map(remap).collect();
    assert_eq!(out.num_rows(), pnrs.len(), "rows out");
    let mut expected: Vec<(String, ArrayRef)> = Vec::new();
    for j in 0..n_in {
        if j == id_index {
            let pseudonyms = FixedSizeBinaryArray::try_from_iter(
                pnrs.iter().map(|p| key.pseudonym(p).to_bytes()),
            )
            .unwrap_or_else(|_| FixedSizeBinaryArray::new_null(16, 0));
            expected.push((PSEUDONYM_COLUMN.into(), Arc::new(pseudonyms)));
        } else {
            expected.push((
                input_batch.schema().field(j).name().clone(),
                kept.column(j).clone(),
            ));
        }
    }
    expected.push((
        RECORD_KEY_COLUMN.into(),
        Arc::new(arrow_array::UInt32Array::from_iter_values(
            pnrs.iter().map(|p| key.keyed(p).record_key),
        )),
    ));
    if derive {
        expected.push((
            BIRTH_YEAR_COLUMN.into(),
            Arc::new(Int32Array::from_iter_values(
                pnrs.iter().map(|p| p.birth_date().year()),
            )),
        ));
        expected.push((
            BIRTH_MONTH_COLUMN.into(),
            Arc::new(arrow_array::Int8Array::from_iter_values(
                pnrs.iter().map(|p| p.birth_date().month() as i8),
            )),
        ));
        expected.push((
            SEX_COLUMN.into(),
            Arc::new(arrow_array::Int8Array::from_iter_values(pnrs.iter().map(
                |p| match p.sex() {
                    reglink_pnr::Sex::Male => 1,
                    reglink_pnr::Sex::Female => 2,
                },
            ))),
        ));
    }
    assert_eq!(out.num_columns(), expected.len(), "output columns");
    for (j, (name, want)) in expected.iter().enumerate() {
        assert_eq!(out.schema().field(j).name(), name);
        let got = out.column(j);
        if got.as_ref() != want.as_ref() {
            let row = (0..got.len())
                .find(|&r| got.slice(r, 1) != want.slice(r, 1))
                .unwrap_or(0);
            panic!(
                "{}: column {name:?} is not the input's kept rows, first at output row {row}: \
                 {:?} vs expected {:?}",
                run.path.display(),
                got.slice(row, 1.min(got.len())),
                want.slice(row, 1.min(want.len()))
            );
        }
    }

    // Every rejected row is in the report, by number.
    let mut rejected: Vec<u64> = run
        .report
        .rejects
        .values()
        .flat_map(|r| r.rows.iter().copied())
        .collect();
    rejected.sort_unstable();
    let expected: Vec<u64> = (1..=ids.len() as u64)
        .filter(|r| !ids[*r as usize - 1].valid())
        .collect();
    assert_eq!(rejected, expected, "rejected row numbers");
}

/// One page of a column chunk: type, encoding, values, and for a v2 data
/// page its null count.
type PageInfo = (PageType, Encoding, u32, Option<u32>);

/// Every page of one column chunk.
fn pages(path: &Path, group: usize, column: usize) -> Vec<PageInfo> {
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    let group = reader.get_row_group(group).unwrap();
    let mut pages = group.get_column_page_reader(column).unwrap();
    let mut out = Vec::new();
    while let Some(page) = pages.get_next_page().unwrap() {
        let mut nulls = None;
        if let Page::DataPageV2 {
            num_values,
            num_rows,
            num_nulls,
            ..
        } = &page
        {
            assert_eq!(num_values, num_rows, "a flat column");
            nulls = Some(*num_nulls);
        }
        out.push((page.page_type(), page.encoding(), page.num_values(), nulls));
    }
    out
}

fn is_data(page_type: PageType) -> bool {
    matches!(page_type, PageType::DATA_PAGE | PageType::DATA_PAGE_V2)
}

/// Whether the page filter takes this chunk (rather than decoding it).
fn page_filterable(physical: PhysicalType, codec: Compression, pages: &[PageInfo]) -> bool {
    physical != PhysicalType::BOOLEAN
        && matches!(codec, Compression::SNAPPY | Compression::UNCOMPRESSED)
        && pages.iter().filter(|p| is_data(p.0)).all(|p| {
            matches!(
                p.1,
                Encoding::PLAIN | Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
            )
        })
}

/// What the page-level layout of the inputs was, to show the tests cover
/// what they claim to.
#[derive(Debug, Default)]
struct Coverage {
    v1_pages: usize,
    v2_pages: usize,
    plain_pages: usize,
    dictionary_pages: usize,
    /// Chunks with both dictionary-indexed and PLAIN data pages.
    fallback_chunks: usize,
    delta_pages: usize,
    byte_stream_split_pages: usize,
    /// Data pages of rewritten chunks whose first / last row was rejected.
    first_row_rejected: usize,
    last_row_rejected: usize,
    /// Data pages of rewritten chunks with every row rejected.
    emptied_pages: usize,
    copied_groups: usize,
    rewritten_groups: usize,
    dropped_groups: usize,
}

/// The fast path ran: row groups kept (less the rejected rows), untouched
/// row groups copied byte for byte, the others rewritten page by page; the
/// general path wrote one row group.
fn assert_fast_structure(
    input: &Path,
    ids: &[Id],
    id_index: usize,
    fast: &Run,
    general: &Run,
    coverage: &mut Coverage,
) {
    let in_meta = metadata(input);
    let fast_meta = metadata(&fast.path);
    let in_bytes = fs::read(input).unwrap();
    let fast_bytes = fs::read(&fast.path).unwrap();
    let chunk_bytes = |bytes: &[u8], range: (u64, u64)| {
        bytes[range.0 as usize..(range.0 + range.1) as usize].to_vec()
    };

    let mut expected_groups = Vec::new();
    let mut at = 0usize;
    let mut out_group = 0usize;
    for (g, group) in in_meta.row_groups().iter().enumerate() {
        let n = group.num_rows() as usize;
        let keep: Vec<bool> = ids[at..at + n].iter().map(|id| id.valid()).collect();
        at += n;
        let kept = keep.iter().filter(|k| **k).count();
        if kept == 0 {
            coverage.dropped_groups += 1;
            continue;
        }
        expected_groups.push(kept as i64);
        let Some(out) = fast_meta.row_groups().get(out_group) else {
            // Too few row groups: the count is compared below.
            out_group += 1;
            continue;
        };
        for j in 0..group.num_columns() {
            let in_chunk = group.column(j);
            let in_pages = pages(input, g, j);
            for (page_type, encoding, _, _) in &in_pages {
                match (page_type, encoding) {
                    (PageType::DICTIONARY_PAGE, _) => coverage.dictionary_pages += 1,
                    (PageType::DATA_PAGE, _) => coverage.v1_pages += 1,
                    (PageType::DATA_PAGE_V2, _) => coverage.v2_pages += 1,
                    _ => {}
                }
                match encoding {
                    Encoding::PLAIN if is_data(*page_type) => coverage.plain_pages += 1,
                    Encoding::DELTA_BINARY_PACKED => coverage.delta_pages += 1,
                    Encoding::BYTE_STREAM_SPLIT => coverage.byte_stream_split_pages += 1,
                    _ => {}
                }
            }
            let data_encodings: Vec<Encoding> = in_pages
                .iter()
                .filter(|p| is_data(p.0))
                .map(|p| p.1)
                .collect();
            if data_encodings.contains(&Encoding::PLAIN)
                && (data_encodings.contains(&Encoding::RLE_DICTIONARY)
                    || data_encodings.contains(&Encoding::PLAIN_DICTIONARY))
            {
                coverage.fallback_chunks += 1;
            }
            if j == id_index {
                continue;
            }
            let out_chunk = out.column(j);
            if kept == n {
                assert_eq!(
                    chunk_bytes(&fast_bytes, out_chunk.byte_range()),
                    chunk_bytes(&in_bytes, in_chunk.byte_range()),
                    "row group {g} column {j} has no rejected row: copied byte for byte"
                );
                continue;
            }
            if !page_filterable(in_chunk.column_type(), in_chunk.compression(), &in_pages) {
                continue;
            }
            // Rewritten page by page: the same pages, less the rejected rows
            // (pages left empty are dropped), in the input's codec.
            assert_eq!(
                out_chunk.compression(),
                in_chunk.compression(),
                "row group {g} column {j}: codec"
            );
            let in_values = read_chunk(input, g, j);
            let mut expected_pages = Vec::new();
            let mut row = 0usize;
            for &(page_type, encoding, values, nulls) in &in_pages {
                if !is_data(page_type) {
                    expected_pages.push((page_type, encoding, values, nulls));
                    continue;
                }
                let rows = row..row + values as usize;
                let page_keep = &keep[rows.clone()];
                let null_count = |kept_only: bool| {
                    rows.clone()
                        .filter(|&r| in_values.is_null(r) && (keep[r] || !kept_only))
                        .count() as u32
                };
                if nulls.is_some() {
                    assert_eq!(nulls, Some(null_count(false)), "input v2 page nulls");
                }
                row += values as usize;
                coverage.first_row_rejected += usize::from(!page_keep[0]);
                coverage.last_row_rejected += usize::from(!page_keep[page_keep.len() - 1]);
                let page_kept = page_keep.iter().filter(|k| **k).count();
                if page_kept > 0 {
                    let nulls = nulls.map(|_| null_count(true));
                    expected_pages.push((page_type, encoding, page_kept as u32, nulls));
                } else {
                    coverage.emptied_pages += 1;
                }
            }
            assert_eq!(row, n, "input pages cover the row group");
            assert_eq!(
                pages(&fast.path, out_group, j),
                expected_pages,
                "row group {g} column {j} ({:?}): rewritten page by page",
                in_chunk.column_path()
            );
        }
        if kept == n {
            coverage.copied_groups += 1;
        } else {
            coverage.rewritten_groups += 1;
        }
        out_group += 1;
    }
    assert_eq!(at, ids.len(), "input row groups cover the rows");
    let fast_groups: Vec<i64> = fast_meta
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(
        fast_groups, expected_groups,
        "fast output: the input's row groups, less the rejected rows"
    );
    let general_groups = metadata(&general.path).num_row_groups();
    if expected_groups.len() > 1 {
        assert_eq!(general_groups, 1, "the general path writes one row group");
    }
}

// ---------------------------------------------------------------------------
// Statistics

/// A value as Parquet orders it for statistics.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Value {
    Bool(bool),
    Int(i128),
    UInt(u64),
    Float(f64),
    Bytes(Vec<u8>),
}

impl Value {
    fn is_nan(&self) -> bool {
        matches!(self, Value::Float(f) if f.is_nan())
    }
}

/// The values of a flat array, `None` for nulls.
fn values(array: &dyn Array) -> Vec<Option<Value>> {
    let n = array.len();
    let each = |f: &dyn Fn(usize) -> Value| -> Vec<Option<Value>> {
        (0..n).map(|i| array.is_valid(i).then(|| f(i))).collect()
    };
    match array.data_type() {
        DataType::Boolean => each(&|i| Value::Bool(array.as_boolean().value(i))),
        DataType::Int8 => each(&|i| Value::Int(array.as_primitive::<Int8Type>().value(i).into())),
        DataType::Int16 => each(&|i| Value::Int(array.as_primitive::<Int16Type>().value(i).into())),
        DataType::Int32 => each(&|i| Value::Int(array.as_primitive::<Int32Type>().value(i).into())),
        DataType::Int64 => each(&|i| Value::Int(array.as_primitive::<Int64Type>().value(i).into())),
        DataType::UInt32 => {
            each(&|i| Value::UInt(array.as_primitive::<UInt32Type>().value(i).into()))
        }
        DataType::Date32 => {
            each(&|i| Value::Int(array.as_primitive::<Date32Type>().value(i).into()))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => each(&|i| {
            Value::Int(
                array
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(i)
                    .into(),
            )
        }),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => each(&|i| {
            Value::Int(
                array
                    .as_primitive::<TimestampNanosecondType>()
                    .value(i)
                    .into(),
            )
        }),
        DataType::Binary => each(&|i| Value::Bytes(array.as_binary::<i32>().value(i).into())),
        DataType::Decimal128(..) => {
            each(&|i| Value::Int(array.as_primitive::<Decimal128Type>().value(i)))
        }
        DataType::Float32 => {
            each(&|i| Value::Float(array.as_primitive::<Float32Type>().value(i).into()))
        }
        DataType::Float64 => each(&|i| Value::Float(array.as_primitive::<Float64Type>().value(i))),
        DataType::Utf8 => each(&|i| Value::Bytes(array.as_string::<i32>().value(i).into())),
        DataType::LargeUtf8 => each(&|i| Value::Bytes(array.as_string::<i64>().value(i).into())),
        DataType::FixedSizeBinary(_) => {
            each(&|i| Value::Bytes(array.as_fixed_size_binary().value(i).into()))
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_dictionary::<Int32Type>();
            let plain = arrow_select::take::take(dict.values(), dict.keys(), None).unwrap();
            values(plain.as_ref())
        }
        other => panic!("no statistics check for {other}"),
    }
}

/// A statistics bound as a [`Value`] of the column's Arrow type.
fn bound(stats: &Statistics, data_type: &DataType, min: bool) -> Option<Value> {
    fn pick<T>(s: &parquet::file::statistics::ValueStatistics<T>, min: bool) -> Option<&T> {
        if min { s.min_opt() } else { s.max_opt() }
    }
    let unsigned = matches!(
        data_type,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
    );
    Some(match stats {
        Statistics::Boolean(s) => Value::Bool(*pick(s, min)?),
        Statistics::Int32(s) if unsigned => Value::UInt(u64::from(*pick(s, min)? as u32)),
        Statistics::Int32(s) => Value::Int((*pick(s, min)?).into()),
        Statistics::Int64(s) if unsigned => Value::UInt(*pick(s, min)? as u64),
        Statistics::Int64(s) => Value::Int((*pick(s, min)?).into()),
        Statistics::Float(s) => Value::Float((*pick(s, min)?).into()),
        Statistics::Double(s) => Value::Float(*pick(s, min)?),
        Statistics::ByteArray(s) => Value::Bytes(pick(s, min)?.data().to_vec()),
        Statistics::FixedLenByteArray(s) => {
            let bytes = pick(s, min)?.data();
            if let DataType::Decimal128(..) = data_type {
                // Big-endian two's complement, sign-extended.
                let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut wide = [fill; 16];
                wide[16 - bytes.len()..].copy_from_slice(bytes);
                Value::Int(i128::from_be_bytes(wide))
            } else {
                Value::Bytes(bytes.to_vec())
            }
        }
        // Parquet defines no order for INT96.
        Statistics::Int96(_) => return None,
    })
}

/// Every statistic of every column chunk of `path` is true: the null count
/// is the number of nulls, the NaN count the number of NaNs, min and max
/// bound every value and are attained when they claim to be exact.
fn assert_statistics_true(path: &Path) {
    let meta = metadata(path);
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let schema = builder.schema().clone();
    for (g, group) in meta.row_groups().iter().enumerate() {
        for (j, chunk) in group.columns().iter().enumerate() {
            let at = format!("{} row group {g} column {j}", path.display());
            assert_eq!(chunk.num_values(), group.num_rows(), "{at}: values");
            let Some(stats) = chunk.statistics() else {
                continue;
            };
            let array = read_chunk(path, g, j);
            assert_eq!(array.len() as i64, group.num_rows(), "{at}: rows");
            if let Some(nulls) = stats.null_count_opt() {
                assert_eq!(nulls, array.null_count() as u64, "{at}: null count");
            }
            let data_type = schema.field(j).data_type();
            if matches!(stats, Statistics::Int96(_)) {
                continue;
            }
            let vals: Vec<Value> = values(array.as_ref()).into_iter().flatten().collect();
            if let Some(nans) = stats.nan_count_opt() {
                let real = vals.iter().filter(|v| v.is_nan()).count() as u64;
                assert_eq!(nans, real, "{at}: NaN count");
            }
            let vals: Vec<Value> = vals.into_iter().filter(|v| !v.is_nan()).collect();
            // The footer reader honours the exactness flags of byte-array
            // statistics only (numeric ones always read back as exact), so
            // exactness is checked there alone.
            let exact = |min: bool| match stats {
                Statistics::ByteArray(s) => {
                    if min {
                        s.min_is_exact()
                    } else {
                        s.max_is_exact()
                    }
                }
                Statistics::FixedLenByteArray(s) => {
                    if min {
                        s.min_is_exact()
                    } else {
                        s.max_is_exact()
                    }
                }
                _ => false,
            };
            for is_min in [true, false] {
                let Some(b) = bound(stats, data_type, is_min) else {
                    continue;
                };
                let (name, side) = if is_min {
                    ("min", "above")
                } else {
                    ("max", "below")
                };
                for v in &vals {
                    let ordering = b.partial_cmp(v);
                    let bounds = if is_min {
                        ordering.is_some_and(|o| o.is_le())
                    } else {
                        ordering.is_some_and(|o| o.is_ge())
                    };
                    assert!(bounds, "{at}: {name} {b:?} is {side} the value {v:?}");
                }
                if exact(is_min) && !vals.is_empty() {
                    assert!(vals.contains(&b), "{at}: exact {name} {b:?} is no value");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The checks, together

/// Everything checked of one input: equivalence, oracle, structure,
/// statistics.
fn check_input(
    dir: &Path,
    input: &Path,
    ids: &[Id],
    id_column: &str,
    derive: bool,
    coverage: &mut Coverage,
) {
    assert!(
        Plan::new(input).unwrap().is_some(),
        "a flat extract takes the fast path"
    );
    let id_index = read_all(input).schema().index_of(id_column).unwrap();
    let (fast, general) = run_both(dir, input, id_column, derive, None);
    assert_equivalent(&fast, &general);
    assert_matches_oracle(input, ids, id_index, derive, &|p| p, &fast);
    assert_matches_oracle(input, ids, id_index, derive, &|p| p, &general);
    assert_fast_structure(input, ids, id_index, &fast, &general, coverage);
    assert_statistics_true(&fast.path);
}

/// Row-group layouts with rejects at the edges of pages and row groups.
/// `p` is the rows per page. Returns the ids and the row-group sizes.
fn edge_layout(p: usize, seed: u32) -> (Vec<Id>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut bad = 0usize;
    let mut group = |ids: &mut Vec<Id>, n: usize, reject: &dyn Fn(usize) -> bool| {
        for r in 0..n {
            let row = ids.len() as u32;
            let seed = seed.wrapping_add(row.wrapping_mul(7));
            ids.push(if reject(r) {
                bad += 1;
                Id::invalid(bad, seed)
            } else {
                Id::Valid(seed)
            });
        }
        sizes.push(n);
    };
    // First and last row of every page, and the group's last row.
    let n = 3 * p + 2;
    group(&mut ids, n, &|r| r % p == 0 || r % p == p - 1 || r == n - 1);
    // No row rejected.
    group(&mut ids, 2 * p + 1, &|_| false);
    // Every row rejected.
    group(&mut ids, p + 3, &|_| true);
    // The second page entirely, and the group's first row.
    group(&mut ids, 3 * p, &|r| r == 0 || (p..2 * p).contains(&r));
    // One row, kept; one row, rejected.
    group(&mut ids, 1, &|_| false);
    group(&mut ids, 1, &|_| true);
    // Scattered.
    group(&mut ids, 6 * p + 5, &|r| {
        mix(u64::from(seed), r, 99).is_multiple_of(7)
    });
    // All but one.
    let n = 2 * p;
    group(&mut ids, n, &|r| r != n / 2);
    (ids, sizes)
}

// ---------------------------------------------------------------------------
// Tests

/// Every combination of codec, page version and dictionary, with tiny pages,
/// rejects on the edges of pages and row groups, whole pages and whole row
/// groups rejected, ids as text and as integers at different positions.
#[test]
fn fast_path_matches_general_path_across_writer_settings() {
    let mut coverage = Coverage::default();
    let mut case = 0usize;
    for compression in [Compression::SNAPPY, Compression::UNCOMPRESSED] {
        for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
            for dictionary in [true, false] {
                case += 1;
                let page_rows = [3, 4, 7, 8, 5, 16, 6, 9][case % 8];
                let config = Config {
                    compression,
                    version,
                    dictionary,
                    statistics: [
                        EnabledStatistics::Page,
                        EnabledStatistics::Chunk,
                        EnabledStatistics::None,
                    ][case % 3],
                    page_rows,
                    // Dividing the page limit or not: pages are cut only
                    // between write batches.
                    write_batch: if case.is_multiple_of(2) {
                        1
                    } else {
                        page_rows.div_ceil(2)
                    },
                    special_encodings: true,
                };
                let int_ids = case % 3 == 1;
                let (ids, sizes) = edge_layout(page_rows, case as u32 * 1000);
                let columns = wide_columns(ids.len(), case as u64);
                let id_at = [0, 1, columns.len(), 7][case % 4];
                let batch = with_id("personnr", &ids, int_ids, id_at, columns);
                let dir = tempfile::tempdir().unwrap();
                let input = dir.path().join("in.parquet");
                write_parquet(&input, &batch, &config, &Groups::Sizes(sizes));
                check_input(
                    dir.path(),
                    &input,
                    &ids,
                    "personnr",
                    case % 2 == 1,
                    &mut coverage,
                );
            }
        }
    }
    // The inputs held what this test claims to cover.
    let c = &coverage;
    assert!(c.v1_pages > 0 && c.v2_pages > 0, "{c:?}");
    assert!(c.plain_pages > 0 && c.dictionary_pages > 0, "{c:?}");
    assert!(
        c.fallback_chunks > 0,
        "dictionary fell back to PLAIN: {c:?}"
    );
    assert!(c.delta_pages > 0 && c.byte_stream_split_pages > 0, "{c:?}");
    assert!(c.first_row_rejected > 0 && c.last_row_rejected > 0, "{c:?}");
    assert!(c.emptied_pages > 0, "{c:?}");
    assert!(
        c.copied_groups > 0 && c.rewritten_groups > 0 && c.dropped_groups > 0,
        "{c:?}"
    );
}

/// Row groups cut by the writer's row limit rather than by flushes, so that
/// row-group and page boundaries fall wherever the limits put them.
#[test]
fn row_groups_cut_by_the_writer_limit() {
    let mut coverage = Coverage::default();
    for (k, (group_rows, page_rows, write_batch)) in
        [(10, 3, 1), (17, 5, 2), (64, 64, 64), (7, 10, 3)]
            .into_iter()
            .enumerate()
    {
        let rows = 150;
        let ids: Vec<Id> = (0..rows)
            .map(|r| {
                let seed = (k * 10_000 + r) as u32;
                let v = mix(k as u64, r, 5);
                if r.is_multiple_of(group_rows)
                    || r % page_rows == page_rows - 1
                    || v.is_multiple_of(9)
                {
                    Id::invalid(r, seed)
                } else {
                    Id::Valid(seed)
                }
            })
            .collect();
        let config = Config {
            compression: if k % 2 == 0 {
                Compression::SNAPPY
            } else {
                Compression::UNCOMPRESSED
            },
            version: if k < 2 {
                WriterVersion::PARQUET_2_0
            } else {
                WriterVersion::PARQUET_1_0
            },
            dictionary: k != 1,
            statistics: EnabledStatistics::Page,
            page_rows,
            write_batch,
            special_encodings: k % 2 == 1,
        };
        let batch = with_id("id", &ids, k == 3, 2, wide_columns(rows, 40 + k as u64));
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        write_parquet(&input, &batch, &config, &Groups::Max(group_rows));
        assert!(metadata(&input).num_row_groups() > 1);
        check_input(dir.path(), &input, &ids, "id", k % 2 == 0, &mut coverage);
    }
}

/// Long runs (RLE runs in the levels and the dictionary indices), index bit
/// widths from 0 to 12, long null runs, pages of hundreds of rows.
#[test]
fn long_runs_and_wide_dictionary_indices() {
    let rows = 5000;
    let ids: Vec<Id> = (0..rows)
        .map(|r| {
            let seed = r as u32 * 3 + 1;
            // Rejects scattered, in a burst, and in the middle of long runs.
            if r % 37 == 0 || (1200..1230).contains(&r) || r == 2499 || r == 2500 || r == 4999 {
                Id::invalid(r, seed)
            } else {
                Id::Valid(seed)
            }
        })
        .collect();
    let mut columns: Vec<(Field, ArrayRef)> = Vec::new();
    for (cardinality, run) in [
        (1usize, 1usize),
        (2, 50),
        (3, 1),
        (17, 20),
        (300, 3),
        (3000, 1),
    ] {
        let array: ArrayRef = Arc::new(Int32Array::from_iter(
            (0..rows).map(|r| Some(((r / run) % cardinality) as i32 * 7 - 1000)),
        ));
        columns.push((
            Field::new(
                format!("int_card_{cardinality}_run_{run}"),
                DataType::Int32,
                false,
            ),
            array,
        ));
        let array: ArrayRef = Arc::new(StringArray::from_iter((0..rows).map(|r| {
            let null_run = (300..700).contains(&r) || (2400..2600).contains(&r);
            (!null_run && r % 11 != 3).then(|| format!("s{}", (r / run) % cardinality))
        })));
        columns.push((
            Field::new(
                format!("str_card_{cardinality}_run_{run}"),
                DataType::Utf8,
                true,
            ),
            array,
        ));
    }
    let mut coverage = Coverage::default();
    for (k, version) in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0]
        .into_iter()
        .enumerate()
    {
        let config = Config {
            compression: Compression::SNAPPY,
            version,
            dictionary: true,
            statistics: EnabledStatistics::Chunk,
            page_rows: 700,
            write_batch: 100,
            special_encodings: false,
        };
        let batch = with_id("pnr", &ids, k == 1, 0, columns.clone());
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        // The default dictionary size limit, so that 3000 values stay indexed.
        let file = fs::File::create(&input).unwrap();
        let props = WriterProperties::builder()
            .set_compression(config.compression)
            .set_writer_version(config.version)
            .set_data_page_row_count_limit(config.page_rows)
            .set_write_batch_size(config.write_batch)
            .set_statistics_enabled(config.statistics)
            .build();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        writer.write(&batch.slice(0, 2500)).unwrap();
        writer.flush().unwrap();
        writer.write(&batch.slice(2500, 2500)).unwrap();
        writer.close().unwrap();
        check_input(dir.path(), &input, &ids, "pnr", true, &mut coverage);
    }
    assert!(
        coverage.dictionary_pages > 0 && coverage.rewritten_groups == 4,
        "{coverage:?}"
    );
}

/// Every row of the extract rejected: an empty output either way.
#[test]
fn every_row_rejected_gives_the_same_empty_output() {
    let ids: Vec<Id> = (0..40).map(|r| Id::invalid(r, r as u32)).collect();
    let config = Config {
        compression: Compression::SNAPPY,
        version: WriterVersion::PARQUET_2_0,
        dictionary: true,
        statistics: EnabledStatistics::Page,
        page_rows: 4,
        write_batch: 2,
        special_encodings: true,
    };
    let batch = with_id("personnr", &ids, false, 3, wide_columns(40, 1));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &batch, &config, &Groups::Sizes(vec![10, 25, 5]));
    let (fast, general) = run_both(dir.path(), &input, "personnr", true, None);
    assert_eq!((fast.report.rows_in, fast.report.rows_out), (40, 0));
    assert_equivalent(&fast, &general);
    assert_eq!(metadata(&fast.path).num_row_groups(), 0);
}

/// An extract of nothing but the id column, and one of no rows at all.
#[test]
fn id_only_and_empty_extracts() {
    let (ids, sizes) = edge_layout(3, 5);
    for (ids, sizes) in [(ids, sizes), (Vec::new(), Vec::new())] {
        let batch = with_id("personnr", &ids, false, 0, Vec::new());
        let config = Config {
            compression: Compression::SNAPPY,
            version: WriterVersion::PARQUET_2_0,
            dictionary: true,
            statistics: EnabledStatistics::Page,
            page_rows: 3,
            write_batch: 1,
            special_encodings: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        write_parquet(&input, &batch, &config, &Groups::Sizes(sizes));
        check_input(
            dir.path(),
            &input,
            &ids,
            "personnr",
            true,
            &mut Coverage::default(),
        );
    }
}

/// Codecs the page filter does not rewrite (ZSTD, LZ4, GZIP) are read, and
/// their chunks with rejected rows are decoded instead; the result is the same.
#[test]
fn other_codecs_are_read_and_decoded_where_rows_are_dropped() {
    use parquet::basic::{GzipLevel, ZstdLevel};
    for compression in [
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4_RAW,
        Compression::GZIP(GzipLevel::default()),
    ] {
        let (ids, sizes) = edge_layout(4, 11);
        let columns = wide_columns(ids.len(), 3);
        let batch = with_id("personnr", &ids, false, 1, columns);
        let config = Config {
            compression,
            version: WriterVersion::PARQUET_1_0,
            dictionary: true,
            statistics: EnabledStatistics::Chunk,
            page_rows: 4,
            write_batch: 1,
            special_encodings: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        write_parquet(&input, &batch, &config, &Groups::Sizes(sizes));
        assert_eq!(
            metadata(&input).row_group(0).column(0).compression(),
            compression
        );
        check_input(
            dir.path(),
            &input,
            &ids,
            "personnr",
            false,
            &mut Coverage::default(),
        );
    }
}

/// No row rejected: every chunk of every row group is copied.
#[test]
fn no_row_rejected_copies_every_chunk() {
    let ids: Vec<Id> = (0..90).map(|r| Id::Valid(r as u32 * 13)).collect();
    let config = Config {
        compression: Compression::UNCOMPRESSED,
        version: WriterVersion::PARQUET_1_0,
        dictionary: true,
        statistics: EnabledStatistics::Chunk,
        page_rows: 8,
        write_batch: 4,
        special_encodings: true,
    };
    let batch = with_id("personnr", &ids, true, 5, wide_columns(90, 2));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &batch, &config, &Groups::Sizes(vec![30, 1, 59]));
    let mut coverage = Coverage::default();
    check_input(dir.path(), &input, &ids, "personnr", false, &mut coverage);
    assert_eq!(
        (coverage.copied_groups, coverage.rewritten_groups),
        (3, 0),
        "{coverage:?}"
    );
}

/// A crosswalk remaps numbers the same way on both paths.
#[test]
fn crosswalk_remaps_the_same_rows_on_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, sizes) = edge_layout(4, 77);
    // Remap every third valid number to a person no id names.
    let mut remap = BTreeMap::new();
    for (k, pnr) in ids.iter().filter_map(|id| id.pnr()).enumerate() {
        if k % 3 == 0 {
            remap.insert(pnr, person(3_000_000 + k as u32));
        }
    }
    let digits = |p: &Pnr| String::from_utf8(p.normalised().to_vec()).unwrap();
    let mut csv = String::from("old,new\n");
    for (old, new) in &remap {
        csv.push_str(&format!("{},{}\n", digits(old), digits(new)));
    }
    let cw_path = dir.path().join("crosswalk.csv");
    fs::write(&cw_path, csv).unwrap();
    let crosswalk = Crosswalk::load(&cw_path, reference()).unwrap();

    let config = Config {
        compression: Compression::SNAPPY,
        version: WriterVersion::PARQUET_1_0,
        dictionary: true,
        statistics: EnabledStatistics::Page,
        page_rows: 4,
        write_batch: 2,
        special_encodings: false,
    };
    let batch = with_id("personnr", &ids, false, 1, wide_columns(ids.len(), 3));
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &batch, &config, &Groups::Sizes(sizes));
    let (fast, general) = run_both(dir.path(), &input, "personnr", true, Some(&crosswalk));
    assert!(fast.report.rows_remapped > 0);
    assert_equivalent(&fast, &general);
    let lookup = |p: Pnr| remap.get(&p).copied().unwrap_or(p);
    assert_matches_oracle(&input, &ids, 1, true, &lookup, &fast);
    assert_matches_oracle(&input, &ids, 1, true, &lookup, &general);
    assert_fast_structure(&input, &ids, 1, &fast, &general, &mut Coverage::default());
    assert_statistics_true(&fast.path);
}

/// Dictionary indices wider than 16 bits (70,000 distinct values in a row
/// group), nulls among them, rejects on page edges.
#[test]
fn dictionary_indices_wider_than_sixteen_bits() {
    let rows = 70_000usize;
    let page = 20_000usize;
    let ids: Vec<Id> = (0..rows)
        .map(|r| {
            let seed = r as u32 * 11 + 5;
            if r % 1000 == 0 || r % page == page - 1 || r == rows - 1 || r % 4099 == 7 {
                Id::invalid(r, seed)
            } else {
                Id::Valid(seed)
            }
        })
        .collect();
    let columns: Vec<(Field, ArrayRef)> = vec![(
        Field::new("distinct", DataType::Int32, true),
        Arc::new(Int32Array::from_iter((0..rows).map(|r| {
            (r % 13 != 5).then_some(((r * 7919) % rows) as i32 - 35_000)
        }))),
    )];
    let batch = with_id("pnr", &ids, true, 1, columns);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_data_page_row_count_limit(page)
        .set_write_batch_size(1000)
        .build();
    let mut writer = ArrowWriter::try_new(
        fs::File::create(&input).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    // The chunk is dictionary-indexed throughout, 17 bits an index.
    let encodings: Vec<Encoding> = pages(&input, 0, 0)
        .iter()
        .filter(|p| is_data(p.0))
        .map(|p| p.1)
        .collect();
    assert!(
        encodings.len() > 1 && encodings.iter().all(|e| *e == Encoding::RLE_DICTIONARY),
        "{encodings:?}"
    );
    let mut coverage = Coverage::default();
    check_input(dir.path(), &input, &ids, "pnr", false, &mut coverage);
    assert_eq!(coverage.rewritten_groups, 1);
}

/// An extract written without an Arrow schema (as other writers do): INT96
/// timestamps, un-annotated binary, fixed-length binary, a required id
/// column, types the general path would write differently.
#[test]
fn extracts_written_without_an_arrow_schema() {
    use parquet::data_type::{
        ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, Int96,
        Int96Type,
    };
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    /// Values of the present rows and the definition levels of an optional
    /// column.
    fn optional<T>(
        rows: std::ops::Range<usize>,
        salt: u64,
        value: impl Fn(usize) -> T,
    ) -> (Vec<T>, Vec<i16>) {
        let mut values = Vec::new();
        let mut defs = Vec::new();
        for r in rows {
            let present = !mix(3, r, salt).is_multiple_of(5);
            defs.push(i16::from(present));
            if present {
                values.push(value(r));
            }
        }
        (values, defs)
    }

    // INT96 comes back from Arrow as INT64, so a file with it takes the
    // general path (its chunks could not be re-encoded as they are); the
    // other cases leave it out.
    let message_with = "message extract {
        required int32 count;
        required binary personnr (STRING);
        optional int96 ts;
        optional binary raw;
        optional fixed_len_byte_array(3) f3;
        optional double d;
        optional int64 big;
    }";
    let message_without = message_with.replace("optional int96 ts;", "");
    let (ids, sizes) = edge_layout(5, 4242);
    // The id column is required: no nulls.
    let ids: Vec<Id> = ids
        .into_iter()
        .map(|id| if id == Id::Null { Id::Letters(2) } else { id })
        .collect();
    let mut coverage = Coverage::default();
    for (k, (compression, version, dictionary)) in [
        (Compression::SNAPPY, WriterVersion::PARQUET_1_0, true),
        (Compression::UNCOMPRESSED, WriterVersion::PARQUET_2_0, false),
        (Compression::SNAPPY, WriterVersion::PARQUET_2_0, true),
    ]
    .into_iter()
    .enumerate()
    {
        let int96 = k == 0;
        let message = if int96 {
            message_with
        } else {
            &message_without
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_writer_version(version)
            .set_dictionary_enabled(dictionary)
            .set_data_page_row_count_limit(5)
            .set_write_batch_size(1)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .build();
        let schema = Arc::new(parse_message_type(message).unwrap());
        let mut writer =
            SerializedFileWriter::new(fs::File::create(&input).unwrap(), schema, Arc::new(props))
                .unwrap();
        let mut at = 0;
        for &n in &sizes {
            let rows = at..at + n;
            let mut group = writer.next_row_group().unwrap();
            let mut j = 0u64;
            while let Some(mut column) = group.next_column().unwrap() {
                let salt = j + 10 * k as u64;
                let kind = if int96 || j < 2 { j } else { j + 1 };
                match kind {
                    0 => {
                        let values: Vec<i32> = rows
                            .clone()
                            .map(|r| (mix(1, r, salt) % 100) as i32)
                            .collect();
                        column
                            .typed::<parquet::data_type::Int32Type>()
                            .write_batch(&values, None, None)
                            .unwrap();
                    }
                    1 => {
                        let values: Vec<ByteArray> = rows
                            .clone()
                            .map(|r| ByteArray::from(ids[r].text().unwrap().into_bytes()))
                            .collect();
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&values, None, None)
                            .unwrap();
                    }
                    2 => {
                        let (values, defs) = optional(rows.clone(), salt, |r| {
                            let v = mix(2, r, salt);
                            let nanos = v % 86_400_000_000_000;
                            let mut t = Int96::new();
                            t.set_data(
                                nanos as u32,
                                (nanos >> 32) as u32,
                                2_440_588 + (v % 20_000) as u32,
                            );
                            t
                        });
                        column
                            .typed::<Int96Type>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                    3 => {
                        let (values, defs) = optional(rows.clone(), salt, |r| {
                            let v = mix(4, r, salt);
                            ByteArray::from(v.to_le_bytes()[..(v % 9) as usize].to_vec())
                        });
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                    4 => {
                        let (values, defs) = optional(rows.clone(), salt, |r| {
                            let v = mix(5, r, salt) % 7;
                            FixedLenByteArray::from(vec![v as u8, 0xff, (v * 31) as u8])
                        });
                        column
                            .typed::<FixedLenByteArrayType>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                    5 => {
                        let (values, defs) =
                            optional(rows.clone(), salt, |r| mix(6, r, salt) as f64 / 7.0);
                        column
                            .typed::<DoubleType>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                    _ => {
                        let (values, defs) =
                            optional(rows.clone(), salt, |r| mix(7, r, salt) as i64);
                        column
                            .typed::<parquet::data_type::Int64Type>()
                            .write_batch(&values, Some(&defs), None)
                            .unwrap();
                    }
                }
                column.close().unwrap();
                j += 1;
            }
            group.close().unwrap();
            at += n;
        }
        writer.close().unwrap();
        if int96 {
            assert!(Plan::new(&input).unwrap().is_none(), "INT96: general path");
            let (fast, general) = run_both(dir.path(), &input, "personnr", false, None);
            assert_equivalent(&fast, &general);
        } else {
            check_input(dir.path(), &input, &ids, "personnr", k == 1, &mut coverage);
        }
    }
    assert!(
        coverage.rewritten_groups > 0 && coverage.copied_groups > 0,
        "{coverage:?}"
    );
}

/// A reader that requires the offset index (`PageIndexPolicy::Required`,
/// which is what `true` converts to) reads the general output; it must read
/// the fast output too. Two small extracts: one where a BOOLEAN column is
/// re-encoded (the fallback) beside a page-filtered column, one with no row
/// rejected and derived columns added.
#[test]
fn fast_output_is_readable_when_the_page_index_is_required() {
    let valid = Id::Valid(1);
    // The third input has no offset index at all, and no rejected row: its
    // chunks cannot be copied as they are, since the output's copied chunks
    // would then lack the offset index its rewritten ones have.
    let cases: [(Vec<Id>, bool, bool); 3] = [
        (vec![Id::Empty, valid, Id::Valid(2)], false, true),
        (vec![valid, Id::Valid(2), Id::Valid(3)], true, true),
        (vec![valid, Id::Valid(2), Id::Valid(3)], false, false),
    ];
    let mut failures = Vec::new();
    for (ids, derive, input_index) in cases {
        let n = ids.len();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (
                Field::new("x", DataType::Int32, true),
                Arc::new(Int32Array::from_iter_values(0..n as i32)),
            ),
            (
                Field::new("flag", DataType::Boolean, true),
                Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 2 == 0)))),
            ),
        ];
        let batch = with_id("personnr", &ids, false, 0, columns);
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_offset_index_disabled(!input_index)
            .build();
        let mut writer = ArrowWriter::try_new(
            fs::File::create(&input).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let has_index = metadata(&input).row_groups()[0]
            .columns()
            .iter()
            .all(|c| c.offset_index_offset().is_some());
        assert_eq!(has_index, input_index, "the input is as intended");
        let (fast, general) = run_both(dir.path(), &input, "personnr", derive, None);
        assert_equivalent(&fast, &general);
        let expected = read_with_page_index(&general.path, PageIndexPolicy::Required);
        let file = fs::File::open(&fast.path).unwrap();
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let fast_read =
            ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).map(|b| {
                let schema = b.schema().clone();
                collect(schema, b.build().unwrap())
            });
        match fast_read {
            Ok(batch) => assert_batches_equal(&batch, &expected, "page index required"),
            Err(e) => {
                let meta = metadata(&fast.path);
                let with_index: Vec<bool> = meta.row_groups()[0]
                    .columns()
                    .iter()
                    .map(|c| c.offset_index_offset().is_some())
                    .collect();
                failures.push(format!(
                    "ids {ids:?}, derive_columns {derive}: the fast output cannot be read \
                     with the offset index required ({e}); the general output can. \
                     Offset index present per column: {with_index:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A nested column sends the whole extract down the general path, with the
/// same result.
#[test]
fn nested_schema_takes_the_general_path_with_the_same_result() {
    let rows = 120;
    let ids: Vec<Id> = (0..rows)
        .map(|r| {
            if r % 5 == 0 || r == rows - 1 {
                Id::invalid(r, r as u32)
            } else {
                Id::Valid(r as u32 * 31)
            }
        })
        .collect();
    let lists = ListArray::from_iter_primitive::<Int32Type, _, _>((0..rows).map(|r| match r % 4 {
        0 => None,
        1 => Some(vec![]),
        2 => Some(vec![Some(r as i32), None, Some(-1)]),
        _ => Some(vec![Some(r as i32 * 2)]),
    }));
    let columns: Vec<(Field, ArrayRef)> = vec![
        (
            Field::new("list", lists.data_type().clone(), true),
            Arc::new(lists),
        ),
        (
            Field::new("x", DataType::Int32, true),
            Arc::new(Int32Array::from_iter(
                (0..rows).map(|r| (r % 3 != 0).then_some(r as i32)),
            )),
        ),
    ];
    let batch = with_id("personnr", &ids, false, 1, columns);
    let config = Config {
        compression: Compression::SNAPPY,
        version: WriterVersion::PARQUET_2_0,
        dictionary: true,
        statistics: EnabledStatistics::Page,
        page_rows: 8,
        write_batch: 4,
        special_encodings: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &batch, &config, &Groups::Sizes(vec![50, 70]));
    assert!(
        Plan::new(&input).unwrap().is_none(),
        "a nested column: the general path"
    );
    let (fast, general) = run_both(dir.path(), &input, "personnr", false, None);
    assert_equivalent(&fast, &general);
    assert_matches_oracle(&input, &ids, 1, false, &|p| p, &fast);
    assert_eq!(metadata(&fast.path).num_row_groups(), 1);
}

// ---------------------------------------------------------------------------
// Random extracts

fn id_strategy() -> impl Strategy<Value = Id> {
    prop_oneof![
        8 => any::<u32>().prop_map(|s| Id::Valid(s % 5_000_000)),
        1 => any::<u32>().prop_map(|s| Id::Checksum(s % 5_000_000)),
        1 => any::<u32>().prop_map(Id::Letters),
        1 => Just(Id::Empty),
        1 => Just(Id::Null),
    ]
}

#[derive(Debug, Clone)]
struct RandomRow {
    id: Id,
    n: Option<i32>,
    s: Option<u8>,
    b: Option<bool>,
}

fn row_strategy() -> impl Strategy<Value = RandomRow> {
    (
        id_strategy(),
        prop::option::weighted(0.8, -50i32..50),
        prop::option::weighted(0.7, 0u8..6),
        prop::option::weighted(0.9, any::<bool>()),
    )
        .prop_map(|(id, n, s, b)| RandomRow { id, n, s, b })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random rows, random page and row-group limits: fast == general.
    #[test]
    fn random_extracts_give_the_same_output_on_both_paths(
        rows in prop::collection::vec(row_strategy(), 1..160),
        page_rows in 1usize..12,
        group_rows in 1usize..60,
        batch_divisor in 1usize..4,
        snappy in any::<bool>(),
        v2 in any::<bool>(),
        dictionary in any::<bool>(),
        int_ids in any::<bool>(),
        id_at in 0usize..5,
    ) {
        let ids: Vec<Id> = rows.iter().map(|r| r.id).collect();
        let n = rows.len();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (Field::new("n", DataType::Int32, true),
             Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.n)))),
            (Field::new("s", DataType::Utf8, true),
             Arc::new(StringArray::from_iter(rows.iter().map(|r| r.s.map(|s| "abcdef"[..usize::from(s)].to_string()))))),
            (Field::new("r", DataType::Int64, false),
             Arc::new(Int64Array::from_iter_values((0..n).map(|i| mix(7, i, 1) as i64 % 1000)))),
            (Field::new("b", DataType::Boolean, true),
             Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.b)))),
        ];
        let batch = with_id("id", &ids, int_ids, id_at.min(columns.len()), columns);
        let config = Config {
            compression: if snappy { Compression::SNAPPY } else { Compression::UNCOMPRESSED },
            version: if v2 { WriterVersion::PARQUET_2_0 } else { WriterVersion::PARQUET_1_0 },
            dictionary,
            statistics: EnabledStatistics::Page,
            page_rows,
            write_batch: page_rows.div_ceil(batch_divisor),
            special_encodings: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.parquet");
        write_parquet(&input, &batch, &config, &Groups::Max(group_rows));
        check_input(dir.path(), &input, &ids, "id", false, &mut Coverage::default());
    }
}

/// A footer whose chunk ranges overlap, or that has impossible numbers, sends
/// the extract to the general path: copying a chunk's declared bytes must
/// never copy another column's, above all the id column's.
#[test]
fn implausible_footers_take_the_general_path() {
    let ids: Vec<Id> = (0..40).map(|r| Id::Valid(r * 17 + 3)).collect();
    let columns: Vec<(Field, ArrayRef)> = vec![(
        Field::new("x", DataType::Int64, false),
        Arc::new(Int64Array::from_iter_values(0..40)),
    )];
    let batch = with_id("personnr", &ids, false, 0, columns);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    let mut writer =
        ArrowWriter::try_new(fs::File::create(&input).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let plan = Plan::new(&input).unwrap().expect("a plausible footer");
    assert!(plan.footer_is_plausible());
    let original = plan.metadata.metadata().as_ref().clone();

    // Rebuilds the footer with column `j` of the only row group changed.
    let altered = |j: usize, change: &dyn Fn(ColumnChunkMetaData) -> ColumnChunkMetaData| {
        let mut builder = original.clone().into_builder();
        let mut groups = builder.take_row_groups();
        let group = groups.remove(0);
        let mut columns = group.columns().to_vec();
        columns[j] = change(columns[j].clone());
        let group = group
            .into_builder()
            .set_column_metadata(columns)
            .build()
            .unwrap();
        let metadata = builder.set_row_groups(vec![group]).build();
        let metadata =
            ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new()).unwrap();
        Plan {
            file: fs::File::open(&input).unwrap(),
            len: fs::metadata(&input).unwrap().len(),
            metadata,
        }
        .footer_is_plausible()
    };
    let id = original.row_group(0).column(0).clone();
    let (id_start, id_len) = id.byte_range();
    // Column x claims to start inside the id column's chunk.
    assert!(!altered(1, &|c| {
        c.into_builder()
            .set_dictionary_page_offset(Some(id_start as i64 + id_len as i64 / 2))
            .build()
            .unwrap()
    }));
    // Column x claims more bytes than the file has.
    assert!(!altered(1, &|c| {
        let size = c.compressed_size() + 1_000_000;
        c.into_builder()
            .set_total_compressed_size(size)
            .build()
            .unwrap()
    }));
    // The id column claims to run into column x.
    assert!(!altered(0, &|c| {
        let size = c.compressed_size() + 8;
        c.into_builder()
            .set_total_compressed_size(size)
            .build()
            .unwrap()
    }));
    // Negative sizes and a chunk with fewer values than the group has rows.
    assert!(!altered(1, &|c| c
        .into_builder()
        .set_total_compressed_size(-1)
        .build()
        .unwrap()));
    assert!(!altered(1, &|c| c
        .into_builder()
        .set_num_values(39)
        .build()
        .unwrap()));
    // Unchanged, it is plausible.
    assert!(altered(1, &|c| c));
}

/// An empty row group (pyarrow writes one for an empty table) is skipped.
#[test]
fn empty_row_groups_are_skipped() {
    let ids: Vec<Id> = (0..10).map(|r| Id::Valid(r * 5 + 1)).collect();
    let batch = with_id("personnr", &ids, false, 0, Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    // ArrowWriter skips empty row groups, so write them column by column.
    let (mut writer, factory) =
        ArrowWriter::try_new(fs::File::create(&input).unwrap(), batch.schema(), None)
            .unwrap()
            .into_serialized_writer()
            .unwrap();
    for (g, part) in [batch.slice(0, 0), batch.clone()].iter().enumerate() {
        let mut group = writer.next_row_group().unwrap();
        for (j, mut column) in factory
            .create_column_writers(g)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            let field = batch.schema().field(j).clone();
            for leaf in
                parquet::arrow::arrow_writer::compute_leaves(&field, part.column(j)).unwrap()
            {
                column.write(&leaf).unwrap();
            }
            column
                .close()
                .unwrap()
                .append_to_row_group(&mut group)
                .unwrap();
        }
        group.close().unwrap();
    }
    writer.close().unwrap();
    let rows: Vec<i64> = metadata(&input)
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(rows, [0, 10], "the input has an empty row group");
    let (fast, general) = run_both(dir.path(), &input, "personnr", false, None);
    assert_equivalent(&fast, &general);
    assert_eq!(fast.report.rows_out, 10);
}
