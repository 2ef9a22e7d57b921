//! Generates one preset and prints the report and the time it took:
//! `cargo run --release -p reglink-synth --example synth -- national parquet /tmp/out [seed]`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use reglink_synth::{Format, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let opts = Options {
        preset: arg(0, "tiny").parse()?,
        format: arg(1, "csv").parse::<Format>()?,
        out_dir: arg(2, "synth-out").into(),
        seed: arg(3, "1").parse()?,
    };
    let start = Instant::now();
    let report = reglink_synth::generate(&opts)?;
    let elapsed = start.elapsed();
    println!("{}", serde_json::to_string_pretty(&report)?);
    println!("generated {} in {:.2?}", opts.preset, elapsed);
    Ok(())
}
