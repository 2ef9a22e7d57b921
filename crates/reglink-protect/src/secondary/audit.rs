//! The exact audit: the real attacker's interval of every primary-suppressed
//! atom, over the whole connected component of suppressed atoms it sits in.
//!
//! [`super::attacker::check`] is local: it gives the attacker every
//! suppressed atom outside a neighbourhood, which proves protection when it
//! passes but may fail cells the real attacker cannot pin down. The audit
//! answers the real question: with every published atom known, every
//! suppressed atom of the component unknown, every margin equation of every
//! table of the release and (for counts) non-negativity, what is the
//! feasible interval of each primary atom, and is it at least as wide as
//! the atom needs?
//!
//! Solving the exact linear program over a component of tens of thousands
//! of atoms for every primary atom would take hours, so each atom is
//! decided by the cheapest argument that is rigorous:
//!
//! 1. **Outer bounds.** Bound propagation over every equation of the family
//!    (a child is at most its parent's upper bound minus its siblings' lower
//!    bounds, a parent at most the sum of its children's, and the same
//!    downwards), with every suppressed atom unknown. The real interval lies
//!    inside these bounds, so an outer interval narrower than needed proves
//!    the atom under-protected.
//! 2. **Inner bounds.** The attacker's program over a neighbourhood of the
//!    atom (the suppressed atoms a few equations away), every other
//!    suppressed atom given to the attacker: the real interval contains it,
//!    so an inner interval as wide as needed proves protection. When the
//!    inner and outer intervals agree, the interval is exact.
//! 3. **The exact program** over the whole component, only for atoms the
//!    bounds leave undecided, and for the narrowest interval: atoms are
//!    solved exactly in the order of their inner ratio (inner width over
//!    width needed), lowest first, until the next inner ratio cannot be
//!    below the narrowest exact ratio found; every atom not solved has an
//!    exact ratio at least its inner ratio, so the minimum is exact. The
//!    search stops after [`NARROWEST_SOLVES`] programs; the ratio is then
//!    reported as a lower bound (the lowest inner ratio left), and says so.
//!
//! Nothing depends on the number of threads: atoms are solved in batches of
//! a fixed size, in a fixed order, and the results gathered in order. A
//! solver failure never counts as protection: the atom is reported as
//! [`Verdict::Unresolved`], which counts against the release like an
//! under-protected atom.

use std::collections::HashMap;

use rayon::prelude::*;

use super::attacker::{self, Interval};
use super::model::Family;

/// Slack for floating-point round-off in the solver and the bounds.
const EPS: f64 = 1e-6;
/// Sizes (suppressed atoms) of the neighbourhoods giving inner bounds.
const NEIGHBOURHOODS: &[usize] = &[40, 200];
/// Atoms solved exactly at a time while searching for the narrowest ratio:
/// fixed, so that what is solved does not depend on the thread count.
const BATCH: usize = 8;
/// Exact solves at most in the search for the narrowest ratio (per family);
/// when it stops there, the ratio is reported as a lower bound. Each solve
/// over a component of a few hundred atoms takes about 0.1 s with microlp.
pub const NARROWEST_SOLVES: usize = 16;
/// Rounds of bound propagation at most (each round visits every equation).
const PROPAGATION_ROUNDS: usize = 60;
/// The largest component (suppressed atoms) solved exactly with microlp:
/// about 0.06 s per solve at 360 atoms, more than a minute at 2,000
/// (`benches/README.md`). Atoms of larger components that the bounds do not
/// decide are reported unresolved, never protected.
pub const EXACT_LIMIT: usize = 1000;

