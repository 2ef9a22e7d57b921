//! The few random distributions the generator needs, written out so that the
//! draws (and therefore the files) depend only on the seed and this code.
//!
//! Every generator in the crate draws from a [`ChaCha8Rng`] made by
//! [`chunk_rng`] (or [`fixed_rng`] for the parts of the data that depend on
//! the preset alone), never from a thread-local or OS source.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream number reserved for data that depends only on the preset (the
/// municipality structure and its code list).
const FIXED_STREAM: u64 = u64::MAX;

/// The random stream of chunk `chunk` under `seed`: one ChaCha8 key per seed,
/// one stream per chunk, so chunks can be generated in any order on any
/// thread and still produce the same values.
pub(crate) fn chunk_rng(seed: u64, chunk: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(chunk));
    rng
}

/// A random stream that depends only on `salt` (not on the user's seed): used
/// for the geography, so code lists stay the same across seeds.
pub(crate) fn fixed_rng(salt: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7265_676c_696e_6b00 ^ salt);
    rng.set_stream(FIXED_STREAM);
    rng
}

/// Draws used throughout the generator, on top of [`Rng`].
pub(crate) trait Draw: Rng {
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        self.random::<f64>()
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[lo, hi)`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            lo
        } else {
            self.random_range(lo..=hi)
        }
    }

    /// Standard normal, by the Box-Muller transform (one value per pair of
    /// uniforms, which keeps the draw count fixed).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and log-scale `sigma`.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Index into `weights`, chosen with probability proportional to its
    /// weight. The weights need not sum to one; all must be non-negative and
    /// at least one positive.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        // Rounding left `target` a hair above the last weight.
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// Index into a table of cumulative weights (non-decreasing, last entry the
    /// total), by binary search: the weighted choice for long tables.
    fn cumulative(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let target = self.unit() * total;
        cumulative
            .partition_point(|c| *c <= target)
            .min(cumulative.len().saturating_sub(1))
    }
}

impl<R: Rng + ?Sized> Draw for R {}

/// The standard normal distribution function, by the Abramowitz-Stegun
/// approximation 7.1.26 of `erf` (absolute error below 1.5e-7): turns a
/// persistent normal latent into a uniform for a threshold decision.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// One step of a stationary AR(1) process with standard normal margins and
/// correlation `rho` between consecutive values.
pub(crate) fn ar1(rng: &mut impl Draw, previous: f64, rho: f64) -> f64 {
    rho * previous + (1.0 - rho * rho).sqrt() * rng.normal()
}

/// The logistic function, mapping log-odds to a probability.
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| chunk_rng(7, 3).random()).collect();
        let b: Vec<u64> = (0..4).map(|_| chunk_rng(7, 3).random()).collect();
        assert_eq!(a, b);
        let mut one = chunk_rng(7, 3);
        let mut other = chunk_rng(7, 4);
        assert_ne!(one.random::<u64>(), other.random::<u64>());
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = chunk_rng(1, 0);
        let n = 50_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
    }

    #[test]
    fn exponential_and_lognormal_centre_where_asked() {
        let mut rng = chunk_rng(2, 0);
        let n = 50_000;
        let mean = (0..n).map(|_| rng.exponential(30.0)).sum::<f64>() / n as f64;
        assert!((mean - 30.0).abs() < 1.0, "mean {mean}");
        let mut xs: Vec<f64> = (0..n).map(|_| rng.lognormal(100.0, 0.5)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[n / 2];
        assert!((median - 100.0).abs() < 3.0, "median {median}");
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }

    #[test]
    fn weighted_follows_weights_and_skips_zeros() {
        let mut rng = chunk_rng(3, 0);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[rng.weighted(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 30_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
        let mut picks = [0u32; 3];
        for _ in 0..30_000 {
            picks[rng.cumulative(&[1.0, 1.0, 4.0])] += 1;
        }
        assert_eq!(picks[1], 0);
        assert!(picks[2] > picks[0] * 2);
    }
}
