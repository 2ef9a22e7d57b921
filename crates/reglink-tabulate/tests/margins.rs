//! Property: every margin of a cell table is the sum of what it covers.
//!
//! Random person-years in a small study (municipality rolling up to county,
//! sex, a bool, an amount with missing values) are tabulated; for every cell
//! at a total or group level, persons, share numerators and denominators and
//! sums equal the sum over the categories it covers, the grand total is the
//! number of person-years, and distinct households are sub-additive.

use proptest::prelude::*;
use reglink_link::study::Study;
use reglink_link::{Column, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, PopulationFrame};
use reglink_tabulate::{CellTable, Values, tabulate};

const STUDY: &str = r#"
[study]
name = "margins"
period = ["2023-01", "2023-12"]

[codelists.kommun]
path = "kommun.csv"
group = "county"

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "m", municipality = "k", household = "h", amount = "a" }
codelists = { municipality = "kommun" }

[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"
rollup = true

[variables.long_term]
kind = "long_term"

[variables.amount]
kind = "eb_amount"

[populations.p]
source = "eb"
years = [2023]

[[tables]]
name = "t"
population = "p"
dimensions = ["municipality", "sex", "long_term"]
measures = [
  { name = "persons", kind = "persons" },
  { name = "households", kind = "households" },
  { name = "lt", kind = "share", of = "long_term" },
  { name = "amount", kind = "sum", of = "amount" },
]
"#;

fn study() -> (tempfile::TempDir, Study) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kommun.csv"),
        "code,county\n0180,01\n0114,01\n0380,03\n1280,12\n",
    )
    .unwrap();
    let study = Study::parse(&dir.path().join("study.toml"), STUDY).unwrap();
    (dir, study)
}

#[derive(Debug, Clone)]
struct Row {
    municipality: u32,
    sex: u32,
    long_term: u8,
    amount: i64,
    household: u64,
    key: u32,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop_oneof![4 => 0u32..4, 1 => Just(MISSING_CATEGORY)],
        prop_oneof![4 => 0u32..2, 1 => Just(MISSING_CATEGORY)],
        prop_oneof![4 => 0u8..2, 1 => Just(MISSING_BOOL)],
        prop_oneof![4 => -5_000i64..50_000, 1 => Just(MISSING_NUMBER)],
        0u64..40,
        any::<u32>(),
    )
        .prop_map(
            |(municipality, sex, long_term, amount, household, key)| Row {
                municipality,
                sex,
                long_term,
                amount,
                household,
                key,
            },
        )
}

fn frame(study: &Study, rows: &[Row]) -> PopulationFrame {
    let var = |name: &str| study.variable(name).unwrap();
    let cats = |name: &str| study.variables[var(name)].categories.clone().unwrap();
    PopulationFrame {
        len: rows.len(),
        record_key: rows.iter().map(|r| r.key).collect(),
        household: rows.iter().map(|r| r.household).collect(),
        columns: vec![
            (
                var("municipality"),
                Column::Category {
                    values: rows.iter().map(|r| r.municipality).collect(),
                    categories: cats("municipality"),
                },
            ),
            (
                var("sex"),
                Column::Category {
                    values: rows.iter().map(|r| r.sex).collect(),
                    categories: cats("sex"),
                },
            ),
            (
                var("long_term"),
                Column::Bool(rows.iter().map(|r| r.long_term).collect()),
            ),
            (
                var("amount"),
                Column::Number(rows.iter().map(|r| r.amount).collect()),
            ),
        ],
    }
}

/// The additive columns of a cell, for comparing margins with their parts.
fn additive(t: &CellTable, cell: usize) -> Vec<i128> {
    let mut v = vec![i128::from(t.persons[cell])];
    for m in &t.measures {
        match &m.values {
            Values::Share { num, den, .. } => {
                v.extend([i128::from(num[cell]), i128::from(den[cell])])
            }
            Values::Sum { sum, n, .. } => v.extend([i128::from(sum[cell]), i128::from(n[cell])]),
            _ => {}
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn margins_are_the_sums_of_their_parts(rows in prop::collection::vec(row(), 0..300)) {
        let (_dir, study) = study();
        let f = frame(&study, &rows);
        let t = tabulate(&study, &f, 0);
        let sizes = &t.shape.sizes;
        let stride = |d: usize| sizes[d + 1..].iter().product::<usize>();
        let total_cell = t.shape.cells() - 1;
        prop_assert_eq!(t.persons[total_cell], rows.len() as u64);
        let keys = rows.iter().fold(0u32, |a, r| a.wrapping_add(r.key));
        prop_assert_eq!(t.record_key_sum[total_cell], keys);

        for cell in 0..t.shape.cells() {
            for (d, dim) in t.dimensions.iter().enumerate() {
                let pos = t.shape.position(cell, d);
                let base = cell - pos * stride(d);
                let (_, level) = dim.position(pos);
                // The parts a margin covers: every category (total) or the group's categories (group).
                let parts: Vec<usize> = if level == dim.levels() - 1 {
                    (0..dim.categories.len()).collect()
                } else if level == 1 {
                    let g = (pos - dim.categories.len()) as u32;
                    (0..dim.categories.len()).filter(|&c| dim.group_of.as_ref().unwrap()[c] == g).collect()
                } else {
                    continue;
                };
                let mut sum = vec![0i128; additive(&t, cell).len()];
                for p in &parts {
                    for (s, x) in sum.iter_mut().zip(additive(&t, base + p * stride(d))) {
                        *s += x;
                    }
                }
                prop_assert_eq!(&sum, &additive(&t, cell), "dimension {} cell {}", dim.name, cell);
                // Households: a household may span categories, so the margin is at most the sum.
                let Values::Count(h) = &t.measures[1].values else { unreachable!() };
                let parts_h: Vec<u64> = parts.iter().map(|p| h[base + p * stride(d)]).collect();
                prop_assert!(h[cell] <= parts_h.iter().sum::<u64>());
                prop_assert!(h[cell] >= parts_h.iter().copied().max().unwrap_or(0));
            }
        }
        // Shares never exceed their denominator, which never exceeds the persons.
        let Values::Share { num, den, .. } = &t.measures[2].values else { unreachable!() };
        for c in 0..t.shape.cells() {
            prop_assert!(num[c] <= den[c] && den[c] <= t.persons[c]);
        }
    }
}
