//! The attacker's intervals of suppressed counts, rebuilt from the bundle.
//!
//! Per population, every cell of every table is an *atom*, named by its
//! identity (the dimensions not at the total and their codes), so cells of
//! two tables counting the same people are one atom. The equations are the
//! margins of every table. Published atoms are constants; suppressed ones
//! are the unknowns, at least zero. The suppressed atoms fall into
//! connected components through the equations they share.
//!
//! Each suppressed atom gets an interval that contains every value an
//! attacker cannot rule out:
//!
//! - *outer bounds* by propagating intervals through the equations (a part
//!   lies between its margin's bounds minus its siblings' bounds); sound,
//!   but possibly wider than the truth;
//! - the *exact* interval, the least and greatest value over the
//!   component's linear program, for components of at most
//!   [`EXACT_LIMIT`] atoms. Every solution found is itself a table the
//!   attacker cannot rule out, so each solve also widens the *seen* range
//!   of every other atom of the component; an atom whose seen range is
//!   already wide enough needs no solve of its own.
//!
//! The bundle does not say which suppressed cells a rule hid, so the
//! verdict is on what the interval allows (see [`verdict`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use rayon::prelude::*;

use crate::read::{Bundle, Table};
use crate::{Cell, Status};

/// The largest component whose atoms get programs of their own (the exact
/// interval); in a larger one, the spread solves (below) and the outer
/// bounds decide, or the atom is left for review.
pub const EXACT_LIMIT: usize = 400;

/// The largest component that gets the spread solves: a few programs over
/// the whole component whose solutions show most atoms wide enough.
pub const SPREAD_LIMIT: usize = 3000;

/// Round-off allowed in solutions and bounds.
const EPS: f64 = 1e-6;

/// One suppressed count and what the audit found for it.
#[derive(Debug, Clone)]
pub struct Suppressed {
    /// Where it is: every table and row holding the atom.
    pub cells: Vec<Cell>,
    /// The least and greatest value the attacker cannot rule out.
    pub interval: (f64, f64),
    /// How the interval was found.
    pub kind: Kind,
    /// The verdict and its reason.
    pub status: Status,
    /// Why.
    pub reason: String,
}

/// The suppressed counts of one population.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// Its name.
    pub name: String,
    /// Every suppressed atom.
    pub atoms: Vec<Suppressed>,
    /// Published cells of two tables that count the same people but differ,
    /// and suppressed cells published in another table.
    pub conflicts: Vec<(Cell, String)>,
    /// Small counts one earlier release (from a ledger) published and
    /// another hid: given away before this release, so for review.
    pub earlier: Vec<(Cell, String)>,
    /// Linear programs solved.
    pub solves: usize,
    /// The largest component, in atoms.
    pub largest_component: usize,
    /// Published cells of the bundle's own tables whose hiding may settle
    /// what failed, as `(table, row)`: those that share an equation
    /// relating two populations, releases or bandings with a count that
    /// fails, and those that give away a count another table
    /// hides. Empty when nothing failed.
    pub repair: Vec<(String, usize)>,
}

/// `Σ coef · x = rhs` over suppressed atoms (indices into the unknowns).
#[derive(Debug, Clone)]
struct Row {
    terms: Vec<(usize, f64)>,
    rhs: f64,
}

/// Whether population `inner` keeps only people `outer` keeps, by the
/// definitions the tables' descriptions carry: the same source and years,
/// an age range inside the other's (18-64 inside 18-65) or an outer
/// population without an age filter, and every variable `outer` requires
/// required by `inner` too; not the same definition. Periods are not
/// nested this way: a population of several years is tabulated by year, so
/// a narrower period is a slice of the wider one's `year` dimension, which
/// identities do not yet map.
pub fn nested(inner: &serde_json::Value, outer: &serde_json::Value) -> bool {
    if inner["source"].is_null()
        || inner["source"] != outer["source"]
        || inner["years"] != outer["years"]
        || inner == outer
    {
        return false;
    }
    let range = |d: &serde_json::Value| Some((d["age"][0].as_i64()?, d["age"][1].as_i64()?));
    let ages = match (range(inner), range(outer)) {
        (_, None) => outer["age"].is_null(),
        (Some(i), Some(o)) => o.0 <= i.0 && i.1 <= o.1,
        (None, Some(_)) => false,
    };
    let required = |d: &serde_json::Value| -> Option<Vec<String>> {
        d["require"]
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let requires = match (required(inner), required(outer)) {
        (Some(i), Some(o)) => o.iter().all(|r| i.contains(r)),
        _ => false,
    };
    ages && requires
}

/// The years of population `part` when it is population `whole` in the
/// same or fewer years: the same definition (source, age, requirements) and
/// years among `whole`'s (recipients of 2023, and recipients of 2023-2024;
/// or the same definition under two names). Every cell of `part` in a year
/// is then the cell of `whole` with the same codes in that year, and a cell
/// of `part` over all its years the sum of those (the same cell, when the
/// years are the same).
pub fn period_of(part: &serde_json::Value, whole: &serde_json::Value) -> Option<Vec<i64>> {
    let years = |d: &serde_json::Value| -> Option<Vec<i64>> {
        d["years"]
            .as_array()?
            .iter()
            .map(serde_json::Value::as_i64)
            .collect()
    };
    let (mine, theirs) = (years(part)?, years(whole)?);
    let same = !part["source"].is_null()
        && part["source"] == whole["source"]
        && part["age"] == whole["age"]
        && part["require"] == whole["require"];
    (same && mine.iter().all(|y| theirs.contains(y))).then_some(mine)
}

/// Rebuilds and solves every population's system of persons counts. Two
/// populations one of which lies inside the other ([`nested`]), of one
/// release or of two, are solved together: a cell of the outer one is the
/// same cell of the inner one plus the people only the outer definition
/// keeps, a count no table shows, which must be protected like any hidden
/// count. A population that is another in fewer years ([`period_of`]) is
/// solved with it too: its cells are the other's in its years.
pub fn audit(bundle: &Bundle) -> Vec<Population> {
    let mut names: Vec<&str> = bundle
        .tables
        .iter()
        .map(|t| t.population.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let definition = |name: &str| {
        bundle
            .tables
            .iter()
            .find(|t| t.population == name)
            .map(|t| t.definition.clone())
            .unwrap_or_default()
    };
    // Join nested populations (a union-find over the names), of one
    // release or of different releases in a ledger.
    let mut group: Vec<usize> = (0..names.len()).collect();
    let mut pairs = Vec::new();
    let mut periods = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let (da, db) = (definition(a), definition(b));
            let period = period_of(&da, &db);
            if i != j && (nested(&da, &db) || period.is_some()) {
                match period {
                    Some(years) => {
                        let all = period_of(&db, &da).is_some();
                        periods.push((names[i], names[j], years, all));
                    }
                    None => pairs.push((names[i], names[j])),
                }
                let (gi, gj) = (group[i], group[j]);
                for g in &mut group {
                    if *g == gj {
                        *g = gi;
                    }
                }
            }
        }
    }
    let mut groups: Vec<usize> = group.clone();
    groups.sort_unstable();
    groups.dedup();
    groups
        .into_iter()
        .map(|g| {
            let members: Vec<&str> = names
                .iter()
                .zip(&group)
                .filter(|(_, gg)| **gg == g)
                .map(|(n, _)| *n)
                .collect();
            let tables: Vec<&Table> = bundle
                .tables
                .iter()
                .filter(|t| members.contains(&t.population.as_str()))
                .collect();
            // Tables of earlier releases (from a ledger) keep the promise
            // their own policy made: the strictest threshold holds.
            let threshold = tables
                .iter()
                .filter_map(|t| t.policy["threshold"].as_u64())
                .fold(bundle.policy.threshold, u64::max);
            let zeros = bundle.policy.zeros_disclosive
                || tables
                    .iter()
                    .any(|t| t.policy["zeros_disclosive"].as_bool() == Some(true));
            let slices: Vec<(&str, &str)> = pairs
                .iter()
                .filter(|(i, _)| members.contains(i))
                .copied()
                .collect();
            let periods: Vec<Period<'_>> = periods
                .iter()
                .filter(|(i, _, _, _)| members.contains(i))
                .map(|(i, o, y, all)| (*i, *o, y.as_slice(), *all))
                .collect();
            population(
                &members.join("+"),
                &tables,
                (threshold, zeros),
                (&slices, &periods),
            )
        })
        .collect()
}

