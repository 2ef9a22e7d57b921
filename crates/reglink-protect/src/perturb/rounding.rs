//! Random rounding to a base, with margins that add up.
//!
//! # Specification
//!
//! Every inner cell (every dimension at a category) with count `n` becomes
//! `b * floor(n / b)` or `b * ceil(n / b)`, the latter with probability
//! `(n mod b) / b`, so the expected value is `n` (unbiased). The draw comes
//! from the cell key ([`super::uniform`]). Every margin is then the sum of
//! its rounded inner cells, so it is a multiple of `b` too and every table
//! adds up; the price is that a margin can be off by more than `b` (its
//! error is the sum of its cells' errors, which average out). Zeros stay
//! zero; multiples of `b` stay as they are.

use reglink_tabulate::CellTable;

/// Rounds `values` (one per cell of `table`) with draws from `keys` and `salt`.
pub fn round(table: &CellTable, values: &[u64], keys: &[u32], base: u64, salt: u64) -> Vec<u64> {
    let shape = &table.shape;
    let dims = &table.dimensions;
    let mut out = vec![0u64; shape.cells()];
    let mut ancestors: Vec<Vec<u32>> = vec![Vec::new(); dims.len()];
    for cell in 0..shape.cells() {
        let inner = (0..dims.len()).all(|d| shape.position(cell, d) < dims[d].categories.len());
        if !inner {
            continue;
        }
        let n = values[cell];
        let rest = n % base;
        let down = n - rest;
        let rounded = if rest > 0 && super::uniform(keys[cell], salt) * (base as f64) < rest as f64
        {
            down + base
        } else {
            down
        };
        if rounded == 0 {
            continue;
        }
        for (d, dim) in dims.iter().enumerate() {
            dim.ancestors(shape.position(cell, d) as u32, &mut ancestors[d]);
        }
        shape.for_each_cell(&ancestors, &mut |c| out[c] += rounded);
    }
    out
}
