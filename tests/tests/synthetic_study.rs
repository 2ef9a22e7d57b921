//! The synthetic registers through the binary: `synth` -> `key new` ->
//! `pseudonymise` with the crosswalk, checked against what `synth` says it
//! injected (`synth.json`), and `reglink example` end to end.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use arrow_array::{Array, FixedSizeBinaryArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{pseudonymise, reglink};
use serde_json::Value;

fn pseudonyms(path: &Path) -> HashSet<Vec<u8>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut set = HashSet::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch
            .column(batch.schema().index_of("pseudonym").unwrap())
            .clone();
        let col = col.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
        for i in 0..col.len() {
            set.insert(col.value(i).to_vec());
        }
    }
    set
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn rejects_are_exactly_the_injected_invalid_ids_in_every_register() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for format in ["csv", "parquet"] {
        let raw = format!("raw-{format}");
        reglink!(
            d,
            &[
                "synth", "--preset", "tiny", "--seed", "7", "--format", format, "--out", &raw,
            ],
        )
        .success();
        let synth = json(&d.join(&raw).join("synth.json"));
        if !d.join("k.key").exists() {
            reglink!(d, &["key", "new", "--out", "k.key"]).success();
        }
        let mut persons = Vec::new();
        for (register, column) in [
            ("eb", "personnr"),
            ("af", "personnummer"),
            ("lisa", "PersonNr"),
        ] {
            let input = format!("{raw}/{register}.{format}");
            let out = format!("{raw}-{register}.parquet");
            let crosswalk = format!("{raw}/crosswalk.csv");
            pseudonymise!(
                d,
                "k.key",
                &input,
                &out,
                &["--id-column", column, "--crosswalk", &crosswalk, "--derive"],
            )
            .success();
            let report = json(&d.join(format!("{raw}-{register}.rejects.json")));
            let injected = &synth[register];
            let rejects = |reason: &str| report["rejects"][reason]["count"].as_u64().unwrap_or(0);
            let invalid = |kind: &str| injected["invalid_ids"][kind].as_u64().unwrap();
            let ctx = format!("{format} {register}");
            assert_eq!(report["rows_in"], injected["rows"], "{ctx}: rows");
            assert_eq!(
                report["rows_rejected"], injected["invalid_ids_total"],
                "{ctx}: rejects"
            );
            assert_eq!(
                report["rows_in"].as_u64().unwrap(),
                report["rows_out"].as_u64().unwrap() + report["rows_rejected"].as_u64().unwrap(),
                "{ctx}: accounting"
            );
            assert_eq!(
                rejects("checksum"),
                invalid("wrong_check_digit"),
                "{ctx}: checksum"
            );
            assert_eq!(rejects("date"), invalid("impossible_date"), "{ctx}: date");
            assert_eq!(rejects("missing"), invalid("empty"), "{ctx}: empty");
            assert_eq!(
                rejects("length") + rejects("character") + rejects("separator"),
                invalid("wrong_length") + invalid("letter") + invalid("space_separator"),
                "{ctx}: malformed"
            );
            assert_eq!(
                report["rows_remapped"], injected["old_number_rows"],
                "{ctx}: crosswalk"
            );
            let set = pseudonyms(&d.join(&out));
            assert_eq!(
                set.len() as u64,
                injected["persons"].as_u64().unwrap(),
                "{ctx}: persons"
            );
            persons.push(set);
        }
        // EB recipients are far more often at AF than the population.
        let (eb, af, lisa) = (&persons[0], &persons[1], &persons[2]);
        let eb_at_af = eb.intersection(af).count() as f64 / eb.len() as f64;
        let all_at_af = lisa.intersection(af).count() as f64 / lisa.len() as f64;
        assert!(
            eb_at_af > 2.0 * all_at_af,
            "{format}: EB at AF {eb_at_af:.2} vs all {all_at_af:.2}"
        );
    }
}

#[test]
fn example_runs_end_to_end_and_says_where_the_output_went() {
    let dir = tempfile::tempdir().unwrap();
    let run = reglink!(dir.path(), &["example", "--out", "ex"]).success();
    for needle in [
        "eb",
        "af",
        "lisa",
        "rejected",
        "also registered at AF",
        "ex/pseudonymised",
    ] {
        assert!(
            run.stdout.contains(needle),
            "example output lacks {needle:?}:\n{}",
            run.stdout
        );
    }
    for name in ["eb", "af", "lisa"] {
        assert!(
            dir.path()
                .join(format!("ex/pseudonymised/{name}.parquet"))
                .exists()
        );
        assert!(
            dir.path()
                .join(format!("ex/pseudonymised/{name}.rejects.json"))
                .exists()
        );
    }
    // `inspect` describes a pseudonymised file without printing a pseudonym.
    let eb = dir.path().join("ex/pseudonymised/eb.parquet");
    let inspect = reglink!(dir.path(), &["inspect", eb.to_str().unwrap()]).success();
    let persons = pseudonyms(&eb).len();
    assert!(
        inspect
            .stdout
            .contains(&format!("distinct persons (pseudonyms): {persons}")),
        "{}",
        inspect.stdout
    );
    assert!(inspect.stdout.contains("pseudonym: FixedSizeBinary(16)"));
    // A second run replaces its own directory...
    reglink!(dir.path(), &["example", "--out", "ex"]).success();
    // ...but never a directory it did not make.
    fs::create_dir(dir.path().join("mine")).unwrap();
    fs::write(dir.path().join("mine/data.csv"), "x\n").unwrap();
    let run = reglink!(dir.path(), &["example", "--out", "mine"]).failure();
    assert!(run.stderr.contains("mine"));
    assert!(dir.path().join("mine/data.csv").exists());
}
