//! The crate's error type.

use std::io;
use std::path::PathBuf;

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;
use thiserror::Error;

/// Why generation failed. Nothing is left half-written: every file goes to a
/// temporary file in the output directory first and is renamed into place
/// only when all files are complete.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SynthError {
    /// Creating, writing or renaming a file or directory failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Creating, writing or renaming an output file failed (the error names
    /// the file).
    #[error(transparent)]
    Output(#[from] reglink_extract::ExtractError),

    /// The output folder is refused (it holds something that is not an
    /// unchanged earlier `reglink synth` output) or cannot be swapped in.
    #[error(transparent)]
    Folder(#[from] reglink_extract::OutputError),

    /// The Parquet encoder failed.
    #[error("cannot write Parquet file {}: {source}", path.display())]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },

    /// Building an Arrow record batch failed (a bug: the columns are built to
    /// match their schema).
    #[error("cannot build the {table} record batch: {source}")]
    Arrow {
        /// The table: `eb`, `af` or `lisa`.
        table: &'static str,
        /// The underlying error.
        #[source]
        source: ArrowError,
    },

    /// Encoding rows as CSV failed (a bug: the text is written to memory).
    #[error("cannot encode the {table} rows as CSV: {source}")]
    Csv {
        /// The table: `eb`, `af` or `lisa`, or `header`.
        table: &'static str,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },

    /// Serialising the report failed.
    #[error("cannot serialise the generation report: {0}")]
    Json(#[from] serde_json::Error),

    /// A preset name that is not one of the three.
    #[error("unknown preset {0:?}; hint: use tiny, municipality or national")]
    UnknownPreset(String),

    /// A format name that is not csv or parquet.
    #[error("unknown format {0:?}; hint: use csv or parquet")]
    UnknownFormat(String),

    /// A generator thread panicked.
    #[error("a generator thread panicked while writing {table}")]
    Panicked {
        /// The table the thread was writing.
        table: &'static str,
    },
}

impl reglink_extract::Hinted for SynthError {
    /// The hint of the output error underneath, if any: a transparent
    /// variant hides that error from the cause chain, so it is passed on.
    fn hint(&self) -> Option<reglink_extract::Hint> {
        match self {
            SynthError::Output(e) => reglink_extract::Hinted::hint(e),
            SynthError::Folder(e) => reglink_extract::Hinted::hint(e),
            _ => None,
        }
    }
}

impl SynthError {
    /// An [`SynthError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> SynthError {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }
}
