use std::path::PathBuf;

use reglink_extract::{Hint, Hinted};

use crate::RejectReason;

/// Errors of keys, crosswalks and the pseudonymise pipeline.
///
/// Like every error in reglink, these name files, rows and columns but never
/// carry a personnummer, a key or a pseudonym.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PseudoError {
    /// Reading an extract or writing an output failed.
    #[error(transparent)]
    Extract(#[from] reglink_extract::ExtractError),
    /// Reading the crosswalk (`--crosswalk`) failed. Its hint speaks of the
    /// crosswalk's own columns, not of the extract's.
    #[error("could not read the crosswalk (--crosswalk)")]
    ReadingCrosswalk(#[source] Box<PseudoError>),
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
    /// A study name must not be blank: it separates one study's pseudonyms from another's.
    #[error("the study name is empty")]
    EmptyStudyName,
    /// `key new` would overwrite a file (a key or anything else).
    #[error("{path}: already exists; refusing to overwrite an existing file")]
    KeyFileExists {
        /// The key file.
        path: PathBuf,
    },
    /// The key file could not be read or written.
    #[error("{path}: cannot access key file: {source}")]
    KeyFileIo {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Group or others have access to the key file.
    #[error(
        "{path}: key file is accessible by group or others (mode {mode:03o}); refusing to use it"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not exactly 32 bytes.
    #[error("{path}: key file is {len} bytes; a reglink key is exactly 32 bytes")]
    KeyFileLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// A crosswalk entry is not a valid number.
    #[error(
        "{path}: row {row}, column `{column}`: not a valid personal identity number ({reason})"
    )]
    CrosswalkInvalid {
        /// The crosswalk file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// `old` or `new`.
        column: String,
        /// Why it is invalid.
        reason: RejectReason,
    },
    /// One old number is mapped to two different new numbers.
    #[error("{path}: rows {} and {}: the same old number is mapped to two different new numbers", rows.0, rows.1)]
    CrosswalkConflict {
        /// The crosswalk file.
        path: PathBuf,
        /// The two conflicting data rows.
        rows: (u64, u64),
    },
    /// Following the crosswalk from this entry comes back to where it started.
    #[error("{path}: row {row}: the crosswalk has a cycle starting at this entry")]
    CrosswalkCycle {
        /// The crosswalk file.
        path: PathBuf,
        /// 1-based data row of an entry on the cycle.
        row: u64,
    },
    /// The identifier column has a type that cannot hold a personnummer.
    #[error(
        "{path}: column `{column}` has type {found}; an identifier column must be text or a 64-bit integer"
    )]
    IdColumnType {
        /// The extract.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its Arrow type.
        found: String,
    },
    /// The extract already has a column the output would add.
    #[error("{path}: the extract already has a column `{column}`, which pseudonymisation adds")]
    ReservedColumn {
        /// The extract.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// Output and input are the same file.
    #[error("{path}: the output would overwrite the input")]
    OutputIsInput {
        /// The file.
        path: PathBuf,
    },
    /// Writing Parquet failed.
    #[error("{path}: cannot write Parquet: {source}")]
    Parquet {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Assembling an output batch failed.
    #[error("{path}: {source}")]
    Arrow {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// The identifier column's name, as given, could be a personnummer.
    #[error(
        "{path}: the identifier column given looks like a personal identity number, not a column name"
    )]
    IdColumnLooksLikeNumber {
        /// The extract.
        path: PathBuf,
    },
    /// A column of the extract is named like a personnummer.
    #[error("{path}: the name of column {column} looks like a personal identity number")]
    ColumnNameLooksLikeNumber {
        /// The extract.
        path: PathBuf,
        /// 1-based position of the column.
        column: usize,
    },
}

impl From<reglink_keys::KeyFileError> for PseudoError {
    /// The master key's file errors, as this crate has always named them.
    fn from(e: reglink_keys::KeyFileError) -> PseudoError {
        use reglink_keys::KeyFileError as K;
        match e {
            K::Exists { path } => PseudoError::KeyFileExists { path },
            K::Io { path, source } => PseudoError::KeyFileIo { path, source },
            K::Permissions { path, mode } => PseudoError::KeyFilePermissions { path, mode },
            K::Length { path, len, .. } => PseudoError::KeyFileLength { path, len },
            K::Format { path, .. } => PseudoError::KeyFileLength { path, len: 0 },
            K::Random(e) => PseudoError::Random(e),
        }
    }
}

impl PseudoError {
    /// The hint for an error that came from reading the crosswalk, whose
    /// columns have fixed names: [`PseudoError::hint`] would speak of the
    /// extract and its `--id-column`.
    fn crosswalk_hint(&self) -> Option<Hint> {
        use reglink_extract::ExtractError;
        match self {
            PseudoError::Extract(ExtractError::MissingColumn { .. }) => Some(Hint::fixed(
                "a crosswalk is a CSV file with the columns `old` and `new` (the old and the new number of a person); rename its header to those",
            )),
            PseudoError::CrosswalkInvalid { .. } => Some(Hint::fixed(
                "every entry must be a valid number; ten-digit numbers are placed in a century by --reference-date",
            )),
            _ => self.hint(),
        }
    }
}

impl Hinted for PseudoError {
    /// A one-line hint for the user, where one helps.
    fn hint(&self) -> Option<Hint> {
        let text = match self {
            PseudoError::Extract(e) => return e.hint(),
            PseudoError::ReadingCrosswalk(e) => return e.crosswalk_hint(),
            PseudoError::KeyFilePermissions { path, .. } => {
                return Some(Hint::new(format!("run `chmod 600 {}`", path.display())));
            }
            PseudoError::KeyFileExists { .. } => {
                "pick another path for the new key; if the file is an old key, delete it deliberately"
            }
            PseudoError::KeyFileLength { .. } => {
                "create key files with `reglink key new --out FILE`"
            }
            PseudoError::CrosswalkConflict { .. } | PseudoError::CrosswalkCycle { .. } => {
                "the crosswalk must map each old number to exactly one newer number; ask the register holder for a corrected file"
            }
            PseudoError::IdColumnLooksLikeNumber { .. } => {
                "pass the name of the column that holds the numbers; if the extract has no header row, add one"
            }
            PseudoError::ColumnNameLooksLikeNumber { .. } => {
                "rename the column; a column name is copied into the pseudonymised output"
            }
            PseudoError::ReservedColumn { .. } => {
                "is this file already pseudonymised? pseudonymise the raw extract"
            }
            _ => return None,
        };
        Some(Hint::fixed(text))
    }
}

#[cfg(test)]
mod tests {
    use reglink_extract::Hinted;
    use reglink_pnr::Date;

    use crate::Crosswalk;

    #[test]
    fn a_crosswalk_without_old_and_new_gets_a_hint_about_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cw.csv");
        std::fs::write(&path, "from,to\n").unwrap();
        let err = Crosswalk::load(&path, Date::new(2026, 6, 30).unwrap()).unwrap_err();
        let hint = err.crosswalk_hint().unwrap();
        assert!(hint.contains("`old`") && hint.contains("`new`"), "{hint}");
        // The extract's hint would send the user to --id-column.
        assert_ne!(Some(&hint), err.hint().as_ref());
        // Wrapped as an error of reading --crosswalk, it offers the
        // crosswalk's hint, and so does the chain asked through `Hinted`.
        let wrapped = crate::PseudoError::ReadingCrosswalk(Box::new(err));
        assert_eq!(wrapped.hint(), Some(hint.clone()));
        let hinted: &dyn reglink_extract::Hinted = &wrapped;
        assert_eq!(hinted.hint(), Some(hint));
    }
}
