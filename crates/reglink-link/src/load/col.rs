//! Typed access to one Arrow column, whatever physical type the extract used.
//!
//! Extracts differ: a month may be `202402` (integer), `"202402"` or
//! `"2024-02"` (text); a date a Parquet `DATE` or ISO text. [`Col`] wraps the
//! array once per batch and answers per row, so the loaders read values the
//! same way from CSV-born text columns and typed Parquet columns.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_schema::DataType;

use crate::study::{Month, resolve_parse_month};

/// What a value of a row is, when it is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Null or empty text.
    Missing,
    /// Present but not of the expected shape.
    Invalid,
    /// A number whose one `,` or `.` may separate thousands or decimals (`1,234`).
    Ambiguous,
}

impl Bad {
    /// The word a reject reason ends with: `amount_ambiguous`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Bad::Missing => "missing",
            Bad::Invalid => "invalid",
            Bad::Ambiguous => "ambiguous",
        }
    }
}

/// The largest magnitude a number may have (10^15): far above any amount or
/// income, and low enough that sums over every row of a register fit an `i64`.
pub(crate) const MAX_NUMBER: i64 = 1_000_000_000_000_000;

/// A number read from a cell: whole units, and whether a fraction was rounded
/// away (half to even).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Number {
    pub value: i64,
    pub rounded: bool,
}

pub(crate) enum Col<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    I8(&'a PrimitiveArray<Int8Type>),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    U8(&'a PrimitiveArray<UInt8Type>),
    U16(&'a PrimitiveArray<UInt16Type>),
    U32(&'a PrimitiveArray<UInt32Type>),
    U64(&'a PrimitiveArray<UInt64Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    Date(&'a PrimitiveArray<Date32Type>),
}

/// Which values a concept reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A code: text or integer.
    Code,
    /// A month: `YYYYMM`, `YYYY-MM` or a date.
    Month,
    /// A day: a date or ISO text.
    Date,
    /// An integer (amounts, incomes, years): integers, floats (rounded) or text.
    Number,
}

impl Want {
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Want::Code => "text or integer",
            Want::Month => "text (YYYYMM or YYYY-MM), integer (YYYYMM) or date",
            Want::Date => "date or text (YYYY-MM-DD)",
            Want::Number => "integer, float or text",
        }
    }
}

impl<'a> Col<'a> {
    /// Wraps `array` if its type can hold `want`; `None` otherwise.
    pub(crate) fn new(array: &'a ArrayRef, want: Want) -> Option<Col<'a>> {
        let text_ok = true;
        let int_ok = matches!(want, Want::Code | Want::Month | Want::Number);
        let float_ok = want == Want::Number;
        let date_ok = matches!(want, Want::Month | Want::Date);
        Some(match array.data_type() {
            DataType::Utf8 if text_ok => Col::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 if text_ok => Col::Large(array.as_string::<i64>()),
            DataType::Utf8View if text_ok => Col::View(array.as_string_view()),
            DataType::Int8 if int_ok => Col::I8(array.as_primitive()),
            DataType::Int16 if int_ok => Col::I16(array.as_primitive()),
            DataType::Int32 if int_ok => Col::I32(array.as_primitive()),
            DataType::Int64 if int_ok => Col::I64(array.as_primitive()),
            DataType::UInt8 if int_ok => Col::U8(array.as_primitive()),
            DataType::UInt16 if int_ok => Col::U16(array.as_primitive()),
            DataType::UInt32 if int_ok => Col::U32(array.as_primitive()),
            DataType::UInt64 if int_ok => Col::U64(array.as_primitive()),
            DataType::Float64 if float_ok => Col::F64(array.as_primitive()),
            DataType::Float32 if float_ok => Col::F32(array.as_primitive()),
            DataType::Date32 if date_ok => Col::Date(array.as_primitive()),
            _ => return None,
        })
    }

    fn text(&self, i: usize) -> Option<Option<&'a str>> {
        Some(match self {
            Col::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Col::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Col::View(a) => a.is_valid(i).then(|| a.value(i)),
            _ => return None,
        })
    }

    /// The value of an integer column (`None` if the column is not integer).
    pub(crate) fn integer(&self, i: usize) -> Option<Option<i64>> {
        self.int(i)
    }

