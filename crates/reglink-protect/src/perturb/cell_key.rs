//! The cell key method.
//!
//! # Specification
//!
//! A perturbation table gives, for a count `n`, a distribution of
//! perturbations `d` in `[-min(n, D), D]` with weights proportional to
//! `exp(-d² / 2V)` (`D` = `cell_key_max`, `V` = `cell_key_variance`); a
//! zero stays zero, so no count becomes negative. Rows for `n > D` are all
//! the same. The published count is `n + d`, where `d` is read from the
//! row's cumulative distribution at the cell's uniform draw
//! ([`super::uniform`] of its cell key). Because the cell key is the sum of
//! its contributors' record keys, the same people get the same perturbed
//! count in every table and every release: averaging releases does not
//! remove the noise. Margins are perturbed cells of their own and need not
//! add up. For `n >= D` the perturbation has mean zero; for smaller `n` the
//! truncation makes it slightly positive.

/// A perturbation table.
#[derive(Debug, Clone, PartialEq)]
pub struct PTable {
    max: u32,
    /// Per row `n = 0..=max+1`: cumulative probabilities of `d` from `-min(n, max)` to `max`.
    rows: Vec<(i64, Vec<f64>)>,
}

impl PTable {
    /// The table for largest perturbation `max` and variance `variance`.
    pub fn new(max: u32, variance: f64) -> PTable {
        let rows = (0..=u64::from(max) + 1)
            .map(|n| {
                if n == 0 {
                    return (0, vec![1.0]);
                }
                let low = -(n.min(u64::from(max)) as i64);
                let weights: Vec<f64> = (low..=i64::from(max))
                    .map(|d| (-((d * d) as f64) / (2.0 * variance)).exp())
                    .collect();
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                (low, cumulative)
            })
            .collect();
        PTable { max, rows }
    }

    /// The perturbation of count `n` at uniform draw `u` in `[0, 1)`.
    pub fn perturbation(&self, n: u64, u: f64) -> i64 {
        let row = n.min(u64::from(self.max) + 1) as usize;
        let (low, cumulative) = &self.rows[row];
        let i = cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(cumulative.len() - 1);
        low + i as i64
    }

    /// The perturbed count.
    pub fn perturb(&self, n: u64, u: f64) -> u64 {
        (n as i64 + self.perturbation(n, u)) as u64
    }

    /// The table as CSV rows `n,d,probability` (`n` = `max+1` stands for
    /// every larger count), for the release bundle.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("n,perturbation,probability\n");
        for (n, (low, cumulative)) in self.rows.iter().enumerate() {
            let mut prev = 0.0;
            for (i, &c) in cumulative.iter().enumerate() {
                let label = if n == self.rows.len() - 1 {
                    format!("{n}+")
                } else {
                    n.to_string()
                };
                out.push_str(&format!("{label},{},{:.6}\n", low + i as i64, c - prev));
                prev = c;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_stay_zero_and_nothing_goes_negative() {
        let t = PTable::new(2, 1.0);
        for k in 0..2000u32 {
            let u = crate::perturb::uniform(k, 1);
            assert_eq!(t.perturb(0, u), 0);
            for n in 1..6 {
                let p = t.perturbation(n, u);
                assert!((-2..=2).contains(&p) && n as i64 + p >= 0);
            }
        }
    }

    #[test]
    fn large_counts_are_unbiased() {
        let t = PTable::new(2, 1.0);
        let sum: i64 = (0..100_000u32)
            .map(|k| t.perturbation(50, crate::perturb::uniform(k, 3)))
            .sum();
        assert!((sum as f64 / 100_000.0).abs() < 0.02, "{sum}");
        // The same cell key gives the same perturbation.
        assert_eq!(t.perturbation(50, 0.3), t.perturbation(50, 0.3));
    }
}
