//! The fast pattern: one hypercube of suppressions per primary cell.
//!
//! Every cell of a table is a sum of *leaf* cells (every dimension at a
//! category). Pick, in each dimension `d`, a leaf `l_d` under the primary
//! cell's position and, unless that position is the total, a partner leaf
//! `q_d` outside it (a sibling under the same group when the position is a
//! category). Adding `δ` to the leaves `⊗_d (e(l_d) - e(q_d))` (and
//! `⊗ e(l_d)` in total dimensions) changes exactly the cells that hold one
//! of `l_d`, `q_d` but not both, in every dimension, by `±δ`, and leaves
//! every other cell and every margin equation untouched. Once those cells
//! are suppressed the attacker cannot tell `δ = 0` from any `δ` that keeps
//! them non-negative: the primary cell can move up by the smallest value of
//! the cells with sign `-1` and down by the smallest with sign `+1`
//! (itself included). The pattern is chosen so that this width reaches what
//! the cell needs, at the least cost in newly suppressed value, by a
//! coordinate search over the dimensions.

use reglink_tabulate::{CellTable, Dimension};

use super::model::Family;

/// The cost of suppressing one more cell, on top of its value: fewer
/// suppressed cells beat slightly smaller ones.
const NEW_CELL: f64 = 5.0;

/// Cells whose positions differ in one dimension only.
fn strides(table: &CellTable) -> Vec<usize> {
    let sizes = &table.shape.sizes;
    let mut s = vec![1usize; sizes.len()];
    for d in (0..sizes.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * sizes[d + 1];
    }
    s
}

/// The group position of a leaf, if the dimension rolls up.
fn group_position(dim: &Dimension, leaf: usize) -> Option<usize> {
    dim.group_of
        .as_ref()
        .map(|g| dim.categories.len() + g[leaf] as usize)
}

/// Leaves under a position.
fn leaves_under(dim: &Dimension, p: usize) -> Vec<usize> {
    let n = dim.categories.len();
    if p < n {
        vec![p]
    } else if p + 1 == dim.positions() {
        (0..n).collect()
    } else {
        let g = (p - n) as u32;
        let groups = dim.group_of.as_ref().expect("a group position has groups");
        (0..n).filter(|&c| groups[c] == g).collect()
    }
}

/// One dimension's choice: the positions that change and their signs.
#[derive(Debug, Clone)]
struct Choice {
    positions: Vec<(usize, i8)>,
}

/// Candidate choices in dimension `d` for a cell at position `p`.
fn candidates(dim: &Dimension, p: usize, limit: usize) -> (Vec<Choice>, usize) {
    let n = dim.categories.len();
    let total = dim.positions() - 1;
    let with_group = |l: usize, q: usize| {
        let mut v = vec![(l, 1), (q, -1)];
        if let (Some(gl), Some(gq)) = (group_position(dim, l), group_position(dim, q))
            && gl != gq
        {
            v.push((gl, 1));
            v.push((gq, -1));
        }
        Choice { positions: v }
    };
    // Not varying: one leaf under the cell moves with every margin above
    // it. For a total that is the only choice; otherwise it is costly
    // (margins are large) but sometimes the only room there is.
    let mut out: Vec<Choice> = leaves_under(dim, p)
        .into_iter()
        .take(limit)
        .map(|l| {
            let mut v = vec![(l, 1)];
            if let Some(g) = group_position(dim, l) {
                v.push((g, 1));
            }
            v.push((total, 1));
            Choice { positions: v }
        })
        .collect();
    let fixed = out.len();
    if p < n {
        let same: Vec<usize> = (0..n)
            .filter(|&q| q != p && group_position(dim, q) == group_position(dim, p))
            .collect();
        let partners: Vec<usize> = if same.is_empty() {
            (0..n).filter(|&q| q != p).collect()
        } else {
            same
        };
        out.extend(partners.into_iter().map(|q| with_group(p, q)));
    } else if p != total {
        let inside = leaves_under(dim, p);
        let outside: Vec<usize> = (0..n).filter(|c| !inside.contains(c)).collect();
        'pairs: for &l in &inside {
            for &q in &outside {
                out.push(with_group(l, q));
                if out.len() >= limit {
                    break 'pairs;
                }
            }
        }
    }
    (out, fixed)
}

