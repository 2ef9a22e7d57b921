//! The ceiling: keyed BLAKE3 over already-normalised ids, nothing else.
#![allow(clippy::disallowed_methods)] // the baseline *is* a bare keyed_hash call

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::{Array, StringArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use reglink_pnr::{Date, Pnr};

/// Reads `column` of a Parquet file and returns the normalised form of every
/// id that parses (the same ids `pseudonymise` would hash).
pub fn normalised_ids(path: &Path, column: &str, reference: Date) -> anyhow::Result<Vec<[u8; 12]>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let Some(index) = builder
        .schema()
        .fields()
        .iter()
        .position(|f| f.name() == column)
    else {
        bail!("{}: no column `{column}`", path.display());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()?;
    let mut ids = Vec::new();
    for batch in reader {
        let batch = batch?;
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .context("id column is not Utf8")?;
        for i in 0..col.len() {
            if col.is_valid(i)
                && let Ok(pnr) = Pnr::parse_bytes(col.value(i).as_bytes(), reference)
            {
                ids.push(*pnr.normalised());
            }
        }
    }
    Ok(ids)
}

/// Keyed-hashes every id on all rayon threads, writing the 32-byte outputs to
/// memory (so the work cannot be optimised away), and returns the time taken.
pub fn hash_all(key: &[u8; 32], ids: &[[u8; 12]]) -> Duration {
    let mut out = vec![[0u8; 32]; ids.len()];
    let start = Instant::now();
    out.par_chunks_mut(4096)
        .zip(ids.par_chunks(4096))
        .for_each(|(out, ids)| {
            for (o, id) in out.iter_mut().zip(ids) {
                *o = *blake3::keyed_hash(key, id).as_bytes();
            }
        });
    let elapsed = start.elapsed();
    std::hint::black_box(&out);
    elapsed
}
