//! Measurements for `benches/compare.py` and `benches/compare_three_party.py`,
//! printed as one JSON object each.
#![allow(clippy::print_stdout)] // JSON on stdout is the interface

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use reglink_benches::{baseline, enumeration};
use reglink_pnr::{Date, Pnr};

#[derive(Debug, Parser)]
#[command(about = "Baseline and attack measurements for the comparison script")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Time bare keyed BLAKE3 over the normalised ids of a Parquet column
    /// (ids are read and normalised before the clock starts).
    RawBlake3 {
        /// The Parquet extract.
        file: PathBuf,
        /// The identifier column.
        #[arg(long)]
        column: String,
        /// Repetitions; the fastest is reported.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
    },
    /// Link and tabulate a study, then time `reglink_protect::protect` of
    /// all its tables under a policy preset: primary rules, secondary
    /// suppression (hypercubes plus the attacker-LP verification) and the
    /// released columns.
    Protect {
        /// The study file.
        study: PathBuf,
        /// Policy preset.
        #[arg(long, default_value = "acro")]
        preset: String,
    },
    /// Run the enumeration attack on an unkeyed hash over every birth date
    /// from 1900 to the reference date, against a column of leaked hashes.
    Enumerate {
        /// How many leaked hashes to recover.
        #[arg(long, default_value_t = 1000)]
        targets: u16,
    },
    /// Time the ristretto255 operations of three-party pseudonymisation,
    /// single-threaded, each over the same random inputs (made before the
    /// clock starts): variable-base, two-term multiscalar and fixed-base
    /// scalar multiplication, hashing to the group, compression and decompression. Prints
    /// microseconds per operation, the best of `--repeat` passes.
    ScalarMul {
        /// Random inputs per operation.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// Passes over the inputs; the fastest is reported.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
    },
}

fn main() -> anyhow::Result<()> {
    let reference = reglink_synth::extraction_date();
    match Cli::parse().command {
        Command::RawBlake3 {
            file,
            column,
            repeat,
        } => {
            let ids = baseline::normalised_ids(&file, &column, reference)?;
            let key = [0x5a; 32];
            let best = (0..repeat.max(1))
                .map(|_| baseline::hash_all(&key, &ids))
                .min()
                .expect("at least one repetition");
            let seconds = best.as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "ids": ids.len(),
                    "seconds": seconds,
                    "ids_per_second": ids.len() as f64 / seconds,
                    "threads": rayon::current_num_threads(),
                })
            );
        }
        Command::Protect { study, preset } => {
            let study = reglink_link::Study::load(&study)?;
            let tables =
                reglink_release::link_and_tabulate(study, &reglink_link::NoProgress)?.tables;
            let policy = reglink_protect::Policy::preset(&preset)
                .ok_or_else(|| anyhow::anyhow!("unknown preset {preset}"))?;
            let start = Instant::now();
            let release = reglink_protect::protect(&tables, &policy);
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "cells": tables.iter().map(|t| t.shape.cells()).sum::<usize>(),
                    "seconds": seconds,
                    "families": release.families,
                    "warnings": release.warnings,
                })
            );
        }
        Command::Enumerate { targets } => {
            // Leaked column: unkeyed hashes of people spread over a century.
            let leaked: HashSet<[u8; 16]> = (0..targets)
                .map(|i| {
                    let born = Date::new(
                        1920 + i32::from(i % 100),
                        1 + (i % 12) as u8,
                        1 + (i % 28) as u8,
                    )
                    .expect("valid date");
                    let pnr = Pnr::from_parts(born, (i * 389) % 1000, false).expect("valid");
                    enumeration::Scheme::Unkeyed.digest(pnr.normalised())
                })
                .collect();
            let from = Date::new(1900, 1, 1).expect("valid date");
            let start = Instant::now();
            let outcome =
                enumeration::enumerate(from, reference, enumeration::Scheme::Unkeyed, &leaked);
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "candidates": outcome.candidates,
                    "targets": leaked.len(),
                    "recovered": outcome.recovered,
                    "seconds": seconds,
                    "threads": rayon::current_num_threads(),
                })
            );
        }
        Command::ScalarMul { count, repeat } => {
            println!("{}", scalar_mul(count.max(1), repeat.max(1)));
        }
    }
    Ok(())
}

