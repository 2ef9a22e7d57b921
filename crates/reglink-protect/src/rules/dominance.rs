//! (n, k) dominance rule.
//!
//! *Specification.* In a magnitude cell (a sum or mean) with total `T`, the
//! `n` largest contributions together may not exceed `k` percent of `T`:
//! the cell is sensitive if `x1 + ... + xn > k / 100 * T`. A cell with at
//! most `n` contributors is always sensitive (the largest contributions are
//! the whole). Contributions are magnitudes: the rule is meant for
//! non-negative values such as amounts paid and earnings; the largest are
//! taken by absolute value and compared with the absolute total.

/// Whether a cell with `contributors`, `total` and the largest contributions
/// `top` (largest first) breaks the (n, k) rule.
pub fn breaks(contributors: u64, total: i64, top: &[i64], n: usize, k: f64) -> bool {
    if contributors == 0 {
        return false;
    }
    if contributors as usize <= n {
        return true;
    }
    let largest: f64 = top.iter().take(n).map(|x| x.unsigned_abs() as f64).sum();
    largest > k / 100.0 * total.unsigned_abs() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dominant_contributor_breaks_the_1_50_rule() {
        assert!(breaks(5, 100, &[60, 10, 10], 1, 50.0));
        assert!(!breaks(5, 100, &[40, 30, 10], 1, 50.0));
    }

    #[test]
    fn two_contributors_at_90_percent() {
        assert!(breaks(10, 1000, &[500, 401, 20], 2, 90.0));
        assert!(!breaks(10, 1000, &[500, 400, 20], 2, 90.0));
    }

    #[test]
    fn cells_with_at_most_n_contributors_always_break_it() {
        assert!(breaks(2, 10, &[5, 5], 2, 90.0));
        assert!(!breaks(0, 0, &[], 2, 90.0));
    }
}