/// What is known about one atom's attacker interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Bound {
    /// The real attacker's interval over the whole component.
    Exact {
        /// Smallest feasible value.
        lo: f64,
        /// Largest feasible value.
        hi: f64,
    },
    /// An interval inside the real one (a better-informed attacker's), at
    /// least as wide as the atom needs: proof of protection, and all that
    /// was computed.
    Inner {
        /// Smallest value a better-informed attacker finds feasible.
        lo: f64,
        /// Largest value a better-informed attacker finds feasible.
        hi: f64,
    },
    /// An interval containing the real one, narrower than the atom needs:
    /// proof of under-protection, when the exact program could not be
    /// solved.
    Outer {
        /// A lower bound on the smallest feasible value.
        lo: f64,
        /// An upper bound on the largest feasible value.
        hi: f64,
    },
    /// Nothing rigorous (the solver failed and the bounds do not decide).
    Unknown,
}

impl Bound {
    /// The width of the interval, if any.
    pub fn width(&self) -> Option<f64> {
        match *self {
            Bound::Exact { lo, hi } | Bound::Inner { lo, hi } | Bound::Outer { lo, hi } => {
                Some(hi - lo)
            }
            Bound::Unknown => None,
        }
    }
}

/// Whether an atom has the protection it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Its real interval is at least as wide as needed.
    Protected,
    /// Its real interval is narrower than needed.
    UnderProtected,
    /// Neither could be shown (the solver failed): counts as not protected.
    Unresolved,
}

/// The audit of one primary atom.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AtomAudit {
    /// The atom.
    pub atom: u32,
    /// The width it needs.
    pub need: f64,
    /// What is known about its interval.
    pub bound: Bound,
    /// Whether it is protected.
    pub verdict: Verdict,
}

/// The narrowest attacker interval relative to its requirement.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Narrowest {
    /// The atom.
    pub atom: u32,
    /// Its interval width over the width it needs.
    pub ratio: f64,
    /// Whether `ratio` is the exact minimum over every primary atom. When
    /// not (an atom that could have a narrower interval was in a component
    /// too large to solve), it is a lower bound on it.
    pub exact: bool,
}

/// The exact audit of one family.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FamilyAudit {
    /// The family.
    pub family: String,
    /// Every primary atom, in atom order.
    pub atoms: Vec<AtomAudit>,
    /// Primary atoms whose real interval is narrower than needed.
    pub under_protected: Vec<u32>,
    /// Primary atoms the solver could not decide (counted as not protected).
    pub unresolved: Vec<u32>,
    /// The narrowest interval relative to its requirement (`None` without
    /// primary atoms).
    pub narrowest: Option<Narrowest>,
    /// Connected components of suppressed atoms holding a primary atom.
    pub components: usize,
    /// Suppressed atoms in the largest of them.
    pub largest_component: usize,
    /// Linear programs solved over neighbourhoods (two per interval).
    pub lp_neighbourhood: u64,
    /// Linear programs solved over whole components (two per interval).
    pub lp_exact: u64,
}

impl FamilyAudit {
    /// Primary atoms checked.
    pub fn checked(&self) -> usize {
        self.atoms.len()
    }

    /// Primary atoms not shown protected: under-protected or unresolved.
    pub fn not_protected(&self) -> usize {
        self.under_protected.len() + self.unresolved.len()
    }
}

