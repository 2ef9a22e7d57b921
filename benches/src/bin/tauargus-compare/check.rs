//! Whether a suppression pattern protects every primary cell, by reglink's
//! attacker LP, whoever made the pattern.

use rayon::prelude::*;
use reglink_protect::secondary::model::{Family, Scope, build};
use reglink_protect::secondary::{FamilyReport, attacker, audit};
use reglink_protect::{Policy, PrimaryFlags};
use reglink_tabulate::CellTable;

/// Slack for the solver's round-off, as the crate's own check allows.
const EPS: f64 = 1e-6;

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
/// `reports`, for reglink's own pattern, give the audit the atoms each
/// primary cell's protection goes through as its first neighbourhood (the
/// verdicts are as rigorous without; τ-ARGUS's patterns come without).
pub fn pattern(
    table: &CellTable,
    primary: &PrimaryFlags,
    policy: &Policy,
    (suppressed, reports): (&[bool], Option<&[FamilyReport]>),
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
    // Only this table's persons: a share's numerator would be an atom of the
    // family too (the benchmark's tables have none).
    let mut persons = vec![false; family.len()];
    for &atom in &atoms {
        persons[atom as usize] = true;
    }
    for (a, _) in persons.iter().enumerate().filter(|(_, p)| !**p) {
        family.width[a] = 0.0;
        family.suppressed[a] = false;
    }
    for (cell, &atom) in atoms.iter().enumerate() {
        // A primary cell stays suppressed whatever the pattern says.
        family.suppressed[atom as usize] |= suppressed[cell];
    }
    // The crate's exact audit first: outer bounds prove under-protection,
    // neighbourhoods prove protection, components of up to its limit are
    // solved exactly. What it leaves unresolved is solved exactly here when
    // its component is at most `exact_limit` cells.
    let none = audit::Hints::new();
    let hints = reports
        .and_then(|r| r.get(f))
        .map_or(&none, |r: &FamilyReport| &r.hints);
    let audited = audit::audit_with(&family, hints);
    let outcomes: Vec<(Outcome, u64)> = audited
        .unresolved
        .par_iter()
        .map(|&a| one_cell(&family, a, exact_limit))
        .collect();
    let mut verdict = Verdict {
        under_protected: audited.under_protected.len(),
        undecided: 0,
        solves: audited.lp_neighbourhood + audited.lp_exact,
    };
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

/// The exact program over the whole component of `a`, when it holds at
/// most `exact_limit` suppressed cells.
fn one_cell(f: &Family, a: u32, exact_limit: usize) -> (Outcome, u64) {
    if exact_limit <= audit::EXACT_LIMIT {
        // The audit already tried every component this small.
        return (Outcome::Undecided, 0);
    }
    let (free, whole) = attacker::component(f, a, &[], exact_limit);
    if !whole {
        return (Outcome::Undecided, 0);
    }
    match attacker::interval(f, &free, a) {
        Ok(i) if i.width() >= f.width[a as usize] - EPS => (Outcome::Protected, 2),
        Ok(_) => (Outcome::Under, 2),
        Err(_) => (Outcome::Undecided, 2),
    }
}
