//! Computing one cell table from a population frame.

use rayon::prelude::*;
use reglink_link::study::{MeasureKind, Study};
use reglink_link::{
    Column, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, NO_HOUSEHOLD, PopulationFrame,
};

use crate::cube::{Dimension, Shape};

/// How many of the largest contributions a magnitude cell keeps.
pub const TOP: usize = 3;

/// A table's cells: counts and measures, no row-level data.
#[derive(Debug, Clone)]
pub struct CellTable {
    /// The table's name.
    pub name: String,
    /// Its title.
    pub title: Option<String>,
    /// The population's name.
    pub population: String,
    /// The population's years.
    pub years: Vec<i32>,
    /// Dimensions, in order.
    pub dimensions: Vec<Dimension>,
    /// Cell numbering.
    pub shape: Shape,
    /// Contributors (distinct person-years) per cell.
    pub persons: Vec<u64>,
    /// Wrapping sum of the contributors' record keys per cell.
    pub record_key_sum: Vec<u32>,
    /// Measures, in the study's order.
    pub measures: Vec<MeasureValues>,
}

/// The values of one measure in every cell.
#[derive(Debug, Clone)]
pub struct MeasureValues {
    /// The measure's name.
    pub name: String,
    /// Its kind as written in the study file.
    pub kind: &'static str,
    /// The variable it is of, if any.
    pub of: Option<String>,
    /// The values.
    pub values: Values,
}

/// Per-cell values of a measure.
#[derive(Debug, Clone)]
pub enum Values {
    /// Distinct persons or households.
    Count(Vec<u64>),
    /// Numerator and denominator.
    Share {
        /// Persons with yes.
        num: Vec<u64>,
        /// Persons with yes or no.
        den: Vec<u64>,
        /// Cell keys of the numerator's and the denominator's contributors
        /// (wrapping sums of their record keys), so that the cell key
        /// method perturbs them exactly as it perturbs a count of the same
        /// people in any other table.
        keys: ShareKeys,
    },
    /// Sum (and mean) of a number.
    Sum {
        /// Sum.
        sum: Vec<i64>,
        /// Contributors with a value.
        n: Vec<u64>,
        /// Whether the mean is published too.
        mean: bool,
        /// Up to [`TOP`] largest contributions by absolute value, largest first.
        top: Vec<[i64; TOP]>,
    },
    /// Median of a number.
    Median {
        /// Median, `None` when no contributor has a value.
        median: Vec<Option<f64>>,
        /// Contributors with a value.
        n: Vec<u64>,
    },
}

/// Cell keys of a share's numerator and denominator.
#[derive(Debug, Clone, Default)]
pub struct ShareKeys {
    /// Per cell: the record-key sum of the persons with yes.
    pub num: Vec<u32>,
    /// Per cell: the record-key sum of the persons with yes or no.
    pub den: Vec<u32>,
}

impl Values {
    /// Whether the measure adds up over the margins (households do not: one
    /// household can span categories).
    pub fn additive(&self, kind: &str) -> bool {
        kind != "households" && !matches!(self, Values::Median { .. })
    }
}

/// Accumulators of one chunk of rows.
struct Acc {
    persons: Vec<u64>,
    keys: Vec<u32>,
    measures: Vec<MeasureAcc>,
}

enum MeasureAcc {
    None,
    Share(Vec<u64>, Vec<u64>, ShareKeys),
    Sum(Vec<i64>, Vec<u64>, Vec<[i64; TOP]>, Vec<u8>),
}

