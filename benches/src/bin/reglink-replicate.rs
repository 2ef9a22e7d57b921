//! A K times larger input for the bounded-memory benchmark, and its check.
//!
//! `reglink-replicate make --in DIR --out DIR --copies K` writes each
//! pseudonymised extract of DIR (`eb`, `af`, `lisa`) K times over into one
//! file of OUT: copy `c` is the extract with every pseudonym XORed with a
//! 16-byte mask of its own (splitmix64 of the copy number; copy 0 keeps the
//! file's pseudonyms) and every EB household id moved by `c * 10^12`, so
//! the copies are K disjoint populations of the same shape: K countries'
//! registers of the same size. Schema, key id, study and the largest row
//! group's size (reading holds a window of row groups) are kept, so
//! `reglink link` reads the result like any pseudonymised extract. The
//! synthetic generator cannot make a K times larger country itself: its
//! personnummer run out at a few times Sweden's size.
//!
//! `reglink-replicate check --base OUT1 --scaled OUTK --copies K` compares
//! two `reglink link` outputs of the same study: every cell's `persons` of
//! OUTK must be K times OUT1's (every person is in exactly one copy).
#![allow(clippy::print_stdout)] // what was written and checked is the output

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch};
use clap::{Parser, Subcommand};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

#[derive(Parser)]
#[command(about = "A K times larger pseudonymised input, and the check of its cell tables")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes K disjoint copies of each extract into one file per extract.
    Make {
        /// The folder of pseudonymised extracts (eb.parquet, af.parquet, lisa.parquet).
        #[arg(long = "in")]
        input: PathBuf,
        /// The folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// How many copies.
        #[arg(long)]
        copies: u64,
        /// The EB household id column (moved per copy so households stay apart).
        #[arg(long, default_value = "hushall_id")]
        household_column: String,
    },
    /// Checks that every cell of the scaled output counts K times the persons.
    Check {
        /// `reglink link` output of the original extracts.
        #[arg(long)]
        base: PathBuf,
        /// `reglink link` output of the copies.
        #[arg(long)]
        scaled: PathBuf,
        /// How many copies.
        #[arg(long)]
        copies: u64,
    },
}

const EXTRACTS: [&str; 3] = ["eb", "af", "lisa"];
const HOUSEHOLD_STEP: i64 = 1_000_000_000_000;

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Make {
            input,
            out,
            copies,
            household_column,
        } => {
            ensure!(copies >= 1, "--copies must be at least 1");
            // Pseudonyms: private like the extracts they come from.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            for name in EXTRACTS {
                let from = input.join(format!("{name}.parquet"));
                let to = out.join(format!("{name}.parquet"));
                // EB households must move with their copy, or copies' households merge.
                let household = (name == "eb").then_some(household_column.as_str());
                let rows = replicate(&from, &to, copies, household)?;
                println!("{name}: {rows} rows written to {}", to.display());
            }
            Ok(())
        }
        Command::Check {
            base,
            scaled,
            copies,
        } => check(&base, &scaled, copies),
    }
}

/// The mask of copy `c`: zero for the first copy.
fn mask(c: u64) -> [u8; 16] {
    if c == 0 {
        return [0; 16];
    }
    // Any fixed bijection per copy keeps pseudonyms uniform and apart.
    let splitmix = |x: u64| {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut m = [0u8; 16];
    m[..8].copy_from_slice(&splitmix(2 * c).to_le_bytes());
    m[8..].copy_from_slice(&splitmix(2 * c + 1).to_le_bytes());
    m
}

/// Writes `copies` copies of `from` into `to`; returns the rows written.
/// Writes `copies` copies of `from` into `to` (through `to.partial`, renamed
/// when complete), moving the ids of `household_column`, which must exist;
/// returns the rows written.
fn replicate(from: &Path, to: &Path, copies: u64, household_column: Option<&str>) -> Result<u64> {
    let open = || -> Result<_> {
        let file = File::open(from).with_context(|| format!("opening {}", from.display()))?;
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)?.with_batch_size(64 * 1024))
    };
    let builder = open()?;
    let schema = builder.schema().clone();
    // Row groups as large as the extract's: reading holds a window of them.
    let group_rows = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as usize)
        .max()
        .unwrap_or(1 << 20)
        .max(1);
    let pseudonym = schema
        .index_of("pseudonym")
        .with_context(|| format!("{} has no pseudonym column", from.display()))?;
    let household = match household_column {
        Some(name) => Some(
            schema
                .index_of(name)
                .with_context(|| format!("{} has no household column {name}", from.display()))?,
        ),
        None => None,
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let partial = to.with_extension("parquet.partial");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut rows = 0u64;
    for c in 0..copies {
        let m = mask(c);
        for batch in open()?.build()? {
            let batch = batch?;
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            let p = columns[pseudonym].as_fixed_size_binary();
            let masked: Vec<Option<Vec<u8>>> = (0..p.len())
                .map(|i| {
                    p.is_valid(i)
                        .then(|| p.value(i).iter().zip(m).map(|(a, b)| a ^ b).collect())
                })
                .collect();
            columns[pseudonym] = Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                masked.into_iter(),
                16,
            )?);
            if let Some(h) = household {
                let ids = columns[h]
                    .as_primitive_opt::<Int64Type>()
                    .context("the household column is not Int64")?;
                let moved: Int64Array = ids
                    .iter()
                    .map(|x| x.map(|x| x.wrapping_add(c as i64 * HOUSEHOLD_STEP)))
                    .collect();
                columns[h] = Arc::new(moved);
            }
            rows += batch.num_rows() as u64;
            writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
    }
    writer.close()?;
    std::fs::rename(&partial, to).with_context(|| format!("renaming {}", partial.display()))?;
    Ok(rows)
}

/// The `persons` column of a cell table.
fn persons(path: &Path) -> Result<Vec<u64>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
        let batch = batch?;
        let column = batch
            .column_by_name("persons")
            .with_context(|| format!("{} has no persons column", path.display()))?;
        out.extend(column.as_primitive::<UInt64Type>().values().iter().copied());
    }
    Ok(out)
}

fn check(base: &Path, scaled: &Path, copies: u64) -> Result<()> {
    let mut tables = 0;
    let mut cells = 0;
    for entry in std::fs::read_dir(base.join("cells"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
            continue;
        }
        let name = path.file_name().context("a file name")?;
        let a = persons(&path)?;
        let b = persons(&scaled.join("cells").join(name))?;
        if a.len() != b.len() {
            bail!(
                "{}: {} cells against {}",
                name.to_string_lossy(),
                b.len(),
                a.len()
            );
        }
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            if x * copies != *y {
                bail!(
                    "{} cell {i}: {y} persons, not {copies} x {x}",
                    name.to_string_lossy()
                );
            }
        }
        tables += 1;
        cells += a.len();
    }
    ensure!(tables > 0, "no cell tables in {}", base.display());
    println!("{tables} tables, {cells} cells: every cell counts {copies} times the persons");
    Ok(())
}
