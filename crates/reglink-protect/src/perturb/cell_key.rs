//! The cell key method.
//!
//! # Specification
//!
//! A perturbation table (ptable) gives, for a true count `n`, the
//! perturbations `d` it can get and their probabilities. The published
//! count is `n + d`, where `d` is looked up in `n`'s row by the cell's key,
//! which depends only on the people counted: the same people get the same
//! perturbed count in every table and every release, so averaging releases
//! does not remove the noise. Margins are perturbed cells of their own and
//! need not add up. A zero stays zero, and no count becomes negative.
//!
//! Rows past the last one listed repeat: the last `period` rows stand for
//! every larger count, `n` using the row of the same remainder modulo
//! `period` (a period of 1: the last row stands for every larger count).
//!
//! Two ways to look a perturbation up ([`Keys`]):
//!
//! - **`Keys::Byte`, as statistical agencies run the method** (ABS, ONS,
//!   Statistics Sweden): every record has a key of 0-255 (the low byte of
//!   its record key), a cell's key is the sum of its people's keys modulo
//!   256, and each row assigns the 256 cell keys to perturbations in
//!   ascending order of the perturbation: the first `256·p₁` keys to the
//!   smallest perturbation, the next `256·p₂` to the next, and so on. Every
//!   probability is a whole number of 256ths, so the lookup is exact and
//!   anyone holding the cell tables and the ptable reproduces every
//!   published count bit for bit.
//! - **`Keys::Wide`**, reglink's first design: the 32-bit cell key (the
//!   wrapping sum of the 32-bit record keys) mixed with a salt naming the
//!   quantity gives a uniform draw in `[0, 1)`, read against the row's
//!   cumulative probabilities.
//!
//! The designs ([`Design`]):
//!
//! - `gaussian` (the default, with wide keys): weights proportional to
//!   `exp(-d² / 2V)` for `d` in `[-min(n, D), D]`;
//! - `entropy` (byte keys), as the R `ptable` package generates them: for
//!   each `n`, the distribution on `d` in `[-min(n, D), D]` of greatest
//!   entropy with mean 0 and variance `V` (it has the form
//!   `exp(a·d + b·d²)`), then rounded to 256ths by largest remainders (so
//!   the mean and variance hold to about 1/256);
//! - `10_5` (byte keys), the design of ONS's `ptable_10_5`: counts 1-9
//!   become 0; larger counts are rounded to a multiple of 5, up with
//!   probability `r/5` where `r` is the remainder (unbiased but for the
//!   rounding to 256ths);
//! - a table made elsewhere, in the layout of the R `ptable` package
//!   ([`ImportedPtable`]; byte keys).

/// How a cell's key picks a perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// The sum of 8-bit record keys modulo 256 indexes 256ths.
    Byte,
    /// A uniform draw from the 32-bit cell key and the quantity's salt.
    Wide,
}

/// Which perturbation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Gaussian weights, wide keys (reglink's first design).
    Gaussian,
    /// Maximum entropy with mean 0 and variance `V`, byte keys.
    Entropy,
    /// Counts below 10 to 0, others to multiples of 5; byte keys.
    #[serde(rename = "10_5")]
    TenFive,
    /// Imported from a file in the R `ptable` package's layout; byte keys.
    Imported,
}

impl Design {
    /// Its name in the policy file.
    pub fn name(self) -> &'static str {
        match self {
            Design::Gaussian => "gaussian",
            Design::Entropy => "entropy",
            Design::TenFive => "10_5",
            Design::Imported => "file",
        }
    }
}

/// One row: the perturbations in ascending order with their cumulative
/// probabilities (the last is 1), and under byte keys the cumulative
/// number of the 256 cell keys.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    perturbations: Vec<i64>,
    cumulative: Vec<f64>,
    keys: Vec<u16>,
}

/// A perturbation table.
#[derive(Debug, Clone, PartialEq)]
pub struct PTable {
    rows: Vec<Row>,
    /// The last `period` rows repeat for larger counts.
    period: usize,
    keys: Keys,
}

