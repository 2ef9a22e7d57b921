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

use crate::rules::{Flag, at_category, share_dimension};
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
    /// What suppressing each atom costs, by the policy's cost model
    /// ([`crate::Cost::of`]). An atom that several tables share costs the
    /// most it costs in any of them (a margin in one table and an inner
    /// cell in another is priced as the margin), whatever the table order.
    pub cost: Vec<f64>,
    /// Suppressed (primary or secondary).
    pub suppressed: Vec<bool>,
    /// Suppressed because an earlier release hid it (see
    /// [`crate::protect_carrying`]): it stays suppressed whatever the
    /// pattern needs.
    pub carried: Vec<bool>,
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
            cost: Vec::new(),
            suppressed: Vec::new(),
            carried: Vec::new(),
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
    /// Per measure, whether its atoms are only borrowed: a share of the
    /// table's own dimension, whose numerator at a category is that cell's
    /// count or nobody, and at the dimension's total the count at `yes`.
    /// Such a column adds no atoms and no equations, and secondary
    /// suppression does not treat it as a table of its own.
    pub borrowed: Vec<bool>,
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

    fn atom(&mut self, f: usize, key: String, at: Margins, value: f64, width: f64) -> u32 {
        let cost = self.policy.cost.of(value, at.groups, at.totals);
        let family = &mut self.families[f];
        let a = *self.atom_index[f].entry(key).or_insert_with(|| {
            family.value.push(value);
            family.width.push(0.0);
            family.depth.push(at.groups + at.totals);
            family.cost.push(cost);
            family.suppressed.push(false);
            family.carried.push(false);
            family.equations_of.push(Vec::new());
            (family.value.len() - 1) as u32
        });
        // The same atom seen from another table has the same value (both
        // count the same people); the stricter requirement wins.
        debug_assert_eq!(family.value[a as usize], value, "{}", family.name);
        let w = &mut family.width[a as usize];
        *w = w.max(width);
        let c = &mut family.cost[a as usize];
        *c = c.max(cost);
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

/// How many dimensions of a cell are at a group (a county) and how many at
/// their total; the rest are at a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Margins {
    groups: u32,
    totals: u32,
}

