//! The pseudonymised Parquet file: its schema, defined once.
//!
//! `reglink pseudonymise` writes it and `reglink link` and `reglink inspect`
//! read it. The extract's identifier column is replaced by [`PSEUDONYM`]
//! (128 bits of keyed BLAKE3, [`PSEUDONYM_TYPE`]), a [`RECORD_KEY`] is added
//! (the next 32 bits, for the cell key method) and, with `--derive`, the
//! columns [`BIRTH_YEAR`], [`BIRTH_MONTH`] and [`SEX`]. Every other column is
//! the extract's own. The schema's metadata says under which key
//! ([`KEY_ID_KEY`]) and for which study ([`STUDY_KEY`]) the pseudonyms were
//! made: pseudonyms of two files match only if both agree.
//!
//! [`check`] validates a schema and says where the columns are; [`describe`]
//! and [`pseudonym_set`] read a file for `reglink inspect`, never showing a
//! row.
//!
//! ```
//! use arrow_schema::{Field, Schema};
//! use reglink_extract::pseudonymised::{self, PSEUDONYM, RECORD_KEY};
//!
//! let fields = vec![
//!     Field::new("kommun", arrow_schema::DataType::Utf8, true),
//!     Field::new(PSEUDONYM, pseudonymised::PSEUDONYM_TYPE, false),
//!     Field::new(RECORD_KEY, pseudonymised::RECORD_KEY_TYPE, false),
//! ];
//! let metadata = std::collections::HashMap::from([(
//!     pseudonymised::KEY_ID_KEY.to_string(),
//!     "k1".to_string(),
//! )]);
//! let schema = Schema::new_with_metadata(fields, metadata);
//! let layout = pseudonymised::check("eb.parquet".as_ref(), &schema).unwrap();
//! assert_eq!((layout.pseudonym, layout.record_key, layout.birth_year), (1, 2, None));
//! assert_eq!((layout.key_id.as_str(), layout.study.as_str()), ("k1", ""));
//! ```

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::{DataType, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::ExtractError;

/// Name of the pseudonym column.
pub const PSEUDONYM: &str = "pseudonym";
/// Name of the record-key column (the cell key method's per-person key).
pub const RECORD_KEY: &str = "record_key";
/// Name of the derived birth-year column (`--derive`).
pub const BIRTH_YEAR: &str = "birth_year";
/// Name of the derived birth-month column (`--derive`).
pub const BIRTH_MONTH: &str = "birth_month";
/// Name of the derived legal-sex column (`--derive`), coded as SCB does (1 man, 2 woman).
pub const SEX: &str = "sex";

/// Bytes in a pseudonym.
pub const PSEUDONYM_BYTES: usize = 16;
/// Arrow type of [`PSEUDONYM`].
pub const PSEUDONYM_TYPE: DataType = DataType::FixedSizeBinary(PSEUDONYM_BYTES as i32);
/// Arrow type of [`RECORD_KEY`].
pub const RECORD_KEY_TYPE: DataType = DataType::UInt32;
/// Arrow type of [`BIRTH_YEAR`] as `pseudonymise` writes it.
pub const BIRTH_YEAR_TYPE: DataType = DataType::Int32;
/// Arrow type of [`BIRTH_MONTH`] as `pseudonymise` writes it.
pub const BIRTH_MONTH_TYPE: DataType = DataType::Int8;
/// Arrow type of [`SEX`] as `pseudonymise` writes it.
pub const SEX_TYPE: DataType = DataType::Int8;

/// Metadata key: how the pseudonyms were made (value [`PSEUDONYM_SCHEME`]).
pub const PSEUDONYM_SCHEME_KEY: &str = "reglink.pseudonym";
/// The value of [`PSEUDONYM_SCHEME_KEY`].
pub const PSEUDONYM_SCHEME: &str = "keyed-blake3-128";
/// The value of [`PSEUDONYM_SCHEME_KEY`] in a source's rows file of the
/// three-party flow: its pseudonym column holds throw-away tokens that only
/// the linker's step turns into pseudonyms. Such a file cannot be linked.
pub const SOURCE_ROWS_SCHEME: &str = "three-party-source-tokens";
/// A source's rows file's [`KEY_ID_KEY`]: this prefix and its batch id.
pub const SOURCE_BATCH_PREFIX: &str = "batch-";
/// The value of [`PSEUDONYM_SCHEME_KEY`] in a file the three-party linker
/// wrote: pseudonyms hashed from ristretto255 points.
pub const THREE_PARTY_SCHEME: &str = "three-party-ristretto255-blake3-128";
/// Metadata key: the id of the master key the pseudonyms were made under.
pub const KEY_ID_KEY: &str = "reglink.key_id";
/// Metadata key: the study name the study key was derived for.
pub const STUDY_KEY: &str = "reglink.study";
/// Metadata key: the extract's own name of the identifier column.
pub const SOURCE_ID_COLUMN_KEY: &str = "reglink.source_id_column";

/// Where the columns of a pseudonymised file are, and whose pseudonyms it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Index of [`PSEUDONYM`] in the schema.
    pub pseudonym: usize,
    /// Index of [`RECORD_KEY`].
    pub record_key: usize,
    /// Index of [`BIRTH_YEAR`], if the file has one.
    pub birth_year: Option<usize>,
    /// Index of [`BIRTH_MONTH`], if the file has one.
    pub birth_month: Option<usize>,
    /// Index of [`SEX`], if the file has one.
    pub sex: Option<usize>,
    /// The key id from the metadata.
    pub key_id: String,
    /// The study from the metadata (empty if the file does not say).
    pub study: String,
}

