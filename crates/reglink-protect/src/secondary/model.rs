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
    /// Suppressed whatever the pattern needs: an earlier release hid it
    /// (see [`crate::protect_carrying`]), or no table publishes it (a
    /// difference of nested populations).
    pub carried: Vec<bool>,
    /// A count no table shows: the people one population of the release
    /// keeps and another one inside it does not (see [`nested`]). Its
    /// only equation is `outer = inner + difference`. Differences come after
    /// every atom of a table. Suppressed from the
    /// start, unless the attacker knows it is zero (the same definition
    /// under two names): then it is published, and never suppressed.
    pub difference: Vec<bool>,
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
            difference: Vec::new(),
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

    /// For a difference of nested populations, the outer population's
    /// atom it is part of.
    pub fn outer_of(&self, a: u32) -> Option<u32> {
        if !self.difference[a as usize] {
            return None;
        }
        let e = *self.equations_of[a as usize].first()?;
        Some(self.equations[e as usize].parent)
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
    /// In families of sums of nested populations, per (family, atom key):
    /// how many contributors have a value, and the largest contribution.
    contributors: HashMap<(usize, String), (u64, i64)>,
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
            family.difference.push(false);
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
fn cell_key(
    table: &CellTable,
    names: &[String],
    cell: usize,
    extra: Option<&str>,
) -> (String, Margins) {
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
            parts.push(format!("{}={code}", names[d]));
        }
    }
    if let Some(e) = extra {
        parts.push(e.to_string());
    }
    parts.sort_unstable();
    (parts.join("\u{1f}"), at)
}

/// The name each table's dimensions have in cell keys: their own, except a
/// dimension that is another dimension's groups under another name (a
/// county variable beside a municipality variable that rolls up into
/// counties: no groups of its own, its codes exactly the other's groups),
/// which takes the other's name, so that `county=03` and a municipality
/// table's group `03` are one atom. Variables are the study's, so the
/// rename is decided once for the pair and made in every table with the
/// county dimension (and without the municipality one), whatever its
/// population: nested populations then relate their county cells too. It is
/// made only if, in every population, the tables count the same people in
/// every cell they then share.
fn group_levels(tables: &[&CellTable]) -> Vec<Vec<String>> {
    let mut names: Vec<Vec<String>> = tables
        .iter()
        .map(|t| t.dimensions.iter().map(|d| d.name.clone()).collect())
        .collect();
    let rollups: Vec<&reglink_tabulate::Dimension> = tables
        .iter()
        .flat_map(|t| &t.dimensions)
        .filter(|d| d.group_of.is_some())
        .collect();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for dim in tables.iter().flat_map(|t| &t.dimensions) {
        if dim.group_of.is_some() {
            continue;
        }
        let codes: HashSet<&str> = dim.categories.iter().map(String::as_str).collect();
        for r in &rollups {
            let pair = (dim.name.clone(), r.name.clone());
            if r.name != dim.name
                && r.groups.len() == codes.len()
                && r.groups.iter().all(|g| codes.contains(g.as_str()))
                && !pairs.contains(&pair)
            {
                pairs.push(pair);
            }
        }
    }
    for (from, to) in pairs {
        let mut renamed = names.clone();
        for (t, table) in tables.iter().enumerate() {
            if table.dimensions.iter().any(|d| d.name == to) {
                continue;
            }
            // Renamed once at most (two rollups may share their groups: the
            // EB's and the AF's municipality both roll up into counties).
            if let Some(d) = table.dimensions.iter().position(|d| d.name == from)
                && names[t][d] == from
            {
                renamed[t][d] = to.clone();
            }
        }
        let holds = (0..tables.len())
            .filter(|&t| renamed[t] != names[t])
            .all(|t| same_counts(tables, &renamed, t));
        if holds {
            names = renamed;
        }
    }
    names
}

/// Whether table `t` under the key names `names` counts the same people
/// as every other table of its population in every cell they share.
fn same_counts(tables: &[&CellTable], names: &[Vec<String>], t: usize) -> bool {
    let table = tables[t];
    let mut known: HashMap<String, u64> = HashMap::new();
    for (o, other) in tables.iter().enumerate() {
        if o != t && other.population == table.population {
            for c in 0..other.shape.cells() {
                known
                    .entry(cell_key(other, &names[o], c, None).0)
                    .or_insert(other.persons[c]);
            }
        }
    }
    (0..table.shape.cells()).all(|c| {
        known
            .get(&cell_key(table, &names[t], c, None).0)
            .is_none_or(|&n| n == table.persons[c])
    })
}