/// The atoms of a population: per atom, its published value (if any table
/// publishes it) and the cells holding it; per table, the atom of each row.
struct Atoms {
    value: Vec<Option<f64>>,
    cells: Vec<Vec<Cell>>,
    /// Per atom, `(table, row)` of each cell holding it.
    at: Vec<Vec<(usize, usize)>>,
    of_row: Vec<Vec<usize>>,
    conflicts: Vec<(Cell, String)>,
    earlier: Vec<(Cell, String)>,
    /// `(table, row)` of this bundle's published cells that give away a
    /// count another table (of an earlier release) hides.
    repair: Vec<(usize, usize)>,
}

/// The release a table comes from: `#N` for a table of an earlier release
/// the ledger holds (named `#N/TABLE`), empty for the bundle's own.
fn release_of(t: &Table) -> &str {
    if t.name.starts_with('#') {
        t.name.split('/').next().unwrap_or_default()
    } else {
        ""
    }
}

/// Whether a published count is one the policy hides.
fn small(v: f64, threshold: u64, zeros: bool) -> bool {
    (v > EPS && v < threshold as f64 - EPS) || (zeros && v.abs() <= EPS)
}

/// A cell's key among the atoms: its identity, with its population when
/// several populations are solved together.
fn key(t: &Table, row: usize, several: bool) -> Vec<(String, String)> {
    let mut id = t.identity(row);
    if several {
        id.push((String::new(), t.population.clone()));
        id.sort();
    }
    id
}

fn atoms(tables: &[&Table], (threshold, zeros): (u64, bool)) -> Atoms {
    let several = tables.iter().any(|t| t.population != tables[0].population);
    let mut id: HashMap<Vec<(String, String)>, usize> = HashMap::new();
    let mut a = Atoms {
        value: Vec::new(),
        cells: Vec::new(),
        at: Vec::new(),
        of_row: Vec::new(),
        conflicts: Vec::new(),
        earlier: Vec::new(),
        repair: Vec::new(),
    };
    for (ti, t) in tables.iter().enumerate() {
        let persons = &t.columns[0];
        let mut rows = Vec::with_capacity(t.cells());
        for row in 0..t.cells() {
            let cell = Cell::new(t, row);
            let k = *id.entry(key(t, row, several)).or_insert_with(|| {
                a.value.push(None);
                a.cells.push(Vec::new());
                a.at.push(Vec::new());
                a.value.len() - 1
            });
            let published = (!persons.hidden[row])
                .then_some(persons.values[row])
                .flatten();
            let first = a.cells[k].is_empty();
            // Across releases a count one hides and another publishes is
            // known; it gives something away only if it is a small count.
            let across = !first
                && a.at[k]
                    .iter()
                    .all(|&(tj, _)| release_of(tables[tj]) != release_of(t));
            match (first, a.value[k], published, persons.hidden[row]) {
                (true, _, v, _) => a.value[k] = v,
                (false, Some(x), Some(y), _) if (x - y).abs() > EPS => a.conflicts.push((
                    cell.clone(),
                    format!(
                        "counts the same people as {} but publishes {y}, not {x}",
                        a.cells[k][0]
                    ),
                )),
                (false, None, Some(y), _) if across => {
                    if small(y, threshold, zeros) {
                        let why = format!(
                            "suppressed, but {cell}, of another release, counts the same people and publishes {y}, a count the policy hides"
                        );
                        // This release gives it away, or an earlier one did.
                        if release_of(t).is_empty() {
                            a.repair.push((ti, row));
                            a.conflicts.push((a.cells[k][0].clone(), why));
                        } else {
                            a.earlier.push((a.cells[k][0].clone(), why));
                        }
                    }
                    a.value[k] = Some(y);
                }
                (false, None, Some(y), _) => {
                    a.conflicts.push((
                        a.cells[k][0].clone(),
                        format!("suppressed, but {cell} counts the same people and publishes it"),
                    ));
                    a.value[k] = Some(y);
                }
                (false, Some(x), None, true) if across && small(x, threshold, zeros) => {
                    let why = format!(
                        "suppressed, but {}, of another release, counts the same people and publishes {x}, a count the policy hides",
                        a.cells[k][0]
                    );
                    let by_this_release = a.at[k].iter().any(|&(tj, r)| {
                        release_of(tables[tj]).is_empty() && !tables[tj].columns[0].hidden[r]
                    });
                    if by_this_release {
                        a.repair.extend(a.at[k].iter().copied().filter(|&(tj, r)| {
                            release_of(tables[tj]).is_empty() && !tables[tj].columns[0].hidden[r]
                        }));
                        a.conflicts.push((cell.clone(), why));
                    } else {
                        a.earlier.push((cell.clone(), why));
                    }
                }
                // Known from the other release, and not a count the policy hides.
                (false, Some(_), None, true) if across => {}
                (false, Some(_), None, true) => a.conflicts.push((
                    cell.clone(),
                    format!(
                        "suppressed, but {} counts the same people and publishes it",
                        a.cells[k][0]
                    ),
                )),
                _ => {}
            }
            a.cells[k].push(cell);
            a.at[k].push((ti, row));
            rows.push(k);
        }
        a.of_row.push(rows);
    }
    a
}

/// An inclusive range of a banded variable; no upper end for `65+`.
type Range = (i64, Option<i64>);

