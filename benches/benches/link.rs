//! `reglink link` measured with criterion, on the `municipality` preset:
//!
//! - `link_overlap`: read EB and AF, link on pseudonyms and derive the
//!   variables of the overlap study (`benches/studies/overlap.toml`),
//! - `tabulate_overlap`: the overlap cell table with every margin, from the
//!   linked frame, as `reglink link` and `reglink run` tabulate
//!   (`reglink_release::tabulate`).
//!
//! `cargo bench -p reglink-benches --bench link`. The side-by-side comparison
//! against DuckDB on the national preset is `benches/compare_link.py`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reglink_pseudo::{Crosswalk, MasterKey, PseudonymiseOptions, pseudonymise};
use reglink_synth::{Format, Options, Preset};

/// Synthetic municipality registers, pseudonymised, with the overlap study beside them.
fn prepare(dir: &Path) -> std::path::PathBuf {
    reglink_synth::generate(&Options {
        preset: Preset::Municipality,
        seed: 1,
        format: Format::Parquet,
        out_dir: dir.to_path_buf(),
    })
    .expect("synth");
    let reference = reglink_synth::extraction_date();
    let key = MasterKey::from_bytes([3; 32])
        .study_key("bench")
        .expect("study");
    let crosswalk = Crosswalk::load(&dir.join("crosswalk.csv"), reference).expect("crosswalk");
    std::fs::create_dir_all(dir.join("pseudonymised")).expect("mkdir");
    for (name, id) in [("eb", "personnr"), ("af", "personnummer")] {
        let mut opts = PseudonymiseOptions::new(
            dir.join(format!("{name}.parquet")),
            dir.join(format!("pseudonymised/{name}.parquet")),
            id,
            reference,
        );
        opts.derive_columns = true;
        pseudonymise(&opts, &key, Some(&crosswalk), &|_| {}).expect("pseudonymise");
    }
    let study = dir.join("overlap.toml");
    let text = include_str!("../studies/overlap.toml");
    std::fs::write(&study, text).expect("write study");
    study
}

fn link(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let study = reglink_link::Study::load(prepare(dir.path())).expect("study");
    let linked = reglink_link::link(&study, &reglink_link::NoProgress).expect("link");
    let rows: u64 = linked.report.sources.values().map(|s| s.rows_read).sum();

    let mut group = c.benchmark_group("link");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function("link_overlap", |b| {
        b.iter(|| reglink_link::link(black_box(&study), &reglink_link::NoProgress).expect("link"))
    });
    let frame = &linked.frame.populations[study.tables[0].population];
    group.throughput(Throughput::Elements(frame.len as u64));
    group.bench_function("tabulate_overlap", |b| {
        b.iter(|| reglink_release::tabulate(&study, black_box(&linked), &reglink_link::NoProgress))
    });
    group.finish();
}

criterion_group!(benches, link);
criterion_main!(benches);
