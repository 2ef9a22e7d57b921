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
//! 1. **Protection programs, one primary cell at a time.** For every
//!    primary-suppressed atom in turn, the cheapest flow that moves it down
//!    (to zero, when it is smaller than its width) and up (the rest of the
//!    width), given everything suppressed so far ([`flow`]): a linear
//!    program over a box of cells around it, whose cost per unit of flow is
//!    each cell's suppression cost under the policy's cost model
//!    ([`crate::Cost`]), divided by the most flow it could carry, and
//!    almost nothing for a cell already suppressed. The cells carrying flow
//!    are suppressed. Each flow is kept as a *witness*: a table the attacker
//!    cannot tell from the true one, which proves the atom's interval while
//!    its cells stay suppressed. Flows run in the equations of every table
//!    of the release, so tables sharing cells are protected together. Where
//!    no flow exists around a cell, a hypercube of suppressions is used
//!    instead ([`hypercube`]). A family where the programs would be much
//!    work is protected by hypercubes alone if more than a third of its
//!    atoms are primary, or if it has more than [`MOST_PROGRAMS`] primary
//!    atoms and more than [`MOST_ATOMS_FOR_PROGRAMS`] atoms. Elsewhere the
//!    whole method also runs with hypercubes alone, and the pattern with
//!    fewer secondary cells (then the cheaper) is kept.
//! 2. **Clean-up.** Secondary atoms are released again, the costliest
//!    first, wherever every witness through one can be found anew through
//!    the atoms that stay suppressed (in a box wider than the pattern's,
//!    [`flow::Reach::Suppressed`]): this removes what the one-at-a-time
//!    programs made redundant. Re-routing runs in parallel, a few flows at
//!    a time, and stops at the first that finds no route; the order of
//!    decisions is fixed, so the pattern does not depend on the thread count.
//!    Then **exchanges**: for each primary atom, its region (itself and up
//!    to 15 primary atoms whose flows share the most cells with its own);
//!    the secondary atoms only the region's flows go through are published,
//!    the flows that went through them are found again given everything
//!    else suppressed, and the cells they add are cleaned up; the result is kept when it hides fewer cells (or as many, more
//!    cheaply). This trades two or more cells for one, which releasing one
//!    cell at a time cannot. Passes (eight at most) repeat, each followed
//!    by the clean-up, while they find an exchange (families with at most
//!    [`MOST_PROGRAMS`] primary atoms).
//!    Then **rebuilds**: the flows fall into clusters (flows through a
//!    common secondary atom, and the flows of one primary atom, are in one
//!    cluster). Per cluster, trials run in parallel (eight; two in
//!    families of more than 10,000 atoms): each publishes the cluster's
//!    own secondary atoms and finds all its flows again, in a random order
//!    and with every price moved at random by up to 95 %, then cleans up
//!    what that added. The trial hiding the fewest cells (then the
//!    cheapest, then the first) is kept when it improves on the cluster's
//!    own cells. The clean-up and the exchanges only ever go downhill from
//!    the pattern the programs built; a rebuild starts a cluster again
//!    from elsewhere. The draws are a fixed function of the atom, the
//!    cluster and the trial, so the pattern is the same in every run and
//!    at every thread count. Trials run two at a time, and stop once they
//!    have searched for twice as many flows as steps 1 and 2 did
//!    (`REBUILD_BUDGET`). A last clean-up follows.
//! 3. **Checks.** An atom whose witnesses all stand is protected. The
//!    others (those protected by a hypercube) are checked with the
//!    attacker's linear program ([`attacker::check`]), over a neighbourhood
//!    with every other suppressed cell given to the attacker; passing it
//!    implies passing the exact program.
//! 4. **Repair.** Each cell that fails gets one more suppressed partner: the
//!    cheapest cell of its equations at least as large as its width, or the
//!    largest; no equation may then be left with a lone suppressed cell,
//!    which would give it away by subtraction. Only the cells that failed
//!    are checked again. Suppressing more only widens every interval, so a
//!    cell once protected stays protected. This ends, because every round
//!    suppresses at least one more cell or stops with the cell reported
//!    unprotectable.
//! 5. **Determined cells.** A secondary atom that is the only suppressed
//!    atom of an equation is determined by the published ones: it is
//!    published again (until no such atom is left), since hiding it hides
//!    nothing and publishing it changes no other atom's interval.
//!
//! The exact audit ([`audit`]) then decides every primary atom against the
//! real attacker over the whole release; the witnesses and cubes found here
//! ([`FamilyReport::hints`]) only tell it where to look first.

pub mod attacker;
pub mod audit;
pub mod flow;
pub mod hypercube;
pub mod model;

use std::collections::HashMap;

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
    /// Differences of nested populations among the atoms (not in `cells`):
    /// counts no table shows (see [`model::nested`]).
    pub differences: usize,
    /// Of them, how many a primary rule flags (not in `primary`). For the
    /// checker report only: published, with the number of distinct cells
    /// it would tell how many differences are small.
    pub primary_differences: usize,
    /// Primary cells for which no hypercube reached the width needed.
    pub cubes_short: usize,
    /// Suppressed to repair a failed verification.
    pub secondary_repair: usize,
    /// Secondary cells published again at the end because the published
    /// cells determine them (suppressing them would hide nothing).
    pub secondary_determined: usize,
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
    /// Per primary atom, the suppressed atoms its flows, hypercube and
    /// repairs go through: the exact audit's first neighbourhood for it
    /// (never written to a release: it is the pattern's reasoning).
    #[serde(skip)]
    pub hints: audit::Hints,
}

impl FamilyReport {
    /// Suppressed atoms at the end, by a primary rule or to protect others.
    pub fn suppressed(&self) -> usize {
        (self.primary + self.secondary_pattern + self.secondary_repair)
            .saturating_sub(self.secondary_determined)
    }
}

