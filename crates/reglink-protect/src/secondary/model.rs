//! The additive structure everything published obeys, as an attacker sees it.
//!
//! A *family* is one additive quantity of one population: its persons, or
//! the sum of one number. An *atom* is one value of a family, identified by
//! what it counts: the population plus the non-total categories of the cell
//! (`municipality=0180, sex=women`). Two tables of the same population that
//! both have the cell `municipality=0180` (one with `sex` at `_T`, one
//! without `sex`) therefore share one atom, and a share's numerator is the
//! persons atom with the share's variable at `yes`; this is how margins
//! shared between tables of one release are protected together.
//!
//! An *equation* says a parent atom is the sum of its children: a group is
//! the sum of its categories, a total the sum of its groups (or of its
//! categories without a rollup), along one dimension with every other
//! dimension held fixed. Every equation of every table is in the model once.

use std::collections::{HashMap, HashSet};

use reglink_tabulate::{CellTable, Dimension, Values};

use crate::rules::Flag;
use crate::{Policy, PrimaryFlags};

/// `parent = Σ children`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Equation {
    /// The margin.
    pub parent: u32,
    /// Its parts, sorted.
    pub children: Vec<u32>,
}

impl Equation {
    /// Every atom of the equation with its coefficient in `parent - Σ children = 0`.
    pub fn terms(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        std::iter::once((self.parent, 1.0)).chain(self.children.iter().map(|&c| (c, -1.0)))
    }
}

/// One additive quantity of one population.
#[derive(Debug, Clone)]
pub struct Family {
    /// `population/persons` or `population/sum:variable`.
    pub name: String,
    /// Whether every value is known to be at least zero (counts, and sums
    /// of numbers that are never negative).
    pub nonnegative: bool,
    /// True value per atom.
    pub value: Vec<f64>,
    /// Required width of the attacker's interval per atom; zero for atoms
    /// no primary rule flagged.
    pub width: Vec<f64>,
    /// Margin depth per atom (how many dimensions are at a group or total):
    /// suppressing a margin loses more than suppressing an inner cell.
    pub depth: Vec<u32>,
    /// Suppressed (primary or secondary).
    pub suppressed: Vec<bool>,
    /// The equations.
    pub equations: Vec<Equation>,
    /// Per atom, the equations it is in.
    pub equations_of: Vec<Vec<u32>>,
}

impl Family {
    fn new(name: String) -> Family {
        Family {
            name,
            nonnegative: true,
            value: Vec::new(),
            width: Vec::new(),
            depth: Vec::new(),
            suppressed: Vec::new(),
            equations: Vec::new(),
            equations_of: Vec::new(),
        }
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the family has no atoms.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Whether a primary rule flagged atom `a`.
    pub fn is_primary(&self, a: u32) -> bool {
        self.width[a as usize] > 0.0
    }
}

/// Where one table's values live in the model.
#[derive(Debug, Clone)]
pub struct TableAtoms {
    /// Family and atom of each cell's persons, when counts are protected by
    /// suppression.
    pub persons: Option<(usize, Vec<u32>)>,
    /// Per measure: family and atom per cell, for additive measures
    /// protected by suppression.
    pub measures: Vec<Option<(usize, Vec<u32>)>>,
}

/// Every family of a release and where each table's cells are in them.
#[derive(Debug, Clone)]
pub struct Model {
    /// The families.
    pub families: Vec<Family>,
    /// Per table, in the order given.
    pub tables: Vec<TableAtoms>,
}

/// What the model covers: counts (persons and share numerators), sums, or both.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// Persons and share numerators.
    pub counts: bool,
    /// Sums and means.
    pub sums: bool,
}

/// The width a suppressed magnitude cell needs: twice the p% of its largest
/// contribution (p from the policy, 10 without a p% rule), and at least 1.
pub fn magnitude_width(policy: &Policy, largest: i64) -> f64 {
    let p = policy.p_percent.unwrap_or(10.0);
    (2.0 * p / 100.0 * largest.unsigned_abs() as f64).max(1.0)
}

/// The width a suppressed count needs: the threshold, and at least 1.
pub fn count_width(policy: &Policy) -> f64 {
    (policy.threshold as f64).max(1.0)
}

struct Builder<'a> {
    policy: &'a Policy,
    families: Vec<Family>,
    family_index: HashMap<String, usize>,
    atom_index: Vec<HashMap<String, u32>>,
    seen_equations: Vec<HashSet<Equation>>,
}

impl Builder<'_> {
    fn family(&mut self, name: String) -> usize {
        if let Some(&f) = self.family_index.get(&name) {
            return f;
        }
        let f = self.families.len();
        self.family_index.insert(name.clone(), f);
        self.families.push(Family::new(name));
        self.atom_index.push(HashMap::new());
        self.seen_equations.push(HashSet::new());
        f
    }

    fn atom(&mut self, f: usize, key: String, depth: u32, value: f64, width: f64) -> u32 {
        let family = &mut self.families[f];
        let a = *self.atom_index[f].entry(key).or_insert_with(|| {
            family.value.push(value);
            family.width.push(0.0);
            family.depth.push(depth);
            family.suppressed.push(false);
            family.equations_of.push(Vec::new());
            (family.value.len() - 1) as u32
        });
        // The same atom seen from another table has the same value (both
        // count the same people); the stricter requirement wins.
        debug_assert_eq!(family.value[a as usize], value, "{}", family.name);
        let w = &mut family.width[a as usize];
        *w = w.max(width);
        if width > 0.0 {
            family.suppressed[a as usize] = true;
        }
        if value < 0.0 {
            family.nonnegative = false;
        }
        a
    }

    fn equations(&mut self, f: usize, table: &CellTable, atoms: &[u32]) {
        for (parent, children) in table_equations(table) {
            let mut children: Vec<u32> = children.iter().map(|&c| atoms[c]).collect();
            children.sort_unstable();
            let eq = Equation {
                parent: atoms[parent],
                children,
            };
            if self.seen_equations[f].insert(eq.clone()) {
                let family = &mut self.families[f];
                let e = family.equations.len() as u32;
                for (a, _) in eq.terms() {
                    family.equations_of[a as usize].push(e);
                }
                family.equations.push(eq);
            }
        }
    }
}

