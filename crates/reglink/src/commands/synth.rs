//! `reglink synth`.

use anyhow::Context;
use reglink_synth::{Format, Options, Preset, SynthError};

use crate::cli::SynthArgs;

pub fn run(args: &SynthArgs, quiet: bool) -> anyhow::Result<()> {
    let preset: Preset = args
        .preset
        .parse()
        .map_err(|_| anyhow::anyhow!("--preset: expected tiny, municipality or national"))?;
    let format: Format = args
        .format
        .parse()
        .map_err(|_| anyhow::anyhow!("--format: expected csv or parquet"))?;
    let opts = Options {
        preset,
        seed: args.seed,
        format,
        out_dir: args.out.clone(),
    };
    let report = match reglink_synth::generate_folder(&opts) {
        Ok(report) => report,
        // A refused `--out` speaks for itself.
        Err(e @ SynthError::Folder(_)) => return Err(e.into()),
        Err(e) => return Err(e).context("could not generate synthetic data"),
    };
    if !quiet {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    println!(
        "wrote synthetic {preset} registers (seed {}) to {}",
        args.seed,
        args.out.display()
    );
    Ok(())
}
