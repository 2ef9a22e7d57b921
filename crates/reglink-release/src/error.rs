//! [`ReleaseError`]: everything that can end a link or a release.

use std::path::PathBuf;

use reglink_extract::{ExtractError, Hint, Hinted, OutputError};
use reglink_link::LinkError;
use reglink_protect::ProtectError;
use reglink_tabulate::TabulateError;

/// Why a stage of the pipeline failed. The errors of the stages it calls
/// pass through unchanged (same message, same causes); the others name the
/// file or folder concerned and keep the error that caused them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The engine the study was linked on failed.
    #[error("{message}")]
    Engine {
        /// What failed, and what the engine said.
        message: String,
    },
    /// The study file is wrong, or linking its sources failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// An output folder was refused or could not be put in place.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// An input could not be read or an output file written.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// A cell table could not be written.
    #[error(transparent)]
    Tabulate(#[from] TabulateError),
    /// The policy file is wrong.
    #[error(transparent)]
    Policy(#[from] ProtectError),
    /// `--policy` names a file that cannot be read.
    #[error("{}: cannot read the policy", path.display())]
    PolicyUnreadable {
        /// The policy file, as given.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The perturbation table file a policy names cannot be read.
    #[error("{}: cannot read the perturbation table the policy names (ptable = ...)", path.display())]
    PtableUnreadable {
        /// The file, relative to the policy file's folder.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The perturbation table file a policy names is wrong.
    #[error("{file}: line {line}, column `{column}`: {message}")]
    Ptable {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The release ledger is wrong or cannot be written.
    #[error("{}: {message}", path.display())]
    Ledger {
        /// The ledger, or the file in it.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The policy file holds nothing.
    #[error(
        "{}: the policy file is empty (it must name at least a preset: acro, abs, lenient)",
        path.display()
    )]
    PolicyEmpty {
        /// The policy file.
        path: PathBuf,
    },
    /// `--policy` names a folder.
    #[error(
        "{}: is a folder, not a policy file (pass a policy file or a preset: acro, abs, lenient)",
        path.display()
    )]
    PolicyIsFolder {
        /// The folder, as given.
        path: PathBuf,
    },
    /// `--policy` names a device, a socket or another file that is not a regular file.
    #[error(
        "{}: is not a regular file, so not a policy file (pass a policy file or a preset: acro, abs, lenient)",
        path.display()
    )]
    PolicyNotAFile {
        /// The path, as given.
        path: PathBuf,
    },
    /// `--policy` is neither an existing file nor a preset's name.
    #[error("{}: no such policy file, and not a preset (acro, abs, lenient)", path.display())]
    NoSuchPolicy {
        /// The path, as given.
        path: PathBuf,
    },
    /// A folder of the output could not be created.
    #[error("{}: cannot create directory", path.display())]
    CreateDir {
        /// The folder, as the user will find it (never a temporary name).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of a release bundle or checker report could not be written,
    /// or a bundle being verified could not be read.
    #[error("{}: {source}", path.display())]
    BundleFile {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: FileError,
    },
    /// `reglink export` was given a folder that does not check out as a
    /// release bundle (a changed, missing or extra file, or a signature
    /// that is missing or not the key's).
    #[error("{}: not exported, the bundle does not verify: {problem}{}", path.display(), if *more > 0 { format!(" (and {more} more problem(s); `reglink verify` lists them)") } else { String::new() })]
    NotVerified {
        /// The bundle.
        path: PathBuf,
        /// The first problem.
        problem: String,
        /// How many more there are.
        more: usize,
    },
    /// A published table's CSV could not be read back (for the report or
    /// an export).
    #[error("cannot read the published table {}: {reason}", path.display())]
    PublishedTable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The export could not be written (an Excel workbook the library
    /// refused).
    #[error("{}: {reason}", path.display())]
    Export {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The audit of the staged bundle could not run (a bug: the bundle is
    /// reglink's own).
    #[error("the audit of the release could not run: {reason}")]
    AuditCouldNotRun {
        /// Why.
        reason: String,
    },
    /// The audit of the staged bundle found a rule broken (a bug: please
    /// report it): nothing was published.
    #[error("the audit of the release failed, so nothing was published: {reason}")]
    AuditFailed {
        /// The failures, by table and check.
        reason: String,
    },
}

/// The cause of a [`ReleaseError::BundleFile`]: the error of the library
/// that failed, kept as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file system.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Writing a file atomically, or hashing one.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// Listing the files of a folder for its manifest.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Encoding a table as Parquet.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building a table's Arrow batch.
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Reading a bundle's manifest.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Hinted for ReleaseError {
    /// A one-line hint for the user, where the error this one passes
    /// through has one.
    fn hint(&self) -> Option<Hint> {
        match self {
            ReleaseError::Link(e) => e.hint(),
            ReleaseError::Output(e) => Hinted::hint(e),
            ReleaseError::Extract(e) => e.hint(),
            _ => None,
        }
    }
}

/// The [`ReleaseError::BundleFile`] of `path`, for `map_err`.
pub(crate) fn file_error<E: Into<FileError>>(
    path: &std::path::Path,
) -> impl FnOnce(E) -> ReleaseError + '_ {
    move |source| ReleaseError::BundleFile {
        path: path.to_path_buf(),
        source: source.into(),
    }
}