/// The connected components of the suppressed atoms: per atom its
/// component's index (`u32::MAX` when published), and per component its
/// atoms in ascending order.
pub fn components(f: &Family) -> (Vec<u32>, Vec<Vec<u32>>) {
    let n = f.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn root(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for eq in &f.equations {
        let mut first = None;
        for (a, _) in eq.terms() {
            if !f.suppressed[a as usize] {
                continue;
            }
            match first {
                None => first = Some(a),
                Some(b) => {
                    let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                    if ra != rb {
                        parent[ra.max(rb) as usize] = ra.min(rb);
                    }
                }
            }
        }
    }
    let mut of = vec![u32::MAX; n];
    let mut comps: Vec<Vec<u32>> = Vec::new();
    let mut index_of_root = vec![u32::MAX; n];
    for a in 0..n as u32 {
        if !f.suppressed[a as usize] {
            continue;
        }
        let r = root(&mut parent, a) as usize;
        if index_of_root[r] == u32::MAX {
            index_of_root[r] = comps.len() as u32;
            comps.push(Vec::new());
        }
        of[a as usize] = index_of_root[r];
        comps[index_of_root[r] as usize].push(a);
    }
    (of, comps)
}

/// Outer bounds on every atom (published atoms at their value): bound
/// propagation over the equations with every suppressed atom unknown. Every
/// feasible point of the attacker's program lies inside them.
pub fn outer_bounds(f: &Family) -> Vec<Interval> {
    let floor = if f.nonnegative {
        0.0
    } else {
        f64::NEG_INFINITY
    };
    let mut b: Vec<Interval> = (0..f.len())
        .map(|a| {
            if f.suppressed[a] {
                Interval {
                    lo: floor,
                    hi: f64::INFINITY,
                }
            } else {
                Interval {
                    lo: f.value[a],
                    hi: f.value[a],
                }
            }
        })
        .collect();
    // Only equations with a suppressed atom can tighten anything.
    let active: Vec<u32> = (0..f.equations.len() as u32)
        .filter(|&e| {
            f.equations[e as usize]
                .terms()
                .any(|(a, _)| f.suppressed[a as usize])
        })
        .collect();
    for _ in 0..PROPAGATION_ROUNDS {
        let mut changed = false;
        for &e in &active {
            changed |= tighten(&mut b, &f.equations[e as usize]);
        }
        if !changed {
            break;
        }
    }
    b
}

/// A sum of bounds that keeps count of its infinite terms, so that one
/// term can be taken out again.
#[derive(Clone, Copy, Default)]
struct Sum {
    finite: f64,
    infinite: u32,
}

impl Sum {
    fn add(&mut self, x: f64) {
        if x.is_finite() {
            self.finite += x;
        } else {
            self.infinite += 1;
        }
    }

    /// The sum without the term `x` (`inf` of sign `sign` if another term is infinite).
    fn without(&self, x: f64, sign: f64) -> f64 {
        let others = self.infinite - u32::from(!x.is_finite());
        if others > 0 {
            sign * f64::INFINITY
        } else if x.is_finite() {
            self.finite - x
        } else {
            self.finite
        }
    }

    fn total(&self, sign: f64) -> f64 {
        if self.infinite > 0 {
            sign * f64::INFINITY
        } else {
            self.finite
        }
    }
}

/// One propagation step over `parent = Σ children`; whether a bound moved
/// (by more than round-off).
fn tighten(b: &mut [Interval], eq: &super::model::Equation) -> bool {
    let mut lo = Sum::default();
    let mut hi = Sum::default();
    for &c in &eq.children {
        lo.add(b[c as usize].lo);
        hi.add(b[c as usize].hi);
    }
    let mut changed = false;
    let p = eq.parent as usize;
    changed |= raise(&mut b[p].lo, lo.total(-1.0));
    changed |= lower(&mut b[p].hi, hi.total(1.0));
    let (plo, phi) = (b[p].lo, b[p].hi);
    for &c in &eq.children {
        let c = c as usize;
        let (clo, chi) = (b[c].lo, b[c].hi);
        changed |= lower(&mut b[c].hi, phi - lo.without(clo, -1.0));
        changed |= raise(&mut b[c].lo, plo - hi.without(chi, 1.0));
    }
    changed
}

fn raise(x: &mut f64, to: f64) -> bool {
    if to > *x + EPS {
        *x = to;
        true
    } else {
        false
    }
}

fn lower(x: &mut f64, to: f64) -> bool {
    if to < *x - EPS {
        *x = to;
        true
    } else {
        false
    }
}

/// An inner interval of atom `a`: the attacker's program over growing
/// neighbourhoods (the atoms of `hint` first) until one shows the width
/// needed. Returns the widest
/// interval found, whether it is over the whole component, and the LPs.
fn inner(f: &Family, a: u32, hint: &[u32]) -> (Option<Interval>, bool, u64) {
    let need = f.width[a as usize] - EPS;
    let mut best: Option<(Interval, bool)> = None;
    let mut solves = 0;
    for &limit in NEIGHBOURHOODS {
        let (free, whole) = attacker::component(f, a, hint, limit);
        solves += 2;
        if let Ok(i) = attacker::interval(f, &free, a) {
            best = Some((i, whole));
            if i.width() >= need {
                break;
            }
        }
        if whole {
            break;
        }
    }
    match best {
        Some((i, whole)) => (Some(i), whole, solves),
        None => (None, false, solves),
    }
}

/// The exact interval of `a` over its whole component `free`; `None` when
/// the solver fails or the component is above [`EXACT_LIMIT`].
fn exact(f: &Family, free: &[u32], a: u32) -> Option<Interval> {
    if free.len() > EXACT_LIMIT {
        return None;
    }
    attacker::interval(f, free, a).ok()
}

/// Whether two intervals agree up to round-off.
fn same(x: Interval, y: Interval) -> bool {
    let close = |p: f64, q: f64| p == q || (p - q).abs() <= EPS * (1.0 + p.abs().max(q.abs()));
    close(x.lo, y.lo) && close(x.hi, y.hi)
}

/// What the audit knows about one primary atom on the way.
struct State {
    need: f64,
    inner: Option<Interval>,
    outer: Interval,
    exact: Option<Interval>,
    failed: bool,
}

impl State {
    /// The inner interval's width over the width needed (0 without one).
    fn ratio_inner(&self) -> f64 {
        self.inner.map_or(0.0, |x| x.width().max(0.0) / self.need)
    }

    /// The atom's bound and verdict from what is known.
    fn judge(&self) -> (Bound, Verdict) {
        let need = self.need - EPS;
        let verdict = |ok: bool| {
            if ok {
                Verdict::Protected
            } else {
                Verdict::UnderProtected
            }
        };
        match (self.exact, self.inner) {
            (Some(x), _) => (
                Bound::Exact { lo: x.lo, hi: x.hi },
                verdict(x.width() >= need),
            ),
            (None, Some(x)) if x.width() >= need => {
                (Bound::Inner { lo: x.lo, hi: x.hi }, Verdict::Protected)
            }
            _ if self.outer.width() < need => (
                Bound::Outer {
                    lo: self.outer.lo,
                    hi: self.outer.hi,
                },
                Verdict::UnderProtected,
            ),
            _ => (Bound::Unknown, Verdict::Unresolved),
        }
    }
}

/// The search for the narrowest exact ratio: atoms in `order` (lowest inner
/// ratio first) are solved with `solve` in fixed batches until the next
/// inner ratio cannot beat the best exact ratio found, or the budget is
/// spent. Returns the best (ratio, atom index) and the LPs solved.
fn search_narrowest(
    states: &mut [State],
    order: &[usize],
    solve: &(dyn Fn(usize) -> Option<Interval> + Sync),
) -> (Option<(f64, usize)>, u64) {
    let mut lps = 0;
    let mut best: Option<(f64, usize)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.exact.map(|x| (x.width() / s.need, i)))
        .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let mut next = 0;
    let mut searched = 0;
    while next < order.len() && searched < NARROWEST_SOLVES {
        let bar = best.map_or(f64::INFINITY, |b| b.0);
        // Atoms whose exact ratio could still be below the best found.
        let batch: Vec<usize> = order[next..]
            .iter()
            .copied()
            .take_while(|&i| states[i].ratio_inner() < bar)
            .filter(|&i| states[i].exact.is_none() && !states[i].failed)
            .take(BATCH.min(NARROWEST_SOLVES - searched))
            .collect();
        if batch.is_empty() {
            break;
        }
        searched += batch.len();
        let solved: Vec<Option<Interval>> = batch.par_iter().map(|&i| solve(i)).collect();
        for (&i, r) in batch.iter().zip(solved) {
            lps += 2;
            match r {
                Some(x) => {
                    states[i].exact = Some(x);
                    let r = (x.width() / states[i].need, i);
                    if best.is_none_or(|b| r.0 < b.0 || (r.0 == b.0 && r.1 < b.1)) {
                        best = Some(r);
                    }
                }
                None => states[i].failed = true,
            }
        }
        while next < order.len()
            && (states[order[next]].exact.is_some() || states[order[next]].failed)
        {
            next += 1;
        }
    }
    (best, lps)
}

