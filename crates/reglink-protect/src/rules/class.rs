//! Class disclosure (all or none).
//!
//! *Specification.* A share whose numerator is 0 or equal to its positive
//! denominator tells, of every member of the group, whether they have the
//! attribute (none or all of them do). With class disclosure on, such a
//! share is suppressed; the group's count itself may still be published.

/// Whether the share `num / den` discloses the whole class.
pub fn breaks(num: u64, den: u64) -> bool {
    den > 0 && (num == 0 || num == den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_or_none_disclose() {
        assert!(breaks(0, 12));
        assert!(breaks(12, 12));
        assert!(!breaks(5, 12));
        assert!(!breaks(0, 0));
    }
}