/// The cheapest partner among `candidates` for protecting a cell needing
/// `need`: the smallest value at least `need`, else the largest; inner
/// cells before margins; lowest atom last for determinism.
fn best_partner(f: &Family, need: f64, candidates: impl Iterator<Item = u32>) -> Option<u32> {
    candidates
        .filter(|&c| !f.suppressed[c as usize] && !f.difference[c as usize])
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

/// Releases every secondary atom that the published atoms determine: the
/// only suppressed atom of an equation, until none is left. Publishing a
/// value the attacker can compute tells them nothing, and leaves every
/// other atom's interval as it was. Returns how many it released.
fn release_determined(f: &mut Family) -> usize {
    let mut released = 0;
    let mut queue: Vec<u32> = (0..f.equations.len() as u32).rev().collect();
    while let Some(e) = queue.pop() {
        let mut suppressed = f.equations[e as usize]
            .terms()
            .map(|(a, _)| a)
            .filter(|&a| f.suppressed[a as usize]);
        let (Some(lone), None) = (suppressed.next(), suppressed.next()) else {
            continue;
        };
        if f.is_primary(lone) || f.carried[lone as usize] {
            continue;
        }
        f.suppressed[lone as usize] = false;
        released += 1;
        queue.extend(f.equations_of[lone as usize].iter().rev().copied());
    }
    released
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

/// How far a primary atom must be able to move down and up: down to zero
/// when it is smaller than its width (as τ-ARGUS asks with a lower
/// protection level of the value itself), else half the width each way.
fn split(f: &Family, a: u32) -> (f64, f64) {
    let w = f.width[a as usize];
    let v = f.value[a as usize];
    let down = if f.nonnegative && v < w {
        v.max(0.0)
    } else {
        w / 2.0
    };
    (down, w - down)
}

/// A flow that protects one primary atom in one direction: the atoms it
/// goes through must stay suppressed, or the flow must be found anew.
#[derive(Debug, Clone)]
struct Witness {
    /// The primary atom.
    atom: u32,
    /// Its home table and cell.
    home: (u32, u32),
    direction: flow::Direction,
    amount: f64,
    /// The atoms other than `atom` carrying the flow.
    support: Vec<u32>,
}

/// What step 1 leaves: a witness per primary atom and direction, and the
/// atoms of hypercubes used where no flow was found (never released again).
#[derive(Clone)]
struct Pattern {
    witnesses: Vec<Witness>,
    /// Per primary atom protected by a hypercube, the cube's atoms.
    cubes: Vec<(u32, Vec<u32>)>,
    /// Every atom of a cube, sorted.
    pinned: Vec<u32>,
    /// Flows searched for so far, with every program in the family or
    /// only through suppressed atoms: the measure of work that bounds
    /// [`rebuild`].
    searched: usize,
}

/// What suppressing each atom costs in the protection programs: its cost
/// under the policy's model, plus half the smallest positive cost of the
/// family, so that a cell of cost zero (an empty cell, under the value
/// model) is not hidden for nothing and fewer cells win a tie.
fn prices(f: &Family) -> Vec<f64> {
    let smallest = f
        .cost
        .iter()
        .copied()
        .filter(|&c| c > 0.0)
        .min_by(f64::total_cmp)
        .unwrap_or(1.0);
    f.cost.iter().map(|&c| c + smallest / 2.0).collect()
}

/// Families where the programs would be much work (more primary atoms times
/// the cells of a box, at most 1,200, than
/// [`MOST_PROGRAM_WORK`]) are protected by hypercubes alone when more than
/// a third of their atoms are primary, or when they have more primary atoms
/// than this and more than [`MOST_ATOMS_FOR_PROGRAMS`] atoms. Mostly
/// primary families (a release of tiny populations: the example's
/// 1,944-cell table of a few hundred people, or a 972-cell table of five
/// dimensions of which 819 cells were primary) took one to five minutes of
/// programs for a pattern no better than the hypercubes': nearly everything
/// is hidden either way. Small mostly primary families keep the programs,
/// which publish a good part of them where hypercubes hide them whole.
pub const MOST_PROGRAMS: usize = 2_000;

/// See [`MOST_PROGRAMS`]: about a minute of programs on two cores at most.
pub const MOST_PROGRAM_WORK: usize = 200_000;

/// See [`MOST_PROGRAMS`]. On the national 5-D benchmark table (50,544
/// atoms, 3,400 and 13,800 primary at thresholds 3 and 10) the programs
/// took 81 s and 301 s on two cores against 2 s and 6 s for hypercubes,
/// for 3-20 % fewer secondary cells and at threshold 3 twice the
/// suppressed persons (`benches/README.md`).
pub const MOST_ATOMS_FOR_PROGRAMS: usize = 20_000;

/// Re-routing flows to release one secondary atom is given up when more
/// flows than this go through it: the attempt costs a program per flow. A
/// bound against the pathological case only: re-routing stops at the first
/// flow that finds no route ([`REROUTE_CHUNK`]), so trying a cell that
/// cannot be released is cheap, and cells with many flows through them
/// (margins) are the costliest to keep. With 12 here, the national 4-D
/// table of `benches/` kept 1,613 secondary cells where it now keeps 1,502.
const MOST_FLOWS: usize = 1_000;

/// Flows re-routed together before the clean-up looks whether one failed.
const REROUTE_CHUNK: usize = 8;

/// The cheapest flow for `w` around its home cell, first without and then
/// with the margins above it; with `only_suppressed`, through atoms that
/// are already suppressed only.
fn find_flow(
    f: &Family,
    (homes, prices): (&Homes<'_>, &[f64]),
    w: &Witness,
    only_suppressed: bool,
) -> Option<Vec<u32>> {
    let (table, atoms) = homes[w.home.0 as usize];
    let price = |x: u32| prices[x as usize];
    [false, true].into_iter().find_map(|margins| {
        let reach = if only_suppressed {
            flow::Reach::Suppressed
        } else {
            flow::Reach::Any
        };
        let mut cells = flow::local_box(
            f,
            table,
            atoms,
            w.home.1 as usize,
            w.amount,
            (margins, reach),
        );
        flow::add_differences(f, &mut cells);
        if only_suppressed {
            cells.retain(|&x| x == w.atom || f.suppressed[x as usize]);
        }
        flow::cheapest(f, &cells, w.atom, w.direction, w.amount, &price)
    })
}

/// Step 1: for every primary atom in turn, the cheapest flow that moves it
/// down and up as far as it needs, given everything suppressed so far; the
/// atoms carrying flow are suppressed. Falls back to a hypercube when no
/// flow exists around the cell.
fn pattern(
    f: &mut Family,
    (homes, prices): (&Homes<'_>, &[f64]),
    home: &[Option<(u32, u32)>],
    (primary, programs): (&[u32], bool),
    (report, progress): (&mut FamilyReport, &dyn crate::Progress),
) -> Pattern {
    let mut out = Pattern {
        witnesses: Vec::new(),
        cubes: Vec::new(),
        pinned: Vec::new(),
        searched: 0,
    };
    for &a in primary {
        progress.advance(1);
        let Some((t, cell)) = home[a as usize] else {
            continue;
        };
        let (down, up) = split(f, a);
        for (direction, amount) in [(flow::Direction::Up, up), (flow::Direction::Down, down)] {
            if amount <= 0.0 || (!programs && direction == flow::Direction::Down) {
                continue;
            }
            let mut w = Witness {
                atom: a,
                home: (t, cell),
                direction,
                amount,
                support: Vec::new(),
            };
            let found = if programs {
                out.searched += 1;
                find_flow(f, (homes, prices), &w, false)
            } else {
                None
            };
            match found {
                Some(carrying) => {
                    for &x in &carrying {
                        if !f.suppressed[x as usize] {
                            f.suppressed[x as usize] = true;
                            report.secondary_pattern += 1;
                        }
                    }
                    w.support = carrying;
                    out.witnesses.push(w);
                }
                // A difference of nested populations has no cell of its
                // own to build a cube around: the checks and repairs
                // protect it.
                None if f.difference[a as usize] => out.cubes.push((a, Vec::new())),
                None => {
                    let (table, atoms) = homes[t as usize];
                    let (cube, added, wide) = hypercube::protect(f, table, atoms, cell as usize);
                    report.cubes_short += usize::from(!wide);
                    report.secondary_pattern += added;
                    out.pinned.extend(&cube);
                    out.cubes.push((a, cube));
                }
            }
        }
    }
    // What an earlier release hid stays hidden.
    out.pinned
        .extend((0..f.len() as u32).filter(|&a| f.carried[a as usize]));
    out.pinned.sort_unstable();
    out.pinned.dedup();
    out
}

/// Which witnesses go through each atom.
type Uses = HashMap<u32, Vec<usize>>;

fn uses_of(pattern: &Pattern) -> Uses {
    let mut uses: Uses = HashMap::new();
    for (i, w) in pattern.witnesses.iter().enumerate() {
        for &x in &w.support {
            uses.entry(x).or_default().push(i);
        }
    }
    uses
}

/// Gives witness `i` a new support, keeping `uses` true.
fn set_support(pattern: &mut Pattern, uses: &mut Uses, i: usize, support: Vec<u32>) {
    for &x in &pattern.witnesses[i].support {
        if let Some(list) = uses.get_mut(&x) {
            list.retain(|&j| j != i);
        }
    }
    for &x in &support {
        uses.entry(x).or_default().push(i);
    }
    pattern.witnesses[i].support = support;
}

/// Tries to release each of `candidates` in turn: one is released when
/// every flow through it can be found anew through the atoms that stay
/// suppressed. Returns the atoms released.
fn release_each(
    f: &mut Family,
    (homes, prices): (&Homes<'_>, &[f64]),
    (pattern, uses): (&mut Pattern, &mut Uses),
    candidates: &[u32],
) -> Vec<u32> {
    let mut released = Vec::new();
    for &s in candidates {
        if !f.suppressed[s as usize] {
            continue;
        }
        f.suppressed[s as usize] = false;
        let mut affected = uses.get(&s).cloned().unwrap_or_default();
        affected.sort_unstable();
        affected.dedup();
        if affected.len() > MOST_FLOWS {
            f.suppressed[s as usize] = true;
            continue;
        }
        let family = &*f;
        // A few flows at a time, in parallel: the first that cannot be
        // re-routed settles it (whichever fails first, the outcome is the
        // same, so the pattern does not depend on the thread count).
        let mut rerouted: Vec<Option<Vec<u32>>> = Vec::with_capacity(affected.len());
        for chunk in affected.chunks(REROUTE_CHUNK) {
            let part: Vec<Option<Vec<u32>>> = chunk
                .par_iter()
                .map(|&i| find_flow(family, (homes, prices), &pattern.witnesses[i], true))
                .collect();
            let failed = part.iter().any(Option::is_none);
            pattern.searched += part.len();
            rerouted.extend(part);
            if failed {
                break;
            }
        }
        if rerouted.len() < affected.len() || rerouted.iter().any(Option::is_none) {
            f.suppressed[s as usize] = true;
            continue;
        }
        released.push(s);
        for (&i, support) in affected.iter().zip(rerouted) {
            set_support(pattern, uses, i, support.expect("every flow was found"));
        }
        uses.remove(&s);
    }
    released
}

/// The secondary atoms only the witnesses `group` (sorted) go through,
/// which a trial may publish: neither primary nor pinned, sorted.
fn own_cells(f: &Family, pattern: &Pattern, uses: &Uses, group: &[usize]) -> Vec<u32> {
    let mut own: Vec<u32> = group
        .iter()
        .flat_map(|&i| pattern.witnesses[i].support.iter().copied())
        .filter(|&x| {
            f.suppressed[x as usize]
                && !f.is_primary(x)
                && pattern.pinned.binary_search(&x).is_err()
                && uses
                    .get(&x)
                    .is_some_and(|list| list.iter().all(|i| group.binary_search(i).is_ok()))
        })
        .collect();
    own.sort_unstable();
    own.dedup();
    own
}

/// The trial of an exchange or a rebuild: publishes `own`, finds the flows
/// `order` anew in that order through any atom, priced by `search`, given
/// everything else suppressed, then tries to release each atom that added
/// (the costliest first, by the true `prices`). Returns the atoms added
/// that stay suppressed, and whether every flow was found; when one was
/// not, the atoms added so far, for the caller to undo.
fn refind(
    f: &mut Family,
    (homes, prices): (&Homes<'_>, &[f64]),
    (pattern, uses): (&mut Pattern, &mut Uses),
    own: &[u32],
    (order, search): (&[usize], &[f64]),
) -> (Vec<u32>, bool) {
    for &x in own {
        f.suppressed[x as usize] = false;
    }
    let mut added: Vec<u32> = Vec::new();
    for &i in order {
        pattern.searched += 1;
        let Some(support) = find_flow(f, (homes, search), &pattern.witnesses[i], false) else {
            return (added, false);
        };
        for &x in &support {
            if !f.suppressed[x as usize] {
                f.suppressed[x as usize] = true;
                added.push(x);
            }
        }
        set_support(pattern, uses, i, support);
    }
    let mut candidates = added.clone();
    costliest_first(&mut candidates, prices);
    let gone = release_each(f, (homes, prices), (pattern, uses), &candidates);
    added.retain(|x| !gone.contains(x));
    (added, true)
}

/// Sorts atoms for release: the costliest first, ties by atom.
fn costliest_first(atoms: &mut [u32], prices: &[f64]) {
    atoms.sort_by(|&x, &y| {
        prices[y as usize]
            .total_cmp(&prices[x as usize])
            .then(x.cmp(&y))
    });
}

/// Whether hiding `added` instead of `own` is better: fewer cells, or as
/// many at a lower cost. Cells first: a researcher loses a whole cell
/// either way.
fn improves(prices: &[f64], own: &[u32], added: &[u32]) -> bool {
    let cost = |cells: &[u32]| cells.iter().map(|&x| prices[x as usize]).sum::<f64>();
    added.len() < own.len() || (added.len() == own.len() && cost(added) < cost(own) * (1.0 - 1e-9))
}

/// Step 2: releases secondary atoms again, the costliest first, wherever
/// every flow through one can be found anew through the atoms that stay
/// suppressed. Returns how many it released.
fn clean_up(f: &mut Family, (homes, prices): (&Homes<'_>, &[f64]), pattern: &mut Pattern) -> usize {
    let mut uses = uses_of(pattern);
    let mut candidates: Vec<u32> = (0..f.len() as u32)
        .filter(|&a| f.suppressed[a as usize] && !f.is_primary(a))
        .filter(|a| pattern.pinned.binary_search(a).is_err())
        .collect();
    costliest_first(&mut candidates, prices);
    let mut released =
        release_each(f, (homes, prices), (&mut *pattern, &mut uses), &candidates).len();
    // Atoms that were needed when their turn came but that no witness goes
    // through any more, since later ones were re-routed.
    for a in 0..f.len() as u32 {
        if f.suppressed[a as usize]
            && !f.is_primary(a)
            && pattern.pinned.binary_search(&a).is_err()
            && uses.get(&a).is_none_or(Vec::is_empty)
        {
            f.suppressed[a as usize] = false;
            released += 1;
        }
    }
    released
}

/// The most primary atoms whose flows [`reroute`] finds anew together:
/// the one whose region it is, then those sharing the most cells with it.
/// On the national 3-D table of `benches/`, 8 left 126 secondary cells at
/// T = 3 where 16 and 32 left 125; at T = 10 all three left 247, 32 in
/// twice the time of 16.
const MOST_REGION: usize = 16;

/// The most primary atoms of a family for which the clean-up is followed
/// by [`exchange`]. On the national 4-D table of `benches/` at T = 10
/// (3,118 primary atoms) the exchanges took 150 s on top of 48 s and
/// released no cell; at T = 3 (576) they released 9 (1,029 to 1,020) and
/// took the table from 9 s to 41-50 s.
const MOST_REROUTED: usize = MOST_PROGRAMS;

/// Passes of [`exchange`] at most; the second and later look only at
/// regions whose flows changed in the pass before.
const EXCHANGE_PASSES: usize = 8;

/// Step 2b: exchanges of several secondary cells for fewer, region by
/// region ([`reroute`]), each pass followed by the clean-up, until a pass
/// finds nothing. Returns how many cells were released, net.
fn exchange(f: &mut Family, ctx: (&Homes<'_>, &[f64]), pattern: &mut Pattern) -> usize {
    let mut released = 0;
    let mut since: Option<Vec<Vec<u32>>> = None;
    for _ in 0..EXCHANGE_PASSES {
        let start: Vec<Vec<u32>> = pattern
            .witnesses
            .iter()
            .map(|w| w.support.clone())
            .collect();
        let (moves, net) = reroute(f, ctx, pattern, since.as_deref());
        since = Some(start);
        if moves == 0 {
            break;
        }
        released += net;
        released += clean_up(f, ctx, pattern);
    }
    released
}

/// The region of primary atom `p` for [`reroute`]: `p` and the primary
/// atoms whose witnesses share the most cells with its own (counted per
/// witness through each cell), [`MOST_REGION`] in all, sorted.
fn region_of(
    p: u32,
    (by_atom, uses): (&HashMap<u32, Vec<usize>>, &Uses),
    pattern: &Pattern,
) -> Vec<u32> {
    let mut shared: HashMap<u32, usize> = HashMap::new();
    for &i in &by_atom[&p] {
        for x in &pattern.witnesses[i].support {
            for &j in uses.get(x).into_iter().flatten() {
                let q = pattern.witnesses[j].atom;
                if q != p {
                    *shared.entry(q).or_default() += 1;
                }
            }
        }
    }
    let mut near: Vec<(usize, u32)> = shared.into_iter().map(|(q, n)| (n, q)).collect();
    near.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut region: Vec<u32> = std::iter::once(p)
        .chain(near.into_iter().map(|(_, q)| q))
        .take(MOST_REGION)
        .collect();
    region.sort_unstable();
    region
}

/// One pass of [`exchange`]: finds the flows of small regions of primary
/// atoms anew in the cleaned-up pattern. A region is a primary atom with
/// the primary atoms whose flows share the most cells with its own
/// ([`MOST_REGION`] in all); its *own* cells are the secondary atoms that
/// only its witnesses go through. They are published, the flows that went
/// through them are found again (the largest first) given
/// everything else suppressed, the cells that adds are cleaned up, and the
/// new flows are kept when they hide fewer cells than the own cells
/// released, or as many and cheaper: an exchange of several cells for
/// fewer, which the clean-up, one cell at a time, cannot make. With
/// `since` (the flows at the start of the pass before), only regions with
/// a flow changed since are tried. Returns the exchanges made and how
/// many cells they released, net.
fn reroute(
    f: &mut Family,
    (homes, prices): (&Homes<'_>, &[f64]),
    pattern: &mut Pattern,
    since: Option<&[Vec<u32>]>,
) -> (usize, usize) {
    let mut uses = uses_of(pattern);
    let mut by_atom: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, w) in pattern.witnesses.iter().enumerate() {
        by_atom.entry(w.atom).or_default().push(i);
    }
    let mut atoms: Vec<u32> = by_atom.keys().copied().collect();
    atoms.sort_unstable();
    let (mut moves, mut released) = (0, 0);
    for &p in &atoms {
        let region = region_of(p, (&by_atom, &uses), pattern);
        let mut group: Vec<usize> = region
            .iter()
            .flat_map(|a| by_atom[a].iter().copied())
            .collect();
        group.sort_unstable();
        let unchanged = |old: &[Vec<u32>]| {
            group
                .iter()
                .all(|&i| pattern.witnesses[i].support == old[i])
        };
        if since.is_some_and(unchanged) {
            continue;
        }
        let own = own_cells(f, pattern, &uses, &group);
        if own.len() < 2 {
            continue;
        }
        let before: Vec<Vec<u32>> = group
            .iter()
            .map(|&i| pattern.witnesses[i].support.clone())
            .collect();
        let mut order: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| {
                pattern.witnesses[i]
                    .support
                    .iter()
                    .any(|x| own.binary_search(x).is_ok())
            })
            .collect();
        order.sort_by(|&x, &y| {
            pattern.witnesses[y]
                .amount
                .total_cmp(&pattern.witnesses[x].amount)
                .then(x.cmp(&y))
        });
        let (added, complete) = refind(
            f,
            (homes, prices),
            (&mut *pattern, &mut uses),
            &own,
            (&order, prices),
        );
        if complete && improves(prices, &own, &added) {
            moves += 1;
            released += own.len() - added.len();
            continue;
        }
        // Back to the pattern before, exactly.
        for &x in &added {
            f.suppressed[x as usize] = false;
        }
        for &x in &own {
            f.suppressed[x as usize] = true;
        }
        for (&i, support) in group.iter().zip(before) {
            set_support(pattern, &mut uses, i, support);
        }
    }
    (moves, released)
}

/// Trials per cluster in [`rebuild`], run in parallel. On the national 3-D
/// table of `benches/` (5,616 atoms) at T = 10, 2 trials left 246
/// secondary cells, 4 left 241 and 8 left 238, adding 1.5, 3 and 4 s.
const REBUILD_ATTEMPTS: u64 = 8;

/// Trials per cluster in [`rebuild`] for families of more than
/// [`MOST_ATOMS_FOR_ATTEMPTS`] atoms, whose programs are larger. On the
/// national 4-D table (16,848 atoms) at T = 10, 8 trials left 1,457
/// secondary cells where 2 left 1,486, but the rebuilds took 350 s where 2
/// took 100 s (the whole table 400 s and 154 s).
const REBUILD_ATTEMPTS_LARGE: u64 = 2;

/// See [`REBUILD_ATTEMPTS_LARGE`].
const MOST_ATOMS_FOR_ATTEMPTS: usize = 10_000;

/// [`rebuild`] searches for at most this many times as many flows as
/// steps 1 and 2 did before it (looked at between rounds of trials, so a
/// round may go over). This bounds the work, not the time: a search
/// through any atom costs more than one through suppressed atoms only. On the national 4-D
/// table at T = 10 the rebuilds need about twice (1.5 left 1,499 cells
/// where 2 left 1,487), on 3-D about once; the municipality 5-D table at
/// T = 10 would take eight times (137 s in all, no cell released)
/// without the bound.
const REBUILD_BUDGET: usize = 2;

/// Trials run together in a round of [`rebuild`]: one per core of the
/// machines this is measured on.
const ROUND: u64 = 2;

/// How far [`rebuild`] moves each price: a factor drawn uniformly from
/// `1 ± PRICE_NOISE`. On the national 3-D table at T = 10, 0.25 left 246
/// secondary cells, 0.5 and 0.75 left 242, 0.95 left 240.
const PRICE_NOISE: f64 = 0.95;

/// The witnesses in clusters: two witnesses going through one secondary
/// atom (not primary, not pinned) are in one cluster, and so are the
/// witnesses of one primary atom. Each cluster is sorted, and the clusters
/// are in the order of their first witness.
fn clusters(f: &Family, pattern: &Pattern, uses: &Uses) -> Vec<Vec<usize>> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn join(parent: &mut [usize], a: usize, b: usize) {
        let (x, y) = (root(parent, a), root(parent, b));
        parent[x.max(y)] = x.min(y);
    }
    let n = pattern.witnesses.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut first_of: HashMap<u32, usize> = HashMap::new();
    for (i, w) in pattern.witnesses.iter().enumerate() {
        let j = *first_of.entry(w.atom).or_insert(i);
        join(&mut parent, i, j);
    }
    for (&x, list) in uses {
        if f.is_primary(x) || pattern.pinned.binary_search(&x).is_ok() {
            continue;
        }
        for &i in list.iter().skip(1) {
            join(&mut parent, list[0], i);
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort_unstable_by_key(|g| g[0]);
    out
}

/// What a trial of [`rebuild`] leaves: the family's flags, the pattern, its
/// uses, and the atoms it suppressed in place of the cluster's own.
struct Trial {
    suppressed: Vec<bool>,
    pattern: Pattern,
    uses: Uses,
    added: Vec<u32>,
}

/// Step 2c: rebuilds, cluster by cluster ([`clusters`]). Each trial
/// publishes the cluster's own secondary atoms and finds all its flows
/// anew, in a random order and with randomly moved prices
/// ([`PRICE_NOISE`]), then cleans up what that added ([`refind`]). Of
/// [`REBUILD_ATTEMPTS`] trials, run in parallel from the same pattern, the
/// one hiding the fewest cells (then the cheapest, then the first) is kept
/// if it improves on the cluster's own cells. The clean-up and the
/// exchanges only ever move downhill from the pattern the programs built,
/// and stop where no single step helps; a rebuild starts the cluster again
/// from another pattern. The draws are a fixed function of the atom, the
/// cluster and the trial, so the result does not depend on the thread
/// count. Returns how many cells were released, net.
fn rebuild(f: &mut Family, (homes, prices): (&Homes<'_>, &[f64]), pattern: &mut Pattern) -> usize {
    let attempts = if f.len() <= MOST_ATOMS_FOR_ATTEMPTS {
        REBUILD_ATTEMPTS
    } else {
        REBUILD_ATTEMPTS_LARGE
    };
    let mut uses = uses_of(pattern);
    let mut released = 0;
    let budget = pattern.searched * REBUILD_BUDGET;
    let mut spent = 0;
    for group in clusters(f, pattern, &uses) {
        if spent > budget {
            break;
        }
        let own = own_cells(f, pattern, &uses, &group);
        if own.len() < 2 {
            continue;
        }
        let family = &*f;
        let (start, start_uses) = (&*pattern, &uses);
        let trial = |k: u64| {
            let salt = ((group[0] as u64) << 16) ^ k;
            let draw = |x: usize, lane: u64| crate::perturb::uniform(x as u32, salt ^ lane);
            let search: Vec<f64> = prices
                .iter()
                .enumerate()
                .map(|(x, &p)| p * (1.0 + PRICE_NOISE * (2.0 * draw(x, 0) - 1.0)))
                .collect();
            let mut order = group.clone();
            order.sort_by(|&x, &y| draw(x, 1).total_cmp(&draw(y, 1)).then(x.cmp(&y)));
            let (mut g, mut p, mut u) = (family.clone(), start.clone(), start_uses.clone());
            let (added, complete) = refind(
                &mut g,
                (homes, prices),
                (&mut p, &mut u),
                &own,
                (&order, &search),
            );
            let work = p.searched - start.searched;
            let better = complete && improves(prices, &own, &added);
            let trial = better.then_some(Trial {
                suppressed: g.suppressed,
                pattern: p,
                uses: u,
                added,
            });
            (work, trial)
        };
        let mut best: Option<Trial> = None;
        // Trials in rounds of one per core at most (two): the budget is
        // looked at between rounds, so that one large cluster cannot
        // spend it many times over.
        let mut k = 0;
        while k < attempts && spent <= budget {
            let round: Vec<(usize, Option<Trial>)> = (k..attempts.min(k + ROUND))
                .into_par_iter()
                .map(trial)
                .collect();
            k += ROUND;
            for (work, next) in round {
                spent += work;
                let Some(next) = next else { continue };
                best = match best {
                    Some(b) if !improves(prices, &b.added, &next.added) => Some(b),
                    _ => Some(next),
                };
            }
        }
        let searched = pattern.searched;
        if let Some(trial) = best {
            released += own.len() - trial.added.len();
            f.suppressed = trial.suppressed;
            *pattern = trial.pattern;
            uses = trial.uses;
        }
        pattern.searched = searched;
    }
    pattern.searched += spent;
    released
}

/// Where a family's atoms sit in tables: each table with the atom of each of its cells.
pub type Homes<'a> = [(&'a CellTable, &'a [u32])];

/// Runs secondary suppression on one family, in place. `homes` are the
/// tables the family's atoms come from.
///
/// Where the family is small enough for protection programs (see
/// [`MOST_PROGRAMS`]), the whole method runs twice, with the programs and
/// with hypercubes alone, and the pattern with fewer secondary cells, or
/// as many at a lower cost, is kept (cells first, as in the exchanges and
/// rebuilds, which may trade cost for cells): the programs usually hide
/// far less, but on some families of linked tables (the example's
/// `eb_adults` under a threshold of 3) the hypercubes did. Both runs are
/// deterministic, so the choice is too.
pub fn suppress(f: &mut Family, homes: &Homes<'_>, progress: &dyn crate::Progress) -> FamilyReport {
    let primary = (0..f.len()).filter(|&a| f.is_primary(a as u32)).count();
    let work = primary * f.len().min(flow::MOST_CELLS);
    let programs = work <= MOST_PROGRAM_WORK
        || (3 * primary <= f.len()
            && (primary <= MOST_PROGRAMS || f.len() <= MOST_ATOMS_FOR_PROGRAMS));
    if !programs {
        return suppress_with(f, homes, (false, progress));
    }
    // The programs take far longer than the cubes: they tell the progress.
    let mut cubes = f.clone();
    let (by_programs, by_cubes) = rayon::join(
        || suppress_with(f, homes, (true, progress)),
        || suppress_with(&mut cubes, homes, (false, &crate::Unobserved)),
    );
    let prices = prices(f);
    let secondary = |g: &Family| -> Vec<usize> {
        (0..g.len())
            .filter(|&a| g.suppressed[a] && !g.is_primary(a as u32))
            .collect()
    };
    let cost = |cells: &[usize]| cells.iter().map(|&a| prices[a]).sum::<f64>();
    let (by_cubes_cells, by_programs_cells) = (secondary(&cubes), secondary(f));
    let fewer = by_cubes_cells.len() < by_programs_cells.len()
        || (by_cubes_cells.len() == by_programs_cells.len()
            && cost(&by_cubes_cells) < cost(&by_programs_cells));
    if fewer {
        *f = cubes;
        by_cubes
    } else {
        by_programs
    }
}

/// Each atom's first table and cell; a difference of nested populations
/// lives at its outer population's cell.
fn home_cells(f: &Family, homes: &Homes<'_>) -> Vec<Option<(u32, u32)>> {
    let mut home: Vec<Option<(u32, u32)>> = vec![None; f.len()];
    for (t, (_, atoms)) in homes.iter().enumerate() {
        for (cell, &a) in atoms.iter().enumerate() {
            home[a as usize].get_or_insert((t as u32, cell as u32));
        }
    }
    for a in 0..f.len() {
        if f.difference[a] {
            home[a] = f.outer_of(a as u32).and_then(|o| home[o as usize]);
        }
    }
    home
}

/// [`suppress`] with or without protection programs.
fn suppress_with(
    f: &mut Family,
    homes: &Homes<'_>,
    (programs, progress): (bool, &dyn crate::Progress),
) -> FamilyReport {
    let primary: Vec<u32> = (0..f.len() as u32).filter(|&a| f.is_primary(a)).collect();
    let differences = f.difference.iter().filter(|&&d| d).count();
    let primary_differences = primary
        .iter()
        .filter(|&&a| f.difference[a as usize])
        .count();
    let mut report = FamilyReport {
        family: f.name.clone(),
        cells: f.len() - differences,
        primary: primary.len() - primary_differences,
        differences,
        primary_differences,
        ..FamilyReport::default()
    };
    let home = home_cells(f, homes);

    // 1. The protection program per primary cell, each direction.
    let prices = prices(f);
    let mut found = pattern(
        f,
        (homes, &prices),
        &home,
        (&primary, programs),
        (&mut report, progress),
    );
    // 2. Release what the later programs made redundant.
    let mut released = clean_up(f, (homes, &prices), &mut found);
    if primary.len() <= MOST_REROUTED {
        released += exchange(f, (homes, &prices), &mut found);
    }
    if !found.witnesses.is_empty() {
        released += rebuild(f, (homes, &prices), &mut found);
        released += clean_up(f, (homes, &prices), &mut found);
    }
    report.secondary_pattern -= released.min(report.secondary_pattern);
    // Per primary atom, the atoms its flows and cubes go through.
    let mut seeds: Vec<Vec<u32>> = vec![Vec::new(); primary.len()];
    for w in &found.witnesses {
        if let Ok(i) = primary.binary_search(&w.atom) {
            seeds[i].extend(&w.support);
        }
    }
    // A primary atom whose flows all stand is protected: each flow is a
    // table the attacker cannot rule out. The others are checked.
    let mut certified: Vec<bool> = primary
        .iter()
        .map(|&a| home[a as usize].is_some())
        .collect();
    for (a, cube) in &found.cubes {
        if let Ok(i) = primary.binary_search(a) {
            seeds[i].extend(cube);
            certified[i] = false;
        }
    }
    for seed in &mut seeds {
        seed.sort_unstable();
        seed.dedup();
    }

    // 3. and 4. Check what no flow proves, repair what fails, check again.
    let mut pending: Vec<usize> = (0..primary.len()).filter(|&i| !certified[i]).collect();
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
    // 5. Publish what the published cells give away anyway.
    report.secondary_determined = release_determined(f);
    report.secondary_value = (0..f.len())
        .filter(|&a| f.suppressed[a] && f.width[a] == 0.0)
        .map(|a| f.value[a].abs())
        .sum();
    report.min_width_ratio = (report.primary > 0 && min_ratio.is_finite()).then_some(min_ratio);
    report.hints = primary.into_iter().zip(seeds).collect();
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
            definition: Default::default(),
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

    /// The model of one table under [`policy`], and the atom of each of
    /// its cells.
    fn model_of(t: &CellTable) -> (model::Model, Vec<u32>) {
        let policy = policy();
        let flags = primary(t, &policy);
        let m = build(
            &[(t, &flags)],
            &policy,
            Scope {
                counts: true,
                sums: true,
            },
        );
        let atoms = m.tables[0].persons.clone().unwrap().1;
        (m, atoms)
    }

    /// Suppresses the table; returns the suppressed cells and the report.
    fn run(t: &CellTable) -> (Vec<bool>, FamilyReport, model::Family, Vec<u32>) {
        let (mut m, atoms) = model_of(t);
        let f = &mut m.families[0];
        let report = suppress(f, &[(t, &atoms)], &crate::Unobserved);
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

    /// A table of `rows` x `cols` counts, columns rolled up in pairs, from
    /// a fixed generator: about a third of the cells below the threshold.
    fn random_table(seed: u64, rows: usize, cols: usize) -> CellTable {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let inner: Vec<Vec<u64>> = (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|_| match next() % 3 {
                        0 => next() % 10,
                        _ => 10 + next() % 90,
                    })
                    .collect()
            })
            .collect();
        let lines: Vec<&[u64]> = inner.iter().map(Vec::as_slice).collect();
        table(&lines, true)
    }

    /// Every suppressed atom's exact interval: a primary one at least the
    /// threshold wide, a secondary one not pinned (a secondary cell the
    /// attacker can compute would be hidden for nothing).
    fn assert_exactly_protected(f: &model::Family, seed: u64) {
        for a in 0..f.len() as u32 {
            if !f.suppressed[a as usize] {
                continue;
            }
            let width = exact(f, a).width();
            if f.is_primary(a) {
                assert!(width >= 10.0 - 1e-6, "seed {seed}: atom {a} width {width}");
            } else {
                assert!(
                    width > 1e-6,
                    "seed {seed}: secondary atom {a} is determined"
                );
            }
        }
    }

    #[test]
    fn random_tables_are_protected_exactly_and_hide_nothing_the_attacker_can_compute() {
        for seed in 1..=12 {
            let t = random_table(seed, 5, 6);
            let (_, report, f, _) = run(&t);
            assert_eq!(report.unprotected, 0, "seed {seed}: {report:?}");
            assert!(report.primary > 0, "seed {seed}: nothing to protect");
            assert_exactly_protected(&f, seed);
        }
    }

    /// Steps 1 and 2 on a random table, then the exchanges: the secondary
    /// cells before and after, and the family after.
    /// Steps 1 and 2 up to the exchanges (`rebuilds` false) or up to the
    /// rebuilds (true) on a random table; the count of secondary cells
    /// before and after that last step, and the family after it.
    fn before_and_after(seed: u64, rebuilds: bool) -> (usize, usize, model::Family) {
        let t = random_table(seed, 9, 10);
        let (mut m, atoms) = model_of(&t);
        let f = &mut m.families[0];
        let homes = [(&t, atoms.as_slice())];
        let home = home_cells(f, &homes);
        let primary: Vec<u32> = (0..f.len() as u32).filter(|&a| f.is_primary(a)).collect();
        let prices = prices(f);
        let mut report = FamilyReport::default();
        let mut found = pattern(
            f,
            (&homes, &prices),
            &home,
            (&primary, true),
            (&mut report, &crate::Unobserved),
        );
        assert!(found.cubes.is_empty(), "seed {seed}: a flow for every cell");
        clean_up(f, (&homes, &prices), &mut found);
        let secondary = |f: &model::Family| {
            (0..f.len() as u32)
                .filter(|&a| f.suppressed[a as usize] && !f.is_primary(a))
                .count()
        };
        if rebuilds {
            exchange(f, (&homes, &prices), &mut found);
        }
        let before = secondary(f);
        let released = if rebuilds {
            rebuild(f, (&homes, &prices), &mut found)
        } else {
            exchange(f, (&homes, &prices), &mut found)
        };
        assert_eq!(before - released, secondary(f), "seed {seed}: the count");
        // Every flow still goes through suppressed cells only: the
        // witnesses stand, so the checks after need not re-check them.
        for w in &found.witnesses {
            assert!(
                w.support.iter().all(|&x| f.suppressed[x as usize]),
                "seed {seed}: a flow of atom {} through a published cell",
                w.atom
            );
        }
        (before, secondary(f), f.clone())
    }

    #[test]
    fn exchanges_hide_fewer_cells_and_every_primary_cell_stays_protected() {
        fewer_cells_all_protected(false);
    }

    #[test]
    fn rebuilds_hide_fewer_cells_and_every_primary_cell_stays_protected() {
        fewer_cells_all_protected(true);
    }

    /// 30 random tables: the step never hides more, releases cells on
    /// some, and leaves every primary cell's exact interval wide enough.
    fn fewer_cells_all_protected(rebuilds: bool) {
        const SEEDS: u64 = 30;
        let mut fewer = 0;
        for seed in 1..=SEEDS {
            let (before, after, f) = before_and_after(seed, rebuilds);
            assert!(after <= before, "seed {seed}: {before} -> {after}");
            fewer += before - after;
            // Checked before the verification and repairs that follow:
            // the re-found flows alone protect every primary cell.
            for a in (0..f.len() as u32).filter(|&a| f.is_primary(a)) {
                let width = exact(&f, a).width();
                assert!(width >= 10.0 - 1e-6, "seed {seed}: atom {a} width {width}");
            }
        }
        assert!(fewer > 0, "no cell released on any seed");
    }

    /// Two tables of one population sharing their row margins: `rows` x
    /// `cols` from [`random_table`], and rows x sex, where sex splits each
    /// row at a fixed column.
    fn linked_tables(seed: u64, rows: usize, cols: usize) -> [CellTable; 2] {
        let a = random_table(seed, rows, cols);
        let ncol = cols + cols.div_ceil(2) + 1;
        let inner: Vec<Vec<u64>> = (0..rows)
            .map(|r| {
                let row = &a.persons[r * ncol..r * ncol + cols];
                let men: u64 = row[..cols / 3].iter().sum();
                vec![men, row.iter().sum::<u64>() - men]
            })
            .collect();
        let lines: Vec<&[u64]> = inner.iter().map(Vec::as_slice).collect();
        let mut b = table(&lines, false);
        b.name = "u".into();
        b.dimensions[1].name = "sex".into();
        [a, b]
    }

    #[test]
    fn linked_tables_are_protected_jointly_and_hide_nothing_the_attacker_can_compute() {
        for seed in 1..=30 {
            let tables = linked_tables(seed, 2 + seed as usize % 5, 3 + seed as usize % 6);
            let policy = policy();
            let flags: Vec<_> = tables.iter().map(|t| primary(t, &policy)).collect();
            let mut m = build(
                &[(&tables[0], &flags[0]), (&tables[1], &flags[1])],
                &policy,
                Scope {
                    counts: true,
                    sums: true,
                },
            );
            assert_eq!(m.families.len(), 1, "one population, one family");
            let cells = tables[0].shape.cells() + tables[1].shape.cells();
            assert!(
                m.families[0].len() < cells,
                "seed {seed}: the tables share no cell, so nothing is linked"
            );
            let homes: Vec<Vec<u32>> = m
                .tables
                .iter()
                .map(|t| t.persons.clone().unwrap().1)
                .collect();
            let f = &mut m.families[0];
            let report = suppress(
                f,
                &[(&tables[0], &homes[0]), (&tables[1], &homes[1])],
                &crate::Unobserved,
            );
            assert_eq!(report.unprotected, 0, "seed {seed}: {report:?}");
            assert_exactly_protected(f, seed);
        }
    }

    #[test]
    fn a_secondary_cell_the_published_cells_determine_is_published() {
        // The inner cells and the row total r0T are suppressed. r0T is the
        // only suppressed cell of TT = r0T + r1T, so anyone can compute it
        // from the published TT and r1T; the inner cells are two to every
        // equation of theirs.
        let t = table(&[&[3, 40], &[20, 30]], false);
        let (mut m, atoms) = model_of(&t);
        let f = &mut m.families[0];
        // Cells: r0c0 r0c1 r0T | r1c0 r1c1 r1T | Tc0 Tc1 TT.
        for cell in [0, 1, 3, 4, 2] {
            f.suppressed[atoms[cell] as usize] = true;
        }
        assert_eq!(release_determined(f), 1);
        assert!(!f.suppressed[atoms[2] as usize]);
        for cell in [0, 1, 3, 4] {
            assert!(f.suppressed[atoms[cell] as usize], "cell {cell}");
        }
    }

    #[test]
    fn the_pattern_does_not_depend_on_the_number_of_threads() {
        // Seeds 1 and 21 at 9 x 10: tables on which the rebuilds, with
        // their trials in parallel, release cells.
        for (seed, rows) in [(7, 8), (1, 9), (21, 9)] {
            let t = random_table(seed, rows, 10);
            let runs: Vec<Vec<bool>> = [1, 4]
                .into_iter()
                .map(|threads| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap()
                        .install(|| run(&t).0)
                })
                .collect();
            assert!(runs[0].iter().any(|&s| s), "seed {seed}");
            assert_eq!(runs[0], runs[1], "seed {seed}");
        }
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