/// Computes table `t` of the study from its population's frame.
pub fn tabulate(study: &Study, frame: &PopulationFrame, t: usize) -> CellTable {
    let table = &study.tables[t];
    let population = &study.populations[table.population];
    let dims: Vec<Dimension> = table
        .dimensions
        .iter()
        .map(|&v| {
            let column = frame
                .column(v)
                .unwrap_or_else(|| unreachable!("the population computes its tables' variables"));
            let var = &study.variables[v];
            match column {
                Column::Category { values, categories } => {
                    Dimension::new(&var.name, categories, values.contains(&MISSING_CATEGORY))
                }
                Column::Bool(values) => Dimension::new(
                    &var.name,
                    &reglink_link::study::Categories::plain(&["no", "yes"]),
                    values.contains(&MISSING_BOOL),
                ),
                Column::Number(_) => unreachable!("numbers are not dimensions"),
            }
        })
        .collect();
    let shape = Shape::new(&dims);
    let cells = shape.cells();
    let n = frame.len;

    // Per row, its category in each dimension.
    let leaf: Vec<Vec<u32>> = table
        .dimensions
        .iter()
        .zip(&dims)
        .map(|(&v, d)| match frame.column(v) {
            Some(Column::Category { values, .. }) => values
                .iter()
                .map(|&c| {
                    if c == MISSING_CATEGORY {
                        d.unknown.unwrap_or(0)
                    } else {
                        c
                    }
                })
                .collect(),
            Some(Column::Bool(values)) => values
                .iter()
                .map(|&b| {
                    if b == MISSING_BOOL {
                        d.unknown.unwrap_or(0)
                    } else {
                        u32::from(b)
                    }
                })
                .collect(),
            _ => unreachable!(),
        })
        .collect();
    let for_each_cell_of_row = |row: usize, anc: &mut Vec<Vec<u32>>, f: &mut dyn FnMut(usize)| {
        for (d, dim) in dims.iter().enumerate() {
            dim.ancestors(leaf[d][row], &mut anc[d]);
        }
        shape.for_each_cell(anc, &mut |c| f(c));
    };

    let number = |v| match frame.column(v) {
        Some(Column::Number(x)) => x.as_slice(),
        _ => unreachable!("checked by the study"),
    };
    let boolean = |v| match frame.column(v) {
        Some(Column::Bool(x)) => x.as_slice(),
        _ => unreachable!("checked by the study"),
    };

    // Counts, shares, sums: one pass over rows in parallel chunks.
    let threads = rayon::current_num_threads().max(1);
    let chunk = (n / (threads * 2)).max(16 * 1024);
    let new_acc = || Acc {
        persons: vec![0; cells],
        keys: vec![0; cells],
        measures: table
            .measures
            .iter()
            .map(|m| match m.kind {
                MeasureKind::Share(_) => MeasureAcc::Share(
                    vec![0; cells],
                    vec![0; cells],
                    ShareKeys {
                        num: vec![0; cells],
                        den: vec![0; cells],
                    },
                ),
                MeasureKind::Sum(_) | MeasureKind::Mean(_) => MeasureAcc::Sum(
                    vec![0; cells],
                    vec![0; cells],
                    vec![[0; TOP]; cells],
                    vec![0; cells],
                ),
                _ => MeasureAcc::None,
            })
            .collect(),
    };
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(chunk.max(1))
        .map(|s| (s, (s + chunk).min(n)))
        .collect();
    let partial: Vec<Acc> = ranges
        .par_iter()
        .map(|&(from, to)| {
            let mut acc = new_acc();
            let mut anc: Vec<Vec<u32>> = vec![Vec::new(); dims.len()];
            let mut touched: Vec<usize> = Vec::new();
            for row in from..to {
                touched.clear();
                for_each_cell_of_row(row, &mut anc, &mut |c| touched.push(c));
                let key = frame.record_key[row];
                for &c in &touched {
                    acc.persons[c] += 1;
                    acc.keys[c] = acc.keys[c].wrapping_add(key);
                }
                for (m, measure) in table.measures.iter().enumerate() {
                    match (&mut acc.measures[m], measure.kind) {
                        (MeasureAcc::Share(num, den, keys), MeasureKind::Share(v)) => {
                            let b = boolean(v)[row];
                            if b != MISSING_BOOL {
                                for &c in &touched {
                                    den[c] += 1;
                                    keys.den[c] = keys.den[c].wrapping_add(key);
                                    if b == 1 {
                                        num[c] += 1;
                                        keys.num[c] = keys.num[c].wrapping_add(key);
                                    }
                                }
                            }
                        }
                        (
                            MeasureAcc::Sum(sum, cnt, top, filled),
                            MeasureKind::Sum(v) | MeasureKind::Mean(v),
                        ) => {
                            let x = number(v)[row];
                            if x != MISSING_NUMBER {
                                for &c in &touched {
                                    sum[c] += x;
                                    cnt[c] += 1;
                                    push_top(&mut top[c], &mut filled[c], x);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            acc
        })
        .collect();
    let mut total = new_acc();
    for part in partial {
        for c in 0..cells {
            total.persons[c] += part.persons[c];
            total.keys[c] = total.keys[c].wrapping_add(part.keys[c]);
        }
        for (a, b) in total.measures.iter_mut().zip(part.measures) {
            match (a, b) {
                (MeasureAcc::Share(n1, d1, k1), MeasureAcc::Share(n2, d2, k2)) => {
                    for c in 0..cells {
                        n1[c] += n2[c];
                        d1[c] += d2[c];
                        k1.num[c] = k1.num[c].wrapping_add(k2.num[c]);
                        k1.den[c] = k1.den[c].wrapping_add(k2.den[c]);
                    }
                }
                (MeasureAcc::Sum(s1, c1, t1, f1), MeasureAcc::Sum(s2, c2, t2, f2)) => {
                    for c in 0..cells {
                        s1[c] += s2[c];
                        c1[c] += c2[c];
                        for &x in &t2[c][..f2[c] as usize] {
                            push_top(&mut t1[c], &mut f1[c], x);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    let measures = table
        .measures
        .iter()
        .zip(total.measures)
        .map(|(m, acc)| {
            let of = |v: usize| Some(study.variables[v].name.clone());
            let (kind, of, values) = match (m.kind, acc) {
                (MeasureKind::Persons, _) => {
                    ("persons", None, Values::Count(total.persons.clone()))
                }
                (MeasureKind::Households, _) => (
                    "households",
                    None,
                    Values::Count(households(frame, cells, &|row, f| {
                        let mut anc = vec![Vec::new(); dims.len()];
                        for_each_cell_of_row(row, &mut anc, f)
                    })),
                ),
                (MeasureKind::Share(v), MeasureAcc::Share(num, den, keys)) => {
                    ("share", of(v), Values::Share { num, den, keys })
                }
                (MeasureKind::Sum(v), MeasureAcc::Sum(sum, n, top, _)) => (
                    "sum",
                    of(v),
                    Values::Sum {
                        sum,
                        n,
                        mean: false,
                        top,
                    },
                ),
                (MeasureKind::Mean(v), MeasureAcc::Sum(sum, n, top, _)) => (
                    "mean",
                    of(v),
                    Values::Sum {
                        sum,
                        n,
                        mean: true,
                        top,
                    },
                ),
                (MeasureKind::Median(v), _) => {
                    let (median, n) = medians(number(v), cells, &|row, f| {
                        let mut anc = vec![Vec::new(); dims.len()];
                        for_each_cell_of_row(row, &mut anc, f)
                    });
                    ("median", of(v), Values::Median { median, n })
                }
                _ => unreachable!("accumulator matches its measure"),
            };
            MeasureValues {
                name: m.name.clone(),
                kind,
                of,
                values,
            }
        })
        .collect();

    CellTable {
        name: table.name.clone(),
        title: table.title.clone(),
        population: population.name.clone(),
        years: population.years.clone(),
        dimensions: dims,
        shape,
        persons: total.persons,
        record_key_sum: total.keys,
        measures,
    }
}

/// Keeps the `TOP` largest values by absolute value, largest first.
fn push_top(top: &mut [i64; TOP], filled: &mut u8, x: i64) {
    let len = *filled as usize;
    let mut i = len.min(TOP);
    while i > 0 && top[i - 1].unsigned_abs() < x.unsigned_abs() {
        if i < TOP {
            top[i] = top[i - 1];
        }
        i -= 1;
    }
    if i < TOP {
        top[i] = x;
        *filled = (len + 1).min(TOP) as u8;
    }
}

type RowCells<'a> = dyn Fn(usize, &mut dyn FnMut(usize)) + Sync + 'a;

/// Distinct households per cell: rows grouped by household, each household
/// counted once in every cell any of its members contributes to. Runs in
/// parallel over ranges of households.
fn households(frame: &PopulationFrame, cells: usize, row_cells: &RowCells<'_>) -> Vec<u64> {
    let mut rows: Vec<(u64, u32)> = (0..frame.len as u32)
        .filter(|&r| frame.household[r as usize] != NO_HOUSEHOLD)
        .map(|r| (frame.household[r as usize], r))
        .collect();
    rows.par_sort_unstable();
    // Split at household boundaries into a few ranges per thread.
    let parts = rayon::current_num_threads() * 4;
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let mut at = rows.len() * k / parts;
        while at > 0 && at < rows.len() && rows[at].0 == rows[at - 1].0 {
            at += 1;
        }
        if at > *bounds.last().unwrap_or(&0) && at < rows.len() {
            bounds.push(at);
        }
    }
    bounds.push(rows.len());
    bounds
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let mut counts = vec![0u64; cells];
            let mut touched: Vec<usize> = Vec::new();
            let mut i = w[0];
            while i < w[1] {
                let h = rows[i].0;
                touched.clear();
                while i < w[1] && rows[i].0 == h {
                    row_cells(rows[i].1 as usize, &mut |c| touched.push(c));
                    i += 1;
                }
                touched.sort_unstable();
                touched.dedup();
                for &c in &touched {
                    counts[c] += 1;
                }
            }
            counts
        })
        .reduce(
            || vec![0u64; cells],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

/// Median per cell of the rows' values (missing values left out).
fn medians(values: &[i64], cells: usize, row_cells: &RowCells<'_>) -> (Vec<Option<f64>>, Vec<u64>) {
    let mut pairs: Vec<(u32, i64)> = Vec::new();
    for (row, &x) in values.iter().enumerate() {
        if x != MISSING_NUMBER {
            row_cells(row, &mut |c| pairs.push((c as u32, x)));
        }
    }
    pairs.par_sort_unstable();
    let mut median = vec![None; cells];
    let mut n = vec![0u64; cells];
    let mut i = 0;
    while i < pairs.len() {
        let c = pairs[i].0;
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == c {
            j += 1;
        }
        let len = j - i;
        let mid = i + len / 2;
        median[c as usize] = Some(if len % 2 == 1 {
            pairs[mid].1 as f64
        } else {
            (pairs[mid - 1].1 as f64 + pairs[mid].1 as f64) / 2.0
        });
        n[c as usize] = len as u64;
        i = j;
    }
    (median, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_keeps_the_largest_by_absolute_value() {
        let mut top = [0; TOP];
        let mut filled = 0;
        for x in [5, -9, 1, 7, 3] {
            push_top(&mut top, &mut filled, x);
        }
        assert_eq!(filled, 3);
        assert_eq!(top, [-9, 7, 5]);
    }

    #[test]
    fn top_with_fewer_values_than_slots() {
        let mut top = [0; TOP];
        let mut filled = 0;
        push_top(&mut top, &mut filled, 4);
        push_top(&mut top, &mut filled, 10);
        assert_eq!((filled, &top[..2]), (2, &[10, 4][..]));
    }
}
