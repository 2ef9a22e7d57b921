//! End-to-end tests: generate a preset, read the files back as a consumer
//! would, and hold them against the report and the documented contract.

mod read;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use reglink_pnr::{Pnr, PnrError, Sex};
use tempfile::TempDir;

use crate::crosswalk;
use crate::{Format, InvalidIdCounts, Options, Preset, RegisterReport, Report, SynthError};
use crate::{extraction_date, generate};

/// The three registers: file stem and identifier column.
const REGISTERS: [(&str, &str); 3] = [
    ("eb", "personnr"),
    ("af", "personnummer"),
    ("lisa", "PersonNr"),
];

fn options(preset: Preset, seed: u64, format: Format, dir: &Path) -> Options {
    Options {
        preset,
        seed,
        format,
        out_dir: dir.to_path_buf(),
    }
}

fn run(preset: Preset, seed: u64, format: Format) -> (TempDir, Report) {
    let dir = tempfile::tempdir().unwrap();
    let report = generate(&options(preset, seed, format, dir.path())).unwrap();
    (dir, report)
}

/// `tiny` in CSV and Parquet, and `municipality` in Parquet, each generated
/// once for all tests.
fn tiny(format: Format) -> &'static (TempDir, Report) {
    static CSV: OnceLock<(TempDir, Report)> = OnceLock::new();
    static PARQUET: OnceLock<(TempDir, Report)> = OnceLock::new();
    let cell = match format {
        Format::Csv => &CSV,
        Format::Parquet => &PARQUET,
    };
    cell.get_or_init(|| run(Preset::Tiny, 42, format))
}

fn municipality() -> &'static (TempDir, Report) {
    static CELL: OnceLock<(TempDir, Report)> = OnceLock::new();
    CELL.get_or_init(|| run(Preset::Municipality, 7, Format::Parquet))
}

fn register<'a>(report: &'a Report, stem: &str) -> &'a RegisterReport {
    match stem {
        "eb" => &report.eb,
        "af" => &report.af,
        _ => &report.lisa,
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn same_seed_gives_identical_bytes_whatever_the_threads() {
    for format in [Format::Csv, Format::Parquet] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let one = in_pool(1, || {
            generate(&options(Preset::Tiny, 9, format, a.path())).unwrap()
        });
        let three = in_pool(3, || {
            generate(&options(Preset::Tiny, 9, format, b.path())).unwrap()
        });
        assert_eq!(one, three);
        let (files_a, files_b) = (read::all_files(a.path()), read::all_files(b.path()));
        assert_eq!(
            files_a.keys().collect::<Vec<_>>(),
            files_b.keys().collect::<Vec<_>>()
        );
        assert_eq!(files_a.len(), 3 + 8 + 1 + 1, "{:?}", files_a.keys());
        for (name, bytes) in &files_a {
            assert!(bytes == &files_b[name], "{name} differs between runs");
        }
    }
}

#[test]
fn different_seeds_give_different_files() {
    let (a, _) = run(Preset::Tiny, 1, Format::Csv);
    let (b, _) = run(Preset::Tiny, 2, Format::Csv);
    for stem in ["eb", "af", "lisa"] {
        let name = format!("{stem}.csv");
        assert_ne!(
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap(),
            "{name}"
        );
    }
    // The geography depends on the preset only.
    assert_eq!(
        std::fs::read(a.path().join("codelists/kommun.csv")).unwrap(),
        std::fs::read(b.path().join("codelists/kommun.csv")).unwrap()
    );
}

#[test]
fn files_match_the_report_and_synth_json() {
    for format in [Format::Csv, Format::Parquet] {
        let (dir, report) = tiny(format);
        let json = std::fs::read_to_string(dir.path().join("synth.json")).unwrap();
        let written: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(&written, report);
        assert_eq!(report.format, format);
        assert_eq!(report.municipalities, 3);
        for (stem, _) in REGISTERS {
            let r = register(report, stem);
            assert_eq!(r.file, format!("{stem}.{}", format.extension()));
            assert_eq!(read::row_count(&dir.path().join(&r.file)), r.rows, "{stem}");
            assert!(r.rows > 0 && r.persons > 0);
        }
        for name in &report.codelists {
            assert!(dir.path().join(name).is_file(), "{name}");
        }
        let kommun = read::codes(dir.path(), "kommun");
        assert_eq!(kommun.len() as u64, report.municipalities);
        let crosswalk = read::row_count(&dir.path().join("crosswalk.csv"));
        assert_eq!(crosswalk, report.crosswalk.entries);
        // No temporary files left behind.
        assert!(
            read::all_files(dir.path())
                .keys()
                .all(|k| !k.contains(".synth-"))
        );
    }
}

