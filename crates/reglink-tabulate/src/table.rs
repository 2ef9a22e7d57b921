//! Computing one cell table from a population frame.

use rayon::prelude::*;
use reglink_link::partial::{Decoder, Encoder, PartialError, expect_len};
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

/// Computes table `t` of the study from its population's frame: a
/// [`Tabulation`] given the whole frame at once.
pub fn tabulate(study: &Study, frame: &PopulationFrame, t: usize) -> CellTable {
    let mut tabulation = Tabulation::new(study, t);
    tabulation.add(frame);
    tabulation.finish()
}

/// A table tabulated a group of persons at a time: [`Tabulation::add`] each
/// group's frame of the table's population, then [`Tabulation::finish`].
///
/// The cell table is the same whatever the groups, as long as each person-year
/// is added once. What is kept between groups, per cell of the table:
///
/// - **added up exactly**: contributors, the wrapping sums of their record
///   keys (the cell key), shares' numerators and denominators with their
///   keys, sums and their contributors;
/// - **merged exactly**: the largest contributions of sums (the three
///   largest by absolute value of the union are among the three largest of
///   each part; ties between `x` and `-x` go to `x`, so the order of the
///   parts does not matter);
/// - **not additive, so kept until the end**: a median needs every value, so
///   each value is kept with the one cell at the bottom of the table it
///   belongs to, as a count per distinct (bottom cell, value) (16 bytes,
///   which stop growing once values repeat), and each cell's median is
///   taken at the end from the values under it; a household's members can
///   fall in different groups, so each (household, bottom cell) pair is
///   kept (16 bytes) and every household is counted once in every cell over
///   its pairs at the end.
///
/// Whether a dimension has an `unknown` category depends on whether any
/// person-year lacks a value, which is known only at the end: cells are
/// kept with `unknown` everywhere and the empty `unknown` positions dropped.
pub struct Tabulation<'a> {
    study: &'a Study,
    t: usize,
    /// The table's dimensions, each with an `unknown` category.
    dims: Vec<Dimension>,
    shape: Shape,
    /// Per dimension: whether some person-year had no value.
    missing: Vec<bool>,
    acc: Acc,
    /// (household, bottom cell) of every person-year with a household, when
    /// the table counts households.
    households: Option<Vec<(u64, u32)>>,
    /// Per measure: the values of a median, counted per bottom cell.
    medians: Vec<Runs>,
}

impl std::fmt::Debug for Tabulation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tabulation")
            .field("table", &self.study.tables[self.t].name)
            .field("cells", &self.shape.cells())
            .finish_non_exhaustive()
    }
}

