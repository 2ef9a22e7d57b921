//! Cell values as the reference computes them and as the engine's Parquet cell tables hold them.

use std::fmt;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt64Type};
use arrow_schema::DataType;

#[derive(Debug, Clone)]
pub enum V {
    U64(u64),
    U32(u32),
    I64(i64),
    F64(Option<f64>),
    List(Vec<i64>),
    /// A null where the spec has no null.
    Null,
}

impl V {
    pub fn matches(&self, other: &V) -> bool {
        match (self, other) {
            (V::U64(a), V::U64(b)) => a == b,
            (V::U32(a), V::U32(b)) => a == b,
            (V::I64(a), V::I64(b)) => a == b,
            (V::F64(None), V::F64(None)) => true,
            (V::F64(Some(a)), V::F64(Some(b))) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            (V::List(a), V::List(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V::U64(v) => write!(f, "{v}"),
            V::U32(v) => write!(f, "{v}"),
            V::I64(v) => write!(f, "{v}"),
            V::F64(Some(v)) => write!(f, "{v}"),
            V::F64(None) | V::Null => write!(f, "null"),
            V::List(v) => write!(f, "{v:?}"),
        }
    }
}

/// The Arrow type the spec gives a column of `expected`.
pub fn spec_type(expected: &V) -> &'static str {
    match expected {
        V::U64(_) => "UInt64",
        V::U32(_) => "UInt32",
        V::I64(_) => "Int64",
        V::F64(_) => "Float64",
        V::List(_) => "List(Int64)",
        V::Null => "?",
    }
}

pub fn type_matches(data_type: &DataType, spec: &str) -> bool {
    match (data_type, spec) {
        (DataType::UInt64, "UInt64")
        | (DataType::UInt32, "UInt32")
        | (DataType::UInt8, "UInt8")
        | (DataType::Int64, "Int64")
        | (DataType::Float64, "Float64")
        | (DataType::Utf8, "Utf8") => true,
        (DataType::List(field), "List(Int64)") => *field.data_type() == DataType::Int64,
        _ => false,
    }
}

pub fn read_value(column: &dyn Array, row: usize) -> V {
    if column.is_null(row) {
        return match column.data_type() {
            DataType::Float64 => V::F64(None),
            _ => V::Null,
        };
    }
    match column.data_type() {
        DataType::UInt64 => V::U64(column.as_primitive::<UInt64Type>().value(row)),
        DataType::UInt32 => V::U32(column.as_primitive::<UInt32Type>().value(row)),
        DataType::Int64 => V::I64(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => V::F64(Some(column.as_primitive::<Float64Type>().value(row))),
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(row);
            V::List(items.as_primitive::<Int64Type>().values().to_vec())
        }
        other => panic!("unexpected column type {other:?}"),
    }
}
