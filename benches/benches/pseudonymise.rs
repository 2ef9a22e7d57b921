//! The pieces of `reglink pseudonymise`, measured with criterion:
//!
//! - `keyed_blake3_raw`: bare keyed BLAKE3 over normalised ids (the ceiling),
//! - `parse_and_hash`: parsing messy id strings plus the keyed hash,
//! - `pseudonymise_file`: the whole pipeline on the `municipality` LISA-style
//!   extract, Parquet in and out.
//!
//! `cargo bench -p reglink-benches --bench pseudonymise`. The side-by-side
//! comparison against DuckDB on the national extract is `benches/compare.py`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reglink_benches::baseline;
use reglink_pnr::{Date, Form, Pnr};
use reglink_pseudo::{MasterKey, PseudonymiseOptions, pseudonymise};
use reglink_synth::{Format, Options, Preset};

fn ids(n: usize) -> Vec<Pnr> {
    (0..n)
        .map(|i| {
            let born = Date::from_days_since_epoch(-20_000 + (i as i32 * 7919) % 38_000);
            Pnr::from_parts(born, (i % 1000) as u16, false).expect("valid")
        })
        .collect()
}

fn hashing(c: &mut Criterion) {
    let n = 1_000_000;
    let pnrs = ids(n);
    let normalised: Vec<[u8; 12]> = pnrs.iter().map(|p| *p.normalised()).collect();
    let reference = Date::new(2026, 6, 30).expect("valid date");
    let forms = [
        Form::Twelve,
        Form::TwelveDash,
        Form::TenSeparated,
        Form::Ten,
    ];
    let text: Vec<String> = pnrs
        .iter()
        .enumerate()
        .map(|(i, p)| p.format(forms[i % 4], reference))
        .collect();
    let study = MasterKey::from_bytes([3; 32])
        .study_key("bench")
        .expect("study");

    let mut group = c.benchmark_group("pseudonymise");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.bench_function("keyed_blake3_raw", |b| {
        b.iter(|| baseline::hash_all(&[3; 32], black_box(&normalised)))
    });
    group.bench_function("parse_and_hash", |b| {
        b.iter(|| {
            use rayon::prelude::*;
            text.par_iter()
                .map(|t| {
                    Pnr::parse(t, reference)
                        .map(|p| study.keyed(&p).record_key)
                        .unwrap_or(0)
                })
                .reduce(|| 0, u32::wrapping_add)
        })
    });
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = reglink_synth::generate(&Options {
        preset: Preset::Municipality,
        seed: 1,
        format: Format::Parquet,
        out_dir: dir.path().join("synth"),
    })
    .expect("synth");
    let input = dir.path().join("synth").join("lisa.parquet");
    let study = MasterKey::from_bytes([3; 32])
        .study_key("bench")
        .expect("study");
    let opts = PseudonymiseOptions::new(
        &input,
        dir.path().join("out.parquet"),
        "PersonNr",
        reglink_synth::extraction_date(),
    );

    let mut group = c.benchmark_group("pseudonymise");
    group.throughput(Throughput::Elements(report.lisa.rows));
    group.sample_size(10);
    group.bench_function("pseudonymise_file", |b| {
        b.iter(|| pseudonymise(&opts, &study, None, &|_| {}).expect("pseudonymise"))
    });
    group.finish();
}

criterion_group!(benches, hashing, pipeline);
criterion_main!(benches);