/// Per primary atom, the suppressed atoms its protection is thought to go
/// through (the pattern's flows and hypercubes): the audit's first
/// neighbourhood for it. A hint only makes an inner bound likelier to be
/// found; what it proves is checked like any neighbourhood.
pub type Hints = HashMap<u32, Vec<u32>>;

/// Audits every primary atom of a family over the whole release: see the
/// module documentation for what is computed and what it proves.
pub fn audit(f: &Family) -> FamilyAudit {
    audit_with(f, &Hints::new())
}

/// [`audit`], with each primary atom's first neighbourhood seeded by
/// `hints`. The verdicts are as rigorous as without; with hints from the
/// pattern that protected the atoms, far fewer atoms are left to the exact
/// program or unresolved.
pub fn audit_with(f: &Family, hints: &Hints) -> FamilyAudit {
    let primary: Vec<u32> = (0..f.len() as u32).filter(|&a| f.is_primary(a)).collect();
    let (comp_of, comps) = components(f);
    let outer = outer_bounds(f);
    let mut out = FamilyAudit {
        family: f.name.clone(),
        ..FamilyAudit::default()
    };
    let mut with_primary: Vec<u32> = primary.iter().map(|&a| comp_of[a as usize]).collect();
    with_primary.sort_unstable();
    with_primary.dedup();
    out.components = with_primary.len();
    out.largest_component = with_primary
        .iter()
        .map(|&c| comps[c as usize].len())
        .max()
        .unwrap_or(0);

    // Inner bounds, in parallel; then each atom's state.
    let inners: Vec<(Option<Interval>, bool, u64)> = primary
        .par_iter()
        .map(|&a| inner(f, a, hints.get(&a).map_or(&[], Vec::as_slice)))
        .collect();
    let mut states: Vec<State> = primary
        .iter()
        .zip(&inners)
        .map(|(&a, &(i, whole, solves))| {
            out.lp_neighbourhood += solves;
            let o = outer[a as usize];
            let exact = i.filter(|&i| whole || same(i, o));
            State {
                need: f.width[a as usize],
                inner: i,
                outer: o,
                exact,
                failed: false,
            }
        })
        .collect();

    // Exact programs for the atoms the bounds leave undecided.
    let undecided: Vec<usize> = (0..primary.len())
        .filter(|&i| {
            let s = &states[i];
            let proven = s.inner.is_some_and(|x| x.width() >= s.need - EPS);
            let refuted = s.outer.width() < s.need - EPS;
            s.exact.is_none() && !proven && !refuted
        })
        .collect();
    let solve = |i: usize| {
        let a = primary[i];
        exact(f, &comps[comp_of[a as usize] as usize], a)
    };
    let solved: Vec<Option<Interval>> = undecided.par_iter().map(|&i| solve(i)).collect();
    for (&i, r) in undecided.iter().zip(solved) {
        out.lp_exact += 2;
        match r {
            Some(x) => states[i].exact = Some(x),
            None => states[i].failed = true,
        }
    }

    // The narrowest exact ratio: lowest inner ratio first, until the next
    // one cannot beat the best exact ratio found.
    let mut order: Vec<usize> = (0..primary.len()).collect();
    order.sort_by(|&x, &y| {
        states[x]
            .ratio_inner()
            .total_cmp(&states[y].ratio_inner())
            .then(x.cmp(&y))
    });
    let (best, lps) = search_narrowest(&mut states, &order, &solve);
    out.lp_exact += lps;

    for (&a, s) in primary.iter().zip(&states) {
        let (bound, verdict) = s.judge();
        match verdict {
            Verdict::UnderProtected => out.under_protected.push(a),
            Verdict::Unresolved => out.unresolved.push(a),
            Verdict::Protected => {}
        }
        out.atoms.push(AtomAudit {
            atom: a,
            need: s.need,
            bound,
            verdict,
        });
    }
    // Atoms left unsolved whose exact ratio could be below the best:
    // then the best is only known to be at least the lowest of their inner
    // ratios.
    let bar = best.map_or(f64::INFINITY, |b| b.0);
    let open = order
        .iter()
        .copied()
        .filter(|&i| states[i].exact.is_none() && states[i].ratio_inner() < bar)
        .min_by(|&x, &y| states[x].ratio_inner().total_cmp(&states[y].ratio_inner()));
    out.narrowest = match (open, best) {
        (Some(i), _) => Some(Narrowest {
            atom: primary[i],
            ratio: states[i].ratio_inner(),
            exact: false,
        }),
        (None, Some((ratio, i))) => Some(Narrowest {
            atom: primary[i],
            ratio,
            exact: true,
        }),
        (None, None) => None,
    };
    out
}

