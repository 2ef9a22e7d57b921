//! Computing one cell table from a population frame.

use rayon::prelude::*;
use reglink_link::study::{Measure, MeasureKind, Study, VarId};
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
    /// The population's definition as data (`source`, `years`, `age`,
    /// `require`), so that a reader can tell two populations apart or one
    /// inside the other; `null` where unknown.
    pub definition: serde_json::Value,
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

/// A population's definition, read from [`CellTable::definition`]: what
/// disclosure control needs to tell whether one population lies inside
/// another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The register whose presence in a year defines it (`eb`, `af`, `lisa`).
    pub source: String,
    /// Its years.
    pub years: Vec<i64>,
    /// Its inclusive age range, if it has one.
    pub age: Option<(i64, i64)>,
    /// The yes/no variables that must be yes, sorted.
    pub require: Vec<String>,
}

impl CellTable {
    /// The population's definition, or `None` where the table carries none
    /// (or one this version cannot read).
    pub fn population_definition(&self) -> Option<Definition> {
        let d = &self.definition;
        let age = match &d["age"] {
            serde_json::Value::Null => None,
            a => Some((a[0].as_i64()?, a[1].as_i64()?)),
        };
        let mut require: Vec<String> = d["require"]
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        require.sort_unstable();
        Some(Definition {
            source: d["source"].as_str()?.to_string(),
            years: d["years"]
                .as_array()?
                .iter()
                .map(serde_json::Value::as_i64)
                .collect::<Option<_>>()?,
            age,
            require,
        })
    }
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

/// Computes table `t` of the study from its population's frame.
pub fn tabulate(study: &Study, frame: &PopulationFrame, t: usize) -> CellTable {
    let table = &study.tables[t];
    let population = &study.populations[table.population];
    let dims = dimensions(study, frame, &table.dimensions);
    let shape = Shape::new(&dims);
    let map = CellMap::new(frame, &table.dimensions, &dims, &shape);
    let total = accumulate(frame, &table.measures, &map);
    let measures = table
        .measures
        .iter()
        .zip(total.measures)
        .map(|(m, acc)| measure_values(study, frame, &map, m, acc, &total.contributors))
        .collect();
    CellTable {
        name: table.name.clone(),
        title: table.title.clone(),
        population: population.name.clone(),
        definition: serde_json::json!({
            "source": population.source.name(),
            "years": population.years,
            "age": population.age.map(|(low, high)| [low, high]),
            "require": population
                .require
                .iter()
                .map(|&v| study.variables[v].name.clone())
                .collect::<Vec<_>>(),
        }),
        years: population.years.clone(),
        dimensions: dims,
        shape,
        persons: total.contributors.persons,
        record_key_sum: total.contributors.keys,
        measures,
    }
}

/// The table's dimensions, one per variable in `vars`: a category's code
/// list, or `no`/`yes`; with `unknown` when a row of the frame has no value.
fn dimensions(study: &Study, frame: &PopulationFrame, vars: &[VarId]) -> Vec<Dimension> {
    vars.iter()
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
        .collect()
}

/// The numbers of variable `v`.
fn number(frame: &PopulationFrame, v: VarId) -> &[i64] {
    match frame.column(v) {
        Some(Column::Number(x)) => x.as_slice(),
        _ => unreachable!("checked by the study"),
    }
}

/// The yes/no values of variable `v`.
fn boolean(frame: &PopulationFrame, v: VarId) -> &[u8] {
    match frame.column(v) {
        Some(Column::Bool(x)) => x.as_slice(),
        _ => unreachable!("checked by the study"),
    }
}

/// Which cells each row of a frame contributes to: its category in every
/// dimension, and every cell over those categories' ancestors.
struct CellMap<'a> {
    dims: &'a [Dimension],
    shape: &'a Shape,
    /// Per dimension, per row: the row's category (missing values in
    /// `unknown`).
    leaf: Vec<Vec<u32>>,
}

