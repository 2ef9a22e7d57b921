//! `reglink link` on the example study, checked cell by cell against a
//! reference computed here.
//!
//! The reference is written from `docs/study-file.md` alone, deliberately
//! row by row and without any of the engine's structure: the study file is
//! read with `toml`, the pseudonymised extracts are read into plain maps
//! keyed by pseudonym, every variable is a direct transcription of its line in
//! the spec's table, and every cell is found by looping over the population's
//! person-years. Dates are stepped one day at a time rather than computed.
//!
//! Readings of the spec where it leaves a choice are marked `SPEC READING`.
//!
//! Mismatch messages name the table, the cell (its dimension values and
//! levels), the column and both values; they never contain a pseudonym or a
//! personnummer.

mod compare;
mod dates;
mod extracts;
mod sanity;
mod study;
mod values;

use std::fs;
use std::path::Path;

use reglink_tests::{pseudonymise, reglink};

use crate::compare::compare;
use crate::extracts::Reference;
use crate::sanity::Sanity;
use crate::study::Study;

#[test]
fn example_study_cells_match_the_reference_seed_1() {
    check_seed(1);
}

#[test]
fn example_study_cells_match_the_reference_seed_7() {
    check_seed(7);
}

/// synth -> key -> pseudonymise x3 -> link, then the reference and the
/// comparison of every table.
fn check_seed(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed_text = seed.to_string();
    reglink!(
        d,
        &[
            "synth", "--preset", "tiny", "--seed", &seed_text, "--format", "csv", "--out", "raw",
        ],
    )
    .success();
    reglink!(d, &["key", "new", "--out", "k.key"]).success();
    fs::create_dir(d.join("pseudonymised")).unwrap();
    for (register, id_column) in [
        ("eb", "personnr"),
        ("af", "personnummer"),
        ("lisa", "PersonNr"),
    ] {
        pseudonymise!(
            d,
            "k.key",
            &format!("raw/{register}.csv"),
            &format!("pseudonymised/{register}.parquet"),
            &[
                "--id-column",
                id_column,
                "--crosswalk",
                "raw/crosswalk.csv",
                "--derive",
            ],
        )
        .success();
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/studies/example/study.toml");
    fs::copy(&fixture, d.join("study.toml")).unwrap();
    let run = reglink!(d, &["link", "study.toml", "--out", "link"]);
    assert_eq!(
        run.code,
        Some(0),
        "seed {seed}: reglink link failed:\n{}",
        run.stderr
    );

    let study = Study::read(&d.join("study.toml"));
    let reference = Reference::load(&study);
    reference.check_data_is_consistent();

    let mut problems = Vec::new();
    let mut sanity = Sanity::default();
    for table in &study.tables {
        let expected = reference.cell_table(table);
        sanity.note(table, &expected);
        let path = d.join("link/cells").join(format!("{}.parquet", table.name));
        assert!(
            d.join("link/cells")
                .join(format!("{}.json", table.name))
                .exists(),
            "seed {seed}: cells/{}.json is missing",
            table.name
        );
        let mut found = Vec::new();
        compare(table, &expected, &path, &mut found);
        if !found.is_empty() {
            // The first few of every table, so that one broken table does
            // not hide the others.
            problems.push(format!(
                "{}: {} differences, the first {}:",
                table.name,
                found.len(),
                found.len().min(8)
            ));
            problems.extend(found.into_iter().take(8).map(|p| format!("  {p}")));
        }
    }
    sanity.assert_not_vacuous(seed);
    assert!(
        problems.is_empty(),
        "seed {seed}: the engine's cell tables differ from the reference:\n{}",
        problems.join("\n")
    );
}