/// Checks a list of suppressed atoms exactly, for use inside a suppression
/// loop: each atom's bound and verdict, in the order given, decided as in
/// [`audit`] (outer bounds, then a neighbourhood, then the whole component)
/// but without searching for the narrowest ratio. An atom that needs no
/// width (a secondary) is protected by definition.
pub fn check_exact(f: &Family, atoms: &[u32]) -> Vec<AtomAudit> {
    let (comp_of, comps) = components(f);
    let outer = outer_bounds(f);
    atoms
        .par_iter()
        .map(|&a| {
            let need = f.width[a as usize];
            let o = outer[a as usize];
            let lower = need - EPS;
            if !f.suppressed[a as usize] {
                let v = f.value[a as usize];
                let bound = Bound::Exact { lo: v, hi: v };
                let verdict = if need > 0.0 {
                    Verdict::UnderProtected
                } else {
                    Verdict::Protected
                };
                return AtomAudit {
                    atom: a,
                    need,
                    bound,
                    verdict,
                };
            }
            if o.width() < lower {
                let bound = match exact(f, &comps[comp_of[a as usize] as usize], a) {
                    Some(x) => Bound::Exact { lo: x.lo, hi: x.hi },
                    None => Bound::Outer { lo: o.lo, hi: o.hi },
                };
                return AtomAudit {
                    atom: a,
                    need,
                    bound,
                    verdict: Verdict::UnderProtected,
                };
            }
            let (i, whole, _) = inner(f, a, &[]);
            if let Some(x) = i
                && (x.width() >= lower || whole)
            {
                let exact = whole || same(x, o);
                let bound = if exact {
                    Bound::Exact { lo: x.lo, hi: x.hi }
                } else {
                    Bound::Inner { lo: x.lo, hi: x.hi }
                };
                let verdict = if x.width() >= lower {
                    Verdict::Protected
                } else {
                    Verdict::UnderProtected
                };
                return AtomAudit {
                    atom: a,
                    need,
                    bound,
                    verdict,
                };
            }
            match exact(f, &comps[comp_of[a as usize] as usize], a) {
                Some(x) => AtomAudit {
                    atom: a,
                    need,
                    bound: Bound::Exact { lo: x.lo, hi: x.hi },
                    verdict: if x.width() >= lower {
                        Verdict::Protected
                    } else {
                        Verdict::UnderProtected
                    },
                },
                None => AtomAudit {
                    atom: a,
                    need,
                    bound: Bound::Unknown,
                    verdict: Verdict::Unresolved,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
