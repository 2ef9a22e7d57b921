//! The linkage report: enough for staff to spot a broken extract.
//!
//! Counts only: rows, persons, codes and municipalities, never a pseudonym
//! or a row's values. Unknown codes are listed by value because code values
//! (a municipality code, a programme code) identify nobody; values longer
//! than a code could be are not listed, only counted.

mod build;

use std::collections::BTreeMap;

use serde::Serialize;

pub(crate) use build::{SourceSummary, build_report};

/// Rows rejected for one reason.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RejectCount {
    /// How many rows.
    pub rows: u64,
    /// The first of them (1-based data rows of the extract).
    pub first_rows: Vec<u64>,
}

/// The report of one `link` run.
#[derive(Debug, Default, Serialize)]
pub struct LinkageReport {
    /// The study's name.
    pub study: String,
    /// First and last month of the study period.
    pub period: [String; 2],
    /// Per source, by name.
    pub sources: BTreeMap<String, SourceReport>,
    /// Per population, by name.
    pub populations: BTreeMap<String, PopulationReport>,
    /// Things staff should look at.
    pub warnings: Vec<String>,
}

/// What happened to one source.
#[derive(Debug, Default, Serialize)]
pub struct SourceReport {
    /// Register kind.
    pub kind: String,
    /// The file.
    pub path: String,
    /// BLAKE3 fingerprint of the file.
    pub fingerprint: String,
    /// The key id it was pseudonymised under.
    pub key_id: String,
    /// Data rows in the file.
    pub rows_read: u64,
    /// Rows that entered the linkage.
    pub rows_used: u64,
    /// Rows rejected, all reasons.
    pub rows_rejected: u64,
    /// Rows rejected, per reason.
    pub rejected: BTreeMap<String, RejectCount>,
    /// Rows outside the study period.
    pub rows_outside_period: u64,
    /// Numbers in used rows whose fraction was rounded half to even to whole
    /// units (`100,49` kr read as 100).
    pub values_rounded: u64,
    /// Rows merged into another (see docs/study-file.md for the rule).
    pub duplicates: u64,
    /// Distinct persons among the used rows.
    pub distinct_persons: u64,
    /// Persons without a birth year or sex (no `--derive` columns in any source).
    pub persons_without_birth_date: u64,
    /// Of those persons, how many appear in each other source.
    pub matched: BTreeMap<String, u64>,
    /// Codes not in their code list, per column.
    pub unknown_codes: BTreeMap<String, UnknownCodes>,
    /// Used rows per month (EB), spell start month (AF) or year (LISA).
    pub rows_by_period: BTreeMap<String, u64>,
    /// Persons per municipality and year, and how many of them each other source has.
    pub by_municipality_year: Vec<MunicipalityYear>,
    /// AF: pairs of a person's consecutive spells that overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlapping_spells: Option<u64>,
}

/// Codes of one column missing from its code list.
#[derive(Debug, Default, Serialize)]
pub struct UnknownCodes {
    /// The code list.
    pub codelist: String,
    /// Used rows with such a code.
    pub rows: u64,
    /// Rows per unknown code, for codes of at most 8 characters (longer values,
    /// which could be an identifier in the wrong column, are only counted).
    pub codes: BTreeMap<String, u64>,
}

/// One municipality in one year of one source.
#[derive(Debug, Default, Serialize)]
pub struct MunicipalityYear {
    /// Municipality code as in the extract.
    pub municipality: String,
    /// Year.
    pub year: i32,
    /// Distinct persons.
    pub persons: u64,
    /// Of them, found in each other source.
    pub matched: BTreeMap<String, u64>,
    /// `matched / persons` per other source.
    pub match_rate: BTreeMap<String, f64>,
}

/// One population.
#[derive(Debug, Default, Serialize)]
pub struct PopulationReport {
    /// Person-years per year.
    pub person_years: BTreeMap<i32, u64>,
    /// Person-years of the defining source left out for lack of a birth year (age filter).
    pub without_age: u64,
}
