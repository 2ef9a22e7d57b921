//! The pseudonymise pipeline: raw extract in, pseudonymised Parquet and a
//! reject report out.
//!
//! ```text
//! ExtractReader ──batch──► parse + crosswalk + keyed hash (rayon, per chunk)
//!  (decode thread)
//!                               │ status per row
//!                               ▼
//!                replace id column, add record_key (+ derived), drop rejects
//!                               │
//!                               ▼
//!      ArrowWriter ─► HashingWriter ─► AtomicFile ─► OUT.parquet   (+ OUT.rejects.json)
//!    (encode thread)
//! ```
//!
//! The three stages overlap, joined by bounded channels, so memory is bounded
//! by a few input batches plus one Parquet row group, whatever the size of
//! the extract.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, Int8Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, UInt32Array,
};
use arrow_buffer::Buffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use reglink_extract::{AtomicFile, ExtractReader, HashingWriter};
use reglink_pnr::{Date, Pnr, Sex};

use crate::pseudonym::Keyer;
use crate::report::{PseudonymiseReport, RejectTally};
use crate::{Crosswalk, PSEUDONYM_LEN, PseudoError, RejectReason, StudyKey};

use reglink_extract::pseudonymised;
/// Column names of the output, defined once in [`reglink_extract::pseudonymised`].
pub use reglink_extract::pseudonymised::{
    BIRTH_MONTH as BIRTH_MONTH_COLUMN, BIRTH_YEAR as BIRTH_YEAR_COLUMN,
    PSEUDONYM as PSEUDONYM_COLUMN, RECORD_KEY as RECORD_KEY_COLUMN, SEX as SEX_COLUMN,
};

// The file's pseudonym column holds exactly one pseudonym per row.
const _: () = assert!(PSEUDONYM_LEN == pseudonymised::PSEUDONYM_BYTES);

/// Rows handed to one rayon task: large enough to amortise scheduling,
/// small enough to balance two to many cores.
const CHUNK: usize = 4096;

/// Batches queued between the decode, hash and encode stages.
const IN_FLIGHT: usize = 2;

/// What to pseudonymise and where to put it.
#[derive(Debug, Clone)]
pub struct PseudonymiseOptions {
    /// The raw extract (CSV or Parquet).
    pub input: PathBuf,
    /// The Parquet file to write.
    pub output: PathBuf,
    /// The column holding the personnummer.
    pub id_column: String,
    /// The date the extract was taken: places 10-digit numbers in a century.
    pub reference_date: Date,
    /// Add `birth_year`, `birth_month` and `sex` derived from the number.
    pub derive_columns: bool,
    /// Rows per batch.
    pub batch_size: usize,
    /// Let a Parquet extract with a flat schema keep the encoded pages of its
    /// other columns: only the id column is decoded, and rejected rows are dropped
    /// from the others page by page. The output's content is the same
    /// either way; `false` forces the general path.
    pub passthrough: bool,
}

impl PseudonymiseOptions {
    /// Options with the default batch size and no derived columns.
    pub fn new(
        input: impl Into<PathBuf>,
        output: impl Into<PathBuf>,
        id_column: impl Into<String>,
        reference_date: Date,
    ) -> Self {
        PseudonymiseOptions {
            input: input.into(),
            output: output.into(),
            id_column: id_column.into(),
            reference_date,
            derive_columns: false,
            batch_size: reglink_extract::DEFAULT_BATCH_SIZE,
            passthrough: true,
        }
    }
}

/// Where the reject report for `output` goes: beside it, `NAME.rejects.json`.
pub fn report_path(output: &Path) -> PathBuf {
    output.with_extension("rejects.json")
}