impl<'a> CellMap<'a> {
    /// The map of `frame`'s rows into the cells of `dims` (the dimensions of
    /// the variables `vars`).
    fn new(
        frame: &PopulationFrame,
        vars: &[VarId],
        dims: &'a [Dimension],
        shape: &'a Shape,
    ) -> CellMap<'a> {
        let leaf = vars
            .iter()
            .zip(dims)
            .map(|(&v, d)| {
                let unknown = d.unknown.unwrap_or(0);
                match frame.column(v) {
                    Some(Column::Category { values, .. }) => values
                        .iter()
                        .map(|&c| if c == MISSING_CATEGORY { unknown } else { c })
                        .collect(),
                    Some(Column::Bool(values)) => values
                        .iter()
                        .map(|&b| {
                            if b == MISSING_BOOL {
                                unknown
                            } else {
                                u32::from(b)
                            }
                        })
                        .collect(),
                    _ => unreachable!("dimensions are categories or yes/no"),
                }
            })
            .collect();
        CellMap { dims, shape, leaf }
    }

    /// The number of cells.
    fn cells(&self) -> usize {
        self.shape.cells()
    }

    /// Scratch space for [`CellMap::for_each_cell`].
    fn scratch(&self) -> Vec<Vec<u32>> {
        vec![Vec::new(); self.dims.len()]
    }

    /// Calls `f` with every cell `row` contributes to; `anc` is scratch space
    /// from [`CellMap::scratch`].
    fn for_each_cell(&self, row: usize, anc: &mut [Vec<u32>], f: &mut impl FnMut(usize)) {
        for (d, dim) in self.dims.iter().enumerate() {
            dim.ancestors(self.leaf[d][row], &mut anc[d]);
        }
        self.shape.for_each_cell(anc, f);
    }
}

/// The contributors of every cell: their number and the wrapping sum of
/// their record keys (the cell key).
struct Contributors {
    persons: Vec<u64>,
    keys: Vec<u32>,
}

impl Contributors {
    fn new(cells: usize) -> Contributors {
        Contributors {
            persons: vec![0; cells],
            keys: vec![0; cells],
        }
    }

    /// Counts a row with record key `key` in the `touched` cells.
    fn add(&mut self, touched: &[usize], key: u32) {
        for &c in touched {
            self.persons[c] += 1;
            self.keys[c] = self.keys[c].wrapping_add(key);
        }
    }

    fn merge(&mut self, other: &Contributors) {
        for (c, (&n, &k)) in other.persons.iter().zip(&other.keys).enumerate() {
            self.persons[c] += n;
            self.keys[c] = self.keys[c].wrapping_add(k);
        }
    }
}

/// A share's numerator and denominator per cell, with their cell keys.
struct ShareAcc {
    num: Vec<u64>,
    den: Vec<u64>,
    keys: ShareKeys,
}

impl ShareAcc {
    fn new(cells: usize) -> ShareAcc {
        ShareAcc {
            num: vec![0; cells],
            den: vec![0; cells],
            keys: ShareKeys {
                num: vec![0; cells],
                den: vec![0; cells],
            },
        }
    }

    /// Counts a row with value `b` (no, yes or missing) and record key `key`
    /// in the `touched` cells: missing values count in neither part.
    fn add(&mut self, touched: &[usize], b: u8, key: u32) {
        if b == MISSING_BOOL {
            return;
        }
        for &c in touched {
            self.den[c] += 1;
            self.keys.den[c] = self.keys.den[c].wrapping_add(key);
            if b == 1 {
                self.num[c] += 1;
                self.keys.num[c] = self.keys.num[c].wrapping_add(key);
            }
        }
    }

    fn merge(&mut self, other: &ShareAcc) {
        for c in 0..self.num.len() {
            self.num[c] += other.num[c];
            self.den[c] += other.den[c];
            self.keys.num[c] = self.keys.num[c].wrapping_add(other.keys.num[c]);
            self.keys.den[c] = self.keys.den[c].wrapping_add(other.keys.den[c]);
        }
    }
}

/// A sum per cell with its contributors and largest contributions.
struct SumAcc {
    sum: Vec<i64>,
    n: Vec<u64>,
    top: Vec<[i64; TOP]>,
    /// How many entries of `top` are filled.
    filled: Vec<u8>,
}

impl SumAcc {
    fn new(cells: usize) -> SumAcc {
        SumAcc {
            sum: vec![0; cells],
            n: vec![0; cells],
            top: vec![[0; TOP]; cells],
            filled: vec![0; cells],
        }
    }

    /// Adds value `x` to the `touched` cells, unless it is missing.
    fn add(&mut self, touched: &[usize], x: i64) {
        if x == MISSING_NUMBER {
            return;
        }
        for &c in touched {
            self.sum[c] += x;
            self.n[c] += 1;
            push_top(&mut self.top[c], &mut self.filled[c], x);
        }
    }

    fn merge(&mut self, other: &SumAcc) {
        for c in 0..self.sum.len() {
            self.sum[c] += other.sum[c];
            self.n[c] += other.n[c];
            for &x in &other.top[c][..other.filled[c] as usize] {
                push_top(&mut self.top[c], &mut self.filled[c], x);
            }
        }
    }
}

/// What one pass over the rows accumulates for a measure; persons,
/// households and medians are computed apart.
enum MeasureAcc {
    None,
    Share(ShareAcc),
    Sum(SumAcc),
}

/// Accumulators of one chunk of rows.
struct Acc {
    contributors: Contributors,
    measures: Vec<MeasureAcc>,
}

