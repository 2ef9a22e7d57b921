//! `reglink export` writes a workbook and Swedish-Excel CSVs that hold the
//! bundle's published values and nothing else, the same bytes every time,
//! and refuses bundles that do not verify and folders it must not touch.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use reglink_tests::{example, reglink};

/// The cells of every sheet of a workbook, by sheet name.
fn sheets(path: &Path) -> BTreeMap<String, Vec<Vec<Data>>> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|n| {
            let range = book.worksheet_range(&n).unwrap();
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (n, rows)
        })
        .collect()
}

/// Rows of a bundle CSV, header first.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn export(from: &str, out: &str) -> reglink_tests::Run {
    reglink!(example!(), &["export", from, "--out", out])
}

#[test]
fn the_workbook_and_the_swedish_csvs_hold_exactly_the_published_values() {
    let ex = example!();
    let run = export("release", "excel").success();
    assert!(run.stdout.contains("excel/release.xlsx"), "{}", run.stdout);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(ex.join("release/manifest.json")).unwrap())
            .unwrap();
    let tables: Vec<&str> = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let book = sheets(&ex.join("excel/release.xlsx"));
    let about = &book["about"];
    let said: Vec<String> = about
        .iter()
        .flat_map(|r| r.iter().map(ToString::to_string))
        .collect();
    assert!(
        said.iter().any(|s| s.contains("fewer than 10 persons")),
        "{said:?}"
    );
    assert!(said.iter().any(|s| s == "eb-af-example"), "{said:?}");

    let (mut numbers, mut hidden) = (0, 0);
    for t in &tables {
        let csv = csv_rows(&ex.join(format!("release/tables/{t}.csv")));
        let sheet = &book[&t[..t.len().min(31)]];
        assert_eq!(sheet.len(), csv.len(), "{t}: rows");
        for (r, (got, want)) in sheet.iter().zip(&csv).enumerate() {
            for (c, want) in want.iter().enumerate() {
                let got = got.get(c).unwrap_or(&Data::Empty);
                let value_column = r > 0
                    && !csv[0][c].ends_with("_label")
                    && !csv[0][c].ends_with("_flag")
                    && csv[0][c + 1..]
                        .iter()
                        .any(|h| h == &format!("{}_flag", csv[0][c]));
                match got {
                    Data::Float(v) => {
                        assert!(value_column, "{t} row {r}: {} is a number", csv[0][c]);
                        assert_eq!(*v, want.parse::<f64>().unwrap(), "{t} row {r} col {c}");
                        numbers += 1;
                    }
                    Data::String(s) => {
                        assert_eq!(s, want, "{t} row {r} col {c}");
                        hidden += usize::from(s == "..");
                    }
                    Data::Empty => assert!(want.is_empty(), "{t} row {r} col {c}: {want}"),
                    other => panic!("{t} row {r} col {c}: {other:?}"),
                }
            }
        }

        let sv = fs::read(ex.join(format!("excel/csv-sv/{t}.csv"))).unwrap();
        let text = std::str::from_utf8(sv.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM")).unwrap();
        assert!(text.ends_with("\r\n"));
        let sv_rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(b';')
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(sv_rows.len(), csv.len());
        for (a, b) in sv_rows.iter().zip(&csv) {
            for (x, y) in a.iter().zip(b) {
                // Only a decimal point changes, to a comma.
                assert_eq!(x, &y.replacen('.', ",", usize::from(y != "..")), "{t}");
            }
        }
    }
    assert!(
        numbers > 100 && hidden > 100,
        "{numbers} numbers, {hidden} `..`"
    );

    // The same bundle gives the same bytes.
    let first = fs::read(ex.join("excel/release.xlsx")).unwrap();
    export("release", "excel").success();
    assert_eq!(first, fs::read(ex.join("excel/release.xlsx")).unwrap());
}

#[test]
fn a_bundle_that_does_not_verify_is_not_exported() {
    let ex = example!();
    reglink_tests::copy_tree(&ex.join("release"), &ex.join("changed"));
    let csv = ex.join("changed/tables/t2_equal_terms.csv");
    let text = fs::read_to_string(&csv).unwrap();
    fs::write(&csv, text.replacen("published", "suppressed", 1)).unwrap();
    let run = export("changed", "from-changed").failure();
    assert!(
        run.stderr.contains("does not verify") && run.stderr.contains("t2_equal_terms.csv"),
        "{}",
        run.stderr
    );
    assert!(!ex.join("from-changed").exists());
}

#[test]
fn an_export_goes_beside_the_bundle_and_replaces_only_an_export() {
    let ex = example!();
    let run = export("release", "release/excel").failure();
    assert!(run.stderr.contains("never into it"), "{}", run.stderr);
    reglink!(ex, &["verify", "release"]).success();

    let run = export("release", "link").failure();
    assert!(run.stderr.contains("export.json"), "{}", run.stderr);
    assert!(ex.join("link/linkage-report.json").exists());

    let run = export("link", "from-link").failure();
    assert!(
        run.stderr.contains("not a release bundle"),
        "{}",
        run.stderr
    );
}