/// Every margin equation of a table as cell indices: `(parent, children)`.
pub fn table_equations(table: &CellTable) -> Vec<(usize, Vec<usize>)> {
    let sizes = &table.shape.sizes;
    let mut strides = vec![1usize; sizes.len()];
    for d in (0..sizes.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * sizes[d + 1];
    }
    let mut out = Vec::new();
    for (d, dim) in table.dimensions.iter().enumerate() {
        let parts = dimension_equations(dim);
        for cell in 0..table.shape.cells() {
            let p = table.shape.position(cell, d);
            for (parent, children) in &parts {
                if *parent == p {
                    let base = cell - p * strides[d];
                    out.push((
                        cell,
                        children.iter().map(|&c| base + c * strides[d]).collect(),
                    ));
                }
            }
        }
    }
    out
}

/// A dimension's equations as positions: each group is the sum of its
/// categories; the total is the sum of the groups (with a rollup) or of the
/// categories.
pub fn dimension_equations(dim: &Dimension) -> Vec<(usize, Vec<usize>)> {
    let n = dim.categories.len();
    let total = dim.positions() - 1;
    match &dim.group_of {
        Some(group_of) => {
            let mut out: Vec<(usize, Vec<usize>)> =
                (0..dim.groups.len()).map(|g| (n + g, Vec::new())).collect();
            for (c, &g) in group_of.iter().enumerate() {
                out[g as usize].1.push(c);
            }
            out.push((total, (n..n + dim.groups.len()).collect()));
            out
        }
        None => vec![(total, (0..n).collect())],
    }
}

/// The key of a cell: its non-total positions, `dimension=code`, sorted;
/// `extra` adds one more (a share's variable at `yes`). Also returns the
/// number of dimensions at a group or total.
fn cell_key(table: &CellTable, cell: usize, extra: Option<&str>) -> (String, u32) {
    let mut parts: Vec<String> = Vec::with_capacity(table.dimensions.len() + 1);
    let mut depth = 0;
    for (d, dim) in table.dimensions.iter().enumerate() {
        let (code, level) = dim.position(table.shape.position(cell, d));
        if level > 0 {
            depth += 1;
        }
        if code != reglink_tabulate::TOTAL {
            parts.push(format!("{}={code}", dim.name));
        }
    }
    if let Some(e) = extra {
        parts.push(e.to_string());
    }
    parts.sort_unstable();
    (parts.join("\u{1f}"), depth)
}

/// Builds the model of a release from its tables and their primary flags.
pub fn build(tables: &[(&CellTable, &PrimaryFlags)], policy: &Policy, scope: Scope) -> Model {
    let mut b = Builder {
        policy,
        families: Vec::new(),
        family_index: HashMap::new(),
        atom_index: Vec::new(),
        seen_equations: Vec::new(),
    };
    let mut out = Vec::with_capacity(tables.len());
    for &(table, flags) in tables {
        let cells = table.shape.cells();
        let persons_family = format!("{}/persons", table.population);
        let mut persons = None;
        if scope.counts {
            let f = b.family(persons_family.clone());
            let atoms: Vec<u32> = (0..cells)
                .map(|c| {
                    let (key, depth) = cell_key(table, c, None);
                    let width = if flags.persons[c] == Flag::Published {
                        0.0
                    } else {
                        count_width(b.policy)
                    };
                    b.atom(f, key, depth, table.persons[c] as f64, width)
                })
                .collect();
            b.equations(f, table, &atoms);
            persons = Some((f, atoms));
        }
        let mut measures = Vec::with_capacity(table.measures.len());
        for (m, measure) in table.measures.iter().enumerate() {
            let mflags = &flags.measures[m];
            let entry = match (&measure.values, &measure.of) {
                // A count of persons is the persons atom itself.
                (Values::Count(_), _) if measure.kind == "persons" => persons.clone(),
                (Values::Share { num, .. }, Some(of)) if scope.counts => {
                    let f = b.family(persons_family.clone());
                    let extra = format!("{of}=yes");
                    let atoms: Vec<u32> = (0..cells)
                        .map(|c| {
                            let (key, depth) = cell_key(table, c, Some(&extra));
                            let width = if mflags[c] == Flag::Published {
                                0.0
                            } else {
                                count_width(b.policy)
                            };
                            b.atom(f, key, depth, num[c] as f64, width)
                        })
                        .collect();
                    b.equations(f, table, &atoms);
                    Some((f, atoms))
                }
                (Values::Sum { sum, top, .. }, Some(of)) if scope.sums => {
                    let f = b.family(format!("{}/sum:{of}", table.population));
                    let atoms: Vec<u32> = (0..cells)
                        .map(|c| {
                            let (key, depth) = cell_key(table, c, None);
                            let width = if mflags[c] == Flag::Published {
                                0.0
                            } else {
                                magnitude_width(b.policy, top[c][0])
                            };
                            b.atom(f, key, depth, sum[c] as f64, width)
                        })
                        .collect();
                    b.equations(f, table, &atoms);
                    Some((f, atoms))
                }
                _ => None,
            };
            measures.push(entry);
        }
        out.push(TableAtoms { persons, measures });
    }
    Model {
        families: b.families,
        tables: out,
    }
}