/// Parses every identifier of `stem` as a consumer would and counts the
/// rejections by kind; also returns the parsed numbers, row by row.
fn parse_ids(
    dir: &Path,
    report: &Report,
    stem: &str,
    column: &str,
) -> (InvalidIdCounts, Vec<Option<Pnr>>) {
    let file = dir.join(&register(report, stem).file);
    let ids = read::columns(&file, &[column]).remove(0);
    let mut rejected = InvalidIdCounts::default();
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.unwrap_or_default();
        match Pnr::parse(id.trim(), extraction_date()) {
            Ok(pnr) => parsed.push(Some(pnr)),
            Err(e) => {
                *match e {
                    PnrError::Checksum => &mut rejected.wrong_check_digit,
                    PnrError::Month | PnrError::Day => &mut rejected.impossible_date,
                    PnrError::Length { .. } => &mut rejected.wrong_length,
                    PnrError::Character { .. } => &mut rejected.letter,
                    PnrError::Empty => &mut rejected.empty,
                    PnrError::Separator { .. } => &mut rejected.space_separator,
                    other => panic!("{stem}: unexpected rejection {other:?}"),
                } += 1;
                parsed.push(None);
            }
        }
    }
    (rejected, parsed)
}

#[test]
fn every_identifier_parses_or_is_counted_as_invalid() {
    let runs = [tiny(Format::Csv), tiny(Format::Parquet), municipality()];
    for (dir, report) in runs {
        for (stem, column) in REGISTERS {
            let (rejected, _) = parse_ids(dir.path(), report, stem, column);
            let r = register(report, stem);
            assert_eq!(rejected, r.invalid_ids, "{stem} in {:?}", report.preset);
            assert_eq!(rejected.total(), r.invalid_ids_total);
        }
    }
    // At the municipality's size every kind occurs, at about 0.2 %.
    let (_, report) = municipality();
    for (stem, _) in REGISTERS {
        let r = register(report, stem);
        let share = r.invalid_ids_total as f64 / r.rows as f64;
        assert!((0.001..0.003).contains(&share), "{stem}: {share}");
    }
    let lisa = report.lisa.invalid_ids;
    for n in [
        lisa.wrong_check_digit,
        lisa.impossible_date,
        lisa.wrong_length,
        lisa.letter,
        lisa.empty,
        lisa.space_separator,
    ] {
        assert!(n > 0, "{lisa:?}");
    }
}

#[test]
fn identifiers_come_in_the_documented_forms() {
    let (dir, report) = municipality();
    let ids = read::columns(&dir.path().join(&report.lisa.file), &["PersonNr"]).remove(0);
    let n = ids.len() as f64;
    let share =
        |f: &dyn Fn(&str) -> bool| ids.iter().flatten().filter(|id| f(id)).count() as f64 / n;
    let twelve = share(&|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()));
    let padded = share(&|id| id.trim() != id);
    let plus = share(&|id| id.contains('+'));
    let coordination =
        share(&|id| Pnr::parse(id.trim(), extraction_date()).is_ok_and(|p| p.is_coordination()));
    assert!((0.77..0.83).contains(&twelve), "twelve digits {twelve}");
    assert!((0.01..0.03).contains(&padded), "padded {padded}");
    assert!(plus > 0.0, "no centenarian written with '+'");
    assert!(
        (0.000_5..0.02).contains(&coordination),
        "coordination {coordination}"
    );
}

#[test]
fn lisa_sex_and_birth_year_match_the_number() {
    for (dir, report) in [tiny(Format::Csv), municipality()] {
        let (_, parsed) = parse_ids(dir.path(), report, "lisa", "PersonNr");
        let file = dir.path().join(&report.lisa.file);
        let cols = read::columns(&file, &["Kon", "FodelseAr", "Ar"]);
        let mut checked = 0;
        for (row, pnr) in parsed.iter().enumerate() {
            let Some(pnr) = pnr else { continue };
            let kon = cols[0][row].as_deref().unwrap();
            let born: i32 = cols[1][row].as_deref().unwrap().parse().unwrap();
            let year: i32 = cols[2][row].as_deref().unwrap().parse().unwrap();
            let sex = if kon == "1" { Sex::Male } else { Sex::Female };
            assert_eq!(pnr.sex(), sex, "row {row}");
            assert_eq!(pnr.birth_date().year(), born, "row {row}");
            assert!(year - born >= 16, "row {row}: younger than 16");
            checked += 1;
        }
        assert!(checked as u64 >= report.lisa.rows - report.lisa.invalid_ids_total);
    }
}

