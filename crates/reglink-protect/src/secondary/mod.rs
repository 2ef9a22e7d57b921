//! Secondary suppression: hide enough further cells that no primary-
//! suppressed cell can be recovered, exactly or within its protection
//! interval, from everything a release publishes.
//!
//! # Specification
//!
//! The attacker knows every published value of every table of the release,
//! that margins are sums of their parts (municipality -> county -> nation,
//! and every other dimension), that cells of different tables counting the
//! same people are equal, and that counts are non-negative. For every cell a
//! primary rule suppressed, the attacker's feasible interval (the minimum
//! and maximum over all values consistent with that knowledge) must be at
//! least as wide as required:
//!
//! - a count (persons, a share's numerator): the threshold (at least 1);
//! - a sum (also behind a mean): twice p% of the cell's largest contribution
//!   (p from the policy, 10 without a p% rule), at least 1.
//!
//! Cells suppressed only to protect others need no interval of their own.
//!
//! # Method
//!
//! 1. **Fast pattern.** Every equation with exactly one suppressed cell
//!    gives that cell away by subtraction, so a second cell of it is
//!    suppressed: the cheapest one at least as large as the width needed
//!    (inner cells before margins), or the largest when none is. Repeated
//!    until no equation has a lone suppressed cell. This is linear in the
//!    number of equations and scales to tens of thousands of cells.
//! 2. **Verification.** Every primary-suppressed cell is checked with the
//!    attacker's linear program ([`attacker::check`]), over its cube and
//!    the suppressed cells around it, with every other suppressed cell
//!    given to the attacker; passing it implies passing the exact program.
//!    The checks run in parallel.
//! 3. **Repair.** Each cell that fails (a cube cannot reach its width, or
//!    another table's margins pin it) gets one more suppressed partner: the
//!    cheapest cell of its equations at least as large as its width, or
//!    the largest; no equation may then be left with a lone suppressed
//!    cell, which would give it away by subtraction. Only
//!    the cells that failed are checked again. Suppressing more only widens
//!    every interval, so a cell once verified stays protected. This ends,
//!    because every round suppresses at least one more cell or stops with
//!    the cell reported unprotectable.

pub mod attacker;
pub mod audit;
pub mod hypercube;
pub mod model;

use rayon::prelude::*;
use reglink_tabulate::CellTable;

use model::Family;

/// What secondary suppression did to one family.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FamilyReport {
    /// The family (`population/persons`, `population/sum:variable`).
    pub family: String,
    /// Distinct cells (atoms) across the release's tables.
    pub cells: usize,
    /// Suppressed by a primary rule.
    pub primary: usize,
    /// Suppressed by the fast pattern.
    pub secondary_pattern: usize,
    /// Sum of the values of the cells suppressed only to protect others
    /// (information loss; never written to a release, since it is one more
    /// equation about suppressed cells).
    #[serde(skip)]
    pub secondary_value: f64,
    /// Primary cells for which no hypercube reached the width needed.
    pub cubes_short: usize,
    /// Suppressed to repair a failed verification.
    pub secondary_repair: usize,
    /// Verification rounds.
    pub rounds: usize,
    /// Linear programs solved.
    pub lp_solves: u64,
    /// Checks that needed the exact program over a whole component.
    pub exact_checks: u64,
    /// Narrowest attacker interval over the primary cells, relative to the
    /// width each needs (at least 1 when everything is protected).
    pub min_width_ratio: Option<f64>,
    /// Primary cells still not protected (only when nothing more can be
    /// suppressed).
    pub unprotected: usize,
}