/// A band's code as an inclusive range: `18-24`, `65+` (no upper end) or
/// `7` (one value).
fn band(code: &str) -> Option<Range> {
    if let Some(low) = code.strip_suffix('+') {
        return Some((low.parse().ok()?, None));
    }
    match code.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (low.parse().ok()?, high.parse().ok()?);
            (low <= high).then_some((low, Some(high)))
        }
        None => code.parse().ok().map(|v| (v, Some(v))),
    }
}

/// The bands among `fine` that tile `coarse` exactly, in order, if any do.
fn tiling<'a>(
    coarse: (i64, Option<i64>),
    fine: &[(&'a str, (i64, Option<i64>))],
) -> Option<Vec<&'a str>> {
    let mut parts: Vec<&(&str, Range)> = fine
        .iter()
        .filter(|(_, (low, high))| {
            *low >= coarse.0
                && match (high, coarse.1) {
                    (_, None) => true,
                    (Some(h), Some(c)) => *h <= c,
                    (None, Some(_)) => false,
                }
        })
        .collect();
    parts.sort_by_key(|p| p.1.0);
    let mut next = coarse.0;
    for (_, (low, high)) in &parts {
        if *low != next {
            return None;
        }
        match high {
            Some(h) => next = h + 1,
            None => next = i64::MAX,
        }
    }
    let end = coarse.1.map_or(i64::MAX, |h| h + 1);
    (parts.len() >= 2 && next == end).then(|| parts.iter().map(|p| p.0).collect())
}

/// Equations that relate tables banding one variable differently (a
/// dimension of the same name whose codes are bands: `18-29` in one table,
/// `18-24` and `25-29` in another, as two releases of a ledger may have
/// them): a band that is exactly the union of the other table's bands
/// counts their sum, the other dimensions alike.
fn refinements(tables: &[&Table], of_row: &[Vec<usize>]) -> Vec<(usize, Vec<usize>)> {
    let several = tables.iter().any(|t| t.population != tables[0].population);
    let mut atom_of: HashMap<Vec<(String, String)>, usize> = HashMap::new();
    for (t, rows) in tables.iter().zip(of_row) {
        for (row, &k) in rows.iter().enumerate() {
            atom_of.entry(key(t, row, several)).or_insert(k);
        }
    }
    let mut out = Vec::new();
    for (ta, (a, rows_a)) in tables.iter().zip(of_row).enumerate() {
        for (tb, b) in tables.iter().enumerate() {
            if ta == tb {
                continue;
            }
            for (da, dim) in a.dimensions.iter().enumerate() {
                let Some(other) = b.dimensions.iter().find(|d| d.name == dim.name) else {
                    continue;
                };
                let fine: Option<Vec<(&str, Range)>> = other
                    .categories
                    .iter()
                    .map(|c| band(&c.code).map(|r| (c.code.as_str(), r)))
                    .collect();
                let Some(fine) = fine else { continue };
                // Per category of `a`, the bands of `b` that tile it.
                let tilings: Vec<Option<Vec<&str>>> = dim
                    .categories
                    .iter()
                    .map(|c| {
                        if fine.iter().any(|(code, _)| *code == c.code) {
                            return None;
                        }
                        band(&c.code).and_then(|r| tiling(r, &fine))
                    })
                    .collect();
                if tilings.iter().all(Option::is_none) {
                    continue;
                }
                for (row, &atom) in rows_a.iter().enumerate() {
                    let Some(Some(parts)) = tilings.get(a.positions(row)[da]) else {
                        continue;
                    };
                    let rest: Vec<(String, String)> = key(a, row, several)
                        .into_iter()
                        .filter(|(d, _)| *d != dim.name)
                        .collect();
                    let children: Option<Vec<usize>> = parts
                        .iter()
                        .map(|code| {
                            let mut id = rest.clone();
                            id.push((dim.name.clone(), (*code).to_string()));
                            id.sort();
                            atom_of.get(&id).copied()
                        })
                        .collect();
                    if let Some(mut children) = children {
                        children.sort_unstable();
                        out.push((atom, children));
                    }
                }
            }
        }
    }
    out
}

/// Every margin equation of every table, once: `(parent, children)`.
fn equations(tables: &[&Table], of_row: &[Vec<usize>]) -> Vec<(usize, Vec<usize>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (t, rows) in tables.iter().zip(of_row) {
        for (_, at, parts) in t.margin_lines() {
            let p = rows[at];
            let mut children: Vec<usize> = parts.iter().map(|&r| rows[r]).collect();
            children.sort_unstable();
            if seen.insert((p, children.clone())) {
                out.push((p, children));
            }
        }
    }
    out
}

/// A cell's identity: the `(dimension, code)` pairs not at the total.
type Identity = Vec<(String, String)>;

/// A population, another it is in the same or fewer years, and its years
/// ([`period_of`]).
/// The fourth field says whether the years are all of the other's.
type Period<'a> = (&'a str, &'a str, &'a [i64], bool);

