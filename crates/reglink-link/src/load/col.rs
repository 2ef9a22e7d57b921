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

    /// An integer; floats and decimal text are rounded to the nearest.
    pub(crate) fn number(&self, i: usize) -> Result<i64, Bad> {
        if let Some(v) = self.int(i) {
            return v.ok_or(Bad::Missing);
        }
        let float = match self {
            Col::F64(a) => Some(a.is_valid(i).then(|| a.value(i))),
            Col::F32(a) => Some(a.is_valid(i).then(|| f64::from(a.value(i)))),
            _ => None,
        };
        if let Some(f) = float {
            let f = f.ok_or(Bad::Missing)?;
            return if f.is_finite() {
                Ok(f.round() as i64)
            } else {
                Err(Bad::Invalid)
            };
        }
        if let Some(t) = self.text(i) {
            let t = t
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(Bad::Missing)?;
            if let Ok(v) = t.parse::<i64>() {
                return Ok(v);
            }
            // Decimal text, with a point or (Swedish exports) a comma.
            let f: f64 = t.replace(',', ".").parse().map_err(|_| Bad::Invalid)?;
            return if f.is_finite() {
                Ok(f.round() as i64)
            } else {
                Err(Bad::Invalid)
            };
        }
        Err(Bad::Invalid)
    }
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
        assert_eq!(c.number(1), Ok(13));
        assert_eq!(c.number(2), Err(Bad::Invalid));
        assert_eq!(c.number(3), Ok(-3));
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
}
