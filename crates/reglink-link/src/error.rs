use std::path::PathBuf;

use reglink_extract::{Hint, Hinted};

/// Errors of study files, code lists and linking.
///
/// Study-file errors name the line; source errors name the source, the file
/// and the column. None carries a personnummer, a pseudonym or a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The study file could not be read.
    #[error("{path}: cannot read the study file: {source}")]
    StudyIo {
        /// The study file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The study file is not valid TOML or has a key of the wrong type or an unknown key.
    #[error("{path}: {message}")]
    StudySyntax {
        /// The study file.
        path: PathBuf,
        /// The parser's message, which names the line and column.
        message: String,
    },
    /// The study file parses but says something impossible.
    #[error("{path}:{line}: {message}")]
    Study {
        /// The study file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A code list could not be read.
    #[error("{path}: cannot read the code list: {source}")]
    CodeListIo {
        /// The code list.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A code list is malformed.
    #[error("{path}{}: {message}", row.map(|r| format!(": row {r}")).unwrap_or_default())]
    CodeListFormat {
        /// The code list.
        path: PathBuf,
        /// 1-based data row, if the fault is in one.
        row: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A code list lacks a column the study file names.
    #[error("{path}: no column {column:?} (columns: {})", available.join(", "))]
    CodeListColumn {
        /// The code list.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// A source extract could not be opened or read.
    #[error("source {source_name}: {error}")]
    Extract {
        /// The source's name in the study file.
        source_name: String,
        /// The underlying error (names the file).
        #[source]
        error: reglink_extract::ExtractError,
    },
    /// A source is not a pseudonymised Parquet file.
    #[error("source {source_name} ({path}): {message}")]
    NotPseudonymised {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// A mapped column is not in the extract.
    #[error("source {source_name} ({path}): no column {column:?} for {concept} (columns: {})", available.join(", "))]
    MissingColumn {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The reglink concept the column was mapped to.
        concept: String,
        /// The column named in the study file.
        column: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// A column has an Arrow type that cannot hold what its concept needs.
    #[error(
        "source {source_name} ({path}): column {column:?} ({concept}) has type {found}, expected {expected}"
    )]
    ColumnType {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The reglink concept.
        concept: String,
        /// The column.
        column: String,
        /// Its Arrow type.
        found: String,
        /// What would do.
        expected: &'static str,
    },
    /// The Parquet file could not be opened as Parquet or a row group not decoded.
    #[error("source {source_name} ({path}): {error}")]
    Parquet {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        error: parquet::errors::ParquetError,
    },
    /// A batch of the Parquet file could not be read into Arrow.
    #[error("source {source_name} ({path}): {error}")]
    Arrow {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        error: arrow_schema::ArrowError,
    },
    /// A spill file (the rows of a source set aside by pseudonym group, when
    /// the sources hold more rows than `--rows-in-memory`) could not be
    /// written or read back.
    #[error("{path}: cannot {action} a spill file: {source}")]
    Spill {
        /// The spill file or folder.
        path: PathBuf,
        /// `write` or `read`.
        action: &'static str,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The parts of a distributed run do not add up to the sources.
    #[error("the parts of the distributed run do not add up: {message}")]
    Parts {
        /// What does not add up.
        message: String,
    },
    /// A part's result could not be read.
    #[error("{path}: cannot read this part's result: {error}")]
    Partial {
        /// The part's result file.
        path: PathBuf,
        /// What is wrong with it.
        error: crate::partial::PartialError,
    },
}

impl Hinted for LinkError {
    /// A short hint for the user, where one helps. (An extract's error
    /// inside [`LinkError::Extract`] offers its own, as the next error of
    /// the chain.)
    fn hint(&self) -> Option<Hint> {
        let text = match self {
            LinkError::NotPseudonymised { .. } => {
                "link reads the Parquet files written by `reglink pseudonymise`; pseudonymise each extract first"
            }
            LinkError::MissingColumn { .. } => {
                "map reglink's concepts to the extract's own names under [sources.NAME.columns]"
            }
            LinkError::Study { .. } | LinkError::StudySyntax { .. } => {
                "docs/study-file.md describes every key of a study file"
            }
            LinkError::Spill { .. } => {
                "spill files go into a hidden folder beside the first source's file, or in --scratch DIR; it needs room for the sources' rows, uncompressed"
            }
            _ => return None,
        };
        Some(Hint::fixed(text))
    }
}

pub(crate) use reglink_pnr::withhold_numbers;
