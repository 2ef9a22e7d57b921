//! The protection program of one primary cell: the cheapest set of cells
//! whose suppression lets the attacker move it as far as it needs.
//!
//! An attacker who sees a pattern cannot tell the true table `a` from any
//! table `a + y` that agrees with everything published (`y` is zero on
//! published cells), obeys every margin equation (`M y = 0`) and stays
//! non-negative (`a + y >= 0`). So a primary cell `p` can be moved up by `U`
//! as soon as such a `y` exists with `y_p = U`, and down by `D` with one with
//! `y_p = -D`. Finding the cheapest pattern that allows this is a mixed
//! integer program (Fischetti and Salazar's model, one cell at a time); its
//! linear relaxation is a min-cost flow in the table's equations:
//!
//! ```text
//! minimise  Σ_i cost_i · (u_i + l_i)
//! subject to  M (u - l) = 0,   u_p - l_p = ±amount,
//!             0 <= l_i <= a_i  (values stay non-negative),   u_i >= 0
//! ```
//!
//! where the cost per unit of flow is a cell's suppression cost divided by
//! the most flow it could carry (so that a cell carrying all of it costs its
//! whole suppression cost), and close to nothing for a cell already
//! suppressed: those are shared. Every cell that carries flow in the
//! optimum is suppressed. The flow itself is then a witness: `a + y` is a
//! table the attacker cannot rule out, so `p` is protected in that direction
//! whatever else is suppressed later.
//!
//! The program runs over a *box* around `p`: in each dimension, `p`'s own
//! position and the positions near it that look cheapest along `p`'s line,
//! first without the margins above `p` (they are large and costly to hide),
//! then with them if that has no solution. Cells outside the box carry no
//! flow, which only restricts the program: every flow found is valid over
//! the whole release, including the equations of other tables that share
//! cells with this one.

use std::collections::HashMap;

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use reglink_tabulate::{CellTable, Dimension};

use super::model::Family;

/// Which way the primary cell must be able to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Up by the amount.
    Up,
    /// Down by the amount.
    Down,
}

/// How many siblings and children of a position a box keeps at most: all of
/// a small dimension, the cheapest-looking of a large one.
const POSITIONS: usize = 8;

/// The most cells a box holds: fewer positions per dimension are kept
/// until it fits, so that no program grows with the number of dimensions.
pub(crate) const MOST_CELLS: usize = 1200;

/// How much farther a box reaches when a flow is re-routed through cells
/// already suppressed ([`Reach::Suppressed`]): this many times the
/// positions per dimension, and its square times the cells, before all but
/// the suppressed ones are dropped. The program stays small (only the
/// suppressed cells carry flow), and a wider box finds a route for more
/// flows, so the clean-up releases more cells: on the national 4-D table of
/// `benches/` (T = 10), 1,613 secondary cells with the plain box, 1,502
/// with this.
const WIDER: usize = 4;

/// Which cells a box is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Any cell may carry flow: 8 positions per dimension, 1,200 cells.
    Any,
    /// Only cells already suppressed will: 4 times as far (16 times the
    /// cells) before the others are dropped.
    Suppressed,
}

/// The share of its cost that flow through a cell already suppressed pays:
/// little, since hiding it costs nothing more, but enough that flows stay
/// short and go through small cells, which keeps them easy to re-route.
const SHARED: f64 = 0.01;

/// Flow below this share of the amount counts as none.
const ZERO_FLOW: f64 = 1e-7;

/// The parent of position `q` along its dimension: a category's group (or
/// the total without a rollup), a group's total; none for the total.
fn parent(dim: &Dimension, q: usize) -> Option<usize> {
    let n = dim.categories.len();
    let total = dim.positions() - 1;
    match &dim.group_of {
        _ if q == total => None,
        Some(groups) if q < n => Some(n + groups[q] as usize),
        _ => Some(total),
    }
}

/// The positions whose parent is `q`.
fn children(dim: &Dimension, q: usize) -> Vec<usize> {
    (0..dim.positions())
        .filter(|&c| parent(dim, c) == Some(q))
        .collect()
}

