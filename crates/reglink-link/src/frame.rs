//! The linked result handed to tabulation: per population, one row per
//! person-year with the values of the variables its tables use.
//!
//! A frame holds no pseudonym: persons are already distinct within a
//! population-year, so counting rows of a cell counts distinct persons. It
//! holds each person's `record_key` (for the cell key method) and a hashed
//! household id (for distinct household counts). It never leaves the process.

use crate::study::{Categories, VarId};

/// Missing category value.
pub const MISSING_CATEGORY: u32 = u32::MAX;
/// Missing number.
pub const MISSING_NUMBER: i64 = i64::MIN;
/// Missing bool.
pub const MISSING_BOOL: u8 = 2;
/// No household.
pub const NO_HOUSEHOLD: u64 = u64::MAX;

/// The linked person-years of every population.
#[derive(Debug, Default)]
pub struct Frame {
    /// One per [`crate::Study::populations`], same order.
    pub populations: Vec<PopulationFrame>,
}

/// The person-years of one population.
#[derive(Debug, Default)]
pub struct PopulationFrame {
    /// Number of person-years.
    pub len: usize,
    /// Per person-year, the person's record key.
    pub record_key: Vec<u32>,
    /// Per person-year, the household of the last EB month in the year ([`NO_HOUSEHOLD`] if none).
    pub household: Vec<u64>,
    /// The variables the population needs.
    pub columns: Vec<(VarId, Column)>,
}

impl PopulationFrame {
    /// The column of variable `var`.
    pub fn column(&self, var: VarId) -> Option<&Column> {
        self.columns.iter().find(|(v, _)| *v == var).map(|(_, c)| c)
    }
}

/// Values of one variable.
#[derive(Debug, Clone)]
pub enum Column {
    /// Category indices ([`MISSING_CATEGORY`] when unknown) and the categories.
    Category {
        /// Per person-year.
        values: Vec<u32>,
        /// What the indices mean.
        categories: Categories,
    },
    /// Numbers ([`MISSING_NUMBER`] when missing).
    Number(Vec<i64>),
    /// 0 no, 1 yes, [`MISSING_BOOL`] missing.
    Bool(Vec<u8>),
}