/// Pseudonymises one extract. See the [module docs](self).
///
/// `progress` is called with the number of input rows processed so far.
pub fn pseudonymise(
    opts: &PseudonymiseOptions,
    key: &StudyKey,
    crosswalk: Option<&Crosswalk>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PseudonymiseReport, PseudoError> {
    pseudonymise_with(opts, key, crosswalk, progress)
}

/// [`pseudonymise`] with any [`Keyer`]: the three-party source step uses it.
pub(crate) fn pseudonymise_with(
    opts: &PseudonymiseOptions,
    key: &dyn Keyer,
    crosswalk: Option<&Crosswalk>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PseudonymiseReport, PseudoError> {
    // A number passed as the column name would be written into the output's
    // metadata and the reject report.
    if could_be_a_number(&opts.id_column) {
        return Err(PseudoError::IdColumnLooksLikeNumber {
            path: opts.input.clone(),
        });
    }
    if same_file(&opts.input, &opts.output) {
        return Err(PseudoError::OutputIsInput {
            path: opts.output.clone(),
        });
    }
    let reader = ExtractReader::with_batch_size(&opts.input, opts.batch_size)?;
    let in_schema = reader.schema();
    // Column names are copied into the output. A CSV header is checked as it
    // is read; a Parquet file's names are checked here.
    if let Some(i) = in_schema
        .fields()
        .iter()
        .position(|f| could_be_a_number(f.name()))
    {
        return Err(PseudoError::ColumnNameLooksLikeNumber {
            path: opts.input.clone(),
            column: i + 1,
        });
    }
    let id_index = reader.column_index(&opts.id_column)?;
    check_id_type(&opts.input, &opts.id_column, in_schema.field(id_index))?;
    let out_schema = output_schema(opts, key, &in_schema, id_index)?;

    let out_err_parquet = |source| PseudoError::Parquet {
        path: opts.output.clone(),
        source,
    };
    let file = AtomicFile::create(&opts.output)?;
    if opts.passthrough
        && reader.format() == reglink_extract::Format::Parquet
        && let Some(plan) = passthrough::Plan::new(&opts.input)?
    {
        drop(reader);
        let done = passthrough::run(
            plan,
            opts,
            key,
            crosswalk,
            progress,
            id_index,
            &out_schema,
            HashingWriter::new(file),
        )?;
        return finish(opts, key, crosswalk, done);
    }
    let writer = ArrowWriter::try_new(
        HashingWriter::new(file),
        out_schema.clone(),
        Some(writer_properties()),
    )
    .map_err(out_err_parquet)?;

    // Three stages overlap: one thread decodes input batches, this thread
    // parses and hashes (fanning out to rayon), one thread encodes Parquet.
    // Bounded channels keep at most a few batches in flight, so memory stays
    // bounded by the batch size whatever the input size.
    let mut tally = RejectTally::default();
    let mut rows_out = 0u64;
    let mut remapped = 0u64;
    let writer = std::thread::scope(|scope| -> Result<_, PseudoError> {
        let (batch_tx, batch_rx) = mpsc::sync_channel(IN_FLIGHT);
        let (out_tx, out_rx) = mpsc::sync_channel::<RecordBatch>(IN_FLIGHT);
        scope.spawn(move || {
            for batch in reader {
                let failed = batch.is_err();
                if batch_tx.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        let encoder = scope.spawn(move || {
            let mut writer = writer;
            for out in out_rx {
                writer.write(&out)?;
            }
            Ok::<_, parquet::errors::ParquetError>(writer)
        });
        let processing = (|| {
            for batch in batch_rx {
                let batch = batch?;
                let processed = process_batch(
                    &batch.batch,
                    id_index,
                    opts.reference_date,
                    key,
                    crosswalk,
                    opts.derive_columns,
                );
                remapped += processed.remapped;
                for (offset, status) in processed.status.iter().enumerate() {
                    if *status != OK {
                        tally.add(
                            RejectReason::ALL[(*status - 1) as usize],
                            batch.first_row + offset as u64,
                        );
                    }
                }
                let out = assemble(&opts.output, &out_schema, &batch.batch, id_index, processed)?;
                rows_out += out.num_rows() as u64;
                if out.num_rows() > 0 && out_tx.send(out).is_err() {
                    // The encoder stopped; its error is reported below.
                    break;
                }
                progress(batch.first_row - 1 + batch.batch.num_rows() as u64);
            }
            Ok::<(), PseudoError>(())
        })();
        drop(out_tx);
        let encoded = encoder.join().expect("Parquet encoder thread panicked");
        processing?;
        encoded.map_err(out_err_parquet)
    })?;
    let output = writer.into_inner().map_err(out_err_parquet)?;
    finish(
        opts,
        key,
        crosswalk,
        Done {
            rows_out,
            remapped,
            tally,
            output,
        },
    )
}

/// What either path hands to [`finish`]: the totals for the report and the
/// written (not yet committed) output.
struct Done {
    rows_out: u64,
    remapped: u64,
    tally: RejectTally,
    output: HashingWriter<AtomicFile>,
}

/// Writes the reject report and commits both outputs.
fn finish(
    opts: &PseudonymiseOptions,
    key: &dyn Keyer,
    crosswalk: Option<&Crosswalk>,
    done: Done,
) -> Result<PseudonymiseReport, PseudoError> {
    let Done {
        rows_out,
        remapped,
        tally,
        output,
    } = done;
    let (file, fingerprint, bytes) = output.finish();

    let report = PseudonymiseReport::new(
        opts,
        key,
        crosswalk,
        rows_out,
        remapped,
        tally,
        fingerprint,
        bytes,
    );
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    let report_file = AtomicFile::create(report_path(&opts.output))?;
    // Both files are complete in their temporaries before either is renamed.
    file.commit()?;
    let mut report_file = report_file;
    std::io::Write::write_all(&mut report_file, &json).map_err(|source| {
        reglink_extract::ExtractError::Output {
            path: report_path(&opts.output),
            source,
        }
    })?;
    report_file.commit()?;
    Ok(report)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether `name` holds something that could be a personnummer.
fn could_be_a_number(name: &str) -> bool {
    reglink_pnr::withhold_numbers(name) != name
}

fn check_id_type(path: &Path, column: &str, field: &Field) -> Result<(), PseudoError> {
    match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Int64 => Ok(()),
        other => Err(PseudoError::IdColumnType {
            path: path.to_path_buf(),
            column: column.to_string(),
            found: other.to_string(),
        }),
    }
}

fn output_schema(
    opts: &PseudonymiseOptions,
    key: &dyn Keyer,
    input: &Schema,
    id_index: usize,
) -> Result<SchemaRef, PseudoError> {
    let mut added = vec![PSEUDONYM_COLUMN, RECORD_KEY_COLUMN];
    if opts.derive_columns {
        added.extend([BIRTH_YEAR_COLUMN, BIRTH_MONTH_COLUMN, SEX_COLUMN]);
    }
    for (i, field) in input.fields().iter().enumerate() {
        if i != id_index && added.contains(&field.name().as_str()) {
            return Err(PseudoError::ReservedColumn {
                path: opts.input.clone(),
                column: field.name().clone(),
            });
        }
    }
    let mut fields: Vec<Field> = Vec::with_capacity(input.fields().len() + 4);
    for (i, field) in input.fields().iter().enumerate() {
        if i == id_index {
            fields.push(Field::new(
                PSEUDONYM_COLUMN,
                pseudonymised::PSEUDONYM_TYPE,
                false,
            ));
        } else {
            fields.push(field.as_ref().clone());
        }
    }
    fields.push(Field::new(
        RECORD_KEY_COLUMN,
        pseudonymised::RECORD_KEY_TYPE,
        false,
    ));
    if opts.derive_columns {
        fields.push(Field::new(
            BIRTH_YEAR_COLUMN,
            pseudonymised::BIRTH_YEAR_TYPE,
            false,
        ));
        fields.push(Field::new(
            BIRTH_MONTH_COLUMN,
            pseudonymised::BIRTH_MONTH_TYPE,
            false,
        ));
        fields.push(Field::new(SEX_COLUMN, pseudonymised::SEX_TYPE, false));
    }
    let metadata: std::collections::HashMap<String, String> = [
        (pseudonymised::PSEUDONYM_SCHEME_KEY, key.scheme()),
        (pseudonymised::KEY_ID_KEY, &key.key_id()),
        (pseudonymised::STUDY_KEY, key.study()),
        (pseudonymised::SOURCE_ID_COLUMN_KEY, opts.id_column.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

pub(crate) fn writer_properties() -> WriterProperties {
    // Pseudonyms and record keys are uniformly random: dictionaries, compression
    // and min/max statistics cost time and buy nothing for them.
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        // Column-chunk min/max is enough for readers to prune row groups;
        // per-page statistics cost encode time on every column.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("reglink {}", env!("CARGO_PKG_VERSION")));
    for name in [PSEUDONYM_COLUMN, RECORD_KEY_COLUMN] {
        let path = ColumnPath::from(name);
        builder = builder
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
            .set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    builder.build()
}

const OK: u8 = 0;

/// Legal sex as SCB codes it: 1 man, 2 woman.
fn sex_code(sex: Sex) -> i8 {
    match sex {
        Sex::Male => 1,
        Sex::Female => 2,
    }
}

/// Per-row results of one batch.
struct Processed {
    pseudonyms: Vec<u8>,
    record_keys: Vec<u32>,
    /// `OK`, or 1 + index of the reject reason in `RejectReason::ALL`.
    status: Vec<u8>,
    birth_year: Vec<i32>,
    birth_month: Vec<i8>,
    sex: Vec<i8>,
    remapped: u64,
}

/// Read access to an identifier column of any supported type.
enum Ids<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    View(&'a StringViewArray),
    Int64(&'a Int64Array),
}

impl Ids<'_> {
    fn new(array: &ArrayRef) -> Ids<'_> {
        let any = array.as_any();
        if let Some(a) = any.downcast_ref::<StringArray>() {
            Ids::Utf8(a)
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            Ids::LargeUtf8(a)
        } else if let Some(a) = any.downcast_ref::<StringViewArray>() {
            Ids::View(a)
        } else {
            Ids::Int64(
                any.downcast_ref::<Int64Array>()
                    .expect("identifier column type checked when the extract was opened"),
            )
        }
    }

    /// Parses row `i`.
    #[inline]
    fn parse(&self, i: usize, reference: Date) -> Result<Pnr, RejectReason> {
        let bytes: &[u8] = match self {
            Ids::Utf8(a) if a.is_valid(i) => a.value(i).as_bytes(),
            Ids::LargeUtf8(a) if a.is_valid(i) => a.value(i).as_bytes(),
            Ids::View(a) if a.is_valid(i) => a.value(i).as_bytes(),
            Ids::Int64(a) if a.is_valid(i) => {
                let text = a.value(i).to_string();
                return Pnr::parse(&text, reference).map_err(|e| RejectReason::from_error(&e));
            }
            _ => return Err(RejectReason::Missing),
        };
        Pnr::parse_bytes(bytes, reference).map_err(|e| RejectReason::from_error(&e))
    }
}

fn process_batch(
    batch: &RecordBatch,
    id_index: usize,
    reference: Date,
    key: &dyn Keyer,
    crosswalk: Option<&Crosswalk>,
    derive: bool,
) -> Processed {
    let parsed = parse_ids(batch.column(id_index), reference, crosswalk);
    hash_parsed(&parsed, key, derive)
}

/// Every row's number, crosswalk applied, or why it was rejected.
struct Parsed {
    rows: Vec<Result<Pnr, RejectReason>>,
    remapped: u64,
}

impl Parsed {
    /// Whether each row is kept.
    fn keep(&self) -> Vec<bool> {
        self.rows.iter().map(Result::is_ok).collect()
    }
}

fn parse_ids(ids: &ArrayRef, reference: Date, crosswalk: Option<&Crosswalk>) -> Parsed {
    let n = ids.len();
    let ids = Ids::new(ids);
    let chunks: Vec<(Vec<Result<Pnr, RejectReason>>, u64)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut remapped = 0;
            let rows = (c * CHUNK..n.min((c + 1) * CHUNK))
                .map(|i| {
                    let pnr = ids.parse(i, reference)?;
                    Ok(match crosswalk.and_then(|cw| cw.lookup(&pnr)) {
                        Some(newer) => {
                            remapped += 1;
                            newer
                        }
                        None => pnr,
                    })
                })
                .collect();
            (rows, remapped)
        })
        .collect();
    let mut parsed = Parsed {
        rows: Vec::with_capacity(n),
        remapped: 0,
    };
    for (rows, remapped) in chunks {
        parsed.rows.extend(rows);
        parsed.remapped += remapped;
    }
    parsed
}

fn hash_parsed(parsed: &Parsed, key: &dyn Keyer, derive: bool) -> Processed {
    let n = parsed.rows.len();
    let chunks: Vec<Processed> = parsed
        .rows
        .par_chunks(CHUNK)
        .map(|rows| {
            let mut out = Processed::with_capacity(rows.len(), derive);
            for row in rows {
                match row {
                    Ok(pnr) => out.push(pnr, key, derive),
                    Err(reason) => out.push_rejected(*reason, derive),
                }
            }
            out
        })
        .collect();
    let mut all = Processed::with_capacity(n, derive);
    for chunk in chunks {
        all.append(chunk);
    }
    all.remapped = parsed.remapped;
    all
}

impl Processed {
    fn with_capacity(n: usize, derive: bool) -> Processed {
        let derived = if derive { n } else { 0 };
        Processed {
            pseudonyms: Vec::with_capacity(n * PSEUDONYM_LEN),
            record_keys: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            birth_year: Vec::with_capacity(derived),
            birth_month: Vec::with_capacity(derived),
            sex: Vec::with_capacity(derived),
            remapped: 0,
        }
    }

    #[inline]
    fn push(&mut self, pnr: &Pnr, key: &dyn Keyer, derive: bool) {
        let keyed = key.keyed(pnr);
        self.pseudonyms
            .extend_from_slice(&keyed.pseudonym.to_bytes());
        self.record_keys.push(keyed.record_key);
        self.status.push(OK);
        if derive {
            let birth = pnr.birth_date();
            self.birth_year.push(birth.year());
            self.birth_month.push(birth.month() as i8);
            self.sex.push(sex_code(pnr.sex()));
        }
    }

    /// A placeholder row, dropped by the filter in [`assemble`].
    fn push_rejected(&mut self, reason: RejectReason, derive: bool) {
        self.pseudonyms.extend_from_slice(&[0; PSEUDONYM_LEN]);
        self.record_keys.push(0);
        self.status.push(1 + reason.index() as u8);
        if derive {
            self.birth_year.push(0);
            self.birth_month.push(0);
            self.sex.push(0);
        }
    }

    fn append(&mut self, mut other: Processed) {
        self.pseudonyms.append(&mut other.pseudonyms);
        self.record_keys.append(&mut other.record_keys);
        self.status.append(&mut other.status);
        self.birth_year.append(&mut other.birth_year);
        self.birth_month.append(&mut other.birth_month);
        self.sex.append(&mut other.sex);
        self.remapped += other.remapped;
    }
}

/// Builds the output batch: the id column replaced by the pseudonym, added
/// columns appended, rejected rows dropped.
fn assemble(
    output: &Path,
    schema: &SchemaRef,
    input: &RecordBatch,
    id_index: usize,
    processed: Processed,
) -> Result<RecordBatch, PseudoError> {
    let arrow_err = |source| PseudoError::Arrow {
        path: output.to_path_buf(),
        source,
    };
    let rejected = processed.status.iter().filter(|s| **s != OK).count();
    let pseudonyms = FixedSizeBinaryArray::try_new(
        PSEUDONYM_LEN as i32,
        Buffer::from_vec(processed.pseudonyms),
        None,
    )
    .map_err(arrow_err)?;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, column) in input.columns().iter().enumerate() {
        if i == id_index {
            columns.push(Arc::new(pseudonyms.clone()));
        } else {
            columns.push(column.clone());
        }
    }
    columns.push(Arc::new(UInt32Array::from(processed.record_keys)));
    if schema.fields().len() > columns.len() {
        columns.push(Arc::new(Int32Array::from(processed.birth_year)));
        columns.push(Arc::new(Int8Array::from(processed.birth_month)));
        columns.push(Arc::new(Int8Array::from(processed.sex)));
    }
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(arrow_err)?;
    if rejected == 0 {
        return Ok(batch);
    }
    let keep = BooleanArray::from_iter(processed.status.iter().map(|s| Some(*s == OK)));
    arrow_select::filter::filter_record_batch(&batch, &keep).map_err(arrow_err)
}

mod pages;
mod passthrough;
mod rle;
#[cfg(test)]
mod tests;