/// Whether the population of table `inner` keeps only people the
/// population of table `outer` keeps, by their definitions: the same
/// source and years, an age range inside `outer`'s (or `outer` without
/// one), and at least `outer`'s required variables. Every cell of `inner`
/// then counts a subset of the people of the same cell of `outer`, and
/// their difference (the people in between: aged 65 when one population
/// is 18-64 and the other 18-65) is a count no table shows, but which
/// anyone can compute when both cells are published. A table without a
/// definition is inside nothing. Populations with different years are not
/// related here: a table of several years has the year as a dimension,
/// and its cells at the year total count other people than a one-year
/// population's (relating a one-year population to the wider one's cells
/// in that year is possible, but with the example's hypercube-protected
/// two-year table it hid most of the example's tables).
pub fn nested(inner: &CellTable, outer: &CellTable) -> bool {
    let (Some(i), Some(o)) = (inner.population_definition(), outer.population_definition()) else {
        return false;
    };
    let ages = match (o.age, i.age) {
        (None, _) => true,
        (Some((lo, hi)), Some((a, b))) => lo <= a && b <= hi,
        (Some(_), None) => false,
    };
    i.source == o.source
        && i.years == o.years
        && ages
        && o.require.iter().all(|r| i.require.contains(r))
}

/// Two populations, `inner` inside `outer` ([`nested`]).
struct Pair {
    inner: String,
    outer: String,
    /// Whether the two are inside each other: the same definition under
    /// two names, whose cells the attacker knows to be equal.
    same: bool,
}

/// The populations of a release whose counts are one family: those
/// related by [`nested`], directly or through another. Per population
/// with tables, the name of its family's population part (the members
/// joined by `+`; its own name when it is related to none), and the
/// related `(inner, outer)` pairs. Two definitions inside each other
/// (the same people under two names) are related once.
fn population_groups(tables: &[&CellTable]) -> (HashMap<String, String>, Vec<Pair>) {
    let mut firsts: Vec<&CellTable> = Vec::new();
    for &t in tables {
        if !firsts.iter().any(|f| f.population == t.population) {
            firsts.push(t);
        }
    }
    let n = firsts.len();
    let mut group: Vec<usize> = (0..n).collect();
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let (a, b) = (firsts[i], firsts[j]);
            if i == j || !nested(a, b) || (nested(b, a) && a.population > b.population) {
                continue;
            }
            pairs.push(Pair {
                inner: a.population.clone(),
                outer: b.population.clone(),
                same: nested(b, a),
            });
            let (gi, gj) = (group[i], group[j]);
            for g in &mut group {
                if *g == gj {
                    *g = gi;
                }
            }
        }
    }
    let names = (0..n)
        .map(|i| {
            let mut members: Vec<&str> = (0..n)
                .filter(|&j| group[j] == group[i])
                .map(|j| firsts[j].population.as_str())
                .collect();
            members.sort_unstable();
            (firsts[i].population.clone(), members.join("+"))
        })
        .collect();
    (names, pairs)
}

impl Builder<'_> {
    /// The differences of every nested pair, in every family of its
    /// populations (counts, and each number's sums).
    fn nested(&mut self, group_of: &HashMap<String, String>, pairs: &[Pair]) {
        for pair in pairs {
            let prefix = format!("{}/", group_of[&pair.inner]);
            let families: Vec<usize> = (0..self.families.len())
                .filter(|&f| self.families[f].name.starts_with(&prefix))
                .collect();
            for f in families {
                self.differences(f, pair);
            }
        }
        // `flow::add_differences` relies on differences being last.
        debug_assert!(self.families.iter().all(|f| f.difference.is_sorted()));
    }

    /// The atom of each cell identity that both populations of a nested
    /// pair count: `outer = inner + difference`, with the difference a new
    /// atom, never published, primary when the threshold rule (or the
    /// zeros rule) would flag it as a count of its own.
    ///
    /// In a family of sums, the difference is the sum over the people in
    /// between, primary when fewer of them have a value than the threshold
    /// (or none, under the zeros rule), and then needing the width of a sum
    /// whose largest contribution is the outer cell's largest: the largest
    /// in between is not known, and is at most that. The dominance and p%
    /// rules are not applied to differences (their contributions are not
    /// known either).
    fn differences(&mut self, f: usize, pair: &Pair) {
        let index = &self.atom_index[f];
        let mut shared: Vec<(u32, u32, String, String)> = index
            .iter()
            .filter_map(|(key, &a)| {
                let (population, bare) = key.split_once(POPULATION)?;
                if population != pair.inner {
                    return None;
                }
                let other = format!("{}{POPULATION}{bare}", pair.outer);
                Some((a, *index.get(&other)?, key.clone(), other))
            })
            .collect();
        shared.sort_unstable();
        for (a_inner, a_outer, inner_key, outer_key) in shared {
            let sums = self.contributors.get(&(f, outer_key)).copied();
            let family = &mut self.families[f];
            let value = family.value[a_outer as usize] - family.value[a_inner as usize];
            let (people, width) = match sums {
                Some((n_outer, largest)) => {
                    let n_inner = self.contributors.get(&(f, inner_key)).map_or(0, |c| c.0);
                    (
                        n_outer.saturating_sub(n_inner),
                        magnitude_width(self.policy, largest),
                    )
                }
                None => (value.max(0.0) as u64, count_width(self.policy)),
            };
            let small = crate::rules::threshold::breaks(people, self.policy.threshold)
                || (people == 0 && self.policy.zeros_disclosive);
            // The same definition under two names: the attacker knows the
            // two cells count the same people.
            let known = pair.same && value == 0.0;
            if value < 0.0 {
                family.nonnegative = false;
            }
            let d = family.value.len() as u32;
            family.value.push(value);
            family.width.push(if small && !known { width } else { 0.0 });
            family.depth.push(family.depth[a_outer as usize]);
            family.cost.push(0.0);
            family.suppressed.push(!known);
            family.carried.push(!known);
            family.difference.push(true);
            family.equations_of.push(Vec::new());
            let mut children = vec![a_inner, d];
            children.sort_unstable();
            let eq = Equation {
                parent: a_outer,
                children,
            };
            let e = family.equations.len() as u32;
            for (x, _) in eq.terms() {
                family.equations_of[x as usize].push(e);
            }
            family.equations.push(eq);
        }
    }
}

