//! The alternatives to suppressing counts: random rounding with margins
//! that add up ([`rounding`]) and the cell key method ([`cell_key`]).
//!
//! Both draw their randomness from the cell's key, the wrapping sum of its
//! contributors' record keys (derived with keyed BLAKE3 at pseudonymisation), so the
//! same people give the same draw in every run, every table and every
//! release, and nobody without the key can predict it.

pub mod cell_key;
pub mod rounding;

/// A uniform number in `[0, 1)` from a cell key and a salt naming the
/// quantity (persons, a share's numerator, ...), so that different
/// quantities of one cell get independent draws.
pub fn uniform(key: u32, salt: u64) -> f64 {
    // SplitMix64 finaliser: a bijective mix of the 64 bits.
    let mut z = (u64::from(key) ^ salt.rotate_left(32)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A salt from a quantity's name.
pub fn salt(name: &str) -> u64 {
    // FNV-1a: a stable, dependency-free hash of a short public name.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn uniform_is_in_range_and_spread() {
        let draws: Vec<f64> = (0..10_000u32).map(|k| super::uniform(k, 7)).collect();
        assert!(draws.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_ne!(super::uniform(1, 1), super::uniform(1, 2));
    }
}