/// The cheapest partner among `candidates` for protecting a cell needing
/// `need`: the smallest value at least `need`, else the largest; inner
/// cells before margins; lowest atom last for determinism.
fn best_partner(f: &Family, need: f64, candidates: impl Iterator<Item = u32>) -> Option<u32> {
    candidates
        .filter(|&c| !f.suppressed[c as usize])
        .min_by(|&x, &y| {
            let key = |a: u32| {
                let v = f.value[a as usize].abs();
                let big = v >= need;
                // Sort: big enough first, then smallest big / largest small.
                (!big, if big { v } else { -v }, f.depth[a as usize], a)
            };
            let (kx, ky) = (key(x), key(y));
            kx.0.cmp(&ky.0)
                .then(kx.1.total_cmp(&ky.1))
                .then(kx.2.cmp(&ky.2))
                .then(kx.3.cmp(&ky.3))
        })
}

/// Step 1: suppress a partner in every equation with a lone suppressed cell,
/// starting from the equations in `queue`. Returns how many it suppressed.
fn close(f: &mut Family, mut queue: Vec<u32>) -> usize {
    let mut added = 0;
    while let Some(e) = queue.pop() {
        let eq = &f.equations[e as usize];
        let mut lone = None;
        let mut count = 0;
        for (a, _) in eq.terms() {
            if f.suppressed[a as usize] {
                count += 1;
                lone = Some(a);
            }
        }
        if count != 1 {
            continue;
        }
        let lone = lone.expect("one suppressed atom");
        let need = f.width[lone as usize].max(1.0);
        let members: Vec<u32> = eq.terms().map(|(a, _)| a).collect();
        if let Some(p) = best_partner(f, need, members.into_iter()) {
            f.suppressed[p as usize] = true;
            added += 1;
            queue.extend(f.equations_of[p as usize].iter().copied());
        }
    }
    added
}

/// Step 3: one more partner for a cell that failed verification.
fn repair(f: &mut Family, a: u32) -> Option<u32> {
    let need = f.width[a as usize].max(1.0);
    let own = f.equations_of[a as usize]
        .iter()
        .flat_map(|&e| f.equations[e as usize].terms().map(|(x, _)| x))
        .collect::<Vec<_>>();
    let partner = best_partner(f, need, own.into_iter()).or_else(|| {
        let (neighbours, _) = attacker::component(f, a, &[], 400);
        let around: Vec<u32> = neighbours
            .iter()
            .flat_map(|&n| f.equations_of[n as usize].iter())
            .flat_map(|&e| f.equations[e as usize].terms().map(|(x, _)| x))
            .collect();
        best_partner(f, need, around.into_iter())
    })?;
    f.suppressed[partner as usize] = true;
    Some(partner)
}

/// Where a family's atoms sit in tables: each table with the atom of each of its cells.
pub type Homes<'a> = [(&'a CellTable, &'a [u32])];