impl Acc {
    fn new(measures: &[Measure], cells: usize) -> Acc {
        Acc {
            contributors: Contributors::new(cells),
            measures: measures
                .iter()
                .map(|m| match m.kind {
                    MeasureKind::Share(_) => MeasureAcc::Share(ShareAcc::new(cells)),
                    MeasureKind::Sum(_) | MeasureKind::Mean(_) => {
                        MeasureAcc::Sum(SumAcc::new(cells))
                    }
                    _ => MeasureAcc::None,
                })
                .collect(),
        }
    }

    /// Adds row `row` of `frame` to the `touched` cells.
    fn add(
        &mut self,
        frame: &PopulationFrame,
        measures: &[Measure],
        row: usize,
        touched: &[usize],
    ) {
        let key = frame.record_key[row];
        self.contributors.add(touched, key);
        for (acc, measure) in self.measures.iter_mut().zip(measures) {
            match (acc, measure.kind) {
                (MeasureAcc::Share(share), MeasureKind::Share(v)) => {
                    share.add(touched, boolean(frame, v)[row], key);
                }
                (MeasureAcc::Sum(sum), MeasureKind::Sum(v) | MeasureKind::Mean(v)) => {
                    sum.add(touched, number(frame, v)[row]);
                }
                _ => {}
            }
        }
    }

    fn merge(&mut self, other: &Acc) {
        self.contributors.merge(&other.contributors);
        for (a, b) in self.measures.iter_mut().zip(&other.measures) {
            match (a, b) {
                (MeasureAcc::Share(a), MeasureAcc::Share(b)) => a.merge(b),
                (MeasureAcc::Sum(a), MeasureAcc::Sum(b)) => a.merge(b),
                _ => {}
            }
        }
    }
}

/// Contributors, shares and sums of every cell: one pass over the rows in
/// parallel chunks, merged in chunk order.
fn accumulate(frame: &PopulationFrame, measures: &[Measure], map: &CellMap<'_>) -> Acc {
    let n = frame.len;
    let cells = map.cells();
    let threads = rayon::current_num_threads().max(1);
    let chunk = (n / (threads * 2)).max(16 * 1024);
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(chunk.max(1))
        .map(|s| (s, (s + chunk).min(n)))
        .collect();
    let partial: Vec<Acc> = ranges
        .par_iter()
        .map(|&(from, to)| {
            let mut acc = Acc::new(measures, cells);
            let mut anc = map.scratch();
            let mut touched: Vec<usize> = Vec::new();
            for row in from..to {
                touched.clear();
                map.for_each_cell(row, &mut anc, &mut |c| touched.push(c));
                acc.add(frame, measures, row, &touched);
            }
            acc
        })
        .collect();
    let mut total = Acc::new(measures, cells);
    for part in &partial {
        total.merge(part);
    }
    total
}

