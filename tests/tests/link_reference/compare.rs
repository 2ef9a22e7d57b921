//! Every cell of an engine's cell table against the reference's.

// Test code: the reference is written long-hand on purpose, one spec line after another.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt8Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::extracts::{CellKey, CellValues, ExpectedTable, UNKNOWN, show_key};
use crate::study::TableSpec;
use crate::values::{V, read_value, spec_type, type_matches};

pub fn compare(
    table: &TableSpec,
    expected: &ExpectedTable,
    path: &Path,
    problems: &mut Vec<String>,
) {
    let name = &table.name;
    let Ok(file) = fs::File::open(path) else {
        problems.push(format!("{name}: {} is missing", path.display()));
        return;
    };
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let Some(first) = batches.first() else {
        problems.push(format!("{name}: the cell table has no rows"));
        return;
    };
    let schema = first.schema();

    // The schema the spec gives: dimensions, levels, persons, record_key_sum
    // and every measure column, with their types.
    let some_cell = expected.cells.values().next().unwrap();
    let mut wanted: Vec<(String, &'static str)> = Vec::new();
    for dim in &table.dimensions {
        wanted.push((dim.clone(), "Utf8"));
        wanted.push((format!("{dim}_level"), "UInt8"));
    }
    for (column, value) in some_cell {
        wanted.push((column.clone(), spec_type(value)));
    }
    let mut schema_ok = true;
    for (column, spec) in &wanted {
        match schema.field_with_name(column) {
            Err(_) => {
                problems.push(format!("{name}: column {column} is missing"));
                schema_ok = false;
            }
            Ok(field) if !type_matches(field.data_type(), spec) => {
                problems.push(format!(
                    "{name}: column {column} is {:?}, the spec says {spec}",
                    field.data_type()
                ));
                schema_ok = false;
            }
            Ok(_) => {}
        }
    }
    let mut seen_columns = HashSet::new();
    for field in schema.fields() {
        if !seen_columns.insert(field.name()) {
            problems.push(format!(
                "{name}: column {} appears more than once",
                field.name()
            ));
        }
        if !wanted.iter().any(|(c, _)| c == field.name()) {
            problems.push(format!(
                "{name}: column {} is not in the spec",
                field.name()
            ));
        }
    }
    if !schema_ok {
        return;
    }

    // The engine's cells, in file order.
    let mut rows: Vec<(CellKey, CellValues)> = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let mut key = Vec::new();
            for dim in &table.dimensions {
                let values = batch.column_by_name(dim).unwrap().as_string::<i32>();
                let levels = batch
                    .column_by_name(&format!("{dim}_level"))
                    .unwrap()
                    .as_primitive::<UInt8Type>();
                key.push((values.value(row).to_string(), levels.value(row)));
            }
            let mut values = BTreeMap::new();
            for column in some_cell.keys() {
                let array = batch.column_by_name(column).unwrap();
                values.insert(column.clone(), read_value(array.as_ref(), row));
            }
            rows.push((key, values));
        }
    }

    // Same set of cells.
    let mut copies: BTreeMap<CellKey, Vec<&CellValues>> = BTreeMap::new();
    for (key, values) in &rows {
        copies.entry(key.clone()).or_default().push(values);
    }
    let mut got: BTreeMap<CellKey, CellValues> = BTreeMap::new();
    let mut duplicated: BTreeSet<CellKey> = BTreeSet::new();
    for (key, list) in copies {
        if list.len() == 1 {
            got.insert(key, list[0].clone());
            continue;
        }
        // The values of a duplicated cell are not comparable; say whether
        // the copies' persons add up to the reference's.
        let persons: u64 = list
            .iter()
            .map(|v| match v["persons"] {
                V::U64(n) => n,
                _ => 0,
            })
            .sum();
        let reference = expected
            .cells
            .get(&key)
            .map_or("none".to_string(), |v| v["persons"].to_string());
        problems.push(format!(
            "{name}: cell {} appears {} times (persons together {persons}, reference {reference})",
            show_key(&expected.dimensions, &key),
            list.len()
        ));
        duplicated.insert(key);
    }
    for key in expected.cells.keys() {
        if !got.contains_key(key) && !duplicated.contains(key) {
            problems.push(format!(
                "{name}: cell {} is missing",
                show_key(&expected.dimensions, key)
            ));
        }
    }
    for (key, values) in &got {
        if !expected.cells.contains_key(key) {
            problems.push(format!(
                "{name}: cell {} is not expected (persons {})",
                show_key(&expected.dimensions, key),
                values["persons"]
            ));
        }
    }

    // Every value of every cell.
    for (key, want) in &expected.cells {
        let Some(have) = got.get(key) else { continue };
        for (column, w) in want {
            let h = &have[column];
            if !w.matches(h) {
                problems.push(format!(
                    "{name}: cell {}: {column}: expected {w}, got {h}",
                    show_key(&expected.dimensions, key)
                ));
            }
        }
    }

    // Row-major order: the rows are the product of each dimension's levels,
    // the last dimension varying fastest, each dimension's levels being
    // categories, then groups, then `_T`.
    let mut engine_levels: Vec<Vec<(String, u8)>> = vec![Vec::new(); table.dimensions.len()];
    for (key, _) in &rows {
        for (d, level) in key.iter().enumerate() {
            if !engine_levels[d].contains(level) {
                engine_levels[d].push(level.clone());
            }
        }
    }
    let product: usize = engine_levels.iter().map(Vec::len).product();
    let mut row_major = product == rows.len();
    if row_major {
        for (i, (key, _)) in rows.iter().enumerate() {
            let mut rest = i;
            for d in (0..engine_levels.len()).rev() {
                let n = engine_levels[d].len();
                if key[d] != engine_levels[d][rest % n] {
                    row_major = false;
                }
                rest /= n;
            }
        }
    }
    if !row_major {
        problems.push(format!("{name}: the rows are not in row-major order"));
    }
    for (d, dim) in expected.dimensions.iter().enumerate() {
        let levels: Vec<u8> = engine_levels[d].iter().map(|(_, l)| *l).collect();
        if !levels.is_sorted() {
            problems.push(format!(
                "{name}: dimension {}: levels are not categories, groups, total in that order: {levels:?}",
                dim.name
            ));
        }
        // Where the spec fixes the order (code lists, bands, no/yes), the
        // known categories come in that order.
        let known = |list: &[(String, u8)]| -> Vec<String> {
            list.iter()
                .filter(|(v, l)| *l == 0 && v != UNKNOWN)
                .map(|(v, _)| v.clone())
                .collect()
        };
        let engine_order = known(&engine_levels[d]);
        let reference_order = known(&dim.levels());
        if dim.order_is_specified && engine_order != reference_order {
            problems.push(format!(
                "{name}: dimension {}: categories in order {engine_order:?}, the spec gives {reference_order:?}",
                dim.name
            ));
        }
    }
}