/// For each `(part, whole, years)` of [`period_of`]: a cell of `part` in
/// a year is the cell of `whole` with the same codes (an equation with one
/// child), and a cell over all of `part`'s years is the sum of `whole`'s
/// cells in each of them, when `whole`'s tables show them all.
fn in_years(
    tables: &[&Table],
    periods: &[Period<'_>],
    of_row: &[Vec<usize>],
) -> Vec<(usize, Vec<usize>)> {
    let mut out = Vec::new();
    for &(part, whole, years, all) in periods {
        let mut of_whole: HashMap<Identity, usize> = HashMap::new();
        for (t, rows) in tables.iter().zip(of_row) {
            if t.population == whole {
                for (row, &k) in rows.iter().enumerate() {
                    of_whole.entry(t.identity(row)).or_insert(k);
                }
            }
        }
        let mut seen = HashSet::new();
        for (t, rows) in tables.iter().zip(of_row) {
            if t.population != part {
                continue;
            }
            for (row, &k) in rows.iter().enumerate() {
                let id = t.identity(row);
                let with_year = |y: String| {
                    let mut v: Identity = id.iter().filter(|(d, _)| d != "year").cloned().collect();
                    v.push(("year".to_string(), y));
                    v.sort();
                    of_whole.get(&v).copied()
                };
                let children: Option<Vec<usize>> = match id.iter().find(|(d, _)| d == "year") {
                    Some((_, y)) => with_year(y.clone()).map(|c| vec![c]),
                    None if all => of_whole.get(&id).map(|&c| vec![c]),
                    None => years.iter().map(|y| with_year(y.to_string())).collect(),
                };
                if let Some(mut children) = children
                    && seen.insert(k)
                {
                    children.sort_unstable();
                    out.push((k, children));
                }
            }
        }
    }
    out
}

/// For each `(inner, outer)` pair of nested populations and each cell
/// identity tables of both show: `outer = inner + d`, where `d`, the
/// people only the outer filter lets in, is a new unknown (a count no
/// table shows) with a cell of its own for the report.
fn differences(
    tables: &[&Table],
    slices: &[(&str, &str)],
    a: &mut Atoms,
    eqs: &mut Vec<(usize, Vec<usize>)>,
) {
    for &(inner, outer) in slices {
        let mut of_identity: HashMap<(bool, Identity), usize> = HashMap::new();
        for (t, rows) in tables.iter().zip(&a.of_row) {
            let side = if t.population == inner {
                false
            } else if t.population == outer {
                true
            } else {
                continue;
            };
            for (row, &k) in rows.iter().enumerate() {
                of_identity.entry((side, t.identity(row))).or_insert(k);
            }
        }
        let mut shared: Vec<(&Identity, usize, usize)> = of_identity
            .iter()
            .filter(|((side, _), _)| !side)
            .filter_map(|((_, id), &k)| of_identity.get(&(true, id.clone())).map(|&o| (id, k, o)))
            .collect();
        shared.sort();
        for (id, k_inner, k_outer) in shared {
            let codes = if id.is_empty() {
                "the grand total".to_string()
            } else {
                id.iter()
                    .map(|(d, c)| format!("{d}={c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            a.value.push(None);
            a.cells.push(vec![Cell {
                table: format!("{outer} minus {inner}"),
                line: 0,
                codes,
            }]);
            a.at.push(Vec::new());
            let slice = a.value.len() - 1;
            let mut children = vec![k_inner, slice];
            children.sort_unstable();
            eqs.push((k_outer, children));
        }
    }
    let mut seen: HashSet<(usize, Vec<usize>)> = eqs.iter().cloned().collect();
    for r in refinements(tables, &a.of_row) {
        if seen.insert(r.clone()) {
            eqs.push(r);
        }
    }
}

/// Dimensions that are another dimension's groups under another name (a
/// table by county, beside a table by municipality that rolls up into
/// counties): a dimension without groups whose codes are exactly the
/// groups of a dimension of another table is renamed after it, so that
/// `county=03` and the municipality table's group `03` are one count,
/// unless a cell both tables publish then disagrees (two variables that
/// happen to share codes, such as counties of the EB and of the AF
/// municipality). Two unrelated dimensions that share their codes and
/// agree wherever both publish would still be related, which only gives the
/// attacker more than it has: the audit may then fail a release it could
/// pass, never the other way round.
fn group_levels(tables: &[&Table]) -> Vec<Table> {
    let mut rollups: Vec<(String, BTreeSet<&str>)> = Vec::new();
    for t in tables {
        for d in &t.dimensions {
            if !d.groups.is_empty() && !rollups.iter().any(|(n, _)| *n == d.name) {
                rollups.push((
                    d.name.clone(),
                    d.groups.iter().map(String::as_str).collect(),
                ));
            }
        }
    }
    // Candidate renames, decided once for the pair of dimensions (they are
    // the study's variables), whatever the population.
    let mut pairs: Vec<(String, String)> = Vec::new();
    for d in tables.iter().flat_map(|t| &t.dimensions) {
        if !d.groups.is_empty() {
            continue;
        }
        let codes: BTreeSet<&str> = d.categories.iter().map(|c| c.code.as_str()).collect();
        for (name, groups) in &rollups {
            let pair = (d.name.clone(), name.clone());
            if *name != d.name && *groups == codes && !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    let mut out: Vec<Table> = tables.iter().map(|&t| t.clone()).collect();
    for (from, to) in pairs {
        let mut renamed = out.clone();
        for t in &mut renamed {
            if t.dimensions.iter().any(|d| d.name == to) {
                continue;
            }
            if let Some(d) = t.dimensions.iter_mut().find(|d| d.name == from) {
                d.name = to.clone();
            }
        }
        // Every published count by population and identity: a renamed cell
        // that disagrees with another table's of the same population counts
        // other people.
        let mut published: HashMap<(&str, Identity), f64> = HashMap::new();
        let mut agrees = true;
        for t in &renamed {
            for (row, v) in t.columns[0].values.iter().enumerate() {
                let Some(v) = v else { continue };
                match published.entry((t.population.as_str(), t.identity(row))) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        agrees &= (e.get() - v).abs() <= EPS;
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(*v);
                    }
                }
            }
        }
        if agrees {
            out = renamed;
        }
    }
    out
}

fn population(
    name: &str,
    tables: &[&Table],
    (threshold, zeros): (u64, bool),
    (slices, periods): (&[(&str, &str)], &[Period<'_>]),
) -> Population {
    let renamed = group_levels(tables);
    let tables: Vec<&Table> = renamed.iter().collect();
    let tables = tables.as_slice();
    let mut a = atoms(tables, (threshold, zeros));
    let mut eqs = equations(tables, &a.of_row);
    let margins = eqs.len();
    differences(tables, slices, &mut a, &mut eqs);
    eqs.extend(in_years(tables, periods, &a.of_row));
    let mut eqs_of: Vec<Vec<usize>> = vec![Vec::new(); a.value.len()];
    for (e, (p, children)) in eqs.iter().enumerate() {
        for &k in std::iter::once(p).chain(children) {
            eqs_of[k].push(e);
        }
    }
    let unknown: Vec<usize> = (0..a.value.len())
        .filter(|&k| a.value[k].is_none())
        .collect();
    let index: HashMap<usize, usize> = unknown.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let rows: Vec<Row> = eqs
        .iter()
        .filter_map(|(p, children)| {
            let mut row = Row {
                terms: Vec::new(),
                rhs: 0.0,
            };
            // One term per unknown: a margin and a part can be one atom (a
            // group coded like one of its categories), and then their
            // coefficients cancel.
            let mut coef_of: std::collections::BTreeMap<usize, f64> = Default::default();
            for (k, coef) in std::iter::once((*p, 1.0)).chain(children.iter().map(|&c| (c, -1.0))) {
                match a.value[k] {
                    Some(v) => row.rhs -= coef * v,
                    None => *coef_of.entry(index[&k]).or_default() += coef,
                }
            }
            row.terms = coef_of.into_iter().filter(|(_, c)| *c != 0.0).collect();
            (!row.terms.is_empty()).then_some(row)
        })
        .collect();
    let outer = propagate(unknown.len(), &rows);
    let components = components(unknown.len(), &rows);
    let largest_component = components.iter().map(Vec::len).max().unwrap_or(0);
    let solved: Vec<_> = components
        .par_iter()
        .map(|c| {
            if c.len() > SPREAD_LIMIT {
                return (Vec::new(), 0);
            }
            let (found, solves, consistent) =
                exact(c, &rows, &outer, (threshold, zeros), c.len() <= EXACT_LIMIT);
            if consistent {
                return (found, solves);
            }
            // No table satisfies the component's equations: every atom of
            // it fails, with an empty interval.
            let none = c.iter().map(|&i| (i, (1.0, 0.0), Kind::Exact)).collect();
            (none, solves)
        })
        .collect();
    let mut interval: Vec<(f64, f64, Kind)> =
        outer.iter().map(|o| (o.0, o.1, Kind::Outer)).collect();
    let mut solves = 0;
    for (found, n) in solved {
        solves += n;
        for (i, iv, kind) in found {
            interval[i] = (iv.0, iv.1, kind);
        }
    }
    // Counts the programs left open may still rise without limit.
    for (i, &k) in unknown.iter().enumerate() {
        if interval[i].2 == Kind::Outer
            && verdict(outer[i].0, outer[i].1, Kind::Outer, threshold, zeros).0 == Status::Review
            && rises_freely(k, tables, &a, &eqs, &eqs_of)
        {
            interval[i] = (outer[i].0, f64::INFINITY, Kind::Inner);
        }
    }
    let atoms: Vec<Suppressed> = unknown
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let (lo, hi, kind) = interval[i];
            let (status, reason) = verdict(lo, hi, kind, threshold, zeros);
            Suppressed {
                cells: a.cells[k].clone(),
                interval: (lo, hi),
                kind,
                status,
                reason,
            }
        })
        .collect();
    let failing: Vec<usize> = unknown
        .iter()
        .zip(&atoms)
        .filter(|(_, s)| s.status == Status::Fail)
        .map(|(&k, _)| k)
        .collect();
    let repair = repairs(tables, &a, (&eqs, &eqs_of, margins), &failing);
    Population {
        name: name.to_string(),
        atoms,
        conflicts: a.conflicts,
        earlier: a.earlier,
        solves,
        largest_component,
        repair,
    }
}

/// `(parent, children)`: the parent atom is the sum of the children.
type Equation = (usize, Vec<usize>);

/// The published cells of the bundle's own tables (not a ledger's) whose
/// hiding may settle the atoms in `failing`, as `(table, row)`; with the
/// cells that publish a count another table hides ([`Atoms::repair`]).
///
/// A failing count that only margins pin down is the engine's to protect.
/// One that an equation relating two tables of different populations,
/// releases or bandings pins down (`18-24 = (18-29) - (25-29)`, or a
/// difference of two populations) is settled by hiding the other side:
/// the published cells of this bundle in those equations. Where those are
/// hidden already (the wider population's cell of a difference), the
/// published cells of this bundle in their margins are named instead, one
/// step out. Hiding them and protecting again ([`crate::BeforeRelease`]'s
/// caller does) repeats until the audit passes or nothing more is named.
fn repairs(
    tables: &[&Table],
    a: &Atoms,
    (eqs, eqs_of, margins): (&[Equation], &[Vec<usize>], usize),
    failing: &[usize],
) -> Vec<(String, usize)> {
    let mut out: BTreeSet<(usize, usize)> = a.repair.iter().copied().collect();
    let atoms_of = |e: usize| std::iter::once(eqs[e].0).chain(eqs[e].1.iter().copied());
    // This bundle's published cells of atom `x`.
    let published = |x: usize| {
        a.at[x]
            .iter()
            .copied()
            .filter(|&(t, row)| {
                release_of(tables[t]).is_empty() && !tables[t].columns[0].hidden[row]
            })
            .collect::<Vec<_>>()
    };
    for &k in failing {
        let relations: Vec<usize> = eqs_of[k]
            .iter()
            .copied()
            .filter(|&e| e >= margins)
            .collect();
        let mut named = false;
        for &e in &relations {
            for x in atoms_of(e).filter(|&x| x != k) {
                for cell in published(x) {
                    named |= out.insert(cell);
                }
            }
        }
        if named {
            continue;
        }
        for &e in &relations {
            for h in atoms_of(e).filter(|&h| h != k && a.value[h].is_none()) {
                for &m in eqs_of[h].iter().filter(|&&m| m < margins) {
                    for x in atoms_of(m) {
                        out.extend(published(x));
                    }
                }
            }
        }
    }
    out.into_iter()
        .map(|(t, row)| (tables[t].name.clone(), row))
        .collect()
}

/// Whether atom `k` can rise without limit: when the atom and every margin
/// above it (in every table holding it: each dimension at the atom's
/// position or one of its groups or the total) are suppressed, adding one
/// to all of them breaks no equation, so no published value bounds it from
/// above. The direction is checked against every equation it touches
/// before it counts.
fn rises_freely(
    k: usize,
    tables: &[&Table],
    a: &Atoms,
    eqs: &[(usize, Vec<usize>)],
    eqs_of: &[Vec<usize>],
) -> bool {
    // A count no table shows (a difference of populations) has no margins.
    if a.at[k].is_empty() {
        return false;
    }
    let mut up: HashSet<usize> = HashSet::new();
    for &(t, row) in &a.at[k] {
        let t_ = tables[t];
        let chains: Vec<Vec<usize>> = t_
            .dimensions
            .iter()
            .zip(t_.positions(row))
            .map(|(d, p)| ancestors(d, p))
            .collect();
        let mut pos: Vec<usize> = chains.iter().map(|c| c[0]).collect();
        let mut idx = vec![0usize; chains.len()];
        loop {
            let atom = a.of_row[t][t_.row(&pos)];
            if a.value[atom].is_some() {
                return false;
            }
            up.insert(atom);
            // Next combination of ancestors, like an odometer.
            let mut d = 0;
            while d < idx.len() {
                idx[d] += 1;
                if idx[d] < chains[d].len() {
                    pos[d] = chains[d][idx[d]];
                    break;
                }
                idx[d] = 0;
                pos[d] = chains[d][0];
                d += 1;
            }
            if d == idx.len() {
                break;
            }
        }
    }
    let y = |atom: usize| f64::from(u8::from(up.contains(&atom)));
    up.iter().flat_map(|&u| &eqs_of[u]).all(|&e| {
        let (p, children) = &eqs[e];
        y(*p) == children.iter().map(|&c| y(c)).sum::<f64>()
    })
}

/// Position `p` of a dimension and the positions above it: its group (if
/// any) and the total.
fn ancestors(d: &crate::read::Dimension, p: usize) -> Vec<usize> {
    let n = d.categories.len();
    let total = d.positions() - 1;
    let mut out = vec![p];
    let group = (p < n)
        .then(|| d.categories[p].group.as_ref())
        .flatten()
        .and_then(|g| d.groups.iter().position(|x| x == g));
    if let Some(gi) = group {
        out.push(n + gi);
    }
    if p != total {
        out.push(total);
    }
    out
}

/// Outer bounds of every unknown by propagation through the rows, until
/// nothing tightens (or a fixed number of passes).
fn propagate(n: usize, rows: &[Row]) -> Vec<(f64, f64)> {
    let mut b = vec![(0.0, f64::INFINITY); n];
    for _ in 0..200 {
        let mut changed = false;
        for row in rows {
            for &(i, ci) in &row.terms {
                // ci · x_i = rhs − Σ_{k≠i} c_k x_k
                let (mut lo, mut hi) = (row.rhs, row.rhs);
                for &(k, ck) in &row.terms {
                    if k == i {
                        continue;
                    }
                    let (a, z) = (ck * b[k].0, ck * b[k].1);
                    lo -= a.max(z);
                    hi -= a.min(z);
                }
                let (lo, hi) = if ci > 0.0 { (lo, hi) } else { (-hi, -lo) };
                if lo > b[i].0 + EPS {
                    b[i].0 = lo;
                    changed = true;
                }
                if hi < b[i].1 - EPS {
                    b[i].1 = hi;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    b
}

/// The connected components of the unknowns through the rows, each sorted.
fn components(n: usize, rows: &[Row]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for row in rows {
        let first = root(&mut parent, row.terms[0].0);
        for &(k, _) in &row.terms[1..] {
            let r = root(&mut parent, k);
            parent[r] = first;
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = by_root.into_values().collect();
    out.sort_unstable();
    out
}

/// How an interval was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// By propagation: the attacker's interval lies inside it.
    Outer,
    /// From two tables consistent with the bundle: the attacker's interval
    /// holds it.
    Inner,
    /// The least and greatest value of the linear program.
    Exact,
}

/// An unknown's interval and how it was found.
type Found = (usize, (f64, f64), Kind);

/// The intervals of the unknowns of component `c` that the outer bounds
/// leave open: inner ones where earlier solutions already span the
/// threshold, else exact ones. Returns them, the number of solves, and
/// whether the component's equations have a solution at all.
fn exact(
    c: &[usize],
    rows: &[Row],
    outer: &[(f64, f64)],
    (threshold, zeros): (u64, bool),
    per_cell: bool,
) -> (Vec<Found>, usize, bool) {
    let local: HashMap<usize, usize> = c.iter().enumerate().map(|(j, &i)| (i, j)).collect();
    let mine: Vec<&Row> = rows
        .iter()
        .filter(|r| local.contains_key(&r.terms[0].0))
        .collect();
    let mut seen: Vec<(f64, f64)> = vec![(f64::INFINITY, f64::NEG_INFINITY); c.len()];
    let mut out = Vec::new();
    let mut solves = 0;
    let need = threshold as f64 - EPS;
    match spread(c, (&mine, &local), outer, (threshold, zeros), &mut seen) {
        Some(n) => solves += n,
        None => return (out, solves + 1, false),
    }
    // Then the cells still open, a batch at a time: each cell's least and
    // greatest value, solved in parallel; their solutions widen what was
    // seen before the next batch is chosen (a fixed batch size keeps the
    // result independent of the number of threads).
    let mut next = 0;
    while next < c.len() {
        let mut batch = Vec::new();
        while next < c.len() && batch.len() < BATCH {
            let (j, i) = (next, c[next]);
            next += 1;
            if verdict(outer[i].0, outer[i].1, Kind::Outer, threshold, zeros).0 != Status::Review {
                continue;
            }
            if seen[j].1 - seen[j].0 >= need {
                out.push((i, seen[j], Kind::Inner));
                continue;
            }
            if per_cell {
                batch.push(j);
            }
        }
        let results: Vec<_> = batch
            .par_iter()
            .map(|&j| {
                let weight = |k: usize| if k == j { 1.0 } else { 0.0 };
                let lo = solve(
                    c.len(),
                    &weight,
                    OptimizationDirection::Minimize,
                    &mine,
                    (&local, None),
                );
                let hi = solve(
                    c.len(),
                    &weight,
                    OptimizationDirection::Maximize,
                    &mine,
                    (&local, None),
                );
                (j, lo, hi)
            })
            .collect();
        for (j, lo, hi) in results {
            solves += 2;
            if matches!(lo, Err(microlp::Error::Infeasible)) {
                return (out, solves, false);
            }
            let ends = match (lo, hi) {
                (Ok(a), Ok(b)) => Some((a[j], b[j], [a, b])),
                (Ok(a), Err(microlp::Error::Unbounded)) => {
                    Some((a[j], f64::INFINITY, [a.clone(), a]))
                }
                _ => None,
            };
            if let Some((lo, hi, points)) = ends {
                for x in &points {
                    for (s, v) in seen.iter_mut().zip(x) {
                        *s = (s.0.min(*v), s.1.max(*v));
                    }
                }
                out.push((c[j], (lo, hi), Kind::Exact));
            }
        }
    }
    (out, solves, true)
}

/// Cells whose own programs are solved in parallel between two looks at
/// what earlier solutions have shown.
const BATCH: usize = 16;

/// The most pairs of solves with random signs before the per-cell ones.
const SPREAD_ROUNDS: usize = 40;

/// A deterministic pseudo-random number for `(round, k)` (splitmix64).
fn mix(round: usize, k: usize) -> u64 {
    let mut z = ((round as u64) << 32 ^ k as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The spread solves: programs over the whole component with objectives
/// of random signs, each solution widening `seen`, after one without an
/// objective or caps. Returns the solves, or `None` when that first one
/// shows the published values contradict each other.
fn spread(
    c: &[usize],
    (mine, local): (&[&Row], &HashMap<usize, usize>),
    outer: &[(f64, f64)],
    (threshold, zeros): (u64, bool),
    seen: &mut [(f64, f64)],
) -> Option<usize> {
    let mut solves = 0;
    let need = threshold as f64 - EPS;
    // Upper bounds for the spread solves, so that none is unbounded: the
    // outer bound, or a bound well above every finite one. Solutions within
    // them are still tables the attacker cannot rule out.
    let top = c
        .iter()
        .map(|&i| outer[i].1)
        .filter(|u| u.is_finite())
        .fold(threshold as f64, f64::max);
    let cap: Vec<f64> = c
        .iter()
        .map(|&i| outer[i].1.min(2.0 * top + threshold as f64))
        .collect();
    let open = |seen: &[(f64, f64)]| {
        c.iter()
            .enumerate()
            .filter(|&(j, &i)| {
                verdict(outer[i].0, outer[i].1, Kind::Outer, threshold, zeros).0 == Status::Review
                    && seen[j].1 - seen[j].0 < need
            })
            .count()
    };
    // A few solves with objectives of random signs first: each solution is
    // a table the attacker cannot rule out, and the cells with a positive
    // sign end high in one, low in the other, so most cells are shown wide
    // enough without a solve of their own.
    // First any solution, without the caps: if there is none, the
    // published values contradict each other.
    solves += 1;
    match solve(
        c.len(),
        &|_| 0.0,
        OptimizationDirection::Minimize,
        mine,
        (local, None),
    ) {
        Ok(x) => {
            for (s, v) in seen.iter_mut().zip(&x) {
                *s = (s.0.min(*v), s.1.max(*v));
            }
        }
        Err(microlp::Error::Infeasible) => return None,
        Err(_) => {}
    }
    let mut before = open(seen);
    for round in 0..SPREAD_ROUNDS {
        if before < 8 {
            break;
        }
        for dir in [
            OptimizationDirection::Minimize,
            OptimizationDirection::Maximize,
        ] {
            solves += 1;
            let weight = |k: usize| if mix(round, k) & 1 == 0 { 1.0 } else { -1.0 };
            if let Ok(x) = solve(c.len(), &weight, dir, mine, (local, Some(&cap))) {
                for (s, v) in seen.iter_mut().zip(&x) {
                    *s = (s.0.min(*v), s.1.max(*v));
                }
            }
        }
        // Stop when a round shows few more cells wide enough.
        let now = open(seen);
        if round > 1 && (before - now) * 200 < before {
            break;
        }
        before = now;
    }
    Some(solves)
}

/// One solve of the component's program with objective `Σ weight(k) x_k`,
/// least or greatest: the whole solution.
fn solve(
    n: usize,
    weight: &dyn Fn(usize) -> f64,
    dir: OptimizationDirection,
    rows: &[&Row],
    (local, cap): (&HashMap<usize, usize>, Option<&[f64]>),
) -> Result<Vec<f64>, microlp::Error> {
    let mut p = Problem::new(dir);
    let vars: Vec<_> = (0..n)
        .map(|k| p.add_var(weight(k), (0.0, cap.map_or(f64::INFINITY, |c| c[k]))))
        .collect();
    for r in rows {
        let expr: Vec<_> = r.terms.iter().map(|&(i, c)| (vars[local[&i]], c)).collect();
        p.add_constraint(expr.as_slice(), ComparisonOp::Eq, r.rhs);
    }
    let solution = p
        .solve()?
        .into_solution()
        .map_err(|_| microlp::Error::InternalError("stopped before an optimum".into()))?;
    Ok(vars.iter().map(|&v| solution.var_value(v)).collect())
}

/// What an interval `[lo, hi]` of a suppressed count allows, when the
/// bundle does not say which cells a rule hid. A count is below the
/// threshold (or a disclosive zero) exactly when a rule had to hide it, and
/// then its interval must be at least `threshold` wide:
///
/// - **pass** when every value in the interval is at least the threshold
///   (hidden only to protect others), or the exact interval is wide enough;
/// - **fail** when every value in it is below the threshold: the cell is
///   certainly a small count, and its interval is narrower than needed;
/// - **review** otherwise: it may be a small count, and then it is too
///   narrowly protected, or the exact interval is not known.
pub fn verdict(lo: f64, hi: f64, kind: Kind, threshold: u64, zeros: bool) -> (Status, String) {
    let t = threshold as f64;
    let a = (lo - EPS).ceil().max(0.0);
    let b = (hi + EPS).floor();
    let range = if hi.is_finite() {
        format!("[{}, {}]", fmt(lo), fmt(hi))
    } else {
        format!("[{}, unbounded)", fmt(lo))
    };
    if a > b {
        return (
            Status::Fail,
            format!("no count is consistent with the published values (interval {range})"),
        );
    }
    let smallest_sensitive = if zeros { 0.0 } else { 1.0 };
    let any_small = a <= t - 1.0 && b >= smallest_sensitive;
    let all_small = b <= t - 1.0 && a >= smallest_sensitive;
    if !any_small {
        return (
            Status::Pass,
            format!("cannot be below the threshold {threshold}: {range}"),
        );
    }
    if all_small {
        return (
            Status::Fail,
            format!(
                "certainly below the threshold {threshold} and only {} wide: {range}",
                fmt(hi - lo)
            ),
        );
    }
    // Counts are whole: the attacker's values run from `a` to `b`.
    if kind != Kind::Outer && b - a >= t {
        return (Status::Pass, format!("at least {threshold} wide: {range}"));
    }
    if kind == Kind::Exact {
        return (
            Status::Review,
            format!(
                "may be below the threshold {threshold}, and then narrower than needed: {range}"
            ),
        );
    }
    (
        Status::Review,
        format!(
            "not decided: the exact program was not solved (its component is too large); outer bounds {range}"
        ),
    )
}

fn fmt(x: f64) -> String {
    if (x - x.round()).abs() < EPS {
        // `+ 0.0` turns -0 into 0.
        format!("{}", x.round() + 0.0)
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_what_the_interval_allows() {
        let v = |lo, hi, kind| verdict(lo, hi, kind, 10, true).0;
        assert_eq!(v(12.0, 15.0, Kind::Exact), Status::Pass, "never small");
        assert_eq!(v(0.0, 10.0, Kind::Exact), Status::Pass, "wide enough");
        assert_eq!(v(0.0, 10.0, Kind::Inner), Status::Pass, "wide enough");
        assert_eq!(v(2.0, 6.0, Kind::Outer), Status::Fail, "always small");
        assert_eq!(v(0.0, 0.0, Kind::Exact), Status::Fail, "a zero given away");
        assert_eq!(v(7.0, 12.0, Kind::Exact), Status::Review, "maybe small");
        assert_eq!(
            v(0.0, 40.0, Kind::Outer),
            Status::Review,
            "outer bounds only"
        );
        assert_eq!(
            verdict(0.0, 0.0, Kind::Exact, 10, false).0,
            Status::Pass,
            "zeros may be published"
        );
        assert_eq!(v(5.0, 4.0, Kind::Exact), Status::Fail, "inconsistent");
    }

    use crate::read::{Category, Column, Dimension, Measure};

    /// A one-dimension table of persons: categories with their groups,
    /// then the groups, then the total, `None` where suppressed.
    fn table(categories: &[(&str, &str)], groups: &[&str], persons: &[Option<f64>]) -> Table {
        let dim = Dimension {
            name: "municipality".into(),
            categories: categories
                .iter()
                .map(|(code, group)| Category {
                    code: code.to_string(),
                    group: Some(group.to_string()),
                })
                .collect(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        assert_eq!(dim.positions(), persons.len());
        Table {
            name: "t".into(),
            population: "p".into(),
            definition: serde_json::Value::Null,
            dimensions: vec![dim],
            total_code: "_T".into(),
            columns: vec![Column {
                measure: Measure {
                    name: "persons".into(),
                    kind: "persons".into(),
                    of: None,
                },
                values: persons.to_vec(),
                hidden: persons.iter().map(Option::is_none).collect(),
                flags: persons
                    .iter()
                    .map(|v| {
                        if v.is_some() {
                            "published"
                        } else {
                            "suppressed"
                        }
                        .into()
                    })
                    .collect(),
            }],
            flag_counts: HashMap::new(),
            policy: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_group_coded_like_its_category_is_one_count() {
        // `unknown` is both a category and its own group: one atom, whose
        // equation cancels; the suppressed pair under group 03 is solved.
        let t = table(
            &[("0311", "03"), ("0380", "03"), ("unknown", "unknown")],
            &["03", "unknown"],
            &[None, None, None, Some(40.0), None, Some(45.0)],
        );
        let p = population("p", &[&t], (10, true), (&[], &[]));
        assert!(p.conflicts.is_empty());
        assert_eq!(p.atoms.len(), 3, "0311, 0380 and unknown");
        let unknown = p
            .atoms
            .iter()
            .find(|a| a.cells.len() == 2)
            .expect("two cells, one atom");
        assert_eq!(unknown.interval, (5.0, 5.0), "45 - 40");
        assert_eq!(unknown.status, Status::Fail);
        let pair: Vec<_> = p.atoms.iter().filter(|a| a.cells.len() == 1).collect();
        assert!(
            pair.iter()
                .all(|a| a.interval == (0.0, 40.0) && a.status == Status::Pass)
        );
    }

    #[test]
    fn published_values_that_contradict_each_other_fail() {
        // 0311 + 0380 = 03 = 20, with 0380 published as 30: no count fits.
        let t = table(
            &[("0311", "03"), ("0380", "03"), ("1280", "12")],
            &["03", "12"],
            &[None, Some(30.0), None, Some(20.0), None, None],
        );
        let p = population("p", &[&t], (3, false), (&[], &[]));
        let fails: Vec<_> = p
            .atoms
            .iter()
            .filter(|a| a.status == Status::Fail)
            .collect();
        assert_eq!(fails.len(), 1, "0311 alone: the others' equations hold");
        assert_eq!(fails[0].cells[0].codes, "municipality=0311");
        assert!(
            fails[0].reason.starts_with("no count is consistent"),
            "{}",
            fails[0].reason
        );
    }

    #[test]
    fn a_table_by_county_is_the_municipality_table_s_groups() {
        // Municipality 0311 (2 people) is hidden with its county 03 and the
        // total; 0380 = 30 is published. A table by county publishes 03 = 32
        // (and hides 12 and its total).
        let by_municipality = table(
            &[
                ("0311", "03"),
                ("0380", "03"),
                ("1280", "12"),
                ("1281", "12"),
            ],
            &["03", "12"],
            &[
                None,
                Some(30.0),
                Some(20.0),
                Some(25.0),
                None,
                Some(45.0),
                None,
            ],
        );
        let county = |codes: [&str; 2]| {
            let mut t = table(
                &[(codes[0], ""), (codes[1], "")],
                &[],
                &[Some(32.0), None, None],
            );
            t.name = "by_county".into();
            t.dimensions[0].name = "county".into();
            for c in &mut t.dimensions[0].categories {
                c.group = None;
            }
            t
        };
        let hidden = |p: &Population| -> Vec<(String, (f64, f64), Status)> {
            p.atoms
                .iter()
                .filter(|a| a.cells.iter().any(|c| c.codes == "municipality=0311"))
                .map(|a| (a.cells[0].codes.clone(), a.interval, a.status))
                .collect()
        };
        // Related: 0311 = 32 - 30 = 2, exactly.
        let related = county(["03", "12"]);
        let p = population("p", &[&by_municipality, &related], (3, false), (&[], &[]));
        assert_eq!(
            hidden(&p),
            [("municipality=0311".to_string(), (2.0, 2.0), Status::Fail)]
        );
        // Codes that are not the groups: nothing relates them, and 0311 stays
        // protected by the municipality table's own pattern.
        let unrelated = county(["03", "13"]);
        let p = population("p", &[&by_municipality, &unrelated], (3, false), (&[], &[]));
        // A county table that disagrees with a group both publish counts
        // other people (counties of another municipality variable): it is
        // not related.
        let mut both = by_municipality.clone();
        both.columns[0].values[4] = Some(32.0);
        let agreeing = group_levels(&[&both, &related]);
        assert_eq!(agreeing[1].dimensions[0].name, "municipality");
        let mut other = related.clone();
        other.columns[0].values[0] = Some(33.0);
        let disagreeing = group_levels(&[&both, &other]);
        assert_eq!(disagreeing[1].dimensions[0].name, "county");
        let found = hidden(&p);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].2, Status::Pass, "{found:?}");
    }

    #[test]
    fn propagation_bounds_a_part_by_its_margin() {
        // x0 + x1 = 7, x1 + x2 = 3.
        let rows = [
            Row {
                terms: vec![(0, 1.0), (1, 1.0)],
                rhs: 7.0,
            },
            Row {
                terms: vec![(1, 1.0), (2, 1.0)],
                rhs: 3.0,
            },
        ];
        let b = propagate(3, &rows);
        assert_eq!(b[1], (0.0, 3.0));
        assert_eq!(b[0], (4.0, 7.0));
        assert_eq!(components(3, &rows), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn bands_tile_a_coarser_band_only_exactly() {
        assert_eq!(band("18-24"), Some((18, Some(24))));
        assert_eq!(band("65+"), Some((65, None)));
        assert_eq!(band("7"), Some((7, Some(7))));
        assert_eq!(band("eb"), None);
        assert_eq!(band("24-18"), None);
        let fine: Vec<(&str, Range)> = ["18-24", "25-29", "30-44", "45+"]
            .iter()
            .map(|c| (*c, band(c).unwrap()))
            .collect();
        assert_eq!(tiling((18, Some(29)), &fine), Some(vec!["18-24", "25-29"]));
        assert_eq!(
            tiling((25, None), &fine),
            Some(vec!["25-29", "30-44", "45+"])
        );
        // A gap, a band that overhangs, or a single band: no relation.
        assert_eq!(tiling((18, Some(30)), &fine), None);
        assert_eq!(tiling((20, Some(29)), &fine), None);
        assert_eq!(tiling((18, Some(24)), &fine), None);
    }

    #[test]
    fn populations_nest_by_their_age_filter_alone() {
        let def = |years: &[i64], age: (i64, i64), require: &[&str]| serde_json::json!({ "source": "eb", "years": years, "age": [age.0, age.1], "require": require });
        let inner = def(&[2023], (18, 64), &[]);
        assert!(nested(&inner, &def(&[2023], (18, 65), &[])));
        assert!(nested(&inner, &def(&[2023], (16, 64), &[])));
        assert!(!nested(&def(&[2023], (18, 65), &[]), &inner));
        assert!(!nested(&inner, &inner));
        // Periods are not nested (a wider period is tabulated by year).
        assert!(!nested(&inner, &def(&[2023, 2024], (18, 64), &[])));
        assert!(!nested(&inner, &def(&[2023, 2024], (18, 65), &[])));
        assert!(!nested(&inner, &def(&[2023], (18, 65), &["af_entry"])));
        // Requiring more keeps fewer people; no age filter keeps every age.
        assert!(nested(&def(&[2023], (18, 64), &["eb_entry"]), &inner));
        assert!(!nested(&inner, &def(&[2023], (18, 64), &["eb_entry"])));
        let everyone =
            serde_json::json!({ "source": "eb", "years": [2023], "age": null, "require": [] });
        assert!(nested(&inner, &everyone) && !nested(&everyone, &inner));
        assert!(!nested(&serde_json::Value::Null, &inner));
    }
}
