//! Reading the generated files back, the way a consumer would: CSV through
//! the `csv` crate, Parquet through the Arrow reader, every value as text.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_pnr::Date;

/// Some columns of a table, column by column; `None` is null (an empty CSV
/// field).
pub(super) type Columns = Vec<Vec<Option<String>>>;

/// The named columns of the table at `path` (CSV or Parquet by extension).
pub(super) fn columns(path: &Path, names: &[&str]) -> Columns {
    if path.extension().is_some_and(|e| e == "parquet") {
        parquet_columns(path, names)
    } else {
        csv_columns(path, names)
    }
}

/// Number of data rows in the table at `path`.
pub(super) fn row_count(path: &Path) -> u64 {
    if path.extension().is_some_and(|e| e == "parquet") {
        let file = File::open(path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        builder.metadata().file_metadata().num_rows() as u64
    } else {
        let mut reader = csv::Reader::from_path(path).unwrap();
        let mut rows = 0;
        for record in reader.byte_records() {
            record.unwrap();
            rows += 1;
        }
        rows
    }
}

/// Rows per row group of the Parquet file at `path`.
pub(super) fn row_group_sizes(path: &Path) -> Vec<u64> {
    let file = File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as u64)
        .collect()
}

fn csv_columns(path: &Path, names: &[&str]) -> Columns {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let index: Vec<usize> = names
        .iter()
        .map(|n| {
            header
                .iter()
                .position(|h| h == *n)
                .unwrap_or_else(|| panic!("no column {n}"))
        })
        .collect();
    let mut out: Columns = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(
            record.len(),
            header.len(),
            "ragged row in {}",
            path.display()
        );
        for (column, &i) in out.iter_mut().zip(&index) {
            let field = &record[i];
            column.push((!field.is_empty()).then(|| field.to_owned()));
        }
    }
    out
}

fn parquet_columns(path: &Path, names: &[&str]) -> Columns {
    let file = File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let leaves: Vec<usize> = names
        .iter()
        .map(|n| {
            schema
                .index_of(n)
                .unwrap_or_else(|_| panic!("no column {n}"))
        })
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), leaves);
    let reader = builder.with_projection(mask).build().unwrap();
    let mut out: Columns = vec![Vec::new(); names.len()];
    for batch in reader {
        let batch = batch.unwrap();
        for (column, name) in out.iter_mut().zip(names) {
            text(batch.column_by_name(name).unwrap(), column);
        }
    }
    out
}

fn text(array: &ArrayRef, out: &mut Vec<Option<String>>) {
    for i in 0..array.len() {
        if array.is_null(i) {
            out.push(None);
            continue;
        }
        out.push(Some(match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().value(i).to_owned(),
            DataType::Int32 => array.as_primitive::<Int32Type>().value(i).to_string(),
            DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
            DataType::Date32 => {
                Date::from_days_since_epoch(array.as_primitive::<Date32Type>().value(i)).to_string()
            }
            other => panic!("unexpected column type {other}"),
        }));
    }
}

/// Every file under `dir` (recursively) with its bytes, by relative path.
pub(super) fn all_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The `code` column of `codelists/<list>.csv` under `dir`.
pub(super) fn codes(dir: &Path, list: &str) -> Vec<String> {
    let path = dir.join("codelists").join(format!("{list}.csv"));
    columns(&path, &["code"])
        .remove(0)
        .into_iter()
        .map(Option::unwrap)
        .collect()
}
