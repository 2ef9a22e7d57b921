//! Times the exact audit of secondary suppression on a real study.
//!
//! ```sh
//! cargo run --release -p reglink-benches --bin reglink-audit-bench -- benches/out/national/overlap.toml --preset acro
//! ```
//!
//! Links and tabulates the study (not timed), runs the primary rules and
//! secondary suppression of `reglink_protect` per family (timed), then the
//! exact audit (timed), and prints one JSON object per family. `--dump DIR`
//! also writes each family's attacker model as text (`FAMILY.lp`: atoms with
//! value, width needed and whether suppressed, then the equations) for the
//! solver comparison in `benches/README.md`; that file holds unprotected
//! values, so it stays in `benches/out/`, which is git-ignored.
#![allow(clippy::print_stdout)] // JSON on stdout is the interface

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use reglink_protect::secondary::model::{Scope, build};
use reglink_protect::secondary::{audit, suppress};

#[derive(Parser)]
struct Cli {
    /// The study file.
    study: PathBuf,
    /// Policy preset.
    #[arg(long, default_value = "acro")]
    preset: String,
    /// Write each family's model here.
    #[arg(long)]
    dump: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let study = reglink_link::Study::load(&cli.study)?;
    let tables = reglink_release::link_and_tabulate(study, &reglink_link::NoProgress)?.tables;
    let policy = reglink_protect::Policy::preset(&cli.preset)
        .ok_or_else(|| anyhow::anyhow!("unknown preset {}", cli.preset))?;
    let flags: Vec<_> = tables
        .iter()
        .map(|t| reglink_protect::primary(t, &policy))
        .collect();
    let pairs: Vec<_> = tables.iter().zip(&flags).collect();
    let mut model = build(
        &pairs,
        &policy,
        Scope {
            counts: true,
            sums: true,
        },
    );
    let tables = &tables;
    let placed = &model.tables;
    for (fi, f) in model.families.iter_mut().enumerate() {
        let homes: Vec<(&_, &[u32])> = placed
            .iter()
            .enumerate()
            .flat_map(|(t, atoms)| {
                atoms
                    .persons
                    .iter()
                    .chain(atoms.measures.iter().flatten())
                    .filter(|(g, _)| *g == fi)
                    .map(move |(_, a)| (&tables[t], a.as_slice()))
            })
            .collect();
        let start = Instant::now();
        let report = suppress(f, &homes, &reglink_protect::Unobserved);
        let suppress_seconds = start.elapsed().as_secs_f64();
        if let Some(dir) = &cli.dump {
            std::fs::create_dir_all(dir)?;
            let name = f.name.replace(['/', ':'], "_");
            let mut out =
                std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.lp")))?);
            writeln!(
                out,
                "{} {} {}",
                f.len(),
                f.equations.len(),
                u8::from(f.nonnegative)
            )?;
            for a in 0..f.len() {
                writeln!(
                    out,
                    "{} {} {}",
                    f.value[a],
                    f.width[a],
                    u8::from(f.suppressed[a])
                )?;
            }
            for eq in &f.equations {
                let children: Vec<String> = eq.children.iter().map(u32::to_string).collect();
                writeln!(out, "{} {}", eq.parent, children.join(" "))?;
            }
        }
        let start = Instant::now();
        let a = audit::audit_with(f, &report.hints);
        let audit_seconds = start.elapsed().as_secs_f64();
        let exact = a
            .atoms
            .iter()
            .filter(|x| matches!(x.bound, audit::Bound::Exact { .. }))
            .count();
        println!(
            "{}",
            serde_json::json!({
                "family": f.name,
                "atoms": f.len(),
                "suppressed": f.suppressed.iter().filter(|&&s| s).count(),
                "primary": a.checked(),
                "suppress_seconds": suppress_seconds,
                "verified_min_ratio": report.min_width_ratio,
                "audit_seconds": audit_seconds,
                "components": a.components,
                "largest_component": a.largest_component,
                "exact_intervals": exact,
                "under_protected": a.under_protected.len(),
                "unresolved": a.unresolved.len(),
                "narrowest": a.narrowest.map(|n| n.ratio),
                "lp_neighbourhood": a.lp_neighbourhood,
                "lp_exact": a.lp_exact,
                "threads": rayon::current_num_threads(),
            })
        );
    }
    Ok(())
}