/// What makes a schema not that of a pseudonymised file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaProblem {
    /// A required column is missing.
    MissingColumn {
        /// [`PSEUDONYM`] or [`RECORD_KEY`].
        column: &'static str,
    },
    /// A required column has another type.
    ColumnType {
        /// [`PSEUDONYM`] or [`RECORD_KEY`].
        column: &'static str,
        /// The type it must have.
        expected: DataType,
        /// The type it has.
        found: DataType,
    },
    /// A required metadata key is missing.
    MissingMetadata {
        /// [`KEY_ID_KEY`].
        key: &'static str,
    },
    /// A source's rows file of the three-party flow, not yet opened by the linker.
    SourceRows,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaProblem::MissingColumn { column } => write!(f, "no `{column}` column"),
            SchemaProblem::ColumnType {
                column,
                expected,
                found,
            } => write!(f, "column `{column}` has type {found}, expected {expected}"),
            SchemaProblem::MissingMetadata { key } => write!(f, "no `{key}` in its metadata"),
            SchemaProblem::SourceRows => f.write_str(
                "it is a source's rows file of the three-party flow; its tokens become pseudonyms only through `reglink linker open`",
            ),
        }
    }
}

/// Checks that `schema` (of the file at `path`) is a pseudonymised file's and
/// says where its columns are.
///
/// [`PSEUDONYM`] and [`RECORD_KEY`] must be there with their types and the
/// metadata must name the key id; the study may be absent (then it is empty).
/// The derived columns are reported where present, whatever their type: a
/// file pseudonymised without `--derive` may carry the extract's own column
/// of that name.
pub fn check(path: &Path, schema: &Schema) -> Result<Layout, ExtractError> {
    let problem = |problem| ExtractError::NotPseudonymised {
        path: path.to_path_buf(),
        problem,
    };
    let index = |name: &str| schema.fields().iter().position(|f| f.name() == name);
    let required = |column: &'static str, expected: DataType| {
        let i = index(column).ok_or_else(|| problem(SchemaProblem::MissingColumn { column }))?;
        let found = schema.field(i).data_type();
        if *found != expected {
            return Err(problem(SchemaProblem::ColumnType {
                column,
                expected,
                found: found.clone(),
            }));
        }
        Ok(i)
    };
    let pseudonym = required(PSEUDONYM, PSEUDONYM_TYPE)?;
    if schema
        .metadata()
        .get(PSEUDONYM_SCHEME_KEY)
        .map(String::as_str)
        == Some(SOURCE_ROWS_SCHEME)
    {
        return Err(problem(SchemaProblem::SourceRows));
    }
    let record_key = required(RECORD_KEY, RECORD_KEY_TYPE)?;
    let key_id = schema
        .metadata()
        .get(KEY_ID_KEY)
        .cloned()
        .ok_or_else(|| problem(SchemaProblem::MissingMetadata { key: KEY_ID_KEY }))?;
    Ok(Layout {
        pseudonym,
        record_key,
        birth_year: index(BIRTH_YEAR),
        birth_month: index(BIRTH_MONTH),
        sex: index(SEX),
        key_id,
        study: schema
            .metadata()
            .get(STUDY_KEY)
            .cloned()
            .unwrap_or_default(),
    })
}

