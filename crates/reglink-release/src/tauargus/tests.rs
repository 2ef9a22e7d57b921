//! The τ-ARGUS input sets of a small protected table with a rollup, read
//! back line by line.

use std::collections::{HashMap, HashSet};

use reglink_link::study::Categories;
use reglink_protect::{Flag, Method, Policy, protect};
use reglink_tabulate::{CellTable, Dimension, MeasureValues, Shape, TOP, Values};

use super::*;

const THRESHOLD: u64 = 5;

fn policy(method: Method) -> Policy {
    let mut p = Policy::preset("lenient").expect("a preset");
    p.threshold = THRESHOLD;
    p.method = method;
    p
}

/// `region` (r1, r2 in north; r3 in south; unknown in the group unknown,
/// whose code a category has too) × `sex`, with small inner cells, a sum
/// of 100 per person and its mean.
fn rolled_table() -> CellTable {
    let region = Dimension::new(
        "region",
        &Categories {
            codes: ["r1", "r2", "r3", "unknown"].map(String::from).to_vec(),
            labels: ["R1", "R2", "R3", "Unknown"].map(String::from).to_vec(),
            group_of: Some(vec![0, 0, 1, 2]),
            groups: ["north", "south", "unknown"].map(String::from).to_vec(),
        },
        false,
    );
    let sex = Dimension::new("sex", &Categories::plain(&["men", "women"]), false);
    let dims = vec![region, sex];
    let shape = Shape::new(&dims);
    let cells = shape.cells();
    let inner: [[u64; 2]; 4] = [[20, 3], [15, 14], [30, 25], [0, 12]];
    let mut persons = vec![0u64; cells];
    let mut ancestors = vec![Vec::new(), Vec::new()];
    for (r, row) in inner.iter().enumerate() {
        for (s, &n) in row.iter().enumerate() {
            dims[0].ancestors(r as u32, &mut ancestors[0]);
            dims[1].ancestors(s as u32, &mut ancestors[1]);
            shape.for_each_cell(&ancestors, &mut |c| persons[c] += n);
        }
    }
    let sum: Vec<i64> = persons.iter().map(|&p| 100 * p as i64).collect();
    let top: Vec<[i64; TOP]> = persons
        .iter()
        .map(|&p| {
            let mut t = [0; TOP];
            t.iter_mut().take(p as usize).for_each(|x| *x = 100);
            t
        })
        .collect();
    let measure = |name: &str, kind: &'static str, mean: bool| MeasureValues {
        name: name.into(),
        kind,
        of: Some("amount".into()),
        values: Values::Sum {
            sum: sum.clone(),
            n: persons.clone(),
            mean,
            top: top.clone(),
        },
    };
    CellTable {
        name: "t".into(),
        title: None,
        population: "p".into(),
        definition: Default::default(),
        years: vec![2023],
        dimensions: dims,
        shape,
        persons: persons.clone(),
        record_key_sum: vec![0; cells],
        measures: vec![
            measure("amount", "sum", false),
            measure("amount_mean", "mean", true),
        ],
    }
}

/// The table protected under `method`, and its τ-ARGUS files by name.
fn written(method: Method) -> (CellTable, reglink_protect::Release, HashMap<String, String>) {
    let t = rolled_table();
    let release = protect(std::slice::from_ref(&t), &policy(method));
    let sets = quantities(&t, &release.tables[0], &policy(method));
    let files = files(&t, &sets).into_iter().collect();
    (t, release, files)
}

/// The cell of `table` with the τ-ARGUS codes `fields`, by the codes the
/// writer gives each position.
fn cell_of(table: &CellTable, fields: &[&str]) -> usize {
    let mut cell = 0;
    for (d, dim) in table.dimensions.iter().enumerate() {
        let p = codes(dim)
            .iter()
            .position(|c| c == fields[d])
            .unwrap_or_else(|| panic!("code {} not in {}", fields[d], dim.name));
        cell = cell * table.shape.sizes[d] + p;
    }
    cell
}

