//! Whether a suppression pattern protects every primary cell, by reglink's
//! attacker LP, whoever made the pattern.

use rayon::prelude::*;
use reglink_protect::secondary::attacker;
use reglink_protect::secondary::model::{Family, Scope, build};
use reglink_protect::{Policy, PrimaryFlags};
use reglink_tabulate::CellTable;

/// Slack for the solver's round-off, as the crate's own check allows.
const EPS: f64 = 1e-6;

/// The larger neighbourhood tried before the exact program.
const NEIGHBOURHOOD: usize = 1_000;

/// What the attacker learns about the primary cells under one pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Verdict {
    /// Primary cells whose interval is narrower than the threshold.
    pub under_protected: usize,
    /// Primary cells whose component was larger than the exact limit and
    /// whose neighbourhood did not prove protection (or the solver failed).
    pub undecided: usize,
    /// Linear programs solved.
    pub solves: u64,
}

impl Verdict {
    /// Whether every primary cell is proven protected.
    pub fn protected(&self) -> bool {
        self.under_protected == 0 && self.undecided == 0
    }
}

/// Checks the pattern `suppressed` (one flag per cell of `table`) against
/// the attacker: every primary cell must have an interval at least the
/// threshold wide, given every published cell, the margin equations and
/// non-negativity. Components of at most `exact_limit` suppressed cells
/// are solved exactly where a neighbourhood does not prove protection.
pub fn pattern(
    table: &CellTable,
    primary: &PrimaryFlags,
    policy: &Policy,
    suppressed: &[bool],
    exact_limit: usize,
) -> Verdict {
    let model = build(
        &[(table, primary)],
        policy,
        Scope {
            counts: true,
            sums: false,
        },
    );
    let (f, atoms) = model.tables[0]
        .persons
        .clone()
        .expect("counts are in the model");
    let mut family = model.families[f].clone();
    for (cell, &atom) in atoms.iter().enumerate() {
        // A primary cell stays suppressed whatever the pattern says.
        family.suppressed[atom as usize] |= suppressed[cell];
    }
    // The primary cells of this table's persons (a share's numerator would
    // be an atom of the family too; the benchmark's tables have none).
    let mut primaries: Vec<u32> = atoms
        .iter()
        .copied()
        .filter(|&a| family.is_primary(a))
        .collect();
    primaries.sort_unstable();
    primaries.dedup();
    let outcomes: Vec<(Outcome, u64)> = primaries
        .par_iter()
        .map(|&a| one_cell(&family, a, exact_limit))
        .collect();
    let mut verdict = Verdict::default();
    for (outcome, solves) in outcomes {
        verdict.solves += solves;
        match outcome {
            Outcome::Protected => {}
            Outcome::Under => verdict.under_protected += 1,
            Outcome::Undecided => verdict.undecided += 1,
        }
    }
    verdict
}

enum Outcome {
    Protected,
    Under,
    Undecided,
}

/// The crate's neighbourhood check first, then a larger neighbourhood
/// (every other suppressed cell fixed at its value: a lower bound on the
/// interval, so proof enough when it passes), then the exact program over
/// the whole component when it is at most `exact_limit` cells.
fn one_cell(f: &Family, a: u32, exact_limit: usize) -> (Outcome, u64) {
    let quick = attacker::check(f, a, &[]);
    let mut solves = u64::from(quick.solves);
    if quick.protected {
        return (Outcome::Protected, solves);
    }
    if quick.exact {
        return (Outcome::Under, solves);
    }
    let need = f.width[a as usize] - EPS;
    for limit in [NEIGHBOURHOOD, exact_limit] {
        let (free, whole) = attacker::component(f, a, &[], limit);
        if !whole && limit == exact_limit {
            break;
        }
        solves += 2;
        match attacker::interval(f, &free, a) {
            Ok(i) if i.width() >= need => return (Outcome::Protected, solves),
            Ok(_) if whole => return (Outcome::Under, solves),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (Outcome::Undecided, solves)
}
