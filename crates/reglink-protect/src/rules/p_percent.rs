//! p% rule.
//!
//! *Specification.* In a magnitude cell with total `T` and largest
//! contributions `x1 >= x2`, the second largest contributor can estimate the
//! largest as `T - x2`; the error of that estimate, `T - x1 - x2`, must be at
//! least `p` percent of `x1`. The cell is sensitive if
//! `T - x1 - x2 < p / 100 * x1`. Values are taken as magnitudes (absolute).

/// Whether the cell breaks the p% rule.
pub fn breaks(contributors: u64, total: i64, top: &[i64], p: f64) -> bool {
    if contributors == 0 {
        return false;
    }
    let x1 = top.first().map_or(0, |x| x.unsigned_abs()) as f64;
    let x2 = top.get(1).map_or(0, |x| x.unsigned_abs()) as f64;
    (total.unsigned_abs() as f64 - x1 - x2) < p / 100.0 * x1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_must_hide_the_largest_within_p_percent() {
        // 1000 = 800 + 150 + 50: the rest (50) is 6.25 % of 800 < 10 %.
        assert!(breaks(3, 1000, &[800, 150, 50], 10.0));
        // 1000 = 500 + 300 + 200: the rest (200) is 40 % of 500.
        assert!(!breaks(3, 1000, &[500, 300, 200], 10.0));
        // Two contributors: the rest is nothing.
        assert!(breaks(2, 100, &[60, 40], 10.0));
    }
}
