//! Writing a cell table: Parquet for the next stage, JSON to describe it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int64Builder, ListBuilder, StringBuilder, UInt8Builder,
};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use crate::TabulateError;
use crate::table::{CellTable, Values};

impl CellTable {
    /// The Arrow columns of the cell table, as `docs/study-file.md` lists them.
    pub fn to_record_batch(&self) -> Result<RecordBatch, TabulateError> {
        let cells = self.shape.cells();
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (d, dim) in self.dimensions.iter().enumerate() {
            let mut codes = StringBuilder::new();
            let mut levels = UInt8Builder::new();
            for c in 0..cells {
                let (code, level) = dim.position(self.shape.position(c, d));
                codes.append_value(code);
                levels.append_value(level);
            }
            fields.push(Field::new(&dim.name, DataType::Utf8, false));
            columns.push(Arc::new(codes.finish()));
            fields.push(Field::new(
                format!("{}_level", dim.name),
                DataType::UInt8,
                false,
            ));
            columns.push(Arc::new(levels.finish()));
        }
        let u64s = |v: &[u64]| -> ArrayRef { Arc::new(UInt64Array::from(v.to_vec())) };
        fields.push(Field::new("persons", DataType::UInt64, false));
        columns.push(u64s(&self.persons));
        fields.push(Field::new("record_key_sum", DataType::UInt32, false));
        columns.push(Arc::new(UInt32Array::from(self.record_key_sum.clone())));
        for m in &self.measures {
            let mut add = |name: String, ty: DataType, nullable: bool, array: ArrayRef| {
                fields.push(Field::new(name, ty, nullable));
                columns.push(array);
            };
            match &m.values {
                // A `persons` measure named `persons` is the `persons` column itself.
                Values::Count(_) if m.kind == "persons" && m.name == "persons" => {}
                Values::Count(v) => add(m.name.clone(), DataType::UInt64, false, u64s(v)),
                Values::Share { num, den, .. } => {
                    add(
                        format!("{}_num", m.name),
                        DataType::UInt64,
                        false,
                        u64s(num),
                    );
                    add(
                        format!("{}_den", m.name),
                        DataType::UInt64,
                        false,
                        u64s(den),
                    );
                }
                Values::Sum { sum, n, mean, top } => {
                    add(
                        format!("{}_sum", m.name),
                        DataType::Int64,
                        false,
                        Arc::new(Int64Array::from(sum.clone())),
                    );
                    add(format!("{}_n", m.name), DataType::UInt64, false, u64s(n));
                    if *mean {
                        let mut b = Float64Builder::new();
                        for c in 0..cells {
                            b.append_option((n[c] > 0).then(|| sum[c] as f64 / n[c] as f64));
                        }
                        add(
                            format!("{}_mean", m.name),
                            DataType::Float64,
                            true,
                            Arc::new(b.finish()),
                        );
                    }
                    let mut b = ListBuilder::new(Int64Builder::new());
                    for c in 0..cells {
                        let k = (n[c] as usize).min(top[c].len());
                        b.values().append_slice(&top[c][..k]);
                        b.append(true);
                    }
                    let list = b.finish();
                    let ty = list.data_type().clone();
                    add(format!("{}_top", m.name), ty, false, Arc::new(list));
                }
                Values::Median { median, n } => {
                    let mut b = Float64Builder::new();
                    for v in median {
                        b.append_option(*v);
                    }
                    add(
                        format!("{}_median", m.name),
                        DataType::Float64,
                        true,
                        Arc::new(b.finish()),
                    );
                    add(format!("{}_n", m.name), DataType::UInt64, false, u64s(n));
                }
            }
        }
        let schema = Arc::new(Schema::new(fields));
        RecordBatch::try_new(schema, columns).map_err(|source| TabulateError::Arrow { source })
    }

    /// The description written beside the Parquet file; `columns` are the
    /// Parquet file's column names.
    pub fn metadata(&self, columns: &[String]) -> serde_json::Value {
        json!({
            "name": self.name,
            "title": self.title,
            "population": self.population,
            "population_definition": self.definition,
            "years": self.years,
            "contributors": "distinct person-years (one person in one year)",
            "cells": self.shape.cells(),
            "total_code": crate::cube::TOTAL,
            "dimensions": self.dimensions.iter().map(|d| {
                let mut levels = vec!["category"];
                if d.group_of.is_some() { levels.push("group"); }
                levels.push("total");
                json!({
                    "name": d.name,
                    "levels": levels,
                    "categories": d.categories.iter().enumerate().map(|(i, c)| json!({
                        "code": c,
                        "label": d.labels[i],
                        "group": d.group_of.as_ref().map(|g| d.groups[g[i] as usize].clone()),
                    })).collect::<Vec<_>>(),
                    "groups": if d.group_of.is_some() { d.groups.clone() } else { Vec::new() },
                })
            }).collect::<Vec<_>>(),
            "measures": self.measures.iter().map(|m| json!({
                "name": m.name,
                "kind": m.kind,
                "of": m.of,
                "additive": m.values.additive(m.kind),
            })).collect::<Vec<_>>(),
            "columns": columns,
        })
    }

    /// Writes `NAME.parquet` and `NAME.json` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, TabulateError> {
        let batch = self.to_record_batch()?;
        let parquet_path = dir.join(format!("{}.parquet", self.name));
        let file = reglink_extract::AtomicFile::create(&parquet_path)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("reglink {}", env!("CARGO_PKG_VERSION")))
            .build();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .map_err(|source| TabulateError::Parquet { source })?;
        writer
            .write(&batch)
            .map_err(|source| TabulateError::Parquet { source })?;
        let file = writer
            .into_inner()
            .map_err(|source| TabulateError::Parquet { source })?;
        file.commit()?;
        let json_path = dir.join(format!("{}.json", self.name));
        let columns: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut text = serde_json::to_string_pretty(&self.metadata(&columns))
            .map_err(|source| TabulateError::Json { source })?;
        text.push('\n');
        reglink_extract::write_atomic(&json_path, text.as_bytes())?;
        Ok(vec![parquet_path, json_path])
    }
}