/// The crosswalk as `old -> new` normalised strings.
fn crosswalk_entries(dir: &Path) -> Vec<(String, String)> {
    let mut cols = read::columns(&dir.join("crosswalk.csv"), &["old", "new"]).into_iter();
    let (old, new) = (cols.next().unwrap(), cols.next().unwrap());
    old.into_iter()
        .flatten()
        .zip(new.into_iter().flatten())
        .collect()
}

#[test]
fn crosswalk_has_chains_and_no_cycles_and_old_numbers_are_used() {
    let (dir, report) = municipality();
    let entries = crosswalk_entries(dir.path());
    assert_eq!(entries.len() as u64, report.crosswalk.entries);
    assert_eq!(crosswalk::check(&entries), Ok(()));
    for (old, new) in &entries {
        for id in [old, new] {
            let pnr = Pnr::parse(id, extraction_date()).unwrap();
            assert_eq!(pnr.normalised(), id.as_bytes(), "not normalised");
        }
    }
    let olds: HashSet<&str> = entries.iter().map(|(old, _)| old.as_str()).collect();
    let chained = entries
        .iter()
        .filter(|(_, new)| olds.contains(new.as_str()))
        .count();
    assert!(chained > 0, "no chains");
    assert_eq!(chained as u64, report.crosswalk.chained);
    // Rows dated before a change carry the old number, as the report says.
    for (stem, column) in REGISTERS {
        let (_, parsed) = parse_ids(dir.path(), report, stem, column);
        let old_rows = parsed
            .iter()
            .flatten()
            .filter(|p| olds.contains(std::str::from_utf8(p.normalised()).unwrap()))
            .count() as u64;
        let r = register(report, stem);
        assert!(old_rows <= r.old_number_rows, "{stem}");
        assert!(
            old_rows + r.invalid_ids_total >= r.old_number_rows,
            "{stem}"
        );
        assert!(old_rows > 0, "{stem}: no row with an old number");
    }
}

#[test]
fn unknown_codes_and_broken_spells_are_counted() {
    let (dir, report) = municipality();
    let checks = [
        ("eb", "forsorjningshinder", "forsorjningshinder"),
        ("af", "sokandekategori", "sokandekategori"),
        ("af", "program", "program"),
        ("af", "avslutsorsak", "avslutsorsak"),
        ("lisa", "FodelseRegion", "fodelseregion"),
        ("lisa", "Sun2000Niva", "sun"),
        ("lisa", "SyssStatus", "syssstatus"),
        ("lisa", "Kommun", "kommun"),
        ("eb", "kommun", "kommun"),
    ];
    let mut total = 0;
    for (stem, column, list) in checks {
        let known: HashSet<String> = read::codes(dir.path(), list).into_iter().collect();
        let file = dir.path().join(&register(report, stem).file);
        let values = read::columns(&file, &[column]).remove(0);
        let unknown = values
            .iter()
            .flatten()
            .filter(|v| !known.contains(*v))
            .count() as u64;
        let expected = register(report, stem)
            .unknown_codes
            .get(column)
            .copied()
            .unwrap_or(0);
        assert_eq!(unknown, expected, "{stem}.{column}");
        total += unknown;
    }
    assert!(total > 0);
    let rows: u64 = REGISTERS
        .iter()
        .map(|(s, _)| register(report, s).unknown_code_rows)
        .sum();
    assert!(rows > 0 && rows <= total);

    let file = dir.path().join(&report.af.file);
    let cols = read::columns(&file, &["startdatum", "slutdatum"]);
    let broken = cols[0]
        .iter()
        .zip(&cols[1])
        .filter(|(start, end)| matches!((start, end), (Some(s), Some(e)) if e < s))
        .count() as u64;
    assert_eq!(broken, report.af_broken_spells);
    assert!(broken > 0);
    let open = cols[1].iter().filter(|e| e.is_none()).count() as u64;
    assert_eq!(open, report.af_open_spells);
}