/// Per perturbation from `low` up, its weight, normalised into a row.
fn row_of(low: i64, weights: &[f64]) -> Row {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    Row {
        perturbations: (0..weights.len() as i64).map(|i| low + i).collect(),
        cumulative: weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect(),
        keys: Vec::new(),
    }
}

/// A row of whole 256ths: `counts` keys per perturbation (summing to 256);
/// perturbations without a key are left out.
fn byte_row(entries: &[(i64, u16)]) -> Row {
    let mut row = Row {
        perturbations: Vec::new(),
        cumulative: Vec::new(),
        keys: Vec::new(),
    };
    let mut acc = 0u16;
    for &(d, count) in entries.iter().filter(|e| e.1 > 0) {
        acc += count;
        row.perturbations.push(d);
        row.keys.push(acc);
        row.cumulative.push(f64::from(acc) / 256.0);
    }
    debug_assert_eq!(acc, 256, "a byte row covers the 256 keys");
    row
}

/// Probabilities rounded to whole 256ths by largest remainders (ties to the
/// earlier, so the result is the same everywhere).
fn to_256ths(p: &[f64]) -> Vec<u16> {
    let exact: Vec<f64> = p.iter().map(|q| q * 256.0).collect();
    let mut counts: Vec<u16> = exact.iter().map(|x| x.floor() as u16).collect();
    let short = 256 - counts.iter().map(|&c| u32::from(c)).sum::<u32>();
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(short as usize) {
        counts[i] += 1;
    }
    counts
}

/// The distribution of greatest entropy on `support` with mean 0 and
/// variance `variance`: `p(d) ∝ exp(a·d + b·d²)`, `a` and `b` found by
/// Newton's method on the two moment conditions. `None` when the moments
/// cannot be met on this support.
fn max_entropy(support: &[i64], variance: f64) -> Option<Vec<f64>> {
    let lo = support[0] as f64;
    let hi = support[support.len() - 1] as f64;
    // Mean 0 allows a variance up to -lo·hi on [lo, hi].
    if !(variance > 0.0 && variance < -lo * hi) {
        return None;
    }
    let dist = |a: f64, b: f64| -> Vec<f64> {
        let e: Vec<f64> = support
            .iter()
            .map(|&d| {
                let d = d as f64;
                a * d + b * d * d
            })
            .collect();
        let top = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = e.iter().map(|x| (x - top).exp()).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    };
    let moments = |p: &[f64]| -> [f64; 4] {
        let mut m = [0.0; 4];
        for (&d, &q) in support.iter().zip(p) {
            let d = d as f64;
            m[0] += q * d;
            m[1] += q * d * d;
            m[2] += q * d * d * d;
            m[3] += q * d * d * d * d;
        }
        m
    };
    let (mut a, mut b) = (0.0, -1.0 / (2.0 * variance));
    for _ in 0..200 {
        let p = dist(a, b);
        let [m1, m2, m3, m4] = moments(&p);
        let (f1, f2) = (m1, m2 - variance);
        if f1.abs() < 1e-12 && f2.abs() < 1e-12 {
            return Some(p);
        }
        // The Jacobian of (E d, E d²) in (a, b) is the covariance matrix of (d, d²).
        let (j11, j12, j22) = (m2 - m1 * m1, m3 - m1 * m2, m4 - m2 * m2);
        let det = j11 * j22 - j12 * j12;
        if det.abs() < 1e-300 {
            return None;
        }
        let da = (f1 * j22 - f2 * j12) / det;
        let db = (f2 * j11 - f1 * j12) / det;
        // Damped: never more than a unit step in either parameter.
        let scale = 1.0f64.max(da.abs()).max(db.abs());
        a -= da / scale;
        b -= db / scale;
    }
    None
}

/// A perturbation table read from a file in the layout of the R `ptable`
/// package; this crate does no I/O, so whoever loads the policy reads it
/// (`reglink_release::load_policy`). The last row stands for every larger
/// count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportedPtable {
    /// The file, as the policy names it.
    pub file: String,
    /// Per count from 0, each perturbation with its number of the 256 keys
    /// (empty until the file is read).
    #[serde(skip)]
    pub rows: Vec<Vec<(i64, u16)>>,
}

