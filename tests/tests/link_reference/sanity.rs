//! Counts kept while comparing, so that a comparison that checked nothing fails.

use crate::extracts::{CellKey, ExpectedTable, TOTAL};
use crate::study::TableSpec;
use crate::values::V;

/// Facts that make sure the comparison is not vacuous.
#[derive(Default)]
pub struct Sanity {
    pub tables: usize,
    pub t1_total_persons: u64,
    pub share_numerators: u64,
    pub group_cells_with_persons: usize,
    pub non_null_medians: usize,
    pub empty_populations: Vec<String>,
}

impl Sanity {
    pub fn note(&mut self, table: &TableSpec, expected: &ExpectedTable) {
        self.tables += 1;
        if expected.population_size == 0 {
            self.empty_populations.push(table.name.clone());
        }
        let total: CellKey = expected
            .dimensions
            .iter()
            .map(|d| (TOTAL.to_string(), d.total_level()))
            .collect();
        let grand_total = &expected.cells[&total];
        if table.name == "t1_overlap"
            && let V::U64(n) = grand_total["persons"]
        {
            self.t1_total_persons = n;
        }
        for (column, value) in grand_total {
            if column.ends_with("_num")
                && let V::U64(n) = value
            {
                self.share_numerators += n;
            }
        }
        for (key, values) in &expected.cells {
            let has_persons = matches!(values["persons"], V::U64(n) if n > 0);
            let is_group_cell = key
                .iter()
                .zip(&expected.dimensions)
                .any(|((_, level), d)| *level == 1 && !d.groups.is_empty());
            if has_persons && is_group_cell {
                self.group_cells_with_persons += 1;
            }
            self.non_null_medians += values
                .iter()
                .filter(|(c, v)| c.ends_with("_median") && matches!(v, V::F64(Some(_))))
                .count();
        }
    }

    pub fn assert_not_vacuous(&self, seed: u64) {
        assert!(
            self.tables >= 10,
            "seed {seed}: only {} tables",
            self.tables
        );
        assert!(
            self.empty_populations.is_empty(),
            "seed {seed}: empty populations for {:?}",
            self.empty_populations
        );
        assert!(
            self.t1_total_persons > 50,
            "seed {seed}: t1_overlap has {} persons",
            self.t1_total_persons
        );
        assert!(self.share_numerators > 0, "seed {seed}: no share numerator");
        assert!(
            self.group_cells_with_persons > 0,
            "seed {seed}: no county cell"
        );
        assert!(self.non_null_medians > 0, "seed {seed}: no median");
    }
}
