//! What was generated: [`Report`], returned by [`crate::generate`] and
//! written as `synth.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{IdColumnStats, InvalidIdCounts};
use crate::preset::{Format, Preset};

/// A summary of one generation run: sizes, the defects deliberately put into
/// the extracts (so that tests can check that downstream stages reject and
/// count exactly those), and the headline EB/AF figures the data was
/// calibrated to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The preset generated.
    pub preset: Preset,
    /// The seed.
    pub seed: u64,
    /// The format of the three register extracts.
    pub format: Format,
    /// The first register year ([`crate::REFERENCE_YEAR`]).
    pub first_year: i32,
    /// The last register year.
    pub last_year: i32,
    /// The date the extracts are taken ([`crate::extraction_date`]), ISO.
    pub extraction_date: String,
    /// Persons present at some time during the register years (including
    /// those who immigrate after the reference year).
    pub persons: u64,
    /// Households, counted the same way.
    pub households: u64,
    /// Municipalities in `codelists/kommun.csv`.
    pub municipalities: u64,
    /// Counties the municipalities belong to.
    pub counties: u64,
    /// The EB extract.
    pub eb: RegisterReport,
    /// The AF extract.
    pub af: RegisterReport,
    /// The LISA-style extract.
    pub lisa: RegisterReport,
    /// AF spells written with an end before their start.
    pub af_broken_spells: u64,
    /// AF spells without an end (still running at the extraction date).
    pub af_open_spells: u64,
    /// EB figures per register year.
    pub eb_years: Vec<EbYear>,
    /// Adult EB recipients (applicants and co-applicants) in the reference
    /// year.
    pub eb_adult_recipients: u64,
    /// Share of those who are long-term recipients (EB in at least 10 of the
    /// 12 months).
    pub eb_long_term_share: f64,
    /// Share of those with an AF spell overlapping a month with an EB
    /// payment (registered at AF *at the same time*).
    pub eb_adults_at_af_share: f64,
    /// For comparison: share of all persons aged 18-64 present in the
    /// reference year with an AF spell overlapping that year.
    pub population_at_af_share: f64,
    /// The crosswalk.
    pub crosswalk: CrosswalkReport,
    /// The code-list files, relative to the output directory.
    pub codelists: Vec<String>,
    /// This report's own file name.
    pub report_file: String,
}

/// One register extract.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterReport {
    /// The file name, relative to the output directory.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// Distinct persons with at least one row (whatever number the rows
    /// carry).
    pub persons: u64,
    /// Rows whose identifier is deliberately invalid, by kind: exactly the
    /// identifiers `reglink_pnr::Pnr::parse` rejects at the extraction date.
    pub invalid_ids: InvalidIdCounts,
    /// All invalid identifiers.
    pub invalid_ids_total: u64,
    /// Rows carrying a number the person no longer has (the crosswalk maps
    /// it to the current one).
    pub old_number_rows: u64,
    /// Rows with at least one code that is not in its code list.
    pub unknown_code_rows: u64,
    /// Unknown codes by column.
    pub unknown_codes: BTreeMap<String, u64>,
}

impl RegisterReport {
    pub(crate) fn new(
        file: String,
        rows: u64,
        persons: u64,
        stats: &IdColumnStats,
    ) -> RegisterReport {
        RegisterReport {
            file,
            rows,
            persons,
            invalid_ids: stats.invalid,
            invalid_ids_total: stats.invalid.total(),
            old_number_rows: stats.old_number_rows,
            unknown_code_rows: stats.unknown_rows,
            unknown_codes: stats
                .unknown_codes
                .iter()
                .map(|(column, n)| ((*column).to_owned(), *n))
                .collect(),
        }
    }
}

/// EB in one year.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EbYear {
    /// The year.
    pub year: i32,
    /// Households with at least one payment.
    pub households: u64,
    /// Persons (adults and children) in those households with a row.
    pub persons: u64,
    /// Adult recipients (applicants and co-applicants).
    pub adult_recipients: u64,
    /// Adult recipients with EB rows in at least 10 of the 12 months.
    pub long_term_adults: u64,
    /// Adult recipients at AF in a month with a payment.
    pub adults_at_af: u64,
}

/// The crosswalk file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CrosswalkReport {
    /// The file name (`crosswalk.csv`).
    pub file: String,
    /// Entries (`old,new` rows).
    pub entries: u64,
    /// Entries whose `new` is itself the `old` of another entry.
    pub chained: u64,
}

/// A share, 0 when there is nothing to share.
pub(crate) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