/// Builds the model of a release from its tables and their primary flags.
///
/// Counts of populations one inside another ([`nested`]) are one family:
/// each cell's atom is keyed by its population too, and every cell
/// identity both count gets the difference as an atom of its own.
pub fn build(tables: &[(&CellTable, &PrimaryFlags)], policy: &Policy, scope: Scope) -> Model {
    let mut b = Builder {
        policy,
        families: Vec::new(),
        family_index: HashMap::new(),
        atom_index: Vec::new(),
        seen_equations: Vec::new(),
        contributors: HashMap::new(),
    };
    let all: Vec<&CellTable> = tables.iter().map(|(t, _)| *t).collect();
    let (group_of, pairs) = population_groups(&all);
    let key_names = group_levels(&all);
    let mut out = Vec::with_capacity(tables.len());
    for (t, &(table, flags)) in tables.iter().enumerate() {
        let names = &key_names[t];
        let cells = table.shape.cells();
        let group = &group_of[&table.population];
        let related = *group != table.population;
        let persons_family = format!("{group}/persons");
        // In a family of several populations, an atom's key names its
        // population as well.
        let keys = |key: String| -> String {
            if related {
                format!("{}{POPULATION}{key}", table.population)
            } else {
                key
            }
        };
        let mut persons = None;
        if scope.counts {
            let f = b.family(persons_family.clone());
            let atoms: Vec<u32> = (0..cells)
                .map(|c| {
                    let (key, at) = cell_key(table, names, c, None);
                    let key = keys(key);
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
                            let (key, at) = cell_key(table, names, c, Some(&extra));
                            let key = keys(key);
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
                (Values::Sum { sum, top, n, .. }, Some(of)) if scope.sums => {
                    let f = b.family(format!("{group}/sum:{of}"));
                    let atoms: Vec<u32> = (0..cells)
                        .map(|c| {
                            let (key, at) = cell_key(table, names, c, None);
                            let key = keys(key);
                            if related {
                                b.contributors.insert((f, key.clone()), (n[c], top[c][0]));
                            }
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
    b.nested(&group_of, &pairs);
    Model {
        families: b.families,
        tables: out,
    }
}

/// Separates an atom's population from its cell key in a family of
/// several populations.
const POPULATION: char = '\u{1e}';

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

    #[test]
    fn a_table_by_county_shares_the_municipality_table_s_groups() {
        let by_municipality = table(&[("m", 4, true), ("s", 2, false)], 5);
        // Counties mg0, mg1: two municipalities of 5 people each per sex.
        let by_county = |shift: u64| {
            let mut t = table(&[("c", 2, false), ("s", 2, false)], 10);
            t.name = "by_county".into();
            t.dimensions[0].categories = vec!["mg0".into(), "mg1".into()];
            // Cells (county, sex) in row-major order: moving `shift` people
            // between them keeps every margin.
            for (c, d) in [
                (0, shift as i64),
                (1, -(shift as i64)),
                (3, -(shift as i64)),
                (4, shift as i64),
            ] {
                t.persons[c] = (t.persons[c] as i64 + d) as u64;
            }
            t
        };
        let atoms = |county: &CellTable| {
            let flags: Vec<PrimaryFlags> = [&by_municipality, county]
                .iter()
                .map(|t| primary(t, &Policy::preset("lenient").unwrap()))
                .collect();
            let model = build(
                &[(&by_municipality, &flags[0]), (county, &flags[1])],
                &Policy::preset("lenient").unwrap(),
                Scope {
                    counts: true,
                    sums: false,
                },
            );
            model.families[0].len()
        };
        // 7 × 3 cells; every cell of the county table is one of them.
        assert_eq!(atoms(&by_county(0)), 21);
        // Counts that differ are other people: six atoms more (the county
        // table's cells at a county).
        assert_eq!(atoms(&by_county(1)), 27);
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
