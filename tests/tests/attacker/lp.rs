//! The attacker's linear program: bounds on every suppressed cell from the margin equations.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};

use crate::bundle::{Bundle, Key, Table};

/// The attacker's system for one population: a variable per distinct
/// suppressed cell, published cells as constants, and every margin equation
/// as `sum(coeff * x) = rhs` (deduplicated).
#[derive(Debug)]
pub struct Lp {
    pub vars: HashMap<Key, usize>,
    /// Per variable, the bounds its flags give (intersected over its tables).
    pub bounds: Vec<(f64, f64)>,
    pub known: HashMap<Key, f64>,
    pub equations: Vec<(Vec<(usize, f64)>, f64)>,
}

impl Lp {
    fn build(bundle: &Bundle, tables: &[&Table]) -> Lp {
        let mut known: HashMap<Key, f64> = HashMap::new();
        for table in tables {
            for cell in &table.cells {
                if let Some(v) = cell.persons {
                    let key = table.key(&cell.codes);
                    if let Some(other) = known.insert(key, v) {
                        assert_eq!(
                            other,
                            v,
                            "{}: {} is published as {v} here and as {other} in another table",
                            table.name,
                            table.describe(cell)
                        );
                    }
                }
            }
        }
        let mut vars: HashMap<Key, usize> = HashMap::new();
        let mut bounds: Vec<(f64, f64)> = Vec::new();
        for table in tables {
            for cell in table.cells.iter().filter(|c| c.persons.is_none()) {
                let key = table.key(&cell.codes);
                if !known.contains_key(&key) {
                    let next = vars.len();
                    let i = *vars.entry(key).or_insert(next);
                    if i == bounds.len() {
                        bounds.push((0.0, f64::INFINITY));
                    }
                    let (lo, hi) = bundle.bounds(&cell.flag);
                    bounds[i] = (bounds[i].0.max(lo), bounds[i].1.min(hi));
                }
            }
        }

        let mut equations = Vec::new();
        let mut seen: HashSet<(Vec<(usize, i64)>, i64)> = HashSet::new();
        for table in tables {
            for cell in &table.cells {
                for (d, dim) in table.dims.iter().enumerate() {
                    let Some(children) = dim.children.get(&cell.codes[d]) else {
                        continue;
                    };
                    // cell - sum(children) = 0, constants moved to the right.
                    let mut terms: BTreeMap<usize, f64> = BTreeMap::new();
                    let mut rhs = 0.0;
                    let mut add = |codes: &[String], coeff: f64| {
                        let key = table.key(codes);
                        if let Some(v) = known.get(&key) {
                            rhs -= coeff * v;
                        } else if let Some(&i) = vars.get(&key) {
                            *terms.entry(i).or_default() += coeff;
                        } else {
                            panic!("{}: no cell {codes:?}", table.name);
                        }
                    };
                    add(&cell.codes, 1.0);
                    for child in children {
                        let mut codes = cell.codes.clone();
                        codes[d].clone_from(child);
                        add(&codes, -1.0);
                    }
                    terms.retain(|_, c| *c != 0.0);
                    if terms.is_empty() {
                        assert!(
                            rhs.abs() < 1e-9,
                            "{}: the published cells under {} along {} do not add up (off by {rhs})",
                            table.name,
                            table.describe(cell),
                            dim.name
                        );
                        continue;
                    }
                    let sign = if terms.values().next() < Some(&0.0) {
                        -1.0
                    } else {
                        1.0
                    };
                    let terms: Vec<(usize, f64)> =
                        terms.into_iter().map(|(i, c)| (i, sign * c)).collect();
                    let rhs = sign * rhs;
                    // Coefficients and counts are whole numbers.
                    let signature = (
                        terms.iter().map(|&(i, c)| (i, c.round() as i64)).collect(),
                        rhs.round() as i64,
                    );
                    if seen.insert(signature) {
                        equations.push((terms, rhs));
                    }
                }
            }
        }
        Lp {
            vars,
            bounds,
            known,
            equations,
        }
    }

    /// The optimum of `x[target]` in `direction`; `None` when unbounded.
    fn optimum(&self, target: usize, direction: OptimizationDirection) -> Option<f64> {
        let mut problem = Problem::new(direction);
        let xs: Vec<_> = (0..self.vars.len())
            .map(|i| problem.add_var(if i == target { 1.0 } else { 0.0 }, self.bounds[i]))
            .collect();
        for (terms, rhs) in &self.equations {
            problem.add_constraint(
                terms.iter().map(|&(i, c)| (xs[i], c)),
                ComparisonOp::Eq,
                *rhs,
            );
        }
        match problem.solve() {
            Ok(SolveOutcome::Solution(solution)) => Some(solution.objective()),
            Err(microlp::Error::Unbounded) => None,
            Ok(SolveOutcome::Interrupted(_)) => panic!("attacker LP interrupted without a limit"),
            Err(e) => panic!("attacker LP failed: {e} (a bundle contradicting its own margins?)"),
        }
    }

    /// The attacker's interval for a cell: `[min, max]`, max infinite when unbounded.
    fn interval(&self, key: &Key) -> (f64, f64) {
        if let Some(&v) = self.known.get(key) {
            return (v, v);
        }
        let target = self.vars[key];
        let min = self
            .optimum(target, OptimizationDirection::Minimize)
            .expect("x >= 0 bounds the minimum");
        let max = self
            .optimum(target, OptimizationDirection::Maximize)
            .unwrap_or(f64::INFINITY);
        (min, max)
    }
}

/// What the attacker learns about one suppressed cell.
#[derive(Debug)]
pub struct Finding {
    pub table: String,
    pub population: String,
    pub key: Key,
    pub cell: String,
    pub flag: String,
    pub min: f64,
    pub max: f64,
}

impl Finding {
    pub fn protected(&self, threshold: f64) -> bool {
        self.max - self.min >= threshold - 1e-6
    }

    /// Pinned to one value.
    pub fn recovered(&self) -> bool {
        self.max - self.min < 1e-6
    }
}

/// The attacker's interval for every distinct suppressed cell of the
/// bundle, each population's tables attacked together.
pub fn attack(bundle: &Bundle) -> Vec<Finding> {
    let populations: BTreeSet<&str> = bundle
        .tables
        .iter()
        .map(|t| t.population.as_str())
        .collect();
    let mut findings = Vec::new();
    for population in populations {
        let tables: Vec<&Table> = bundle
            .tables
            .iter()
            .filter(|t| t.population == population)
            .collect();
        let lp = Lp::build(bundle, &tables);
        let mut done = HashSet::new();
        for table in &tables {
            for cell in &table.cells {
                if cell.persons.is_some() {
                    continue;
                }
                let key = table.key(&cell.codes);
                if !done.insert(key.clone()) {
                    continue;
                }
                let (min, max) = lp.interval(&key);
                findings.push(Finding {
                    table: table.name.clone(),
                    population: population.to_string(),
                    key,
                    cell: table.describe(cell),
                    flag: cell.flag.clone(),
                    min,
                    max,
                });
            }
        }
    }
    findings
}
