//! Keeping personnummer out of messages that quote user text.
//!
//! Some error messages must quote what the user wrote: the TOML parser
//! quotes the line it stopped at, a CSV error names a column, and a file
//! exported without its header row has a personnummer where a column name
//! should be. [`withhold_numbers`] replaces anything that could be one.

/// What a withheld number is replaced by.
pub const WITHHELD: &str = "[number withheld]";

/// `text` with every number that could be a personnummer replaced by
/// [`WITHHELD`]: a run of ten or more digits, counting two groups of digits
/// joined by one `-`, `+` or space (`19900101-0017`, `900101+0017`,
/// `900101 0017`). Shorter numbers (years, months, municipality codes, line
/// numbers) and lists of them (`2023 2024 2025`) are kept.
///
/// ```
/// use reglink_pnr::withhold_numbers;
/// assert_eq!(
///     withhold_numbers("line 3: \"19900101-0017\" is not a code"),
///     "line 3: \"[number withheld]\" is not a code"
/// );
/// assert_eq!(withhold_numbers("years 2023 2024, month 2024-01"), "years 2023 2024, month 2024-01");
/// ```
pub fn withhold_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digits_from = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        let mut end = digits_from(i);
        let mut digits = end - start;
        let joined = end + 1 < chars.len()
            && matches!(chars[end], '-' | '+' | ' ')
            && chars[end + 1].is_ascii_digit();
        if joined {
            let second = digits_from(end + 1);
            digits += second - (end + 1);
            end = second;
        }
        if digits >= 10 {
            out.push_str(WITHHELD);
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::withhold_numbers;

    #[test]
    fn personnummer_like_runs_are_withheld_and_other_numbers_kept() {
        for (text, want) in [
            (
                "line 3: \"19900101-0017\" is",
                "line 3: \"[number withheld]\" is",
            ),
            ("a 900101+0017 b", "a [number withheld] b"),
            ("a 900101 0017 b", "a [number withheld] b"),
            ("x 9001010017", "x [number withheld]"),
            ("199001010017- and", "[number withheld]- and"),
            ("column `199001010017`", "column `[number withheld]`"),
            (
                "line 12, column 4: 2024-01 and 0180",
                "line 12, column 4: 2024-01 and 0180",
            ),
            ("years 2023 2024 2025", "years 2023 2024 2025"),
            ("ä 12345 ö", "ä 12345 ö"),
            ("", ""),
            ("123456789", "123456789"),
            ("1234567890", "[number withheld]"),
        ] {
            assert_eq!(withhold_numbers(text), want, "{text}");
        }
    }

    #[test]
    fn every_valid_form_of_a_number_is_withheld() {
        for form in [
            "199001010017",
            "19900101-0017",
            "900101-0017",
            "900101+0017",
            "9001010017",
            "19900161-0017",
        ] {
            let out = withhold_numbers(&format!("before {form} after"));
            assert!(!out.contains("0017"), "{form}: {out}");
        }
    }
}
