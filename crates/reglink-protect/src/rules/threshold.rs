//! Threshold rule.
//!
//! *Specification.* A count of distinct contributors `n` may be released only
//! if `n >= threshold`. It applies to every released count, to both the
//! numerator and the denominator of a share, and to the contributors behind
//! a sum, mean or median. A count of zero is not a threshold failure: whether
//! zeros are disclosive is the zeros rule's question.

/// Whether count `n` breaks the threshold.
pub fn breaks(n: u64, threshold: u64) -> bool {
    n > 0 && n < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_positive_counts_break_it() {
        assert!(breaks(1, 10));
        assert!(breaks(9, 10));
        assert!(!breaks(10, 10));
        assert!(!breaks(0, 10));
        assert!(!breaks(1, 0));
    }
}