/// The positions of one dimension a box keeps around `p`. `rank` orders
/// positions from the most to the least attractive along the primary
/// cell's line. Kept: `p`, its most attractive siblings and children, and
/// a few children of each kept sibling (a group moves only with its
/// categories); with `margins`, also `p`'s ancestors with their own
/// siblings, the margins above the cell.
fn box_positions(
    dim: &Dimension,
    p: usize,
    (margins, k): (bool, usize),
    rank: &dyn Fn(&mut Vec<usize>),
) -> Vec<usize> {
    let top = |mut v: Vec<usize>, k: usize| {
        if v.len() > k {
            rank(&mut v);
            v.truncate(k);
        }
        v
    };
    let siblings = |q: usize| match parent(dim, q) {
        Some(up) => children(dim, up).into_iter().filter(|&c| c != q).collect(),
        None => Vec::new(),
    };
    let mut out = vec![p];
    let around = |q: usize, k: usize, out: &mut Vec<usize>| {
        out.extend(top(children(dim, q), k));
        for s in top(siblings(q), k) {
            out.push(s);
            out.extend(top(children(dim, s), k.min(2)));
        }
    };
    around(p, k, &mut out);
    if margins {
        // Fewer around the margins: they only need room to move.
        let mut q = p;
        while let Some(up) = parent(dim, q) {
            out.push(up);
            around(up, k.div_ceil(2), &mut out);
            q = up;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The positions a box keeps in each dimension of `table` around `cell`,
/// at most `k` siblings and children of each position.
fn box_dimensions(
    f: &Family,
    table: &CellTable,
    (atoms, cell): (&[u32], usize),
    need: f64,
    (margins, k): (bool, usize),
    strides: &[usize],
) -> Vec<Vec<usize>> {
    let mut kept: Vec<Vec<usize>> = Vec::with_capacity(strides.len());
    for (d, dim) in table.dimensions.iter().enumerate() {
        let p = table.shape.position(cell, d);
        // Rank by the cell each position gives along the primary cell's
        // line: suppressed ones are free, then the smallest that can carry
        // the whole amount, then the largest.
        let key = |q: usize| {
            let a = atoms[cell - p * strides[d] + q * strides[d]] as usize;
            let v = f.value[a].abs();
            let big = v >= need;
            (!f.suppressed[a], !big, if big { v } else { -v }, q)
        };
        let rank = |v: &mut Vec<usize>| {
            v.sort_by(|&x, &y| {
                let (kx, ky) = (key(x), key(y));
                kx.0.cmp(&ky.0)
                    .then(kx.1.cmp(&ky.1))
                    .then(kx.2.total_cmp(&ky.2))
                    .then(kx.3.cmp(&ky.3))
            });
        };
        kept.push(box_positions(dim, p, (margins, k), &rank));
    }
    kept
}

/// The cells of the box around `cell` of `table`, as atoms. `need` is the
/// amount the cell must move; `margins` keeps the ancestors of the cell's
/// positions (the margins above it).
pub fn local_box(
    f: &Family,
    table: &CellTable,
    atoms: &[u32],
    cell: usize,
    need: f64,
    (margins, reach): (bool, Reach),
) -> Vec<u32> {
    let sizes = &table.shape.sizes;
    let mut strides = vec![1usize; sizes.len()];
    for d in (0..sizes.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * sizes[d + 1];
    }
    let (mut k, most) = match reach {
        Reach::Any => (POSITIONS, MOST_CELLS),
        Reach::Suppressed => (POSITIONS * WIDER, MOST_CELLS * WIDER * WIDER),
    };
    let kept = loop {
        let kept = box_dimensions(f, table, (atoms, cell), need, (margins, k), &strides);
        if k == 1 || kept.iter().map(Vec::len).product::<usize>() <= most {
            break kept;
        }
        k /= 2;
    };
    // Every combination of kept positions.
    let mut cells = vec![0usize];
    for (d, positions) in kept.iter().enumerate() {
        let stride = strides[d];
        cells = cells
            .iter()
            .flat_map(|&c| positions.iter().map(move |&q| c + q * stride))
            .collect();
    }
    let mut out: Vec<u32> = cells.into_iter().map(|c| atoms[c]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Adds to a box the other atoms of every `outer = inner + difference`
/// equation (populations one inside another, [`super::model::nested`]) one
/// of its atoms is in. A difference is suppressed by nature, so a flow
/// can move an inner cell against it without touching the outer table;
/// one known to be zero is not added, so the flow moves both cells.
pub fn add_differences(f: &Family, cells: &mut Vec<u32>) {
    // Differences are the family's last atoms (the model adds them after
    // every table's): one look says whether there are any.
    if f.difference.last() != Some(&true) {
        return;
    }
    let mut more = Vec::new();
    for &a in cells.iter() {
        for &e in &f.equations_of[a as usize] {
            let eq = &f.equations[e as usize];
            if eq.children.iter().any(|&c| f.difference[c as usize]) {
                // A difference known to be zero stays out: fixed, it ties
                // the inner cell to the outer one.
                more.extend(
                    eq.terms()
                        .map(|(x, _)| x)
                        .filter(|&x| !f.difference[x as usize] || f.suppressed[x as usize]),
                );
            }
        }
    }
    cells.extend(more);
    cells.sort_unstable();
    cells.dedup();
}

/// The cheapest flow that moves `target` by `amount` in `direction` using
/// only the atoms of `cells` (which must hold `target`), with `cost` the
/// cost of suppressing each atom. Returns the atoms other than `target`
/// that carry flow (the ones to suppress), or `None` when no such flow
/// exists within these cells or the solver fails.
pub fn cheapest(
    f: &Family,
    cells: &[u32],
    target: u32,
    direction: Direction,
    amount: f64,
    cost: &dyn Fn(u32) -> f64,
) -> Option<Vec<u32>> {
    let index: HashMap<u32, usize> = cells.iter().enumerate().map(|(i, &a)| (a, i)).collect();
    let mut problem = Problem::new(OptimizationDirection::Minimize);
    let mut up = Vec::with_capacity(cells.len());
    let mut down = Vec::with_capacity(cells.len());
    for &a in cells {
        let value = f.value[a as usize];
        let (up_bounds, down_bounds) = if a == target {
            match direction {
                Direction::Up => ((amount, amount), (0.0, 0.0)),
                Direction::Down => ((0.0, 0.0), (amount, amount)),
            }
        } else if f.nonnegative {
            ((0.0, f64::INFINITY), (0.0, value.max(0.0)))
        } else {
            ((0.0, f64::INFINITY), (0.0, f64::INFINITY))
        };
        let (up_cost, down_cost) = if a == target {
            (0.0, 0.0)
        } else {
            let c = if f.suppressed[a as usize] {
                SHARED * cost(a)
            } else {
                cost(a)
            };
            let room = if f.nonnegative {
                value.min(amount)
            } else {
                amount
            };
            (c / amount, if room > 0.0 { c / room } else { c })
        };
        up.push(problem.add_var(up_cost, up_bounds));
        down.push(problem.add_var(down_cost, down_bounds));
    }
    let mut equations: Vec<u32> = cells
        .iter()
        .flat_map(|&a| f.equations_of[a as usize].iter().copied())
        .collect();
    equations.sort_unstable();
    equations.dedup();
    let mut expr = Vec::new();
    for &e in &equations {
        expr.clear();
        for (a, coeff) in f.equations[e as usize].terms() {
            if let Some(&i) = index.get(&a) {
                expr.push((up[i], coeff));
                expr.push((down[i], -coeff));
            }
        }
        problem.add_constraint(expr.as_slice(), ComparisonOp::Eq, 0.0);
    }
    let solution = problem.solve().ok()?.into_solution().ok()?;
    let carrying = cells
        .iter()
        .enumerate()
        .filter(|&(i, &a)| {
            a != target
                && solution.var_value(up[i]) + solution.var_value(down[i]) > ZERO_FLOW * amount
        })
        .map(|(_, &a)| a)
        .collect();
    Some(carrying)
}
