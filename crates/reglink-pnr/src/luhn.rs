//! The Luhn check digit of a personnummer.
//!
//! The check digit `C` protects the nine digits `YYMMDDNNN`: from the left,
//! digits are weighted 2, 1, 2, 1, ...; a product of two digits (10..=18)
//! counts as the sum of its digits; `C` brings the total to a multiple of ten.
//!
//! Luhn catches every single-digit error and most transpositions of adjacent
//! digits. It does **not** cover the century digits of the twelve-digit form.

/// The check digit (0..=9) for the nine ASCII digits `YYMMDDNNN`.
///
/// The caller guarantees that every byte is an ASCII digit.
pub(crate) fn check_digit(payload: &[u8; 9]) -> u8 {
    let mut sum = 0u8; // at most nine times nine: no overflow
    for (i, &byte) in payload.iter().enumerate() {
        debug_assert!(byte.is_ascii_digit());
        let digit = byte - b'0';
        let weighted = if i % 2 == 0 { digit * 2 } else { digit };
        // The digit sum of 10..=18 is the number minus nine.
        sum += if weighted > 9 { weighted - 9 } else { weighted };
    }
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::check_digit;

    #[test]
    fn known_check_digits() {
        // The well-known test numbers 811218-9876 and 121212-1212.
        assert_eq!(check_digit(b"811218987"), 6);
        assert_eq!(check_digit(b"121212121"), 2);
        assert_eq!(check_digit(b"000000000"), 0);
        // 9 at a weight-2 position gives 18, which counts as 1 + 8 = 9.
        assert_eq!(check_digit(b"900000000"), 1);
        assert_eq!(check_digit(b"090000000"), 1);
    }

    #[test]
    fn every_single_digit_change_changes_the_check_digit() {
        let base = *b"811218987";
        for position in 0..9 {
            for replacement in b'0'..=b'9' {
                if replacement == base[position] {
                    continue;
                }
                let mut changed = base;
                changed[position] = replacement;
                assert_ne!(check_digit(&changed), 6, "position {position}");
            }
        }
    }
}