    fn int(&self, i: usize) -> Option<Option<i64>> {
        macro_rules! get {
            ($a:expr) => {
                $a.is_valid(i).then(|| $a.value(i) as i64)
            };
        }
        Some(match self {
            Col::I8(a) => get!(a),
            Col::I16(a) => get!(a),
            Col::I32(a) => get!(a),
            Col::I64(a) => get!(a),
            Col::U8(a) => get!(a),
            Col::U16(a) => get!(a),
            Col::U32(a) => get!(a),
            Col::U64(a) => a
                .is_valid(i)
                .then(|| i64::try_from(a.value(i)).unwrap_or(i64::MAX)),
            _ => return None,
        })
    }

    /// A code, as text. Integer codes are written in decimal.
    pub(crate) fn code(&self, i: usize, buf: &mut String) -> Result<(), Bad> {
        buf.clear();
        if let Some(t) = self.text(i) {
            let t = t
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(Bad::Missing)?;
            buf.push_str(t);
            return Ok(());
        }
        if let Some(v) = self.int(i) {
            use std::fmt::Write;
            let v = v.ok_or(Bad::Missing)?;
            let _ = write!(buf, "{v}");
            return Ok(());
        }
        Err(Bad::Invalid)
    }

    /// A month index.
    pub(crate) fn month(&self, i: usize) -> Result<Month, Bad> {
        if let Some(t) = self.text(i) {
            let t = t
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(Bad::Missing)?;
            return resolve_parse_month(t).ok_or(Bad::Invalid);
        }
        if let Some(v) = self.int(i) {
            let v = v.ok_or(Bad::Missing)?;
            let (y, m) = (v / 100, v % 100);
            if !(1..=12).contains(&m) || !(1000..=9999).contains(&y) {
                return Err(Bad::Invalid);
            }
            return Ok((y * 12 + m - 1) as Month);
        }
        if let Col::Date(a) = self {
            if !a.is_valid(i) {
                return Err(Bad::Missing);
            }
            return Ok(reglink_pnr::Date::from_days_since_epoch(a.value(i)).month_index());
        }
        Err(Bad::Invalid)
    }

    /// Days since 1970-01-01.
    pub(crate) fn date(&self, i: usize) -> Result<i32, Bad> {
        if let Col::Date(a) = self {
            return if a.is_valid(i) {
                Ok(a.value(i))
            } else {
                Err(Bad::Missing)
            };
        }
        if let Some(t) = self.text(i) {
            let t = t
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(Bad::Missing)?;
            return reglink_pnr::Date::parse_iso(t)
                .map(|d| d.days_since_epoch())
                .ok_or(Bad::Invalid);
        }
        Err(Bad::Invalid)
    }

    /// An integer; see [`Col::number_exact`].
    pub(crate) fn number(&self, i: usize) -> Result<i64, Bad> {
        self.number_exact(i).map(|n| n.value)
    }

    /// A number in whole units. Floats and decimal text with a fraction are
    /// rounded half to even, and say so; text is read by [`parse_number`].
    /// Magnitudes over [`MAX_NUMBER`] are invalid.
    pub(crate) fn number_exact(&self, i: usize) -> Result<Number, Bad> {
        if let Some(v) = self.int(i) {
            let value = v.ok_or(Bad::Missing)?;
            return if (-MAX_NUMBER..=MAX_NUMBER).contains(&value) {
                Ok(Number {
                    value,
                    rounded: false,
                })
            } else {
                Err(Bad::Invalid)
            };
        }
        let float = match self {
            Col::F64(a) => Some(a.is_valid(i).then(|| a.value(i))),
            Col::F32(a) => Some(a.is_valid(i).then(|| f64::from(a.value(i)))),
            _ => None,
        };
        if let Some(f) = float {
            let f = f.ok_or(Bad::Missing)?;
            if !f.is_finite() || f.abs() > MAX_NUMBER as f64 {
                return Err(Bad::Invalid);
            }
            return Ok(Number {
                value: f.round_ties_even() as i64,
                rounded: f.fract() != 0.0,
            });
        }
        if let Some(t) = self.text(i) {
            return parse_number(t.ok_or(Bad::Missing)?);
        }
        Err(Bad::Invalid)
    }
}

/// A separator between the digit groups of a written number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// A space, no-break space (U+00A0) or narrow no-break space (U+202F).
    Space,
    Comma,
    Point,
}