/// What a pseudonymised file holds, without any row: see [`describe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Rows in the file (from its footer).
    pub rows: u64,
    /// Distinct values of [`PSEUDONYM`], or `None` if the file has no such column.
    pub distinct_pseudonyms: Option<u64>,
    /// [`KEY_ID_KEY`] from the metadata.
    pub key_id: Option<String>,
    /// [`STUDY_KEY`] from the metadata.
    pub study: Option<String>,
    /// Every column: its name and its Arrow type as text.
    pub columns: Vec<(String, String)>,
}

/// Describes a Parquet file: rows, distinct pseudonyms, key id, study and
/// columns. A file without a [`PSEUDONYM`] column is described too (with
/// `distinct_pseudonyms: None`); one whose pseudonym column has another type
/// is an error.
pub fn describe(path: &Path) -> Result<Description, ExtractError> {
    let builder = open(path)?;
    let schema = builder.schema().clone();
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    drop(builder);
    let distinct_pseudonyms = match schema.index_of(PSEUDONYM) {
        Ok(_) => Some(pseudonym_set(path)?.len() as u64),
        Err(_) => None,
    };
    let meta = |key: &str| schema.metadata().get(key).cloned();
    Ok(Description {
        rows,
        distinct_pseudonyms,
        key_id: meta(KEY_ID_KEY),
        study: meta(STUDY_KEY),
        columns: schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect(),
    })
}

/// The distinct pseudonyms of a file (read as big-endian `u128`, as `link`
/// does), reading only that column.
pub fn pseudonym_set(path: &Path) -> Result<HashSet<u128>, ExtractError> {
    let builder = open(path)?;
    let schema = builder.schema().clone();
    let not_pseudonymised = |problem| ExtractError::NotPseudonymised {
        path: path.to_path_buf(),
        problem,
    };
    let index = schema
        .index_of(PSEUDONYM)
        .map_err(|_| not_pseudonymised(SchemaProblem::MissingColumn { column: PSEUDONYM }))?;
    let found = schema.field(index).data_type();
    if *found != PSEUDONYM_TYPE {
        return Err(not_pseudonymised(SchemaProblem::ColumnType {
            column: PSEUDONYM,
            expected: PSEUDONYM_TYPE,
            found: found.clone(),
        }));
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|source| parquet_error(path, source))?;
    let mut seen = HashSet::new();
    for batch in reader {
        let batch = batch.map_err(|source| ExtractError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        let column = batch.column(0).as_fixed_size_binary();
        for i in 0..column.len() {
            if column.is_valid(i) {
                seen.insert(pseudonym_value(column.value(i)));
            }
        }
    }
    Ok(seen)
}

/// A pseudonym's 16 bytes as the `u128` every reader uses (big-endian).
///
/// # Panics
///
/// If `bytes` is not [`PSEUDONYM_BYTES`] long: callers pass values of a
/// column whose type [`check`] or [`pseudonym_set`] has verified.
pub fn pseudonym_value(bytes: &[u8]) -> u128 {
    let bytes: [u8; PSEUDONYM_BYTES] = bytes
        .try_into()
        .unwrap_or_else(|_| unreachable!("a pseudonym is {PSEUDONYM_BYTES} bytes"));
    u128::from_be_bytes(bytes)
}

/// Opens a Parquet file for reading, naming it in every error.
fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, ExtractError> {
    let file = crate::atomic::open(path)?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| parquet_error(path, source))
}

/// [`ExtractError::Parquet`] for `path`.
fn parquet_error(path: &Path, source: parquet::errors::ParquetError) -> ExtractError {
    ExtractError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
