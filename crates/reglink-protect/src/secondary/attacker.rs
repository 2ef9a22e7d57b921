//! The attacker's linear program.
//!
//! Given everything published (every unsuppressed atom of a family), the
//! margin equations and non-negativity, the feasible values of a suppressed
//! atom form an interval `[lo, hi]`: the minimum and maximum of the atom
//! over the polytope of the suppressed atoms. An atom is *protected* when
//! `hi - lo` is at least its required width.
//!
//! Solving over every suppressed atom of a family is exact but slow for
//! tens of thousands of cells, so [`check`] first solves over a
//! neighbourhood of the atom (suppressed atoms a few equations away) with
//! every other suppressed atom fixed at its true value. That attacker knows
//! *more* than the real one, so its interval lies inside the real one: a
//! neighbourhood that shows the width proves protection. Only when it does
//! not does [`check`] solve the exact program over the atom's whole
//! connected component, whose interval is the real one.

use std::collections::{HashMap, VecDeque};

use microlp::{ComparisonOp, Error as LpError, OptimizationDirection, Problem};

use super::model::Family;

/// The neighbourhoods tried, by how many suppressed atoms they hold at most.
const NEIGHBOURHOODS: &[usize] = &[0, 200];
/// Slack for floating-point round-off in the solver.
const EPS: f64 = 1e-6;

/// The attacker's interval of one atom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Smallest feasible value (`-inf` when unbounded).
    pub lo: f64,
    /// Largest feasible value (`inf` when unbounded).
    pub hi: f64,
}

impl Interval {
    /// `hi - lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }
}

/// The outcome of checking one suppressed atom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    /// The interval found: the exact one when `exact`, otherwise one inside it.
    pub interval: Interval,
    /// Whether the interval is at least the required width.
    pub protected: bool,
    /// Whether the exact program over the whole component was solved.
    pub exact: bool,
    /// Linear programs solved.
    pub solves: u32,
}

/// Suppressed atoms reachable from `a` through equations, breadth first
/// after `seeds` (suppressed atoms that must be in), at most `limit` of
/// them; the flag says whether that is the whole component.
pub fn component(f: &Family, a: u32, seeds: &[u32], limit: usize) -> (Vec<u32>, bool) {
    let mut seen: HashMap<u32, ()> = HashMap::new();
    let mut order = vec![a];
    seen.insert(a, ());
    for &s in seeds {
        if f.suppressed[s as usize] && seen.insert(s, ()).is_none() {
            order.push(s);
        }
    }
    let mut queue: VecDeque<u32> = order.iter().copied().collect();
    let limit = limit.max(order.len());
    while let Some(x) = queue.pop_front() {
        for &e in &f.equations_of[x as usize] {
            for (y, _) in f.equations[e as usize].terms() {
                if f.suppressed[y as usize] && seen.insert(y, ()).is_none() {
                    if order.len() == limit {
                        return (order, false);
                    }
                    order.push(y);
                    queue.push_back(y);
                }
            }
        }
    }
    (order, true)
}

/// The interval of `target` when only the atoms in `free` are unknown: every
/// other atom, published or not, is fixed at its value.
pub fn interval(f: &Family, free: &[u32], target: u32) -> Result<Interval, LpError> {
    let mut var_of: HashMap<u32, usize> = HashMap::with_capacity(free.len());
    for (i, &a) in free.iter().enumerate() {
        var_of.insert(a, i);
    }
    let mut equations: Vec<u32> = free
        .iter()
        .flat_map(|&a| f.equations_of[a as usize].iter().copied())
        .collect();
    equations.sort_unstable();
    equations.dedup();

    let solve = |direction: OptimizationDirection| -> Result<f64, LpError> {
        let mut problem = Problem::new(direction);
        let bounds = if f.nonnegative {
            (0.0, f64::INFINITY)
        } else {
            (f64::NEG_INFINITY, f64::INFINITY)
        };
        let vars: Vec<_> = free
            .iter()
            .map(|&a| problem.add_var(if a == target { 1.0 } else { 0.0 }, bounds))
            .collect();
        for &e in &equations {
            let mut expr = Vec::new();
            let mut rhs = 0.0;
            for (a, coeff) in f.equations[e as usize].terms() {
                match var_of.get(&a) {
                    Some(&i) => expr.push((vars[i], coeff)),
                    None => rhs -= coeff * f.value[a as usize],
                }
            }
            problem.add_constraint(expr.as_slice(), ComparisonOp::Eq, rhs);
        }
        let outcome = problem.solve()?;
        let solution = outcome.into_solution().map_err(|_| {
            LpError::InternalError("the solve stopped before an optimum".to_string())
        })?;
        Ok(solution.var_value(vars[var_of[&target]]))
    };
    let hi = match solve(OptimizationDirection::Maximize) {
        Ok(v) => v,
        Err(LpError::Unbounded) => f64::INFINITY,
        Err(e) => return Err(e),
    };
    let lo = match solve(OptimizationDirection::Minimize) {
        Ok(v) => v,
        Err(LpError::Unbounded) => f64::NEG_INFINITY,
        Err(e) => return Err(e),
    };
    Ok(Interval { lo, hi })
}

/// Checks that suppressed atom `a` is protected: its attacker interval is at
/// least `f.width[a]` wide. `seeds` are suppressed atoms to include in every
/// neighbourhood (the cube that was built to protect `a`).
///
/// A solver failure counts as not protected (the caller then suppresses
/// more), never as protected.
pub fn check(f: &Family, a: u32, seeds: &[u32]) -> Check {
    let need = f.width[a as usize] - EPS;
    let mut solves = 0;
    let mut last = None;
    for &limit in NEIGHBOURHOODS {
        let (free, whole) = component(f, a, seeds, limit);
        solves += 2;
        if let Ok(interval) = interval(f, &free, a) {
            let protected = interval.width() >= need;
            last = Some(interval);
            if protected || whole {
                return Check {
                    interval,
                    protected,
                    exact: whole,
                    solves,
                };
            }
        }
        if whole {
            break;
        }
    }
    let value = f.value[a as usize];
    Check {
        interval: last.unwrap_or(Interval {
            lo: value,
            hi: value,
        }),
        protected: false,
        exact: false,
        solves,
    }
}
