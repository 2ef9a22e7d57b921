//! Reading register extracts and writing output files safely.
//!
//! - Reading: [`ExtractReader`] (below).
//! - Writing: [`AtomicFile`] (one file, whole or not at all; [`commit_all`] for
//!   several), [`StagedDir`] (one folder, checked before any work and swapped in
//!   whole; an existing folder is replaced only if its manifest proves it an
//!   unchanged output of the same command), and [`cleanup`], which removes
//!   every temporary on a signal.
//! - The pseudonymised file: [`pseudonymised`] defines its schema once, checks
//!   it and describes a file without showing a row.
//! - Hints: every crate's error offers its hint to the user as a [`Hint`]
//!   through the [`Hinted`] trait.
//!
//! An *extract* is one file a data holder exported from a register: CSV (any
//! of `,` `;` tab `|` as delimiter, detected from the header) or Parquet.
//! [`ExtractReader`] streams it as Arrow [`RecordBatch`]es of bounded size, each
//! tagged with the 1-based number of its first data row, so that every later
//! stage can say *which row* of *which file* a problem is in without ever
//! quoting the value:
//!
//! ```text
//!  extract.csv ──► ExtractReader ──► Batch { batch, first_row } ──► … ──► AtomicFile ──► out.parquet
//!  extract.parquet ─┘                (bounded memory)                     (temp + rename)
//! ```
//!
//! CSV columns are read as UTF-8 text (typing happens downstream, where the
//! study file says what a column means); Parquet columns keep their types.
//! Errors ([`ExtractError`]) name the file, row and column, never a value.
//!
//! ```
//! use reglink_extract::ExtractReader;
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("eb.csv");
//! std::fs::write(&path, "kommun;belopp\n0180;5000\n1480;7200\n").unwrap();
//! let mut reader = ExtractReader::open(&path).unwrap();
//! assert_eq!(reader.schema().field(1).name(), "belopp");
//! let batch = reader.next().unwrap().unwrap();
//! assert_eq!((batch.first_row, batch.batch.num_rows()), (1, 2));
//! assert!(reader.next().is_none());
//! ```
#![deny(missing_docs)]

mod atomic;
pub mod cleanup;
mod csv_source;
mod error;
mod fingerprint;
mod output;
mod parquet_source;
pub mod pseudonymised;
mod scratch;

use std::path::{Path, PathBuf};

pub use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

pub use atomic::{AtomicFile, commit_all, exclusive_lock, write_atomic};
pub use error::{ExtractError, Hint, Hinted};
pub use fingerprint::{Fingerprint, HashingWriter, fingerprint_bytes, fingerprint_file};
pub use output::{
    OutputError, OutputKind, SIGNATURE_TAG, SetAside, StagedDir, check_holds_no_input,
    check_new_file, check_replaceable, file_entries, prove_ours, resolved, signature_name,
    write_manifest,
};
pub use scratch::ScratchDir;

/// Rows per batch unless the caller says otherwise: large enough to amortise
/// per-batch work and feed the thread pool, small enough to keep memory flat.
pub const DEFAULT_BATCH_SIZE: usize = 64 * 1024;

/// File format of an extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// Detects the format from the extension, falling back to the Parquet magic bytes.
    pub fn detect(path: &Path) -> Result<Format, ExtractError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv" | "tsv" | "txt") => return Ok(Format::Csv),
            Some("parquet" | "pq") => return Ok(Format::Parquet),
            _ => {}
        }
        let mut magic = [0u8; 4];
        let mut f = atomic::open(path)?;
        if std::io::Read::read_exact(&mut f, &mut magic).is_ok() && &magic == b"PAR1" {
            return Ok(Format::Parquet);
        }
        Err(ExtractError::UnknownFormat {
            path: path.to_path_buf(),
        })
    }
}

/// A batch of rows from an extract.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The rows.
    pub batch: RecordBatch,
    /// 1-based data-row number of the batch's first row (the header is not counted).
    pub first_row: u64,
}

enum Inner {
    Csv(csv_source::CsvSource),
    Parquet(parquet_source::ParquetSource),
}

/// Streams an extract as record batches; see the [crate docs](crate).
pub struct ExtractReader {
    path: PathBuf,
    format: Format,
    inner: Inner,
}

impl std::fmt::Debug for ExtractReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl ExtractReader {
    /// Opens an extract with [`DEFAULT_BATCH_SIZE`].
    pub fn open(path: impl AsRef<Path>) -> Result<ExtractReader, ExtractError> {
        Self::with_batch_size(path, DEFAULT_BATCH_SIZE)
    }

    /// Opens an extract, yielding batches of at most `batch_size` rows.
    pub fn with_batch_size(
        path: impl AsRef<Path>,
        batch_size: usize,
    ) -> Result<ExtractReader, ExtractError> {
        let path = path.as_ref();
        let format = Format::detect(path)?;
        let batch_size = batch_size.max(1);
        let inner = match format {
            Format::Csv => Inner::Csv(csv_source::CsvSource::open(path, batch_size)?),
            Format::Parquet => {
                Inner::Parquet(parquet_source::ParquetSource::open(path, batch_size)?)
            }
        };
        Ok(ExtractReader {
            path: path.to_path_buf(),
            format,
            inner,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The Arrow schema of every batch (all `Utf8` for CSV).
    pub fn schema(&self) -> SchemaRef {
        match &self.inner {
            Inner::Csv(s) => s.schema(),
            Inner::Parquet(s) => s.schema(),
        }
    }

    /// Index of the column called `name`, or [`ExtractError::MissingColumn`].
    pub fn column_index(&self, name: &str) -> Result<usize, ExtractError> {
        let schema = self.schema();
        schema
            .index_of(name)
            .map_err(|_| ExtractError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })
    }
}

impl Iterator for ExtractReader {
    type Item = Result<Batch, ExtractError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Csv(s) => s.next_batch(),
            Inner::Parquet(s) => s.next_batch(),
        }
    }
}

#[cfg(test)]
mod tests;