#[test]
fn every_cell_is_written_once_with_its_true_value_and_status() {
    let (t, release, files) = written(Method::Suppression);
    let flags = &release.tables[0].columns[0].flags;
    assert!(flags.iter().any(|f| f.primary()) && flags.contains(&Flag::Secondary));
    let tab = &files["t.tab"];
    let mut seen = vec![0; t.shape.cells()];
    for line in tab.lines() {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 2 + 5, "{line}");
        let c = cell_of(&t, &f[..2]);
        seen[c] += 1;
        let v = t.persons[c];
        assert_eq!(
            (f[2], f[3]),
            (v.to_string().as_str(), v.to_string().as_str())
        );
        let expected = match flags[c] {
            Flag::Published => "S",
            Flag::Secondary => "M",
            _ => "U",
        };
        assert_eq!(f[4], expected, "{line}");
        // A primary count must reach [0, T]: down by its value, up by the rest.
        let levels = if expected == "U" {
            (v.to_string(), (THRESHOLD - v).to_string())
        } else {
            ("0".into(), "0".into())
        };
        assert_eq!(
            (f[5], f[6]),
            (levels.0.as_str(), levels.1.as_str()),
            "{line}"
        );
    }
    assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
    // Totals and group subtotals are there under their codes.
    assert!(tab.starts_with("r1;men;20;20;"), "{tab}");
    assert!(tab.contains("\nr1;women;3;3;U;3;2\n"), "{tab}");
    assert!(tab.contains("\nnorth;_T;52;52;"), "{tab}");
    assert!(tab.ends_with("\nGunknown;_T;12;12;S;0;0\n_T;men;65;65;S;0;0\n_T;women;54;54;S;0;0\n_T;_T;119;119;S;0;0\n"), "{tab}");
}

#[test]
fn the_metadata_names_every_dimension_and_the_hierarchy_file() {
    let (_, _, files) = written(Method::Suppression);
    let rda = &files["t.rda"];
    assert!(rda.starts_with("<SEPARATOR> \";\"\n<SAFE> S\n<UNSAFE> U\n<PROTECT> P\n"));
    assert!(rda.contains(
        "region\n  <RECODEABLE>\n  <TOTCODE> \"_T\"\n  <HIERARCHICAL>\n  <HIERCODELIST> \"region.hrc\"\n  <HIERLEADSTRING> \"@\"\n"
    ), "{rda}");
    assert!(
        rda.contains("sex\n  <RECODEABLE>\n  <TOTCODE> \"_T\"\npersons\n"),
        "{rda}"
    );
    for line in [
        "  <FREQUENCY>",
        "  <STATUS>",
        "  <NUMERIC> <LOWERPL>",
        "  <NUMERIC> <UPPERPL>",
    ] {
        assert_eq!(
            rda.lines().filter(|l| *l == line).count(),
            1,
            "{line} in {rda}"
        );
    }
    assert_eq!(
        rda.matches("<HIERCODELIST>").count(),
        1,
        "sex has no groups"
    );
    assert!(files.contains_key("region.hrc") && !files.contains_key("sex.hrc"));
    let readme = &files["README.txt"];
    assert!(
        readme.contains("<SPECIFYTABLE> \"region\"\"sex\"|\"persons\"||"),
        "{readme}"
    );
    assert!(
        readme.contains("<APRIORI> \"t.hst\",1,\";\",0,0"),
        "{readme}"
    );
    assert!(readme.contains("INTERNAL"), "{readme}");
}