impl<'a> Tabulation<'a> {
    /// Table `t` of `study`, with no person-years yet.
    pub fn new(study: &'a Study, t: usize) -> Tabulation<'a> {
        let table = &study.tables[t];
        let dims: Vec<Dimension> = table
            .dimensions
            .iter()
            .map(|&v| {
                let categories = study.categories(table.population, v);
                Dimension::new(&study.variables[v].name, &categories, true)
            })
            .collect();
        let shape = Shape::new(&dims);
        assert!(
            shape.cells() <= u32::MAX as usize,
            "a table's cells are numbered in 32 bits"
        );
        let counts_households = table
            .measures
            .iter()
            .any(|m| matches!(m.kind, MeasureKind::Households));
        Tabulation {
            study,
            t,
            missing: vec![false; dims.len()],
            acc: Acc::new(&table.measures, shape.cells()),
            households: counts_households.then(Vec::new),
            medians: vec![Runs::default(); table.measures.len()],
            dims,
            shape,
        }
    }

    /// The index of the table's population in the study: whose frames
    /// [`Tabulation::add`] takes.
    pub fn population(&self) -> usize {
        self.study.tables[self.t].population
    }

    /// Adds the person-years of `frame` (a frame of the table's population).
    pub fn add(&mut self, frame: &PopulationFrame) {
        let table = &self.study.tables[self.t];
        let map = CellMap::new(frame, &table.dimensions, &self.dims, &self.shape);
        for (d, &v) in table.dimensions.iter().enumerate() {
            self.missing[d] |= match frame.column(v) {
                Some(Column::Category { values, .. }) => values.contains(&MISSING_CATEGORY),
                Some(Column::Bool(values)) => values.contains(&MISSING_BOOL),
                _ => unreachable!("the population computes its tables' variables"),
            };
        }
        let acc = accumulate(frame, &table.measures, &map);
        self.acc.merge(&acc);
        if let Some(pairs) = self.households.as_mut() {
            // A household's members in this group share a pair: kept once.
            let mut new: Vec<(u64, u32)> = (0..frame.len)
                .filter(|&r| frame.household[r] != NO_HOUSEHOLD)
                .map(|r| (frame.household[r], map.bottom_cell(r)))
                .collect();
            new.par_sort_unstable();
            new.dedup();
            if pairs.is_empty() {
                *pairs = new;
            } else {
                pairs.extend(new);
            }
        }
        for (m, runs) in table.measures.iter().zip(self.medians.iter_mut()) {
            if let MeasureKind::Median(v) = m.kind {
                let x = number(frame, v);
                let pairs = (0..frame.len)
                    .filter(|&r| x[r] != MISSING_NUMBER)
                    .map(|r| (map.bottom_cell(r), x[r]))
                    .collect();
                runs.add(pairs);
            }
        }
    }

    /// Adds what `other` (the same table of the same study, given other
    /// persons) has accumulated: the table of both is the table of all
    /// their person-years, whatever the order of merging.
    pub fn merge(&mut self, other: Tabulation<'_>) {
        assert_eq!(self.t, other.t, "merging two different tables");
        for (a, b) in self.missing.iter_mut().zip(&other.missing) {
            *a |= *b;
        }
        self.acc.merge(&other.acc);
        if let (Some(a), Some(b)) = (self.households.as_mut(), other.households) {
            a.extend(b);
        }
        for (a, b) in self.medians.iter_mut().zip(other.medians) {
            a.absorb(b);
        }
    }

    /// Writes what has been accumulated, to be read back by
    /// [`Tabulation::decode`] and merged (on another machine).
    pub fn encode(self, e: &mut Encoder) {
        e.str(&self.study.tables[self.t].name);
        e.len(self.shape.cells());
        e.len(self.missing.len());
        for &m in &self.missing {
            e.bool(m);
        }
        e.u64s(&self.acc.contributors.persons);
        e.u32s(&self.acc.contributors.keys);
        for m in &self.acc.measures {
            match m {
                MeasureAcc::None => e.u8(0),
                MeasureAcc::Share(a) => {
                    e.u8(1);
                    e.u64s(&a.num);
                    e.u64s(&a.den);
                    e.u32s(&a.keys.num);
                    e.u32s(&a.keys.den);
                }
                MeasureAcc::Sum(a) => {
                    e.u8(2);
                    e.i64s(&a.sum);
                    e.u64s(&a.n);
                    let top: Vec<i64> = a.top.iter().flatten().copied().collect();
                    e.i64s(&top);
                    e.u8s(&a.filled);
                }
            }
        }
        match &self.households {
            None => e.bool(false),
            Some(pairs) => {
                e.bool(true);
                e.u64s(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
                e.u32s(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
            }
        }
        for runs in self.medians {
            let runs = runs.into_runs();
            e.i64s(&runs.iter().map(|r| r.value).collect::<Vec<_>>());
            e.u32s(&runs.iter().map(|r| r.bottom).collect::<Vec<_>>());
            e.u32s(&runs.iter().map(|r| r.count).collect::<Vec<_>>());
        }
    }

    /// Reads table `t` of `study` as [`Tabulation::encode`] wrote it.
    pub fn decode(
        study: &'a Study,
        t: usize,
        d: &mut Decoder<'_>,
    ) -> Result<Tabulation<'a>, PartialError> {
        let mut tab = Tabulation::new(study, t);
        let name = d.str()?;
        if name != study.tables[t].name {
            return Err(PartialError(format!(
                "it holds table {name} where the study has {}: was it linked with another study file?",
                study.tables[t].name
            )));
        }
        let cells = tab.shape.cells();
        let what = format!("table {name}");
        if d.u64()? != cells as u64 || d.u64()? != tab.missing.len() as u64 {
            return Err(PartialError(format!(
                "{what} has another shape than in the study: was it linked with another study file?"
            )));
        }
        for m in tab.missing.iter_mut() {
            *m = d.bool()?;
        }
        tab.acc.contributors.persons = d.u64s_of(cells, &what)?;
        tab.acc.contributors.keys = expect_len(d.u32s()?, cells, &what)?;
        for m in tab.acc.measures.iter_mut() {
            let tag = d.u8()?;
            match (m, tag) {
                (MeasureAcc::None, 0) => {}
                (MeasureAcc::Share(a), 1) => {
                    a.num = d.u64s_of(cells, &what)?;
                    a.den = d.u64s_of(cells, &what)?;
                    a.keys.num = expect_len(d.u32s()?, cells, &what)?;
                    a.keys.den = expect_len(d.u32s()?, cells, &what)?;
                }
                (MeasureAcc::Sum(a), 2) => {
                    a.sum = expect_len(d.i64s()?, cells, &what)?;
                    a.n = d.u64s_of(cells, &what)?;
                    let top = expect_len(d.i64s()?, cells * TOP, &what)?;
                    a.top = top
                        .chunks_exact(TOP)
                        .map(|c| c.try_into().unwrap_or_else(|_| unreachable!("exact")))
                        .collect();
                    a.filled = expect_len(d.u8s()?, cells, &what)?;
                    if a.filled.iter().any(|&f| f as usize > TOP) {
                        return Err(PartialError(format!("{what} has a bad count")));
                    }
                }
                _ => {
                    return Err(PartialError(format!(
                        "{what} has other measures than in the study: was it linked with another study file?"
                    )));
                }
            }
        }
        // Households and medians are kept per bottom cell (a category, or
        // `unknown`, in every dimension): any other cell is a corrupt part.
        let bottom = |c: u32| {
            (c as usize) < cells
                && tab
                    .dims
                    .iter()
                    .enumerate()
                    .all(|(d, dim)| tab.shape.position(c as usize, d) < dim.categories.len())
        };
        let has_households = d.bool()?;
        if has_households != tab.households.is_some() {
            return Err(PartialError(format!(
                "{what} has other measures than in the study: was it linked with another study file?"
            )));
        }
        if has_households {
            let ids = d.u64s()?;
            let bottoms = expect_len(d.u32s()?, ids.len(), &what)?;
            if !bottoms.iter().all(|&b| bottom(b)) {
                return Err(PartialError(format!(
                    "{what} counts a household in a cell that is not a bottom cell"
                )));
            }
            tab.households = Some(ids.into_iter().zip(bottoms).collect());
        }
        for runs in tab.medians.iter_mut() {
            let values = d.i64s()?;
            let bottoms = expect_len(d.u32s()?, values.len(), &what)?;
            let counts = expect_len(d.u32s()?, values.len(), &what)?;
            let read: Vec<Run> = values
                .into_iter()
                .zip(bottoms)
                .zip(counts)
                .map(|((value, bottom), count)| Run {
                    value,
                    bottom,
                    count,
                })
                .collect();
            let ordered = read
                .windows(2)
                .all(|w| (w[0].bottom, w[0].value) <= (w[1].bottom, w[1].value));
            if !ordered || !read.iter().all(|r| bottom(r.bottom) && r.count > 0) {
                return Err(PartialError(format!("{what} has a median out of order")));
            }
            runs.runs = read;
        }
        Ok(tab)
    }

    /// The cell table of every person-year added.
    pub fn finish(self) -> CellTable {
        let Tabulation {
            study,
            t,
            dims,
            shape,
            missing,
            acc,
            households: household_pairs,
            medians: median_pairs,
        } = self;
        let table = &study.tables[t];
        let population = &study.populations[table.population];
        let households = household_pairs.map(|pairs| households(pairs, &dims, &shape));
        let mut households = households.into_iter();
        let Acc {
            contributors,
            measures: accs,
        } = acc;
        let mut measures: Vec<MeasureValues> = table
            .measures
            .iter()
            .zip(accs)
            .zip(median_pairs)
            .map(|((m, acc), pairs)| {
                measure_values(
                    study,
                    m,
                    acc,
                    &contributors,
                    &mut households,
                    pairs,
                    (&dims, &shape),
                )
            })
            .collect();
        let mut persons = contributors.persons;
        let mut record_key_sum = contributors.keys;

        // Drop the `unknown` positions no person-year reached.
        let kept: Vec<Dimension> = table
            .dimensions
            .iter()
            .zip(&missing)
            .map(|(&v, &m)| {
                let categories = study.categories(table.population, v);
                Dimension::new(&study.variables[v].name, &categories, m)
            })
            .collect();
        let kept_shape = Shape::new(&kept);
        if kept_shape.sizes != shape.sizes {
            let from = full_cells(&kept, &kept_shape, &dims, &shape);
            persons = gather(&persons, &from);
            record_key_sum = gather(&record_key_sum, &from);
            for m in &mut measures {
                m.values = m.values.gather(&from);
            }
        }
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
            dimensions: kept,
            shape: kept_shape,
            persons,
            record_key_sum,
            measures,
        }
    }
}

/// For every cell of `kept` (dimensions whose positions are a prefix of
/// `full`'s categories and of its groups, and the total), the same cell of
/// `full`.
fn full_cells(
    kept: &[Dimension],
    kept_shape: &Shape,
    full: &[Dimension],
    shape: &Shape,
) -> Vec<usize> {
    let position_maps: Vec<Vec<usize>> = kept
        .iter()
        .zip(full)
        .map(|(k, f)| {
            (0..k.positions())
                .map(|p| {
                    let (categories, total) = (k.categories.len(), k.positions() - 1);
                    if p < categories {
                        p
                    } else if p < total {
                        f.categories.len() + (p - categories)
                    } else {
                        f.positions() - 1
                    }
                })
                .collect()
        })
        .collect();
    (0..kept_shape.cells())
        .map(|c| {
            position_maps
                .iter()
                .enumerate()
                .map(|(d, map)| map[kept_shape.position(c, d)] * shape.stride(d))
                .sum()
        })
        .collect()
}

/// `values` at the indices `from`.
fn gather<T: Clone>(values: &[T], from: &[usize]) -> Vec<T> {
    from.iter().map(|&c| values[c].clone()).collect()
}

impl Values {
    /// These values at the cells `from` of a larger table.
    fn gather(&self, from: &[usize]) -> Values {
        match self {
            Values::Count(v) => Values::Count(gather(v, from)),
            Values::Share { num, den, keys } => Values::Share {
                num: gather(num, from),
                den: gather(den, from),
                keys: ShareKeys {
                    num: gather(&keys.num, from),
                    den: gather(&keys.den, from),
                },
            },
            Values::Sum { sum, n, mean, top } => Values::Sum {
                sum: gather(sum, from),
                n: gather(n, from),
                mean: *mean,
                top: gather(top, from),
            },
            Values::Median { median, n } => Values::Median {
                median: gather(median, from),
                n: gather(n, from),
            },
        }
    }
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

