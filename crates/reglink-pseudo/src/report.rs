//! The reject report written beside every pseudonymised file.

use std::collections::BTreeMap;

use reglink_extract::Fingerprint;
use serde::Serialize;

use crate::pipeline::PseudonymiseOptions;
use crate::pseudonym::Keyer;
use crate::{Crosswalk, RejectReason};

/// Counts and row numbers of rejected rows, per reason.
#[derive(Debug, Default, Clone)]
pub(crate) struct RejectTally {
    rows: BTreeMap<RejectReason, Vec<u64>>,
}

impl RejectTally {
    pub(crate) fn add(&mut self, reason: RejectReason, row: u64) {
        self.rows.entry(reason).or_default().push(row);
    }

    fn total(&self) -> u64 {
        self.rows.values().map(|r| r.len() as u64).sum()
    }
}

/// Rejected rows of one reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejects {
    /// How many rows.
    pub count: u64,
    /// Their 1-based data-row numbers in the input (never their values).
    pub rows: Vec<u64>,
}

/// The crosswalk that was applied.
#[derive(Debug, Clone, Serialize)]
pub struct CrosswalkSummary {
    /// Where it was read from.
    pub path: String,
    /// Its BLAKE3 fingerprint.
    pub fingerprint: String,
    /// Entries in the file.
    pub entries: usize,
}

/// What `pseudonymise` did: the accounting that shows no row was lost.
///
/// `rows_in == rows_out + rows_rejected` always holds.
#[derive(Debug, Clone, Serialize)]
pub struct PseudonymiseReport {
    /// reglink version that wrote it.
    pub reglink_version: &'static str,
    /// The study whose key was used.
    pub study: String,
    /// Id of the master key (never the key).
    pub key_id: String,
    /// The raw extract.
    pub input: String,
    /// Its identifier column.
    pub id_column: String,
    /// The date used to place 10-digit numbers in a century.
    pub reference_date: String,
    /// The pseudonymised Parquet file.
    pub output: String,
    /// BLAKE3 fingerprint of the output.
    pub output_fingerprint: String,
    /// Size of the output in bytes.
    pub output_bytes: u64,
    /// The crosswalk applied, if any.
    pub crosswalk: Option<CrosswalkSummary>,
    /// Data rows read.
    pub rows_in: u64,
    /// Rows written.
    pub rows_out: u64,
    /// Rows rejected (sum over `rejects`).
    pub rows_rejected: u64,
    /// Rows whose number the crosswalk replaced before hashing.
    pub rows_remapped: u64,
    /// Rejected rows per reason.
    pub rejects: BTreeMap<RejectReason, Rejects>,
}

impl PseudonymiseReport {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        opts: &PseudonymiseOptions,
        key: &dyn Keyer,
        crosswalk: Option<&Crosswalk>,
        rows_out: u64,
        rows_remapped: u64,
        tally: RejectTally,
        fingerprint: Fingerprint,
        output_bytes: u64,
    ) -> PseudonymiseReport {
        let rows_rejected = tally.total();
        let rejects = tally
            .rows
            .into_iter()
            .map(|(reason, rows)| {
                (
                    reason,
                    Rejects {
                        count: rows.len() as u64,
                        rows,
                    },
                )
            })
            .collect();
        PseudonymiseReport {
            reglink_version: env!("CARGO_PKG_VERSION"),
            study: key.study().to_string(),
            key_id: key.key_id(),
            input: opts.input.display().to_string(),
            id_column: opts.id_column.clone(),
            reference_date: opts.reference_date.to_string(),
            output: opts.output.display().to_string(),
            output_fingerprint: fingerprint.to_string(),
            output_bytes,
            crosswalk: crosswalk.map(|cw| CrosswalkSummary {
                path: cw.path().display().to_string(),
                fingerprint: cw.fingerprint().to_string(),
                entries: cw.entries(),
            }),
            rows_in: rows_out + rows_rejected,
            rows_out,
            rows_rejected,
            rows_remapped,
            rejects,
        }
    }
}