/// The key of a cell: its non-total positions, `dimension=code`, sorted;
/// `extra` adds one more (a share's variable at `yes`). Also returns how
/// many dimensions are at a group and how many at their total.
fn cell_key(table: &CellTable, cell: usize, extra: Option<&str>) -> (String, Margins) {
    let mut parts: Vec<String> = Vec::with_capacity(table.dimensions.len() + 1);
    let mut at = Margins {
        groups: 0,
        totals: 0,
    };
    for (d, dim) in table.dimensions.iter().enumerate() {
        let (code, level) = dim.position(table.shape.position(cell, d));
        if code == reglink_tabulate::TOTAL {
            at.totals += 1;
        } else {
            if level > 0 {
                at.groups += 1;
            }
            parts.push(format!("{}={code}", dim.name));
        }
    }
    if let Some(e) = extra {
        parts.push(e.to_string());
    }
    parts.sort_unstable();
    (parts.join("\u{1f}"), at)
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
                    let (key, at) = cell_key(table, c, None);
                    let width = if flags.persons[c] == Flag::Published {
                        0.0
                    } else {
                        count_width(b.policy)
                    };
                    b.atom(f, key, at, table.persons[c] as f64, width)
                })
                .collect();
            b.equations(f, table, &atoms);
            persons = Some((f, atoms));
        }
        let mut measures = Vec::with_capacity(table.measures.len());
        let mut borrowed = vec![false; table.measures.len()];
        for (m, measure) in table.measures.iter().enumerate() {
            let mflags = &flags.measures[m];
            let entry = match (&measure.values, &measure.of) {
                // A count of persons is the persons atom itself.
                (Values::Count(_), _) if measure.kind == "persons" => persons.clone(),
                // A share's numerator is the persons atom with the share's
                // variable at `yes`. In a table that has that variable as a
                // dimension, the numerator at a category is the cell's own
                // count (`yes`) or structurally nobody (`no`: the attacker
                // knows it is 0, so it is no atom, and its share is hidden
                // exactly when the count is); such a column borrows the
                // persons atoms and adds no equations of its own.
                (Values::Share { num, .. }, Some(of)) if scope.counts => {
                    let f = b.family(persons_family.clone());
                    let own = share_dimension(table, Some(of)).zip(persons.as_ref());
                    let extra = format!("{of}=yes");
                    let atoms: Vec<u32> = (0..cells)
                        .map(|c| {
                            if let Some((d, (_, cell_atoms))) = own
                                && at_category(table, c, d)
                            {
                                return cell_atoms[c];
                            }
                            let (key, at) = cell_key(table, c, Some(&extra));
                            let width = if mflags[c] == Flag::Published {
                                0.0
                            } else {
                                count_width(b.policy)
                            };
                            b.atom(f, key, at, num[c] as f64, width)
                        })
                        .collect();
                    if own.is_some() {
                        borrowed[m] = true;
                    } else {
                        b.equations(f, table, &atoms);
                    }
                    Some((f, atoms))
                }
                (Values::Sum { sum, top, .. }, Some(of)) if scope.sums => {
                    let f = b.family(format!("{}/sum:{of}", table.population));
                    let atoms: Vec<u32> = (0..cells)
                        .map(|c| {
                            let (key, at) = cell_key(table, c, None);
                            let width = if mflags[c] == Flag::Published {
                                0.0
                            } else {
                                magnitude_width(b.policy, top[c][0])
                            };
                            b.atom(f, key, at, sum[c] as f64, width)
                        })
                        .collect();
                    b.equations(f, table, &atoms);
                    Some((f, atoms))
                }
                _ => None,
            };
            measures.push(entry);
        }
        out.push(TableAtoms {
            persons,
            measures,
            borrowed,
        });
    }
    Model {
        families: b.families,
        tables: out,
    }
}

#[cfg(test)]
mod tests {
    use reglink_link::study::Categories;
    use reglink_tabulate::{CellTable, Dimension, Shape};

    use super::*;
    use crate::{Cost, CostModel, primary};

    /// A table of persons over `dims` (`(name, categories, rollup in pairs)`),
    /// every inner cell counting `inner` people.
    fn table(dims: &[(&str, usize, bool)], inner: u64) -> CellTable {
        let dims: Vec<Dimension> = dims
            .iter()
            .map(|&(name, n, rollup)| {
                let codes: Vec<String> = (0..n).map(|i| format!("{name}{i}")).collect();
                let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
                let mut cats = Categories::plain(&refs);
                if rollup {
                    cats.group_of = Some((0..n as u32).map(|c| c / 2).collect());
                    cats.groups = (0..n.div_ceil(2)).map(|g| format!("{name}g{g}")).collect();
                }
                Dimension::new(name, &cats, false)
            })
            .collect();
        let shape = Shape::new(&dims);
        let mut persons = vec![0u64; shape.cells()];
        let leaves: usize = dims.iter().map(|d| d.categories.len()).product();
        for leaf in 0..leaves {
            let mut rest = leaf;
            let mut ancestors = vec![Vec::new(); dims.len()];
            for (d, dim) in dims.iter().enumerate().rev() {
                let n = dim.categories.len();
                dim.ancestors((rest % n) as u32, &mut ancestors[d]);
                rest /= n;
            }
            shape.for_each_cell(&ancestors, &mut |c| persons[c] += inner);
        }
        CellTable {
            name: "t".into(),
            title: None,
            population: "p".into(),
            definition: Default::default(),
            years: vec![2023],
            record_key_sum: vec![0; shape.cells()],
            dimensions: dims,
            shape,
            persons,
            measures: Vec::new(),
        }
    }

