//! The crate layout of ARCHITECTURE.md, checked against every crate's
//! resolved manifest (`cargo metadata`): one stage per crate, dependencies only on earlier stages,
//! disclosure control without I/O, a binary without data formats.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stages in data-flow order. A crate may depend only on crates of an
/// earlier stage; crates of one stage are independent of each other.
const STAGES: &[&[&str]] = &[
    &["reglink-pnr"],
    &["reglink-extract"],
    &["reglink-keys"],
    &["reglink-pseudo", "reglink-synth"],
    &["reglink-link"],
    &["reglink-tabulate"],
    &["reglink-protect"],
    &["reglink-release"],
    &["reglink-example", "reglink-audit"],
    &["reglink"],
];

/// Crates that read or write files or data formats.
const IO_CRATES: &[&str] = &[
    "arrow-array",
    "arrow-buffer",
    "arrow-schema",
    "arrow-select",
    "parquet",
    "csv",
    "bytes",
    "snap",
    "tempfile",
    "serde_json",
    "reglink-extract",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every crate under `crates/` with the package names of its normal
/// dependencies, as cargo resolves the manifests (`cargo metadata`): a
/// renamed dependency counts under its real name, and target-specific
/// dependencies count too; dev- and build-dependencies do not.
fn crates() -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let crates_dir = root().join("crates");
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap();
        if dir.parent() != Some(crates_dir.as_path()) {
            continue; // tests/, benches/
        }
        let name = package["name"].as_str().unwrap().to_string();
        assert_eq!(
            dir.file_name().unwrap().to_str().unwrap(),
            name,
            "a crate's folder is named exactly like its package"
        );
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        out.insert(name, deps);
    }
    let folders = fs::read_dir(&crates_dir).unwrap().count();
    assert_eq!(
        out.len(),
        folders,
        "every folder under crates/ is a workspace crate"
    );
    out
}

fn stage_of(name: &str) -> Option<usize> {
    STAGES.iter().position(|s| s.contains(&name))
}

#[test]
fn every_crate_has_a_stage_and_depends_only_on_earlier_stages() {
    let crates = crates();
    for (name, deps) in &crates {
        let stage = stage_of(name).unwrap_or_else(|| {
            panic!("{name} is in no stage: add it to STAGES and ARCHITECTURE.md")
        });
        for dep in deps.iter().filter(|d| crates.contains_key(*d)) {
            let dep_stage = stage_of(dep).unwrap();
            assert!(
                dep_stage < stage,
                "{name} (stage {stage}) depends on {dep} (stage {dep_stage}): data flows one way"
            );
        }
    }
}

#[test]
fn disclosure_control_sees_cells_and_does_no_io() {
    let crates = crates();
    let protect = &crates["reglink-protect"];
    for dep in protect {
        assert!(
            !IO_CRATES.contains(&dep.as_str()),
            "reglink-protect depends on {dep}: writing belongs in reglink-release"
        );
    }
    assert!(protect.iter().any(|d| d == "reglink-tabulate"));
}

#[test]
fn the_binary_holds_no_data_format() {
    let crates = crates();
    for dep in &crates["reglink"] {
        assert!(
            !dep.starts_with("arrow") && dep != "parquet" && dep != "csv",
            "the binary depends on {dep}: reading and writing data belongs in the library crates"
        );
    }
}

/// The key-holding crate is depended on by nothing that links, tabulates,
/// protects or releases: those stages never see a key. Two crates may use
/// it: the binary, whose `key` and `pseudonymise` commands are the data
/// holder's, and `reglink-example`, because the example plays both the
/// data holder (synthetic registers, a key, pseudonymised extracts) and the
/// linkage environment. Both come after every stage of the linkage
/// environment, so none of those can reach a key through them.
#[test]
fn only_the_binary_uses_the_key_holding_crate() {
    const ALLOWED: &[&str] = &["reglink-example", "reglink"];
    for (name, deps) in crates() {
        if deps.iter().any(|d| d == "reglink-pseudo") {
            assert!(
                ALLOWED.contains(&name.as_str()),
                "{name} depends on reglink-pseudo"
            );
        }
    }
}

/// `reglink audit` checks the engine's work, so it must not run the
/// engine's code: it depends on no crate that tabulates or protects (it
/// uses `reglink-release` only for the integrity check of `verify`, file
/// hashes and the signature) and its source names none of them.
#[test]
fn the_audit_shares_no_code_with_the_engine() {
    let deps = &crates()["reglink-audit"];
    for engine in ["reglink-protect", "reglink-tabulate", "reglink-link"] {
        assert!(
            !deps.iter().any(|d| d == engine),
            "reglink-audit depends on {engine}"
        );
    }
    let src = root().join("crates/reglink-audit/src");
    for file in reglink_tests::files_below(&src) {
        let text = fs::read_to_string(src.join(&file)).unwrap();
        for engine in ["reglink_protect", "reglink_tabulate", "reglink_link"] {
            assert!(!text.contains(engine), "{} names {engine}", file.display());
        }
    }
}

#[test]
fn the_stage_list_matches_the_crates() {
    let crates = crates();
    for name in STAGES.iter().flat_map(|s| s.iter()) {
        assert!(
            crates.contains_key(*name),
            "{name} is listed but not in crates/"
        );
    }
}
