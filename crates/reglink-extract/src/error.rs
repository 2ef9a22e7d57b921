use std::path::PathBuf;

use reglink_pnr::withhold_numbers as withheld;

/// Everything that can go wrong while reading an extract or writing an output file.
///
/// Every variant names the file, and where the problem is in a row, the 1-based
/// data row (the header is not counted) and the column *name*. No variant ever
/// carries a field's value: extracts hold personnummer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is empty (no header, no rows).
    #[error("{path}: the file is empty (expected a header row)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Neither the extension nor the content says CSV or Parquet.
    #[error("{path}: unknown extract format (expected .csv, .tsv, .txt or .parquet)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A CSV row has a different number of fields than the header.
    #[error(
        "{path}: row {row} (line {line}): expected {expected} fields as in the header, found {found}"
    )]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// 1-based line in the file where the row starts.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// The CSV could not be parsed at this row (for example an unterminated quote).
    #[error("{path}: row {row} (line {line}): malformed CSV: {}", withheld(reason))]
    CsvSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// 1-based line in the file.
        line: u64,
        /// What the CSV parser reported (never a field value).
        reason: String,
    },
    /// A field is not valid UTF-8.
    #[error(
        "{path}: row {row}, column `{}`: the value is not valid UTF-8 (re-export the extract as UTF-8)",
        withheld(column)
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based data row, or 0 for the header.
        row: u64,
        /// Column name (or its 1-based position when the header itself is broken).
        column: String,
    },
    /// A CSV field is longer than reglink reads (see the README's input section).
    #[error(
        "{path}: row {row}, column `{}`: the field is longer than {} MiB, the most a CSV field may hold",
        withheld(column),
        limit >> 20
    )]
    FieldTooLarge {
        /// The file.
        path: PathBuf,
        /// 1-based data row, or 0 for the header.
        row: u64,
        /// Column name (or its 1-based position in the header).
        column: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Two columns in the header have the same name.
    #[error(
        "{path}: column `{}` appears more than once in the header",
        withheld(column)
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A column the caller asked for is not in the file.
    #[error(
        "{path}: no column `{}`; {}",
        withheld(column),
        the_file_has(available)
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The requested column.
        column: String,
        /// The columns that are there.
        available: Vec<String>,
    },
    /// A column has a type the caller cannot use.
    #[error(
        "{path}: column `{}` has type {found}, expected {expected}",
        withheld(column)
    )]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// The Parquet file could not be decoded.
    #[error("{path}: invalid Parquet: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow batch could not be assembled (a bug or an inconsistent file).
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// A Parquet file is not one `reglink pseudonymise` wrote.
    #[error("{path}: not a pseudonymised file: {problem}")]
    NotPseudonymised {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        problem: crate::pseudonymised::SchemaProblem,
    },
    /// An output file could not be created, written or moved into place.
    #[error("{path}: cannot write: {source}")]
    Output {
        /// The file that was being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A name in a CSV header could be a personnummer: the file most likely has
    /// no header row, so its first row was read as one. The name is never shown.
    #[error(
        "{path}: the name of column {column} in the header looks like a personal identity number"
    )]
    HeaderLooksLikeData {
        /// The file.
        path: PathBuf,
        /// 1-based position of the column in the header.
        column: usize,
    },
}

/// The columns a file has, for [`ExtractError::MissingColumn`].
fn the_file_has(available: &[String]) -> String {
    if available.is_empty() {
        "the file has no columns".to_string()
    } else {
        format!("the file has: {}", withheld(&available.join(", ")))
    }
}

/// A one-line hint for the user, printed as `hint: ...` under an error
/// where one helps. It is the one type every error of reglink offers its
/// hint as (through [`Hinted`]); like the error itself, it never quotes a
/// value of the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint(std::borrow::Cow<'static, str>);

impl Hint {
    /// A hint that is always the same text.
    pub const fn fixed(text: &'static str) -> Hint {
        Hint(std::borrow::Cow::Borrowed(text))
    }

    /// A hint made for one error (naming its file, say).
    pub fn new(text: String) -> Hint {
        Hint(std::borrow::Cow::Owned(text))
    }

    /// The hint's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Hint {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An error that may say what to do about it. Every error enum of reglink
/// with hints implements it, so that the binary can ask each error of a
/// chain the same way; an error that wraps another passes the inner
/// error's hint on.
pub trait Hinted: std::error::Error {
    /// A one-line hint for the user, where one helps.
    fn hint(&self) -> Option<Hint>;
}

impl Hinted for ExtractError {
    /// A one-line hint for the user, where one helps.
    fn hint(&self) -> Option<Hint> {
        let text = match self {
            ExtractError::NotUtf8 { .. } => {
                "extracts must be UTF-8; convert a Latin-1 export with `iconv -f latin1 -t utf-8`"
            }
            ExtractError::FieldCount { .. } => {
                "a field containing the delimiter must be quoted; check the export settings"
            }
            ExtractError::MissingColumn { .. } => {
                "column names are case-sensitive; pass the extract's own column name"
            }
            ExtractError::Empty { .. } => "the export may have failed; re-run it",
            ExtractError::FieldTooLarge { .. } => {
                "a quote opened and never closed makes the rest of the file one field; check the export"
            }
            ExtractError::HeaderLooksLikeData { .. } => {
                "the file seems to have no header row; add a first line naming the columns"
            }
            _ => return None,
        };
        Some(Hint::fixed(text))
    }
}

impl Hinted for crate::OutputError {
    fn hint(&self) -> Option<Hint> {
        crate::OutputError::hint(self).map(Hint::fixed)
    }
}