/// `count` pseudo-random 64-byte strings (SplitMix64 from a fixed seed): no
/// hashing of anything, uniform enough for timing, the same every run.
fn uniform_inputs(count: usize, seed: u64) -> Vec<[u8; 64]> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| {
            let mut out = [0u8; 64];
            for word in out.chunks_exact_mut(8) {
                word.copy_from_slice(&next().to_le_bytes());
            }
            out
        })
        .collect()
}

/// Microseconds per call of `op` over `inputs`, the best of `repeat` passes.
fn per_op<T, R>(inputs: &[T], repeat: u32, op: impl Fn(&T) -> R) -> f64 {
    (0..repeat)
        .map(|_| {
            let start = Instant::now();
            for x in inputs {
                std::hint::black_box(op(std::hint::black_box(x)));
            }
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
        * 1e6
        / inputs.len() as f64
}

fn scalar_mul(count: usize, repeat: u32) -> serde_json::Value {
    let wide = uniform_inputs(count, 1);
    let scalars: Vec<Scalar> = wide.iter().map(Scalar::from_bytes_mod_order_wide).collect();
    let uniform = uniform_inputs(count, 2);
    let points: Vec<RistrettoPoint> = uniform
        .iter()
        .map(RistrettoPoint::from_uniform_bytes)
        .collect();
    let pairs: Vec<(RistrettoPoint, Scalar)> = points
        .iter()
        .copied()
        .zip(scalars.iter().copied())
        .collect();
    let compressed: Vec<CompressedRistretto> = points.iter().map(|p| p.compress()).collect();
    // Another fixed base, as a public key is: its table is built once per run.
    let other = RISTRETTO_BASEPOINT_TABLE * &scalars[0];
    let start = Instant::now();
    let table = RistrettoBasepointTable::create(&other);
    let table_create_us = start.elapsed().as_secs_f64() * 1e6;

    let variable_base = per_op(&pairs, repeat, |(p, s)| p * s);
    // `a·P + b·Q` in one pass, as a key holder removing a share and rekeying at once would.
    let quads: Vec<[(RistrettoPoint, Scalar); 2]> =
        pairs.windows(2).map(|w| [w[0], w[1]]).collect();
    let double_base = per_op(&quads, repeat, |[(p, a), (q, b)]| {
        RistrettoPoint::multiscalar_mul([a, b], [p, q])
    });
    let fixed_base_g = per_op(&scalars, repeat, |s| RISTRETTO_BASEPOINT_TABLE * s);
    let fixed_base_table = per_op(&scalars, repeat, |s| &table * s);
    let from_uniform = per_op(&uniform, repeat, RistrettoPoint::from_uniform_bytes);
    let compress = per_op(&points, repeat, RistrettoPoint::compress);
    let decompress = per_op(&compressed, repeat, CompressedRistretto::decompress);
    let round_trip = per_op(&points, repeat, |p| p.compress().decompress());
    let scalar_wide = per_op(&wide, repeat, Scalar::from_bytes_mod_order_wide);
    serde_json::json!({
        "count": count,
        "repeat": repeat,
        "threads": 1,
        "us_per_op": {
            "variable_base_mul": variable_base,
            "multiscalar_mul_2": double_base,
            "fixed_base_mul_basepoint_table": fixed_base_g,
            "fixed_base_mul_created_table": fixed_base_table,
            "from_uniform_bytes": from_uniform,
            "compress": compress,
            "decompress": decompress,
            "compress_decompress": round_trip,
            "scalar_from_wide_bytes": scalar_wide,
        },
        "table_create_us": table_create_us,
    })
}