impl PTable {
    /// A table read from a file ([`ImportedPtable`]).
    pub fn imported(t: &ImportedPtable) -> PTable {
        PTable::from_byte_rows(&t.rows)
    }

    /// reglink's first design: Gaussian weights with largest perturbation
    /// `max` and parameter `variance`, looked up with wide keys.
    pub fn new(max: u32, variance: f64) -> PTable {
        let rows = (0..=u64::from(max) + 1)
            .map(|n| {
                if n == 0 {
                    return row_of(0, &[1.0]);
                }
                let low = -(n.min(u64::from(max)) as i64);
                let weights: Vec<f64> = (low..=i64::from(max))
                    .map(|d| (-((d * d) as f64) / (2.0 * variance)).exp())
                    .collect();
                row_of(low, &weights)
            })
            .collect();
        PTable {
            rows,
            period: 1,
            keys: Keys::Wide,
        }
    }

    /// The maximum-entropy design with largest perturbation `max` and
    /// variance `variance` (below `max`, or count 1 cannot meet it), in
    /// 256ths for byte keys. `None` when the moments cannot be met.
    pub fn entropy(max: u32, variance: f64) -> Option<PTable> {
        let max = i64::from(max);
        let mut rows = vec![byte_row(&[(0, 256)])];
        for n in 1..=max {
            let support: Vec<i64> = (-n.min(max)..=max).collect();
            let p = max_entropy(&support, variance)?;
            let counts = to_256ths(&p);
            let entries: Vec<(i64, u16)> = support.into_iter().zip(counts).collect();
            rows.push(byte_row(&entries));
        }
        Some(PTable {
            rows,
            period: 1,
            keys: Keys::Byte,
        })
    }

    /// The `10_5` design: counts 1-9 to 0, larger ones to a multiple of 5.
    pub fn ten_five() -> PTable {
        let mut rows = vec![byte_row(&[(0, 256)])];
        for n in 1..=14i64 {
            let row = if n < 10 {
                byte_row(&[(-n, 256)])
            } else {
                let r = n % 5;
                let up = to_256ths(&[1.0 - r as f64 / 5.0, r as f64 / 5.0]);
                byte_row(&[(-r, up[0]), (5 - r, up[1])])
            };
            rows.push(row);
        }
        PTable {
            rows,
            period: 5,
            keys: Keys::Byte,
        }
    }

    /// A table from rows of `(n, perturbation, keys out of 256)`, for byte
    /// keys: the rows must be `0, 1, ..` without a gap, each row's keys
    /// summing to 256; the last row stands for every larger count.
    pub fn from_byte_rows(rows: &[Vec<(i64, u16)>]) -> PTable {
        PTable {
            rows: rows.iter().map(|r| byte_row(r)).collect(),
            period: 1,
            keys: Keys::Byte,
        }
    }

    /// How cell keys pick perturbations.
    pub fn keys(&self) -> Keys {
        self.keys
    }

    fn row(&self, n: u64) -> &Row {
        let len = self.rows.len() as u64;
        let i = if n < len {
            n
        } else {
            let base = len - self.period as u64;
            base + (n - base) % self.period as u64
        };
        &self.rows[i as usize]
    }

    /// The perturbation of count `n` whose cell key is `key`; `salt` names
    /// the quantity (used by wide keys only).
    pub fn perturbation(&self, n: u64, key: u32, salt: u64) -> i64 {
        let row = self.row(n);
        let i = match self.keys {
            Keys::Byte => {
                let k = (key & 0xff) as u16;
                row.keys.iter().position(|&c| k < c)
            }
            Keys::Wide => {
                let u = super::uniform(key, salt);
                row.cumulative.iter().position(|&c| u < c)
            }
        };
        row.perturbations[i.unwrap_or(row.perturbations.len() - 1)]
    }