/// The cells (with signs) of the cube made of one choice per dimension.
fn cube(strides: &[usize], choices: &[&Choice], out: &mut Vec<(usize, i8)>) {
    out.clear();
    out.push((0, 1));
    for (d, c) in choices.iter().enumerate() {
        let mut next = Vec::with_capacity(out.len() * c.positions.len());
        for &(cell, sign) in out.iter() {
            for &(p, s) in &c.positions {
                next.push((cell + p * strides[d], sign * s));
            }
        }
        *out = next;
    }
}

/// Cost and width of a cube: newly suppressed value, and how far the
/// primary cell can move.
fn score(f: &Family, atoms: &[u32], cells: &[(usize, i8)]) -> (f64, f64) {
    let mut cost = 0.0;
    let (mut up, mut down) = (f64::INFINITY, f64::INFINITY);
    for &(cell, sign) in cells {
        let a = atoms[cell] as usize;
        let v = f.value[a];
        if !f.suppressed[a] {
            cost += v.abs() + NEW_CELL;
        }
        if sign < 0 {
            up = up.min(v);
        } else {
            down = down.min(v);
        }
    }
    if !f.nonnegative {
        return (cost, f64::INFINITY);
    }
    (cost, up + down)
}

/// Chooses and suppresses a hypercube protecting `cell` of `table` (whose
/// cells are `atoms` of family `f`). Returns the cube's atoms, the ones it
/// newly suppressed, and whether its width reaches the need.
pub fn protect(
    f: &mut Family,
    table: &CellTable,
    atoms: &[u32],
    cell: usize,
) -> (Vec<u32>, usize, bool) {
    let need = f.width[atoms[cell] as usize];
    let strides = strides(table);
    let dims = &table.dimensions;
    let (options, fixed): (Vec<Vec<Choice>>, Vec<usize>) = dims
        .iter()
        .enumerate()
        .map(|(d, dim)| candidates(dim, table.shape.position(cell, d), 400))
        .unzip();
    if options.iter().any(Vec::is_empty) {
        // A dimension with a single category: no cube can move this cell.
        return (Vec::new(), 0, false);
    }
    // Positions are relative: the cube is built from cell 0 of every dimension.
    let mut pick: Vec<usize> = vec![0; dims.len()];
    let mut cells = Vec::new();
    let evaluate = |pick: &[usize], cells: &mut Vec<(usize, i8)>| {
        let chosen: Vec<&Choice> = pick
            .iter()
            .enumerate()
            .map(|(d, &i)| &options[d][i])
            .collect();
        cube(&strides, &chosen, cells);
        score(f, atoms, cells)
    };
    let better = |a: (f64, f64), b: (f64, f64)| -> bool {
        let (fa, fb) = (a.1 >= need, b.1 >= need);
        match (fa, fb) {
            (true, false) => true,
            (false, true) => false,
            (true, true) => a.0 < b.0,
            (false, false) => a.1 > b.1 || (a.1 == b.1 && a.0 < b.0),
        }
    };
    // Start from the cheapest of: every dimension fixed (always wide
    // enough), and every dimension at its first partner.
    let mut best = evaluate(&pick, &mut cells);
    let partners: Vec<usize> = options
        .iter()
        .zip(&fixed)
        .map(|(o, &k)| if k < o.len() { k } else { 0 })
        .collect();
    let s = evaluate(&partners, &mut cells);
    if better(s, best) {
        best = s;
        pick = partners;
    }
    for _sweep in 0..3 {
        let mut changed = false;
        for d in 0..dims.len() {
            for i in 0..options[d].len() {
                if i == pick[d] {
                    continue;
                }
                let mut trial = pick.clone();
                trial[d] = i;
                let s = evaluate(&trial, &mut cells);
                if better(s, best) {
                    best = s;
                    pick = trial;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    evaluate(&pick, &mut cells);
    let mut added = 0;
    let mut members = Vec::with_capacity(cells.len());
    for &(c, _) in &cells {
        let a = atoms[c];
        if !f.suppressed[a as usize] {
            f.suppressed[a as usize] = true;
            added += 1;
        }
        members.push(a);
    }
    members.sort_unstable();
    members.dedup();
    (members, added, best.1 >= need)
}