/// Runs secondary suppression on one family, in place. `homes` are the
/// tables the family's atoms come from.
pub fn suppress(f: &mut Family, homes: &Homes<'_>) -> FamilyReport {
    let primary: Vec<u32> = (0..f.len() as u32).filter(|&a| f.is_primary(a)).collect();
    let mut report = FamilyReport {
        family: f.name.clone(),
        cells: f.len(),
        primary: primary.len(),
        ..FamilyReport::default()
    };
    // Each atom's first table and cell.
    let mut home: Vec<Option<(u32, u32)>> = vec![None; f.len()];
    for (t, (_, atoms)) in homes.iter().enumerate() {
        for (cell, &a) in atoms.iter().enumerate() {
            home[a as usize].get_or_insert((t as u32, cell as u32));
        }
    }

    // 1. A hypercube per primary cell.
    let mut seeds: Vec<Vec<u32>> = Vec::with_capacity(primary.len());
    for &a in &primary {
        let (cube, added) = match home[a as usize] {
            Some((t, cell)) => {
                let (table, atoms) = homes[t as usize];
                let (cube, added, wide) = hypercube::protect(f, table, atoms, cell as usize);
                report.cubes_short += usize::from(!wide);
                (cube, added)
            }
            None => (Vec::new(), 0),
        };
        report.secondary_pattern += added;
        seeds.push(cube);
    }

    // 2. and 3. Verify, repair what fails, verify again.
    let mut pending: Vec<usize> = (0..primary.len()).collect();
    let mut min_ratio = f64::INFINITY;
    while !pending.is_empty() {
        report.rounds += 1;
        let family = &*f;
        let checks: Vec<attacker::Check> = pending
            .par_iter()
            .map(|&i| attacker::check(family, primary[i], &seeds[i]))
            .collect();
        let mut failed = Vec::new();
        for (&i, c) in pending.iter().zip(&checks) {
            report.lp_solves += u64::from(c.solves);
            report.exact_checks += u64::from(c.exact);
            if c.protected {
                min_ratio = min_ratio.min(c.interval.width() / f.width[primary[i] as usize]);
            } else {
                failed.push(i);
            }
        }
        let mut still = Vec::new();
        let mut stuck = Vec::new();
        for &i in &failed {
            match repair(f, primary[i]) {
                Some(p) => {
                    report.secondary_repair += 1;
                    let queue = f.equations_of[p as usize].clone();
                    report.secondary_repair += close(f, queue);
                    seeds[i].push(p);
                    still.push(i);
                }
                None => stuck.push(i),
            }
        }
        if still.is_empty() {
            // Nothing more can be suppressed: these stay unprotected.
            report.unprotected = stuck.len();
        } else {
            // Another cell's repair may have protected them: check again.
            still.extend(stuck);
            still.sort_unstable();
        }
        pending = still;
    }
    report.secondary_value = (0..f.len())
        .filter(|&a| f.suppressed[a] && f.width[a] == 0.0)
        .map(|a| f.value[a].abs())
        .sum();
    report.min_width_ratio = (report.primary > 0 && min_ratio.is_finite()).then_some(min_ratio);
    report
}

#[cfg(test)]
mod tests {
    use reglink_link::study::Categories;
    use reglink_tabulate::{CellTable, Dimension, Shape};

    use super::model::{Scope, build};
    use super::*;
    use crate::{Policy, primary};

    /// A two-way table of counts with both margins; `rollup` groups the
    /// columns in pairs (a hierarchy).
    fn table(inner: &[&[u64]], rollup: bool) -> CellTable {
        let rows: Vec<String> = (0..inner.len()).map(|r| format!("r{r}")).collect();
        let cols: Vec<String> = (0..inner[0].len()).map(|c| format!("c{c}")).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let cols_ref: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut col_cats = Categories::plain(&cols_ref);
        if rollup {
            col_cats.group_of = Some((0..cols.len() as u32).map(|c| c / 2).collect());
            col_cats.groups = (0..cols.len().div_ceil(2))
                .map(|g| format!("g{g}"))
                .collect();
        }
        let dims = vec![
            Dimension::new("row", &Categories::plain(&rows), false),
            Dimension::new("col", &col_cats, false),
        ];
        let shape = Shape::new(&dims);
        let mut persons = vec![0u64; shape.cells()];
        let mut ra = Vec::new();
        let mut ca = Vec::new();
        for (r, line) in inner.iter().enumerate() {
            for (c, &v) in line.iter().enumerate() {
                dims[0].ancestors(r as u32, &mut ra);
                dims[1].ancestors(c as u32, &mut ca);
                shape.for_each_cell(&[ra.clone(), ca.clone()], &mut |cell| persons[cell] += v);
            }
        }
        CellTable {
            name: "t".into(),
            title: None,
            population: "p".into(),
            years: vec![2023],
            record_key_sum: vec![0; shape.cells()],
            dimensions: dims,
            shape,
            persons,
            measures: Vec::new(),
        }
    }

    fn policy() -> Policy {
        let mut p = Policy::preset("lenient").unwrap();
        p.threshold = 10;
        p
    }