    /// The perturbed count.
    pub fn perturb(&self, n: u64, key: u32, salt: u64) -> u64 {
        (n as i64 + self.perturbation(n, key, salt)).max(0) as u64
    }

    /// The table as CSV rows `n,perturbation,probability`, for the release
    /// bundle. The last row's `n` ends in `+` and stands for every larger
    /// count; with a period `P` above 1 the last `P` rows are labelled
    /// `n+Pk` (n, n + P, n + 2P, ...). Under byte keys every probability is
    /// a whole number of 256ths, written exactly.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("n,perturbation,probability\n");
        let len = self.rows.len();
        for (n, row) in self.rows.iter().enumerate() {
            let label = if n + self.period < len {
                n.to_string()
            } else if self.period == 1 {
                format!("{n}+")
            } else {
                format!("{n}+{}k", self.period)
            };
            let mut prev = 0.0;
            for (&d, &c) in row.perturbations.iter().zip(&row.cumulative) {
                match self.keys {
                    Keys::Byte => out.push_str(&format!("{label},{d},{:.8}\n", c - prev)),
                    Keys::Wide => out.push_str(&format!("{label},{d},{:.6}\n", c - prev)),
                }
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
        let tables = [
            PTable::new(2, 1.0),
            PTable::entropy(3, 1.5).unwrap(),
            PTable::ten_five(),
        ];
        for t in &tables {
            for k in 0..2000u32 {
                assert_eq!(t.perturb(0, k, 1), 0);
                for n in 1..40 {
                    let p = t.perturbation(n, k, 1);
                    assert!(n as i64 + p >= 0, "{t:?}");
                }
            }
        }
    }

    #[test]
    fn large_counts_are_unbiased() {
        let t = PTable::new(2, 1.0);
        let sum: i64 = (0..100_000u32)
            .map(|k| t.perturbation(50, k.wrapping_mul(2_654_435_761), 3))
            .sum();
        assert!((sum as f64 / 100_000.0).abs() < 0.02, "{sum}");
        // The same cell key gives the same perturbation.
        assert_eq!(t.perturbation(50, 77, 3), t.perturbation(50, 77, 3));
    }

    /// Mean and variance of a byte row over its 256 keys.
    fn moments(t: &PTable, n: u64) -> (f64, f64) {
        let d: Vec<f64> = (0..256u32)
            .map(|k| t.perturbation(n, k, 0) as f64)
            .collect();
        let mean = d.iter().sum::<f64>() / 256.0;
        let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 256.0;
        (mean, var)
    }

    #[test]
    fn the_entropy_design_has_mean_zero_and_the_variance_asked_for() {
        let t = PTable::entropy(3, 1.5).unwrap();
        for n in 1..30 {
            let (mean, var) = moments(&t, n);
            assert!(mean.abs() < 3.0 / 256.0, "n = {n}: mean {mean}");
            assert!((var - 1.5).abs() < 0.05, "n = {n}: variance {var}");
            assert!((-3..=3).contains(&t.perturbation(n, 255, 0)));
        }
        // Count 1 can move down by 1 at most: a variance of D is out of reach.
        assert!(PTable::entropy(3, 3.0).is_none());
    }

    #[test]
    fn the_10_5_design_hides_small_counts_and_rounds_the_others_to_fives() {
        let t = PTable::ten_five();
        for n in 0..200u64 {
            for k in 0..256u32 {
                let v = t.perturb(n, k, 0);
                if n < 10 {
                    assert_eq!(v, 0);
                } else {
                    assert_eq!(v % 5, 0, "{n} -> {v}");
                    assert!(v.abs_diff(n) < 5);
                }
            }
            if n >= 10 {
                let (mean, _) = moments(&t, n);
                // 256·r/5 keys are not whole: off by at most half a key's 5.
                assert!(mean.abs() <= 2.5 / 256.0, "n = {n}: mean {mean}");
            }
        }
        // Only the low byte of the cell key matters.
        assert_eq!(t.perturb(13, 0x1234_5601, 0), t.perturb(13, 0x01, 9));
        assert!(t.to_csv().contains("\n14+5k,1,"));
    }
}