/// Reads a number as Swedish and international exports write it.
///
/// An optional sign (`-`, `+` or U+2212) and digits, with thousands grouped by
/// spaces (also U+00A0, U+202F), points or commas, and a decimal comma or
/// point: `1234`, `1 234`, `1 234,50`, `1.234,50`, `1,234.50`, `100,49`,
/// `1234.5`. A separator is read as a decimal mark only when nothing else
/// fits: the other one of `,` `.` before it, or not exactly three digits after
/// it, or an integer part that cannot be a thousands group (`0,500`,
/// `1234,567`). `1,234` and `1.234` alone are [`Bad::Ambiguous`]: a thousand
/// or a little over one, and guessing would be wrong by a factor of 1000 in
/// one reading of them. A fraction is rounded half to even. Never slices the
/// text, so any character is safe.
pub(crate) fn parse_number(text: &str) -> Result<Number, Bad> {
    let t = text.trim();
    let mut chars = t.chars().peekable();
    let negative = match chars.peek() {
        None => return Err(Bad::Missing),
        Some('-' | '\u{2212}') => true,
        _ => false,
    };
    if matches!(chars.peek(), Some('-' | '+' | '\u{2212}')) {
        chars.next();
    }
    // Digit runs and the separators between them.
    let mut runs: Vec<Vec<u8>> = vec![Vec::new()];
    let mut seps: Vec<Sep> = Vec::new();
    for c in chars {
        let sep = match c {
            '0'..='9' => {
                let run = runs
                    .last_mut()
                    .unwrap_or_else(|| unreachable!("never empty"));
                // More digits than any value below MAX_NUMBER needs, fraction included.
                if run.len() >= 40 {
                    return Err(Bad::Invalid);
                }
                run.push(c as u8 - b'0');
                continue;
            }
            ' ' | '\u{a0}' | '\u{202f}' => Sep::Space,
            ',' => Sep::Comma,
            '.' => Sep::Point,
            _ => return Err(Bad::Invalid),
        };
        if runs.last().is_some_and(Vec::is_empty) || seps.len() >= 8 {
            return Err(Bad::Invalid);
        }
        seps.push(sep);
        runs.push(Vec::new());
    }
    if runs.iter().any(Vec::is_empty) {
        return Err(Bad::Invalid);
    }
    // Which separator, if any, is the decimal mark.
    let decimal = match seps.split_last() {
        None => false,
        Some((Sep::Space, _)) => false,
        Some((&last, before)) => {
            if before.contains(&last) {
                // Repeated: it groups thousands (`1.234.567`).
                false
            } else if let Some(&group) = before.first() {
                // Another separator groups the integer part (`1 234,50`, `1.234,50`).
                if before.iter().any(|&s| s != group) {
                    return Err(Bad::Invalid);
                }
                true
            } else {
                let (int, frac) = (&runs[0], &runs[1]);
                let could_be_group = frac.len() == 3 && int.len() <= 3 && int[0] != 0;
                if could_be_group {
                    return Err(Bad::Ambiguous);
                }
                true
            }
        }
    };
    let (int_runs, frac) = if decimal {
        let (frac, int_runs) = runs
            .split_last()
            .unwrap_or_else(|| unreachable!("a separator"));
        (int_runs, frac.as_slice())
    } else {
        (runs.as_slice(), &[][..])
    };
    let grouping = if decimal {
        &seps[..seps.len() - 1]
    } else {
        &seps[..]
    };
    if let Some(&group) = grouping.first() {
        let groups_ok = grouping.iter().all(|&s| s == group)
            && int_runs[0].len() <= 3
            && int_runs[1..].iter().all(|r| r.len() == 3);
        if !groups_ok {
            return Err(Bad::Invalid);
        }
    }
    let mut value: i64 = 0;
    for &d in int_runs.iter().flatten() {
        value = value * 10 + i64::from(d);
        if value > MAX_NUMBER {
            return Err(Bad::Invalid);
        }
    }
    // Half to even: compare the fraction with one half.
    let rounded = frac.iter().any(|&d| d != 0);
    let up = match frac.first() {
        None => false,
        Some(&d) if d != 5 => d > 5,
        Some(_) => frac[1..].iter().any(|&d| d != 0) || value % 2 == 1,
    };
    if up {
        value += 1;
        if value > MAX_NUMBER {
            return Err(Bad::Invalid);
        }
    }
    Ok(Number {
        value: if negative { -value } else { value },
        rounded,
    })
}