    /// Suppresses the table; returns the suppressed cells and the report.
    fn run(t: &CellTable) -> (Vec<bool>, FamilyReport, model::Family, Vec<u32>) {
        let policy = policy();
        let flags = primary(t, &policy);
        let mut m = build(
            &[(t, &flags)],
            &policy,
            Scope {
                counts: true,
                sums: true,
            },
        );
        let atoms = m.tables[0].persons.clone().unwrap().1;
        let f = &mut m.families[0];
        let report = suppress(f, &[(t, &atoms)]);
        let cells = atoms.iter().map(|&a| f.suppressed[a as usize]).collect();
        (cells, report, f.clone(), atoms)
    }

    /// The exact attacker interval of a cell, over the whole component.
    fn exact(f: &model::Family, a: u32) -> attacker::Interval {
        let (all, whole) = attacker::component(f, a, &[], usize::MAX);
        assert!(whole);
        attacker::interval(f, &all, a).unwrap()
    }

    #[test]
    fn a_small_cell_gets_the_cheapest_rectangle() {
        // Columns c0..c2 then the total; rows r0, r1 then the total.
        let t = table(&[&[3, 40, 50], &[20, 30, 60]], false);
        let (cells, report, f, atoms) = run(&t);
        assert_eq!(report.unprotected, 0);
        let suppressed: Vec<usize> = (0..cells.len()).filter(|&c| cells[c]).collect();
        // r0c0, r0c1 (the smallest partner of at least 10 in its row),
        // r1c0 and r1c1: the rectangle, nothing else.
        assert_eq!(suppressed, [0, 1, 4, 5]);
        let i = exact(&f, atoms[0]);
        // 3 can go down to 0 and up to 3 + min(40, 20).
        assert_eq!((i.lo, i.hi), (0.0, 23.0));
    }

    #[test]
    fn small_cells_in_one_rectangle_reach_out_for_wider_ones() {
        // The four small cells protect each other by 1 or 2 only.
        let t = table(&[&[1, 2, 30], &[2, 1, 30], &[30, 30, 30]], false);
        let (_, report, f, _) = run(&t);
        assert_eq!(report.unprotected, 0);
        for a in 0..f.len() as u32 {
            if f.is_primary(a) {
                assert!(exact(&f, a).width() >= 10.0 - 1e-6, "atom {a}");
            }
        }
    }

    #[test]
    fn a_hierarchy_is_protected_at_every_level() {
        // Columns roll up in pairs: c0+c1 = g0, c2+c3 = g1. A small group
        // cell must be protected against the group and total margins.
        let t = table(
            &[&[2, 3, 40, 50], &[30, 40, 35, 45], &[25, 20, 60, 70]],
            true,
        );
        let (_, report, f, _) = run(&t);
        assert_eq!(report.unprotected, 0);
        assert!(report.primary >= 3, "{report:?}");
        for a in 0..f.len() as u32 {
            if f.is_primary(a) {
                assert!(exact(&f, a).width() >= 10.0 - 1e-6, "atom {a}");
            }
        }
    }

    #[test]
    fn an_impossible_requirement_suppresses_everything_and_stops() {
        // The whole table counts 6 people: nothing can be published.
        let t = table(&[&[1, 2], &[2, 1]], false);
        let (cells, report, _, _) = run(&t);
        assert_eq!(report.unprotected, 0, "{report:?}");
        assert!(cells.iter().all(|&s| s), "{cells:?}");
    }

    #[test]
    fn published_margins_give_a_lone_cell_away() {
        let t = table(&[&[3, 40], &[20, 30]], false);
        let policy = policy();
        let flags = primary(&t, &policy);
        let m = build(
            &[(&t, &flags)],
            &policy,
            Scope {
                counts: true,
                sums: true,
            },
        );
        let f = &m.families[0];
        let check = attacker::check(f, 0, &[]);
        assert!(!check.protected);
        assert_eq!((check.interval.lo, check.interval.hi), (3.0, 3.0));
    }
}