/// The values of measure `m` in every cell, from its accumulator `acc`
/// (households and medians are computed here, from the rows).
fn measure_values(
    study: &Study,
    frame: &PopulationFrame,
    map: &CellMap<'_>,
    m: &Measure,
    acc: MeasureAcc,
    contributors: &Contributors,
) -> MeasureValues {
    let of = |v: usize| Some(study.variables[v].name.clone());
    let (kind, of, values) = match (m.kind, acc) {
        (MeasureKind::Persons, _) => ("persons", None, Values::Count(contributors.persons.clone())),
        (MeasureKind::Households, _) => ("households", None, Values::Count(households(frame, map))),
        (MeasureKind::Share(v), MeasureAcc::Share(ShareAcc { num, den, keys })) => {
            ("share", of(v), Values::Share { num, den, keys })
        }
        (MeasureKind::Sum(v), MeasureAcc::Sum(SumAcc { sum, n, top, .. })) => (
            "sum",
            of(v),
            Values::Sum {
                sum,
                n,
                mean: false,
                top,
            },
        ),
        (MeasureKind::Mean(v), MeasureAcc::Sum(SumAcc { sum, n, top, .. })) => (
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
            let (median, n) = medians(number(frame, v), map);
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

/// Distinct households per cell: rows grouped by household, each household
/// counted once in every cell any of its members contributes to. Runs in
/// parallel over ranges of households.
fn households(frame: &PopulationFrame, map: &CellMap<'_>) -> Vec<u64> {
    let cells = map.cells();
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
            let mut anc = map.scratch();
            let mut touched: Vec<usize> = Vec::new();
            let mut i = w[0];
            while i < w[1] {
                let h = rows[i].0;
                touched.clear();
                while i < w[1] && rows[i].0 == h {
                    map.for_each_cell(rows[i].1 as usize, &mut anc, &mut |c| touched.push(c));
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
fn medians(values: &[i64], map: &CellMap<'_>) -> (Vec<Option<f64>>, Vec<u64>) {
    let cells = map.cells();
    let mut pairs: Vec<(u32, i64)> = Vec::new();
    let mut anc = map.scratch();
    for (row, &x) in values.iter().enumerate() {
        if x != MISSING_NUMBER {
            map.for_each_cell(row, &mut anc, &mut |c| pairs.push((c as u32, x)));
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

    /// A frame of one yes/no variable (variable 0) and one number (1), and
    /// the one dimension of the yes/no variable: no, yes, unknown, total.
    fn frame(yes: &[u8], numbers: &[i64], households: &[u64]) -> (PopulationFrame, Vec<Dimension>) {
        let frame = PopulationFrame {
            len: yes.len(),
            record_key: (0..yes.len() as u32).map(|k| u32::MAX - k).collect(),
            household: households.to_vec(),
            columns: vec![
                (0, Column::Bool(yes.to_vec())),
                (1, Column::Number(numbers.to_vec())),
            ],
        };
        let categories = reglink_link::study::Categories::plain(&["no", "yes"]);
        let dims = vec![Dimension::new(
            "flag",
            &categories,
            yes.contains(&MISSING_BOOL),
        )];
        (frame, dims)
    }

    fn cells_of(map: &CellMap<'_>, row: usize) -> Vec<usize> {
        let mut touched = Vec::new();
        map.for_each_cell(row, &mut map.scratch(), &mut |c| touched.push(c));
        touched
    }

    #[test]
    fn a_row_counts_in_its_category_and_the_total_a_missing_value_in_unknown() {
        let (frame, dims) = frame(&[0, 1, MISSING_BOOL], &[0; 3], &[NO_HOUSEHOLD; 3]);
        let shape = Shape::new(&dims);
        let map = CellMap::new(&frame, &[0], &dims, &shape);
        assert_eq!(map.cells(), 4);
        assert_eq!(cells_of(&map, 0), [0, 3]);
        assert_eq!(cells_of(&map, 1), [1, 3]);
        assert_eq!(cells_of(&map, 2), [2, 3]);
    }

    #[test]
    fn contributors_count_rows_and_sum_their_keys_wrapping() {
        let mut a = Contributors::new(2);
        a.add(&[0, 1], u32::MAX);
        let mut b = Contributors::new(2);
        b.add(&[1], 3);
        a.merge(&b);
        assert_eq!(a.persons, [1, 2]);
        assert_eq!(a.keys, [u32::MAX, 2]);
    }

    #[test]
    fn a_share_counts_yes_over_yes_or_no_and_leaves_missing_out() {
        let mut share = ShareAcc::new(1);
        share.add(&[0], 1, 10);
        share.add(&[0], 0, 20);
        share.add(&[0], MISSING_BOOL, 40);
        let mut other = ShareAcc::new(1);
        other.add(&[0], 1, 100);
        share.merge(&other);
        assert_eq!((share.num[0], share.den[0]), (2, 3));
        assert_eq!((share.keys.num[0], share.keys.den[0]), (110, 130));
    }

    #[test]
    fn a_sum_keeps_its_largest_contributions_across_merged_chunks() {
        let mut first = SumAcc::new(1);
        for x in [4, -20, MISSING_NUMBER] {
            first.add(&[0], x);
        }
        let mut second = SumAcc::new(1);
        for x in [7, 30, 1] {
            second.add(&[0], x);
        }
        first.merge(&second);
        assert_eq!((first.sum[0], first.n[0]), (22, 5));
        assert_eq!((first.top[0], first.filled[0]), ([30, -20, 7], 3));
    }

    #[test]
    fn medians_per_cell_of_odd_and_even_counts() {
        let numbers = [5, 1, MISSING_NUMBER, 3, 8, 2];
        let (frame, dims) = frame(&[1, 1, 1, 1, 0, 0], &numbers, &[NO_HOUSEHOLD; 6]);
        let shape = Shape::new(&dims);
        let map = CellMap::new(&frame, &[0], &dims, &shape);
        let (median, n) = medians(&numbers, &map);
        // Cells: no, yes, total (no unknown).
        assert_eq!(n, [2, 3, 5]);
        assert_eq!(median, [Some(5.0), Some(3.0), Some(3.0)]);
    }

    #[test]
    fn a_household_counts_once_in_every_cell_its_members_touch() {
        let (frame, dims) = frame(&[0, 1, 1, 1, 0], &[0; 5], &[7, 7, 7, 9, NO_HOUSEHOLD]);
        let shape = Shape::new(&dims);
        let map = CellMap::new(&frame, &[0], &dims, &shape);
        // Cells: no, yes, total.
        assert_eq!(households(&frame, &map), [1, 2, 2]);
    }
}