    /// The cell at the bottom of the table `row` belongs to: its category
    /// in every dimension.
    fn bottom_cell(&self, row: usize) -> u32 {
        self.leaf
            .iter()
            .enumerate()
            .map(|(d, leaf)| leaf[row] as usize * self.shape.stride(d))
            .sum::<usize>() as u32
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

/// The values of measure `m` in every cell, from its accumulator `acc`;
/// households come from `households` (computed once for the table), medians
/// from `runs` (the measure's values counted per bottom cell).
fn measure_values(
    study: &Study,
    m: &Measure,
    acc: MeasureAcc,
    contributors: &Contributors,
    households: &mut impl Iterator<Item = Vec<u64>>,
    runs: Runs,
    (dims, shape): (&[Dimension], &Shape),
) -> MeasureValues {
    let of = |v: usize| Some(study.variables[v].name.clone());
    let (kind, of, values) = match (m.kind, acc) {
        (MeasureKind::Persons, _) => ("persons", None, Values::Count(contributors.persons.clone())),
        (MeasureKind::Households, _) => {
            // Every households measure of a table has the same counts.
            let counts = households
                .next()
                .unwrap_or_else(|| unreachable!("counted in finish"));
            ("households", None, Values::Count(counts))
        }
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
            let (median, n) = medians(runs, dims, shape);
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

/// Keeps the `TOP` largest values by absolute value, largest first; of `x`
/// and `-x`, `x` first, so the result does not depend on the order values
/// come in.
fn push_top(top: &mut [i64; TOP], filled: &mut u8, x: i64) {
    let before = |x: i64, y: i64| (x.unsigned_abs(), x) > (y.unsigned_abs(), y);
    let len = *filled as usize;
    let mut i = len.min(TOP);
    while i > 0 && before(x, top[i - 1]) {
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

/// Calls `f` with every cell over bottom cell `bottom`; `anc` is scratch
/// space, one list per dimension.
fn for_each_cell_over(
    dims: &[Dimension],
    shape: &Shape,
    bottom: u32,
    anc: &mut [Vec<u32>],
    f: &mut impl FnMut(usize),
) {
    for (d, dim) in dims.iter().enumerate() {
        dim.ancestors(shape.position(bottom as usize, d) as u32, &mut anc[d]);
    }
    shape.for_each_cell(anc, f);
}

/// Distinct households per cell, from every (household, bottom cell) pair:
/// each household counted once in every cell any of its members contributes
/// to. Runs in parallel over ranges of households.
fn households(mut pairs: Vec<(u64, u32)>, dims: &[Dimension], shape: &Shape) -> Vec<u64> {
    let cells = shape.cells();
    pairs.par_sort_unstable();
    pairs.dedup();
    // Split at household boundaries into a few ranges per thread.
    let parts = rayon::current_num_threads() * 4;
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let mut at = pairs.len() * k / parts;
        while at > 0 && at < pairs.len() && pairs[at].0 == pairs[at - 1].0 {
            at += 1;
        }
        if at > *bounds.last().unwrap_or(&0) && at < pairs.len() {
            bounds.push(at);
        }
    }
    bounds.push(pairs.len());
    bounds
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let mut counts = vec![0u64; cells];
            let mut anc = vec![Vec::new(); dims.len()];
            let mut touched: Vec<usize> = Vec::new();
            let mut i = w[0];
            while i < w[1] {
                let h = pairs[i].0;
                touched.clear();
                while i < w[1] && pairs[i].0 == h {
                    for_each_cell_over(dims, shape, pairs[i].1, &mut anc, &mut |c| touched.push(c));
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

/// How many person-years of one bottom cell have one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    value: i64,
    bottom: u32,
    count: u32,
}

/// A median's values so far: runs ordered by (bottom cell, value), one per
/// distinct pair (more only if a count would pass `u32::MAX`), and pairs
/// not yet counted. Values that repeat (days, months, bands of amounts)
/// take the same memory whatever the number of person-years.
#[derive(Debug, Clone, Default)]
struct Runs {
    runs: Vec<Run>,
    /// (bottom cell, value) pairs added since the last merge: merged when
    /// they outnumber the runs (or at the end), so that merging many small
    /// groups does not copy the runs once per group.
    pending: Vec<(u32, i64)>,
}

/// Pairs below this many are not worth a merge yet.
const PENDING_MIN: usize = 1 << 16;

impl Runs {
    /// Adds (bottom cell, value) pairs.
    fn add(&mut self, pairs: Vec<(u32, i64)>) {
        if self.pending.is_empty() {
            self.pending = pairs;
        } else {
            self.pending.extend(pairs);
        }
        if self.pending.len() >= self.runs.len().max(PENDING_MIN) {
            self.merge();
        }
    }

    /// The runs of every pair added.
    fn into_runs(mut self) -> Vec<Run> {
        self.merge();
        self.runs
    }

    /// Adds the runs of `other`.
    fn absorb(&mut self, other: Runs) {
        let theirs = other.into_runs();
        self.merge();
        if self.runs.is_empty() {
            self.runs = theirs;
        } else if !theirs.is_empty() {
            let ours = std::mem::take(&mut self.runs);
            self.runs = merge_runs(ours, theirs);
        }
    }

    /// Counts the pending pairs into the runs.
    fn merge(&mut self) {
        let mut pairs = std::mem::take(&mut self.pending);
        if pairs.is_empty() {
            return;
        }
        pairs.par_sort_unstable();
        let mut new: Vec<Run> = Vec::new();
        for &(bottom, value) in &pairs {
            match new.last_mut() {
                Some(r) if r.bottom == bottom && r.value == value && r.count < u32::MAX => {
                    r.count += 1
                }
                _ => new.push(Run {
                    value,
                    bottom,
                    count: 1,
                }),
            }
        }
        drop(pairs);
        if self.runs.is_empty() {
            self.runs = new;
            return;
        }
        let old = std::mem::take(&mut self.runs);
        self.runs = merge_runs(old, new);
    }
}

/// Two lists of runs ordered by (bottom cell, value) merged into one,
/// adding the counts of equal pairs (up to `u32::MAX` a run).
fn merge_runs(old: Vec<Run>, new: Vec<Run>) -> Vec<Run> {
    let mut merged: Vec<Run> = Vec::with_capacity(old.len() + new.len());
    let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                if (x.bottom, x.value) <= (y.bottom, y.value) {
                    a.next()
                } else {
                    b.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        let Some(run) = next else { break };
        match merged.last_mut() {
            Some(r)
                if r.bottom == run.bottom
                    && r.value == run.value
                    && u64::from(r.count) + u64::from(run.count) <= u64::from(u32::MAX) =>
            {
                r.count += run.count
            }
            _ => merged.push(run),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// Median per cell of the values in `runs`, and their number. Each cell
/// gathers the runs of the bottom cells under it, orders them by value and
/// walks to the middle, in parallel over cells: besides the runs, each
/// thread holds at most one more copy of them (for the total), never a copy
/// per cell over each value as sorting (cell, value) pairs would.
fn medians(runs: Runs, dims: &[Dimension], shape: &Shape) -> (Vec<Option<f64>>, Vec<u64>) {
    let cells = shape.cells();
    let runs = runs.into_runs();
    let mut start = vec![0usize; cells + 1];
    for r in &runs {
        start[r.bottom as usize + 1] += 1;
    }
    for c in 0..cells {
        start[c + 1] += start[c];
    }
    // Per dimension and position: the categories under it.
    let under: Vec<Vec<Vec<u32>>> = dims
        .iter()
        .map(|dim| {
            let mut under = vec![Vec::new(); dim.positions()];
            let mut anc = Vec::new();
            for c in 0..dim.categories.len() as u32 {
                dim.ancestors(c, &mut anc);
                for &p in &anc {
                    under[p as usize].push(c);
                }
            }
            under
        })
        .collect();
    (0..cells)
        .into_par_iter()
        .map_init(
            || (Vec::new(), vec![Vec::new(); dims.len()]),
            |(buf, lists): &mut (Vec<(i64, u32)>, Vec<Vec<u32>>), c| {
                buf.clear();
                for (d, list) in lists.iter_mut().enumerate() {
                    list.clone_from(&under[d][shape.position(c, d)]);
                }
                shape.for_each_cell(lists, &mut |bottom| {
                    buf.extend(
                        runs[start[bottom]..start[bottom + 1]]
                            .iter()
                            .map(|r| (r.value, r.count)),
                    );
                });
                median_of(buf)
            },
        )
        .unzip()
}

/// The median of the values `runs` (value, how many times; reordered) and
/// their number.
fn median_of(runs: &mut [(i64, u32)]) -> (Option<f64>, u64) {
    let n: u64 = runs.iter().map(|&(_, k)| u64::from(k)).sum();
    if n == 0 {
        return (None, 0);
    }
    runs.sort_unstable();
    // The value at 0-based position `i` of the ordered values.
    let at = |i: u64| {
        let mut seen = 0u64;
        for &(value, k) in runs.iter() {
            seen += u64::from(k);
            if seen > i {
                return value;
            }
        }
        unreachable!("i is below the number of values")
    };
    let mid = n / 2;
    let median = if n % 2 == 1 {
        at(mid) as f64
    } else {
        (at(mid - 1) as f64 + at(mid) as f64) / 2.0
    };
    (Some(median), n)
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
    fn top_keeps_the_same_values_whatever_their_order() {
        // 5 and -5 tie by absolute value: 5 is kept first either way.
        for values in [[5, -5, 2, -9], [-9, -5, 2, 5], [2, -5, 5, -9]] {
            let mut top = [0; TOP];
            let mut filled = 0;
            for x in values {
                push_top(&mut top, &mut filled, x);
            }
            assert_eq!(top, [-9, 5, -5], "from {values:?}");
        }
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
        let pairs = (0..frame.len)
            .filter(|&r| numbers[r] != MISSING_NUMBER)
            .map(|r| (map.bottom_cell(r), numbers[r]))
            .collect();
        let mut runs = Runs::default();
        runs.add(pairs);
        let (median, n) = medians(runs, &dims, &shape);
        // Cells: no, yes, total (no unknown).
        assert_eq!(n, [2, 3, 5]);
        assert_eq!(median, [Some(5.0), Some(3.0), Some(3.0)]);
    }

    #[test]
    fn runs_count_repeated_values_across_parts_and_keep_medians_exact() {
        // Values 0-4 in cell 0 and 10-12 in cell 1, in three parts.
        let parts: Vec<Vec<(u32, i64)>> = (0..3)
            .map(|p| {
                (0..50)
                    .map(|i| {
                        if i % 3 == 0 {
                            (1, 10 + (i + p) % 3)
                        } else {
                            (0, (i * 7 + p) % 5)
                        }
                    })
                    .collect()
            })
            .collect();
        let mut runs = Runs::default();
        for part in &parts {
            runs.add(part.clone());
            // Count each part into the runs (as many large groups would).
            runs.merge();
        }
        let runs = runs.into_runs();
        // One run per distinct (cell, value), counts adding up.
        assert_eq!(runs.len(), 5 + 3);
        assert_eq!(runs.iter().map(|r| u64::from(r.count)).sum::<u64>(), 150);
        let sorted = |c: u32| {
            let mut v: Vec<i64> = parts
                .iter()
                .flatten()
                .filter(|p| p.0 == c)
                .map(|p| p.1)
                .collect();
            v.sort_unstable();
            v
        };
        for c in 0..2 {
            let v = sorted(c);
            let mut buf: Vec<(i64, u32)> = runs
                .iter()
                .filter(|r| r.bottom == c)
                .map(|r| (r.value, r.count))
                .collect();
            let k = v.len();
            let expected = if k % 2 == 1 {
                v[k / 2] as f64
            } else {
                (v[k / 2 - 1] as f64 + v[k / 2] as f64) / 2.0
            };
            assert_eq!(median_of(&mut buf), (Some(expected), k as u64));
        }
    }

    #[test]
    fn a_run_never_counts_past_u32_max() {
        let mut runs = Runs {
            runs: vec![Run {
                value: 7,
                bottom: 0,
                count: u32::MAX - 1,
            }],
            pending: Vec::new(),
        };
        runs.add(vec![(0, 7), (0, 7), (0, 7)]);
        let runs = runs.into_runs();
        let counts: Vec<u64> = runs.iter().map(|r| u64::from(r.count)).collect();
        assert_eq!(counts.iter().sum::<u64>(), u64::from(u32::MAX) + 2);
        assert!(runs.iter().all(|r| (r.bottom, r.value) == (0, 7)));
        let mut buf: Vec<(i64, u32)> = runs.iter().map(|r| (r.value, r.count)).collect();
        assert_eq!(median_of(&mut buf), (Some(7.0), u64::from(u32::MAX) + 2));
    }

    #[test]
    fn a_household_counts_once_in_every_cell_its_members_touch() {
        let (frame, dims) = frame(&[0, 1, 1, 1, 0], &[0; 5], &[7, 7, 7, 9, NO_HOUSEHOLD]);
        let shape = Shape::new(&dims);
        let map = CellMap::new(&frame, &[0], &dims, &shape);
        let pairs = (0..frame.len)
            .filter(|&r| frame.household[r] != NO_HOUSEHOLD)
            .map(|r| (frame.household[r], map.bottom_cell(r)))
            .collect();
        // Cells: no, yes, total.
        assert_eq!(households(pairs, &dims, &shape), [1, 2, 2]);
    }
}