/// Reads each of `cells` as an extract's text cell is read: as a code, a
/// month, a date and a number. Returns how many readings succeeded. Not part
/// of the API: it exists so that fuzzing can reach the cell readers without
/// writing Parquet files (`fuzz/fuzz_targets/cell_text.rs`).
#[doc(hidden)]
pub fn read_text_cells(cells: &[&str]) -> usize {
    let array: ArrayRef = std::sync::Arc::new(arrow_array::StringArray::from(cells.to_vec()));
    let mut ok = 0;
    let mut buf = String::new();
    for want in [Want::Code, Want::Month, Want::Date, Want::Number] {
        let col = Col::new(&array, want).expect("text holds every kind of value");
        for i in 0..cells.len() {
            ok += usize::from(match want {
                Want::Code => col.code(i, &mut buf).is_ok(),
                Want::Month => col.month(i).is_ok(),
                Want::Date => col.date(i).is_ok(),
                Want::Number => col.number_exact(i).is_ok(),
            });
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Date32Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn months_read_from_text_integers_and_dates() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("202402"),
            Some("2024-02"),
            Some(" "),
            None,
            Some("2024-13"),
        ]));
        let c = Col::new(&text, Want::Month).unwrap();
        let feb = 2024 * 12 + 1;
        assert_eq!(c.month(0), Ok(feb));
        assert_eq!(c.month(1), Ok(feb));
        assert_eq!(c.month(2), Err(Bad::Missing));
        assert_eq!(c.month(3), Err(Bad::Missing));
        assert_eq!(c.month(4), Err(Bad::Invalid));
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![202402, 202400]));
        let c = Col::new(&ints, Want::Month).unwrap();
        assert_eq!(c.month(0), Ok(feb));
        assert_eq!(c.month(1), Err(Bad::Invalid));
        let day = reglink_pnr::Date::new(2024, 2, 29)
            .unwrap()
            .days_since_epoch();
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![day]));
        assert_eq!(Col::new(&dates, Want::Month).unwrap().month(0), Ok(feb));
        assert_eq!(Col::new(&dates, Want::Date).unwrap().date(0), Ok(day));
    }

    #[test]
    fn numbers_round_and_reject_text_that_is_not_a_number() {
        let text: ArrayRef = Arc::new(StringArray::from(vec!["5815", "12,5", "abc", "-3"]));
        let c = Col::new(&text, Want::Number).unwrap();
        assert_eq!(c.number(0), Ok(5815));
        assert_eq!(c.number(1), Ok(12), "half to even");
        assert_eq!(c.number(2), Err(Bad::Invalid));
        assert_eq!(c.number(3), Ok(-3));
    }

    fn read(text: &str) -> Result<(i64, bool), Bad> {
        parse_number(text).map(|n| (n.value, n.rounded))
    }

    #[test]
    fn swedish_amounts_read_exactly() {
        // Each of these was rounded or rejected as a whole row.
        assert_eq!(read("1 234,50"), Ok((1234, true)));
        assert_eq!(read("1\u{a0}234,50"), Ok((1234, true)));
        assert_eq!(read("1\u{202f}234"), Ok((1234, false)));
        assert_eq!(read("12 345 678"), Ok((12_345_678, false)));
        assert_eq!(read("1.234,50"), Ok((1234, true)));
        assert_eq!(read("1.234.567"), Ok((1_234_567, false)));
        assert_eq!(read("1,234,567"), Ok((1_234_567, false)));
        assert_eq!(read("1,234.51"), Ok((1235, true)));
        assert_eq!(read("1234.5"), Ok((1234, true)));
        assert_eq!(read("1235.5"), Ok((1236, true)));
        assert_eq!(read("100,49"), Ok((100, true)));
        assert_eq!(read("100,50"), Ok((100, true)));
        assert_eq!(read("100,51"), Ok((101, true)));
        assert_eq!(read("101,5"), Ok((102, true)));
        assert_eq!(read("100,00"), Ok((100, false)));
        assert_eq!(read("0,500"), Ok((0, true)));
        assert_eq!(read("1234,567"), Ok((1235, true)));
        assert_eq!(read("\u{2212}1 234"), Ok((-1234, false)));
        assert_eq!(read("-0,5"), Ok((0, true)));
        assert_eq!(read("+7"), Ok((7, false)));
        assert_eq!(read(" 5815 "), Ok((5815, false)));
    }

    #[test]
    fn ambiguous_and_malformed_numbers_are_not_guessed() {
        for s in ["1,234", "1.234", "-999,000", "12.500"] {
            assert_eq!(read(s), Err(Bad::Ambiguous), "{s}");
        }
        for s in [
            "12 34",
            "1 2345",
            "1.234 567",
            "1,234,56",
            "1,2.3,4",
            "100,",
            ",5",
            "1  234",
            "1e5",
            "inf",
            "NaN",
            "12 kr",
            "1 234.567,8",
            "--5",
            "5-",
            "1,234.567.8",
            "10000000000000000",
            "١٢٣",
            "12ä",
            "ä",
        ] {
            assert_eq!(read(s), Err(Bad::Invalid), "{s}");
        }
        assert_eq!(read("  "), Err(Bad::Missing));
        assert_eq!(read("1000000000000000"), Ok((MAX_NUMBER, false)));
    }

    #[test]
    fn floats_round_half_to_even_and_huge_values_are_invalid() {
        let f: ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![
            2.5,
            3.5,
            -2.5,
            7.0,
            1e300,
            f64::NAN,
        ]));
        let c = Col::new(&f, Want::Number).unwrap();
        let n = |i| c.number_exact(i).map(|n| (n.value, n.rounded));
        assert_eq!(n(0), Ok((2, true)));
        assert_eq!(n(1), Ok((4, true)));
        assert_eq!(n(2), Ok((-2, true)));
        assert_eq!(n(3), Ok((7, false)));
        assert_eq!(n(4), Err(Bad::Invalid));
        assert_eq!(n(5), Err(Bad::Invalid));
        let big: ArrayRef = Arc::new(Int64Array::from(vec![i64::MAX, -MAX_NUMBER]));
        let c = Col::new(&big, Want::Number).unwrap();
        assert_eq!(c.number(0), Err(Bad::Invalid));
        assert_eq!(c.number(1), Ok(-MAX_NUMBER));
    }

    #[test]
    fn text_months_and_dates_with_any_characters_are_invalid_not_panics() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            "203ä5",
            "2024-0ä",
            "2024-02-ä1",
            "ä",
        ]));
        let months = Col::new(&text, Want::Month).unwrap();
        let dates = Col::new(&text, Want::Date).unwrap();
        for i in 0..4 {
            assert_eq!(months.month(i), Err(Bad::Invalid));
            assert_eq!(dates.date(i), Err(Bad::Invalid));
        }
    }

    #[test]
    fn types_that_cannot_hold_the_concept_are_refused() {
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![1]));
        assert!(Col::new(&dates, Want::Number).is_none());
        assert!(Col::new(&dates, Want::Code).is_none());
        let mut buf = String::new();
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![180]));
        Col::new(&ints, Want::Code)
            .unwrap()
            .code(0, &mut buf)
            .unwrap();
        assert_eq!(buf, "180");
    }

    /// `int` with thousands grouped by `group` (if any) and the fraction
    /// `frac` after `mark`.
    fn write(int: i64, group: Option<char>, mark: char, frac: &str) -> String {
        let digits = int.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if let Some(g) = group
                && i > 0
                && (digits.len() - i).is_multiple_of(3)
            {
                out.push(g);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(mark);
            out.push_str(frac);
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        #[test]
        fn any_text_cell_is_a_value_or_rejected(texts in proptest::collection::vec(".*", 1..8)) {
            let array: ArrayRef = Arc::new(StringArray::from(texts.clone()));
            let mut buf = String::new();
            for want in [Want::Code, Want::Month, Want::Date, Want::Number] {
                let c = Col::new(&array, want).unwrap();
                for i in 0..texts.len() {
                    let _ = (c.month(i), c.date(i), c.number_exact(i), c.code(i, &mut buf));
                }
            }
        }

        #[test]
        fn written_amounts_read_exactly_or_as_ambiguous(
            int in proptest::prop_oneof![0i64..1000, 0i64..10_000_000_000],
            frac in "[0-9]{0,4}",
            group in proptest::sample::select(vec![None, Some(' '), Some('\u{a0}'), Some('\u{202f}'), Some('.'), Some(',')]),
            mark in proptest::sample::select(vec![',', '.']),
            negative in proptest::bool::ANY,
        ) {
            // A group mark equal to the decimal mark is not a way to write a number.
            proptest::prop_assume!(group != Some(mark));
            let text = format!("{}{}", if negative { "-" } else { "" }, write(int, group, mark, &frac));
            let grouped = group.is_some() && int >= 1000;
            let ambiguous = !grouped && frac.len() == 3 && (1..1000).contains(&int);
            let got = parse_number(&text);
            if ambiguous {
                proptest::prop_assert_eq!(got, Err(Bad::Ambiguous), "{}", text);
            } else {
                // Half to even, in integers.
                let digits: Vec<u8> = frac.bytes().map(|b| b - b'0').collect();
                let up = match digits.first() {
                    None => false,
                    Some(&d) if d != 5 => d > 5,
                    Some(_) => digits[1..].iter().any(|&d| d != 0) || int % 2 == 1,
                };
                let value = int + i64::from(up);
                let want = Number {
                    value: if negative { -value } else { value },
                    rounded: digits.iter().any(|&d| d != 0),
                };
                proptest::prop_assert_eq!(got, Ok(want), "{}", text);
            }
        }
    }
}
