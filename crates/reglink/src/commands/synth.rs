//! `reglink synth`.

use anyhow::Context;
use reglink_extract::{OutputKind, StagedDir};
use reglink_synth::{Format, Options, Preset};

use crate::cli::SynthArgs;

/// What `reglink synth` writes, and the manifest that proves it.
pub const OUTPUT: OutputKind = OutputKind {
    command: "reglink synth",
    output: "synthetic extract folder",
    manifest: "manifest.json",
};

pub fn run(args: &SynthArgs, quiet: bool) -> anyhow::Result<()> {
    let preset: Preset = args
        .preset
        .parse()
        .map_err(|_| anyhow::anyhow!("--preset: expected tiny, municipality or national"))?;
    let format: Format = args
        .format
        .parse()
        .map_err(|_| anyhow::anyhow!("--format: expected csv or parquet"))?;
    // Written beside `--out` and moved into place whole; an existing
    // `--out` is replaced only if it is an unchanged earlier synth output.
    let staged = StagedDir::create(&args.out, &OUTPUT, &[])?;
    let opts = Options {
        preset,
        seed: args.seed,
        format,
        out_dir: staged.path().to_path_buf(),
    };
    let report = reglink_synth::generate(&opts).context("could not generate synthetic data")?;
    reglink_extract::write_manifest(
        staged.path(),
        &OUTPUT,
        serde_json::json!({ "made_by": "reglink synth" }),
    )?;
    staged.commit()?;
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