#[test]
fn eb_and_af_look_like_the_real_registers() {
    let (dir, report) = municipality();
    assert!(
        (0.35..0.50).contains(&report.eb_long_term_share),
        "long-term share {}",
        report.eb_long_term_share
    );
    assert!(
        report.eb_adults_at_af_share > 3.0 * report.population_at_af_share,
        "at AF: EB adults {}, population {}",
        report.eb_adults_at_af_share,
        report.population_at_af_share
    );
    // About 4,000 adult recipients in the 165,000-inhabitant municipality
    // (the preset adds two small neighbours).
    assert!((3_500..5_500).contains(&report.eb_adult_recipients));
    for year in &report.eb_years {
        let share = year.persons as f64 / report.persons as f64;
        assert!(
            (0.025..0.05).contains(&share),
            "{}: EB share {share}",
            year.year
        );
    }

    // Recount the reference year's adult recipients from the file, through
    // the crosswalk: distinct persons, never rows.
    let map: HashMap<String, String> = crosswalk_entries(dir.path()).into_iter().collect();
    let current = |pnr: &Pnr| {
        let mut id = std::str::from_utf8(pnr.normalised()).unwrap().to_owned();
        while let Some(next) = map.get(&id) {
            id = next.clone();
        }
        id
    };
    let (_, parsed) = parse_ids(dir.path(), report, "eb", "personnr");
    let cols = read::columns(&dir.path().join(&report.eb.file), &["period", "roll"]);
    let mut months: HashMap<String, HashSet<&str>> = HashMap::new();
    for (row, pnr) in parsed.iter().enumerate() {
        let period = cols[0][row].as_deref().unwrap();
        if let Some(pnr) = pnr
            && period.starts_with("2023")
            && cols[1][row].as_deref() != Some("B")
        {
            months.entry(current(pnr)).or_default().insert(period);
        }
    }
    let reference = &report.eb_years[0];
    let close = |found: usize, expected: u64| {
        let (found, expected) = (found as f64, expected as f64);
        found <= expected && found > 0.98 * expected
    };
    let long_term = months.values().filter(|m| m.len() >= 10).count();
    assert!(
        close(months.len(), reference.adult_recipients),
        "{}",
        months.len()
    );
    assert!(close(long_term, reference.long_term_adults), "{long_term}");
}

#[test]
fn a_failing_output_directory_is_an_error_and_leaves_nothing() {
    // The output directory is a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = generate(&options(Preset::Tiny, 1, Format::Csv, &file)).unwrap_err();
    assert!(matches!(err, SynthError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");

    // A directory where `eb.parquet` should go: the run fails when moving
    // the files into place, and takes back what it already moved.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("eb.parquet")).unwrap();
    let err = generate(&options(Preset::Tiny, 1, Format::Parquet, &out)).unwrap_err();
    assert!(err.to_string().contains("eb.parquet"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["eb.parquet"]);
    assert!(read::all_files(&out).is_empty());
}

/// The full-size preset, against the volumes of docs/background.md. Slow
/// in a debug build: `cargo test --release -p reglink-synth -- --ignored`.
#[test]
#[ignore = "generates 10.5 million persons; run with --release"]
fn national_has_the_documented_volumes() {
    let (dir, report) = run(Preset::National, 1, Format::Parquet);
    assert_eq!((report.municipalities, report.counties), (290, 21));
    assert!((10_300_000..11_000_000).contains(&report.persons));
    for year in &report.eb_years {
        let share = year.persons as f64 / report.persons as f64;
        assert!(
            (0.03..0.04).contains(&share),
            "{}: EB share {share}",
            year.year
        );
        let long = year.long_term_adults as f64 / year.adult_recipients as f64;
        assert!(
            (0.38..0.47).contains(&long),
            "{}: long-term {long}",
            year.year
        );
    }
    let af_per_year = report.af.rows / 3;
    assert!(
        (700_000..1_300_000).contains(&af_per_year),
        "AF {af_per_year}"
    );
    let lisa_per_year = report.lisa.rows / 3;
    assert!(
        (7_800_000..9_000_000).contains(&lisa_per_year),
        "LISA {lisa_per_year}"
    );
    assert!(report.crosswalk.entries > 10_000 && report.crosswalk.chained > 0);
    for (stem, _) in REGISTERS {
        let r = register(&report, stem);
        assert_eq!(read::row_count(&dir.path().join(&r.file)), r.rows);
        let groups = read::row_group_sizes(&dir.path().join(&r.file));
        assert!(
            groups
                .iter()
                .all(|n| *n <= crate::writer::ROW_GROUP_ROWS as u64)
        );
        assert!(
            groups
                .iter()
                .rev()
                .skip(1)
                .all(|n| *n == crate::writer::ROW_GROUP_ROWS as u64)
        );
    }
}