    /// Each cell's (persons, depth, cost) in `t`, built alone under `cost`.
    fn costs(t: &CellTable, cost: Cost) -> Vec<(u64, u32, f64)> {
        let mut policy = Policy::preset("lenient").unwrap();
        policy.cost = cost;
        let flags = primary(t, &policy);
        let scope = Scope {
            counts: true,
            sums: true,
        };
        let m = build(&[(t, &flags)], &policy, scope);
        let (f, atoms) = m.tables[0].persons.clone().unwrap();
        let f = &m.families[f];
        atoms
            .iter()
            .map(|&a| {
                let a = a as usize;
                (f.value[a] as u64, f.depth[a], f.cost[a])
            })
            .collect()
    }

    /// Group weight 2, total weight 10.
    fn weighted(model: CostModel) -> Cost {
        Cost {
            model,
            group_weight: 2.0,
            total_weight: 10.0,
        }
    }

    #[test]
    fn an_atom_costs_its_value_times_a_weight_per_margin_dimension() {
        // Municipalities m0..m3 in counties mg0 (m0, m1) and mg1, then _T;
        // sex s0, s1, then _T; five people in every inner cell.
        let t = table(&[("m", 4, true), ("s", 2, false)], 5);
        let cell = |m: usize, s: usize| m * 3 + s;
        let c = costs(&t, weighted(CostModel::Value));
        assert_eq!(c[cell(0, 0)], (5, 0, 5.0));
        assert_eq!(c[cell(4, 0)], (10, 1, 20.0)); // a county: × 2
        assert_eq!(c[cell(0, 2)], (10, 1, 100.0)); // both sexes: × 10
        assert_eq!(c[cell(4, 2)], (20, 2, 400.0)); // × 2 × 10
        assert_eq!(c[cell(6, 2)], (40, 2, 4000.0)); // the nation: × 10 × 10

        let c = costs(&t, weighted(CostModel::Cells));
        assert_eq!(c[cell(0, 0)].2, 1.0);
        assert_eq!(c[cell(4, 2)].2, 20.0);
        let c = costs(&t, weighted(CostModel::Log));
        assert_eq!(c[cell(0, 0)].2, 1.0 + 6f64.ln());
        assert_eq!(c[cell(6, 0)].2, (1.0 + 21f64.ln()) * 10.0);
    }

    #[test]
    fn the_default_cost_is_the_value_at_every_level() {
        let t = table(&[("m", 4, true), ("s", 2, false)], 5);
        for (value, _, cost) in costs(&t, Cost::default()) {
            assert_eq!(cost, value as f64);
        }
    }

    #[test]
    fn a_shared_atom_costs_what_it_costs_as_a_margin_in_either_order() {
        // `m=m0` is the sex total of the first table and an inner cell of
        // the second: it is priced as the margin, whichever comes first.
        let by_sex = table(&[("m", 2, false), ("s", 2, false)], 5);
        let alone = table(&[("m", 2, false)], 10);
        let mut policy = Policy::preset("lenient").unwrap();
        policy.cost = weighted(CostModel::Value);
        let (fa, fb) = (primary(&by_sex, &policy), primary(&alone, &policy));
        let scope = Scope {
            counts: true,
            sums: true,
        };
        for tables in [
            [(&by_sex, &fa), (&alone, &fb)],
            [(&alone, &fb), (&by_sex, &fa)],
        ] {
            let m = build(&tables, &policy, scope);
            let i = usize::from(!std::ptr::eq(tables[0].0, &by_sex));
            let (f, atoms) = m.tables[i].persons.clone().unwrap();
            let f = &m.families[f];
            assert_eq!(f.len(), 9, "the second table's cells are shared");
            // m0 at the sex total in by_sex: 10 people, × 10.
            assert_eq!(f.cost[atoms[2] as usize], 100.0);
            // The grand total: 20 people, × 10 × 10.
            assert_eq!(f.cost[atoms[8] as usize], 2000.0);
        }
    }
}
