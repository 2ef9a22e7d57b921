//! Measurements for `benches/compare.py`, printed as one JSON object each.
#![allow(clippy::print_stdout)] // JSON on stdout is the interface

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
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
    }
    Ok(())
}
