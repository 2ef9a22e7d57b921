use std::path::PathBuf;

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
        error: Box<reglink_extract::ExtractError>,
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
    /// Reading Parquet failed.
    #[error("source {source_name} ({path}): {message}")]
    Parquet {
        /// The source's name in the study file.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
}

impl LinkError {
    /// A short hint for the user, where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LinkError::NotPseudonymised { .. } => Some(
                "link reads the Parquet files written by `reglink pseudonymise`; pseudonymise each extract first",
            ),
            LinkError::MissingColumn { .. } => Some(
                "map reglink's concepts to the extract's own names under [sources.NAME.columns]",
            ),
            LinkError::Study { .. } | LinkError::StudySyntax { .. } => {
                Some("docs/study-file.md describes every key of a study file")
            }
            _ => None,
        }
    }
}

/// `message` with every run of ten or more digits (with `-`, `+` or spaces
/// between them) replaced by `[number withheld]`.
///
/// Messages about the study file and code lists quote names and the TOML
/// parser quotes the line it stopped at; a personnummer typed or pasted into
/// one of them must not reach the screen or a log.
pub(crate) fn withhold_numbers(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    let mut digits = 0;
    let flush = |out: &mut String, run: &mut String, digits: &mut usize| {
        // Keep the joiners at the ends of a run: they are not part of a number.
        let trimmed = run.trim_end_matches(['-', '+', ' ']);
        if *digits >= 10 {
            out.push_str("[number withheld]");
        } else {
            out.push_str(trimmed);
        }
        out.push_str(&run[trimmed.len()..]);
        run.clear();
        *digits = 0;
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            digits += 1;
        } else if !run.is_empty() && matches!(c, '-' | '+' | ' ') {
            run.push(c);
        } else {
            flush(&mut out, &mut run, &mut digits);
            out.push(c);
        }
    }
    flush(&mut out, &mut run, &mut digits);
    out
}

#[cfg(test)]
mod tests {
    use super::withhold_numbers;

    #[test]
    fn personnummer_like_runs_are_withheld_and_other_numbers_kept() {
        for (text, want) in [
            (
                "line 3: \"19900101-0017\" is",
                "line 3: \"[number withheld]\" is",
            ),
            ("a 900101+0017 b", "a [number withheld] b"),
            ("x 9001010017", "x [number withheld]"),
            ("199001010017- and", "[number withheld]- and"),
            (
                "line 12, column 4: 2024-01 and 0180",
                "line 12, column 4: 2024-01 and 0180",
            ),
            ("years 2023 2024 2025", "years [number withheld]"),
            ("ä 12345 ö", "ä 12345 ö"),
        ] {
            assert_eq!(withhold_numbers(text), want, "{text}");
        }
    }
}
