//! Cell tables: what a study table looks like before disclosure control.
//!
//! [`tabulate`] turns one population's person-years (a
//! [`reglink_link::PopulationFrame`]) into a [`CellTable`]: one cell per
//! combination of every dimension's categories, groups (municipality ->
//! county) and total, so the margins are there and add up. Each cell carries
//! its number of contributors, the measures, and what disclosure control
//! needs later without row-level data: numerators and denominators of
//! shares, the largest contributions of sums, the `n` behind medians, and
//! the wrapping sum of record keys (the cell key).
//!
//! ```text
//!  PopulationFrame ──► tabulate ──► CellTable ──► write ──► cells/NAME.parquet + NAME.json
//!  (person-years)       per row: every ancestor cell (category, group, total) of every dimension
//! ```
//!
//! A cell table holds counts and sums only; it never holds a pseudonym, a
//! household id or a row.
//!
//! ```no_run
//! let study = reglink_link::Study::load("study.toml")?;
//! let linked = reglink_link::link(&study, &reglink_link::NoProgress)?;
//! for (t, table) in study.tables.iter().enumerate() {
//!     let cells = reglink_tabulate::tabulate(&study, &linked.frame.populations[table.population], t);
//!     cells.write(std::path::Path::new("out/cells"))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod cube;
mod table;
mod write;

#[cfg(feature = "testing")]
pub mod testing;

pub use cube::{Dimension, Shape, TOTAL, UNKNOWN};
pub use table::{
    CellTable, Definition, MeasureValues, ShareKeys, TOP, Tabulation, Values, tabulate,
};

/// Errors writing cell tables. Each keeps the error that caused it as its
/// source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TabulateError {
    /// Writing a file failed.
    #[error(transparent)]
    Extract(#[from] reglink_extract::ExtractError),
    /// Building the Arrow batch failed.
    #[error("cannot build the cell table: {source}")]
    Arrow {
        /// What Arrow reported.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// Encoding the JSON description failed.
    #[error("cannot build the cell table: {source}")]
    Json {
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// Encoding Parquet failed.
    #[error("cannot write the cell table as Parquet: {source}")]
    Parquet {
        /// What the Parquet writer reported.
        #[source]
        source: parquet::errors::ParquetError,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_keep_their_cause_and_their_message() {
        let e = super::TabulateError::Parquet {
            source: parquet::errors::ParquetError::General("disk full".into()),
        };
        assert_eq!(
            e.to_string(),
            "cannot write the cell table as Parquet: Parquet error: disk full"
        );
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.is::<parquet::errors::ParquetError>());
    }
}
