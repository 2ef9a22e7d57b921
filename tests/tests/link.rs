//! `reglink link` through the binary: accounting, determinism, what the
//! output may contain, and bad input that takes more than a study file
//! (study-file errors are cases under `fixtures/errors/study/`).
//!
//! One `reglink example` run (synthetic tiny registers, pseudonymised, with
//! the example study written beside them) is shared by the tests; each test
//! that changes something works on its own copy of the study file.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{Run, example, listing, reglink};
use serde_json::Value;

/// A study in its own folder next to the example's data, with `edit` applied to the example study.
fn study_variant(name: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let ex = example!();
    let text = fs::read_to_string(ex.join("study.toml")).unwrap();
    let absolute = text
        .replace("\"raw/", &format!("\"{}/raw/", ex.display()))
        .replace(
            "\"pseudonymised/",
            &format!("\"{}/pseudonymised/", ex.display()),
        );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, edit(&absolute)).unwrap();
    (dir, path)
}

/// `reglink link STUDY --out OUT` in `dir`.
fn link(dir: &Path, study: &Path, out: &str) -> Run {
    reglink!(dir, &["link", study.to_str().unwrap(), "--out", out])
}

/// The same with `--quiet`.
fn link_quietly(dir: &Path, study: &Path, out: &str) -> Run {
    reglink!(
        dir,
        &["--quiet", "link", study.to_str().unwrap(), "--out", out],
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(
        batches.len(),
        1,
        "cell tables are small enough for one batch"
    );
    batches.remove(0)
}

fn u64s(batch: &RecordBatch, name: &str) -> Vec<u64> {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_primitive::<UInt64Type>()
        .values()
        .to_vec()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let col = batch.column_by_name(name).unwrap().as_string::<i32>();
    (0..col.len()).map(|i| col.value(i).to_string()).collect()
}

#[test]
fn every_row_of_every_source_is_accounted_for() {
    let report = json(&example!().join("link/linkage-report.json"));
    let sources = report["sources"].as_object().unwrap();
    assert_eq!(sources.len(), 3);
    for (name, s) in sources {
        let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{name}: no {k}"));
        assert!(n("rows_read") > 0, "{name}");
        assert_eq!(
            n("rows_read"),
            n("rows_used") + n("rows_rejected") + n("rows_outside_period") + n("duplicates"),
            "{name}: rows read = used + rejected + outside the period + duplicates"
        );
        let by_reason: u64 = s["rejected"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["rows"].as_u64().unwrap())
            .sum();
        assert_eq!(by_reason, n("rows_rejected"), "{name}");
        assert!(
            n("distinct_persons") > 0 && n("distinct_persons") <= n("rows_used"),
            "{name}"
        );
    }
    // Matches are symmetric: EB persons found in AF are AF persons found in EB.
    assert_eq!(
        sources["eb"]["matched"]["af"],
        sources["af"]["matched"]["eb"]
    );
    assert!(sources["eb"]["matched"]["af"].as_u64().unwrap() > 0);
    // The row numbers of the pseudonymised file's rows pass through: AF spells
    // that end before they start are the only AF rejects synth injects.
    let af = &sources["af"]["rejected"];
    for reason in af.as_object().unwrap().keys() {
        assert_eq!(reason, "end_before_start", "unexpected AF reject reason");
    }
}

#[test]
fn margins_add_up_and_the_total_is_the_population() {
    let ex = example!();
    let report = json(&ex.join("link/linkage-report.json"));
    let batch = read_parquet(&ex.join("link/cells/t5_outcomes.parquet"));
    let persons = u64s(&batch, "persons");
    let (sex, age, long_term) = (
        strings(&batch, "sex"),
        strings(&batch, "age_band"),
        strings(&batch, "long_term"),
    );
    let population: u64 = report["populations"]["eb_adults_2023"]["person_years"]["2023"]
        .as_u64()
        .unwrap();
    let cell = |s: &str, a: &str, l: &str| {
        (0..persons.len())
            .find(|&i| sex[i] == s && age[i] == a && long_term[i] == l)
            .map(|i| persons[i])
            .unwrap_or_else(|| panic!("no cell {s}/{a}/{l}"))
    };
    assert!(population > 0);
    assert_eq!(cell("_T", "_T", "_T"), population);
    // Every total is the sum of its categories, in every dimension.
    for l in ["no", "yes", "_T"] {
        for a in ["18-24", "25-29", "30-44", "45-54", "55-64", "_T"] {
            assert_eq!(
                cell("_T", a, l),
                cell("men", a, l) + cell("women", a, l),
                "{a}/{l}"
            );
        }
    }
    let bands = ["18-24", "25-29", "30-44", "45-54", "55-64"];
    assert_eq!(
        cell("_T", "_T", "_T"),
        bands.iter().map(|a| cell("_T", a, "_T")).sum::<u64>()
    );
    // Shares keep both parts; the denominator never exceeds the persons.
    let (num, den) = (
        u64s(&batch, "self_supporting_t1_num"),
        u64s(&batch, "self_supporting_t1_den"),
    );
    assert!((0..persons.len()).all(|i| num[i] <= den[i] && den[i] <= persons[i]));
    assert!(num.iter().any(|&n| n > 0));
}

#[test]
fn municipalities_roll_up_to_counties_and_the_nation() {
    let batch = read_parquet(&example!().join("link/cells/t7_amounts.parquet"));
    let (m, level, ht) = (
        strings(&batch, "municipality"),
        batch
            .column_by_name("municipality_level")
            .unwrap()
            .as_primitive::<arrow_array::types::UInt8Type>()
            .values()
            .to_vec(),
        strings(&batch, "household_type"),
    );
    let persons = u64s(&batch, "persons");
    let sums = batch
        .column_by_name("amount_sum")
        .unwrap()
        .as_primitive::<arrow_array::types::Int64Type>()
        .values()
        .to_vec();
    let rows = |lvl: u8| -> Vec<usize> {
        (0..persons.len())
            .filter(|&i| level[i] == lvl && ht[i] == "_T")
            .collect()
    };
    let leaf: u64 = rows(0).into_iter().map(|i| persons[i]).sum();
    let county: u64 = rows(1).into_iter().map(|i| persons[i]).sum();
    let nation: Vec<usize> = rows(2);
    assert_eq!(nation.len(), 1);
    assert_eq!(m[nation[0]], "_T");
    assert_eq!(leaf, persons[nation[0]]);
    assert_eq!(county, persons[nation[0]]);
    assert_eq!(
        rows(0).into_iter().map(|i| sums[i]).sum::<i64>(),
        sums[nation[0]]
    );
    // Every county code is the first two digits of its municipalities (synth's code list).
    let counties: HashSet<&str> = rows(1).into_iter().map(|i| m[i].as_str()).collect();
    assert!(
        rows(0)
            .into_iter()
            .all(|i| m[i] == "unknown" || counties.contains(&m[i][..2]))
    );
}

#[test]
fn output_holds_aggregates_only() {
    let ex = example!();
    // Every pseudonym of the inputs, as raw bytes and as hex.
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for f in ["eb", "af", "lisa"] {
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            fs::File::open(ex.join(format!("pseudonymised/{f}.parquet"))).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch
                .column_by_name("pseudonym")
                .unwrap()
                .as_fixed_size_binary();
            for i in 0..col.len() {
                let p = col.value(i);
                needles.push(p.to_vec());
                needles.push(
                    p.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into_bytes(),
                );
            }
        }
    }
    needles.sort();
    needles.dedup();
    // Personnummer of the raw extracts (the 12-digit forms).
    let raw = fs::read_to_string(ex.join("raw/eb.csv")).unwrap();
    let pnrs: Vec<&str> = raw
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter(|p| p.len() == 12)
        .collect();
    assert!(pnrs.len() > 100 && needles.len() > 1000);

    let out = ex.join("link");
    assert_eq!(listing(&out), ["cells", "link.json", "linkage-report.json"]);
    let mut files: Vec<PathBuf> = vec![out.join("link.json"), out.join("linkage-report.json")];
    files.extend(
        listing(&out.join("cells"))
            .iter()
            .map(|f| out.join("cells").join(f)),
    );
    // The release bundle of `reglink example` too, and the checker report
    // beside it (internal, but no more row-level than the bundle).
    let release = ex.join("release");
    let mut stack = vec![release.clone(), ex.join("release.checker")];
    let mut bundle_files = 0;
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                bundle_files += 1;
                files.push(p);
            }
        }
    }
    assert!(
        bundle_files >= 3 * 14 + 2,
        "{bundle_files} files in the bundle"
    );
    // Every window of every file is looked up among the needles of its length.
    let by_length = |needles: Vec<&[u8]>| {
        let mut m: std::collections::HashMap<usize, HashSet<Vec<u8>>> = Default::default();
        for n in needles {
            m.entry(n.len()).or_default().insert(n.to_vec());
        }
        m
    };
    let pseudonyms = by_length(needles.iter().map(Vec::as_slice).collect());
    let numbers = by_length(pnrs.iter().map(|p| p.as_bytes()).collect());
    for file in files {
        let bytes = fs::read(&file).unwrap();
        for (what, sets) in [("a pseudonym", &pseudonyms), ("a personnummer", &numbers)] {
            for (len, set) in sets {
                assert!(
                    !bytes.windows(*len).any(|w| set.contains(w)),
                    "{} holds {what}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn same_inputs_give_byte_identical_cell_tables_whatever_the_thread_count() {
    let ex = example!();
    let run = |threads: &str, out: &Path| link_with(ex, threads, out, &[]);
    let dir = tempfile::tempdir().unwrap();
    run("1", &dir.path().join("one"));
    run("3", &dir.path().join("three"));
    assert_same_link_output(&dir.path().join("one"), &dir.path().join("three"));
}

/// The same cell tables and linkage report, byte for byte.
fn assert_same_link_output(a: &Path, b: &Path) {
    let cells = listing(&a.join("cells"));
    assert!(cells.len() >= 2 * 14);
    assert_eq!(cells, listing(&b.join("cells")));
    for f in cells
        .iter()
        .chain(["../linkage-report.json".to_string()].iter())
    {
        let x = fs::read(a.join("cells").join(f)).unwrap();
        let y = fs::read(b.join("cells").join(f)).unwrap();
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn linking_a_group_of_persons_at_a_time_gives_byte_identical_output() {
    // The tiny registers hold a few thousand rows: 700 at a time is 8 to 16
    // groups, each source set aside on disk beside the extracts.
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    link_with(ex, "2", &dir.path().join("whole"), &[]);
    link_with(
        ex,
        "2",
        &dir.path().join("groups"),
        &["--rows-in-memory", "700"],
    );
    assert_same_link_output(&dir.path().join("whole"), &dir.path().join("groups"));
    // Nothing is left of the spill files.
    let left: Vec<String> = fs::read_dir(ex.join("pseudonymised"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    // Or in a folder of the user's choice, left as it was.
    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    let args = [
        "--rows-in-memory",
        "700",
        "--scratch",
        scratch.to_str().unwrap(),
    ];
    link_with(ex, "2", &dir.path().join("chosen"), &args);
    assert_same_link_output(&dir.path().join("whole"), &dir.path().join("chosen"));
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0);
    // A scratch folder that cannot be made stops the run, naming it.
    let missing = dir.path().join("no-such-folder");
    let run = reglink!(
        ex,
        &[
            "link",
            "study.toml",
            "--out",
            dir.path().join("failed").to_str().unwrap(),
            "--rows-in-memory",
            "700",
            "--scratch",
            missing.to_str().unwrap()
        ]
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("cannot write a spill file") && run.stderr.contains("no-such-folder"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("failed").exists());
    // Nor inside the output, where set-aside rows could be left behind.
    let out = dir.path().join("holding");
    let inside = out.join("scratch");
    let run = reglink!(
        ex,
        &[
            "link",
            "study.toml",
            "--out",
            out.to_str().unwrap(),
            "--scratch",
            inside.to_str().unwrap()
        ]
    );
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("the scratch folder"), "{}", run.stderr);
    assert!(!out.exists());
}

#[test]
fn linking_on_an_engine_a_part_at_a_time_gives_byte_identical_output() {
    // A stand-in for spark-submit does what reglink's Spark job does with
    // another cut of the persons (5 parts by the pseudonym's first byte),
    // gives each part the EB rows of its households and runs `reglink
    // link-part` on each, last part first: the merged cell tables and
    // report are the local run's, rejected rows named by their rows in the
    // source files.
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    let fake = env!("CARGO_BIN_EXE_fake-spark-submit");
    link_with(ex, "2", &dir.path().join("whole"), &[]);
    // The job's private folder in a folder of its own (other tests look
    // beside the shared extracts for what they leave).
    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    let engine = [
        "--engine",
        "spark",
        "--spark-submit",
        fake,
        "--parts",
        "5",
        "--scratch",
        scratch.to_str().unwrap(),
    ];
    link_with(ex, "2", &dir.path().join("parts"), &engine);
    assert_same_link_output(&dir.path().join("whole"), &dir.path().join("parts"));
    // `reglink run` on the engine releases the very same bundle.
    for (name, args) in [("release-whole", &[][..]), ("release-parts", &engine[..])] {
        let out = dir.path().join(name);
        let mut all = vec!["--quiet", "run", "study.toml", "--policy", "acro", "--out"];
        all.push(out.to_str().unwrap());
        all.extend(args);
        reglink!(ex, &all).success();
    }
    let (whole, parts) = (
        dir.path().join("release-whole"),
        dir.path().join("release-parts"),
    );
    let files = reglink_tests::files_below(&whole);
    assert!(files.len() > 30, "{files:?}");
    assert_eq!(files, reglink_tests::files_below(&parts));
    for f in &files {
        assert!(
            fs::read(whole.join(f)).unwrap() == fs::read(parts.join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
    // The table by household type needs every part to see its households'
    // members in other parts.
    let study = fs::read_to_string(ex.join("study.toml")).unwrap();
    assert!(study.contains("kind = \"household_type\""));
    // The job's private folder is gone.
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0);

    // A row lost on the way is noticed, also when another is read twice in
    // its place, and nothing is written.
    for lose in ["row", "row-for-another"] {
        let out = dir.path().join("lost");
        let run = std::process::Command::new(reglink_tests::reglink_bin!())
            .args(["--quiet", "link", "study.toml", "--out"])
            .arg(&out)
            .args(engine)
            .current_dir(ex)
            .env("FAKE_SPARK_LOSE", lose)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{lose}");
        assert!(
            stderr.contains("rows were lost or read twice"),
            "{lose}: {stderr}"
        );
        assert!(!out.exists());
    }

    // Without the EB rows of their households' members in other parts, the
    // parts count households short: the routing is what keeps them whole.
    let torn = dir.path().join("torn");
    let run = std::process::Command::new(reglink_tests::reglink_bin!())
        .args(["--quiet", "link", "study.toml", "--out"])
        .arg(&torn)
        .args(engine)
        .current_dir(ex)
        .env("FAKE_SPARK_LOSE", "households")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cells = listing(&dir.path().join("whole/cells"));
    let differ = cells.iter().filter(|f| {
        fs::read(dir.path().join("whole/cells").join(f)).unwrap()
            != fs::read(torn.join("cells").join(f)).unwrap()
    });
    assert!(differ.count() > 0);

    // No spark-submit: says what to install.
    let run = reglink!(
        ex,
        &[
            "link",
            "study.toml",
            "--out",
            dir.path().join("none").to_str().unwrap(),
            "--engine",
            "spark",
            "--spark-submit",
            dir.path().join("no-spark-submit").to_str().unwrap(),
            "--scratch",
            scratch.to_str().unwrap(),
        ]
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("install Apache Spark"),
        "{}",
        run.stderr
    );
}

#[test]
fn linking_on_an_engine_names_rejected_rows_by_their_rows_in_the_source() {
    let ex = example!();
    let fake = env!("CARGO_BIN_EXE_fake-spark-submit");
    let engine = ["--engine", "spark", "--spark-submit", fake, "--parts", "5"];
    // Rejected rows are named by their rows in the source file, not in a
    // part: EB rows without a municipality (every 97th) are rejected.
    let (bad, bad_study) = study_variant("no-municipality.toml", |s| s.to_string());
    let eb = ex.join("pseudonymised/eb.parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&eb).unwrap()).unwrap();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let whole = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    let kommun = schema.index_of("kommun").unwrap();
    let holes =
        arrow_array::BooleanArray::from_iter((0..whole.num_rows()).map(|i| Some(i % 97 == 96)));
    let nulled = arrow_select::nullif::nullif(whole.column(kommun), &holes).unwrap();
    let mut columns = whole.columns().to_vec();
    columns[kommun] = nulled;
    let holed = bad.path().join("eb.parquet");
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(fs::File::create(&holed).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let text = fs::read_to_string(&bad_study)
        .unwrap()
        .replace(eb.to_str().unwrap(), holed.to_str().unwrap());
    fs::write(&bad_study, text).unwrap();
    let bad_study = bad_study.to_str().unwrap();
    for (name, args) in [("whole", &[][..]), ("parts", &engine[..])] {
        let out = bad.path().join(name);
        let mut all = vec!["--quiet", "link", bad_study, "--out"];
        all.push(out.to_str().unwrap());
        all.extend(args);
        // The job's folder beside the holed extract, not the shared ones.
        all.extend(["--scratch", bad.path().to_str().unwrap()]);
        reglink!(bad.path(), &all).success();
    }
    assert_same_link_output(&bad.path().join("whole"), &bad.path().join("parts"));
    let report = json(&bad.path().join("whole/linkage-report.json"));
    let rejected = &report["sources"]["eb"]["rejected"];
    let rows: Vec<u64> = rejected
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r["first_rows"].as_array().unwrap().iter())
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(
        rows,
        (1..=20).map(|k| 97 * k).collect::<Vec<u64>>(),
        "{rejected}"
    );
}

/// `reglink --quiet link study.toml --out OUT ARGS` in the example's folder
/// on `threads` threads.
fn link_with(ex: &Path, threads: &str, out: &Path, args: &[&str]) {
    let status = std::process::Command::new(reglink_tests::reglink_bin!())
        .args(["--quiet", "link", "study.toml", "--out"])
        .arg(out)
        .args(args)
        .current_dir(ex)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn unreadable_values_are_rejected_with_their_rows_not_dropped() {
    // The AF municipality column read as the start date: every row is unreadable.
    let (dir, study) = study_variant("bad-dates.toml", |s| {
        s.replace("start = \"startdatum\"", "start = \"kommun\"")
    });
    // A source without a usable row: the output is written, and the exit
    // code (3) says that it is not a result.
    let run = link_quietly(dir.path(), &study, "out");
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-empty"), "{}", run.stderr);
    let report = json(&dir.path().join("out/linkage-report.json"));
    let af = &report["sources"]["af"];
    assert_eq!(af["rows_used"], 0);
    assert_eq!(af["rows_rejected"], af["rows_read"]);
    assert_eq!(af["rejected"]["start_invalid"]["first_rows"][0], 1);
    // The warning says where the rejected rows are listed.
    let rows = af["rows_rejected"].as_u64().unwrap();
    let expected =
        format!("source af: {rows} rows rejected (see `rejected` in the linkage report)");
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap() == expected),
        "{}",
        report["warnings"]
    );
}

#[test]
fn an_empty_population_gives_zero_cells_and_a_warning() {
    let (dir, study) = study_variant("empty.toml", |s| {
        s.replace(
            "years = [2023]\nage = [18, 64]\n\n[populations.eb_entrants_2023]",
            "years = [2023]\nage = [150, 160]\n\n[populations.eb_entrants_2023]",
        )
    });
    let run = link(dir.path(), &study, "out").success();
    assert!(
        run.stderr
            .contains("warning: population eb_adults_2023 is empty"),
        "{}",
        run.stderr
    );
    let batch = read_parquet(&dir.path().join("out/cells/t5_outcomes.parquet"));
    assert!(batch.num_rows() > 1);
    assert!(u64s(&batch, "persons").iter().all(|&n| n == 0));
}

#[test]
fn sources_under_different_keys_are_refused() {
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    reglink!(dir.path(), &["key", "new", "--out", "other.key"]).success();
    let af = dir.path().join("af.parquet");
    reglink_tests::pseudonymise!(
        dir.path(),
        "other.key",
        ex.join("raw/af.csv").to_str().unwrap(),
        af.to_str().unwrap(),
        &["--id-column", "personnummer", "--derive"],
    )
    .success();
    let (sdir, study) = study_variant("keys.toml", |s| {
        s.replace(
            &format!("{}/pseudonymised/af.parquet", ex.display()),
            af.to_str().unwrap(),
        )
    });
    let run = link(sdir.path(), &study, "out").failure();
    assert!(
        run.all_output()
            .contains("pseudonyms only match under one key"),
        "{}",
        run.all_output()
    );
}

#[test]
fn an_existing_directory_not_written_by_link_is_left_alone() {
    let (dir, study) = study_variant("s.toml", |s| s.to_string());
    fs::create_dir(dir.path().join("mine")).unwrap();
    fs::write(dir.path().join("mine/notes.txt"), "keep").unwrap();
    let run = link(dir.path(), &study, "mine").failure();
    assert!(
        run.all_output()
            .contains("is not an output of `reglink link`"),
        "{}",
        run.all_output()
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("mine/notes.txt")).unwrap(),
        "keep"
    );
    // A second run over its own output replaces it.
    link_quietly(dir.path(), &study, "out").success();
    link_quietly(dir.path(), &study, "out").success();
}

/// An amount written the Swedish way (`15 652,49`) is read exactly: the
/// cell tables equal those of the same extract with whole kronor, and every
/// rounded fraction is counted in the linkage report and warned about.
#[test]
fn swedish_amounts_are_read_exactly_and_rounding_is_counted() {
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = csv::Reader::from_path(ex.join("raw/eb.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let amount = header.iter().position(|h| h == "utbetalt").unwrap();
    let mut out = csv::Writer::from_path(dir.path().join("eb.csv")).unwrap();
    out.write_record(&header).unwrap();
    for record in csv.records() {
        let record = record.unwrap();
        let mut fields: Vec<String> = record.iter().map(String::from).collect();
        let kronor: u64 = fields[amount].parse().unwrap();
        let grouped = if kronor >= 1000 {
            format!("{} {:03}", kronor / 1000, kronor % 1000)
        } else {
            kronor.to_string()
        };
        fields[amount] = format!("{grouped},49");
        out.write_record(&fields).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let key = ex.join("example.key");
    let crosswalk = ex.join("raw/crosswalk.csv");
    reglink!(
        dir.path(),
        &[
            "--quiet",
            "pseudonymise",
            "--key",
            key.to_str().unwrap(),
            "--study",
            "example-eb-af-2023",
            "--id-column",
            "personnr",
            "--in",
            "eb.csv",
            "--out",
            "eb.parquet",
            "--derive",
            "--crosswalk",
            crosswalk.to_str().unwrap(),
            "--reference-date",
            reglink_tests::REFERENCE_DATE,
        ],
    )
    .success();
    let eb = dir.path().join("eb.parquet");
    let (sdir, study) = study_variant("amounts.toml", |s| {
        s.replace(
            &format!("{}/pseudonymised/eb.parquet", ex.display()),
            eb.to_str().unwrap(),
        )
    });
    let run = link(sdir.path(), &study, "out").success();
    assert!(
        run.stderr.contains("rounded half to even"),
        "{}",
        run.stderr
    );
    let report = json(&sdir.path().join("out/linkage-report.json"));
    let s = &report["sources"]["eb"];
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("rows_rejected"), 0, "{s}");
    assert_eq!(
        n("values_rounded"),
        n("rows_read") - n("rows_outside_period"),
        "every used row had a fraction"
    );
    for table in listing(&ex.join("link/cells")) {
        if table.ends_with(".parquet") {
            assert_eq!(
                fs::read(sdir.path().join("out/cells").join(&table)).unwrap(),
                fs::read(ex.join("link/cells").join(&table)).unwrap(),
                "{table} differs from the run with whole kronor"
            );
        }
    }
}

/// Populations with the same members in a year (a two-year population and
/// a one-year population of the same definition) are named in a warning:
/// disclosure control protects them as separate populations. The example
/// keeps their years apart.
#[test]
fn populations_with_the_same_members_are_warned_about() {
    let apart = json(&example!().join("link/linkage-report.json"));
    assert!(
        !apart.to_string().contains("have the same members"),
        "{}",
        apart["warnings"]
    );
    let (dir, study) = study_variant("two-years.toml", |s| {
        s.replacen(
            "[populations.eb_adults]\nsource = \"eb\"\nyears = [2024]",
            "[populations.eb_adults]\nsource = \"eb\"\nyears = [2023, 2024]",
            1,
        )
    });
    link(dir.path(), &study, "out").success();
    let report = json(&dir.path().join("out/linkage-report.json"));
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let same: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.contains("have the same members"))
        .collect();
    assert_eq!(same.len(), 1, "{warnings:?}");
    assert!(
        same[0]
            .starts_with("populations eb_adults and eb_adults_2023 have the same members in 2023:"),
        "{}",
        same[0]
    );
}

/// The linkage report of the example (its fixed default seed) as it was
/// before the crates were restructured
/// (`snapshots/example-linkage-report.snap`; see `snapshots.rs`).
#[test]
fn the_example_linkage_report_is_unchanged() {
    let ex = example!();
    let report = fs::read_to_string(ex.join("link/linkage-report.json")).unwrap();
    reglink_tests::snapshot_settings(Some(ex))
        .bind(|| insta::assert_snapshot!("example-linkage-report", report));
}
