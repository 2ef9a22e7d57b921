//! `reglink inspect`: what a pseudonymised file holds, without showing any row.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use anyhow::Context;
use arrow_array::{Array, FixedSizeBinaryArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_pseudo::pipeline::PSEUDONYM_COLUMN;

use crate::cli::InspectArgs;

/// Counts over one pseudonymised file.
pub struct Stats {
    pub rows: u64,
    pub distinct_persons: Option<u64>,
    pub key_id: Option<String>,
    pub study: Option<String>,
    pub columns: Vec<(String, String)>,
}

pub fn stats(path: &Path) -> anyhow::Result<Stats> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a Parquet file", path.display()))?;
    let schema = builder.schema().clone();
    let rows = builder.metadata().file_metadata().num_rows() as u64;
    let columns = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let meta = |k: &str| schema.metadata().get(k).cloned();
    let distinct_persons = match schema.index_of(PSEUDONYM_COLUMN) {
        Ok(_) => Some(pseudonyms(path)?.len() as u64),
        Err(_) => None,
    };
    Ok(Stats {
        rows,
        distinct_persons,
        key_id: meta("reglink.key_id"),
        study: meta("reglink.study"),
        columns,
    })
}

/// The set of distinct pseudonyms in a pseudonymised file.
pub fn pseudonyms(path: &Path) -> anyhow::Result<HashSet<u128>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a Parquet file", path.display()))?;
    let index = builder
        .schema()
        .index_of(PSEUDONYM_COLUMN)
        .with_context(|| format!("{}: no `{PSEUDONYM_COLUMN}` column", path.display()))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let mut seen: HashSet<u128> = HashSet::new();
    for batch in builder.with_projection(mask).build()? {
        let batch = batch?;
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .context("pseudonym column is not FixedSizeBinary(16)")?;
        for i in 0..col.len() {
            let bytes: [u8; 16] = col.value(i).try_into()?;
            seen.insert(u128::from_le_bytes(bytes));
        }
    }
    Ok(seen)
}

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let s = stats(&args.file)?;
    println!("{}", args.file.display());
    println!("  rows: {}", s.rows);
    match s.distinct_persons {
        Some(d) => println!("  distinct persons (pseudonyms): {d}"),
        None => println!("  no `{PSEUDONYM_COLUMN}` column: not a pseudonymised file"),
    }
    if let (Some(k), Some(st)) = (&s.key_id, &s.study) {
        println!("  key id: {k}, study: {st:?}");
    }
    println!("  columns:");
    for (name, ty) in &s.columns {
        println!("    {name}: {ty}");
    }
    Ok(())
}