#[test]
fn the_hierarchy_lists_every_category_under_its_group() {
    let (t, _, files) = written(Method::Suppression);
    let mut under: Vec<(String, Vec<String>)> = Vec::new();
    for line in files["region.hrc"].lines() {
        match line.strip_prefix('@') {
            Some(category) => under.last_mut().unwrap().1.push(category.to_string()),
            None => under.push((line.to_string(), Vec::new())),
        }
    }
    let dim = &t.dimensions[0];
    let expected: Vec<(String, Vec<String>)> = [
        ("north", vec!["r1", "r2"]),
        ("south", vec!["r3"]),
        // The group `unknown` beside the category `unknown` gets a G.
        ("Gunknown", vec!["unknown"]),
    ]
    .into_iter()
    .map(|(g, cs)| (g.to_string(), cs.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(under, expected);
    assert_eq!(dim.groups.len() + dim.categories.len(), 7);
}

#[test]
fn the_apriori_file_lists_exactly_the_suppressed_cells() {
    let (t, release, files) = written(Method::Suppression);
    let flags = &release.tables[0].columns[0].flags;
    let mut listed = HashSet::new();
    let mut levels = HashSet::new();
    for line in files["t.hst"].lines() {
        let f: Vec<&str> = line.split(';').collect();
        let c = cell_of(&t, &f[..2]);
        if f[2] == "pl" {
            // A primary cell's protection levels follow its status.
            assert!(listed.contains(&c) && levels.insert(c), "{line}");
            let v = t.persons[c];
            assert_eq!(
                f[3..],
                [v.to_string(), (THRESHOLD - v).to_string()],
                "{line}"
            );
            continue;
        }
        assert!(listed.insert(c), "{line} twice");
        let expected = if flags[c] == Flag::Secondary {
            "m"
        } else {
            "u"
        };
        assert_eq!(f[2], expected, "{line}");
    }
    let primary: HashSet<usize> = (0..flags.len()).filter(|&c| flags[c].primary()).collect();
    assert_eq!(levels, primary);
    let suppressed: HashSet<usize> = (0..flags.len())
        .filter(|&c| flags[c].suppressed())
        .collect();
    assert_eq!(listed, suppressed);
}

#[test]
fn a_sum_gets_a_set_of_its_own_and_a_mean_none() {
    let (t, release, files) = written(Method::Suppression);
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "README.txt",
            "region.hrc",
            "t.amount.hst",
            "t.amount.rda",
            "t.amount.tab",
            "t.hst",
            "t.rda",
            "t.tab"
        ]
    );
    assert!(files["t.amount.rda"].contains("\namount\n  <NUMERIC>\n"));
    let flags = &release.tables[0].columns[1].flags;
    for line in files["t.amount.tab"].lines() {
        let f: Vec<&str> = line.split(';').collect();
        let c = cell_of(&t, &f[..2]);
        assert_eq!(f[2], (100 * t.persons[c]).to_string());
        assert_eq!(f[4], Status::of(flags[c]).code());
    }
    // Under rounding, counts are not suppressed: only the sum's pattern.
    let (_, _, rounded) = written(Method::Rounding { base: 5 });
    assert!(rounded.contains_key("t.amount.tab") && !rounded.contains_key("t.tab"));
}

#[test]
fn codes_tau_argus_would_misread_are_written_plain_and_unique() {
    let dim = Dimension::new(
        "d",
        &Categories {
            codes: ["a;b", "a_b", "@x", "_t", "q\"", "g"]
                .map(String::from)
                .to_vec(),
            labels: vec![String::new(); 6],
            group_of: Some(vec![0, 0, 1, 1, 1, 2]),
            groups: ["g", "_T", "h"].map(String::from).to_vec(),
        },
        false,
    );
    assert_eq!(
        codes(&dim),
        [
            "a_b", "_a_b", "_x", "__t", "q_", "g", "Gg", "G_T", "h", "_T"
        ]
    );
}

#[test]
fn the_checker_report_holds_the_sets_and_its_manifest_lists_them() {
    let t = rolled_table();
    let policy = policy(Method::Suppression);
    let release = protect(std::slice::from_ref(&t), &policy);
    let dir = tempfile::tempdir().unwrap();
    let provenance = crate::bundle::Provenance {
        tool: "reglink test".into(),
        study: "s".into(),
        study_file: "s.toml".into(),
        study_blake3: "0".repeat(64),
        inputs: Vec::new(),
    };
    crate::checker::write(
        dir.path(),
        std::slice::from_ref(&t),
        &release,
        &policy,
        &provenance,
    )
    .unwrap();
    let folder = dir.path().join("tauargus/t");
    let mut written: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written.len(), 8, "{written:?}");
    let manifest = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    for name in &written {
        assert!(
            manifest.contains(&format!("\"tauargus/t/{name}\"")),
            "{name}"
        );
    }
    reglink_extract::prove_ours(dir.path(), &crate::run::CHECKER_OUTPUT).unwrap();
}
