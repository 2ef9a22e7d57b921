//! Data-driven error cases: every folder under `fixtures/errors/KIND/` is one
//! named test (`KIND::NAME`), so adding a case means adding a folder.
//!
//! A case folder holds the files of the run (`study.toml`, `policy.toml`,
//! small inputs) and `expected.txt`, the exact text reglink must write to
//! stderr. The folder is copied to a temporary directory and reglink runs
//! there with the kind's arguments, or with those in the file `args` (one per
//! line) if the case has one:
//!
//! - `study/`: `reglink link study.toml --out out`
//! - `policy/`: `reglink run study.toml --policy policy.toml --out release`
//!
//! A study whose paths start with `synthetic/` reads the tiny synthetic
//! registers (`reglink synth --preset tiny --seed 1`), made and pseudonymised
//! once for all cases and linked into the case's directory under that name:
//! `synthetic/eb.parquet`, `af.parquet`, `lisa.parquet` (through the
//! crosswalk, with `--derive`) and the raw files with the code lists under
//! `synthetic/raw/`.
//!
//! `UPDATE_EXPECT=1` writes what the run printed to `expected.txt` instead
//! of comparing (for a new case, or a message changed on purpose: review the
//! diff before committing it).
//!
//! Every case must exit with 2, print nothing on stdout, write exactly
//! `expected.txt` on stderr (the temporary directory written as `[CASE]`),
//! leave the directory as it found it, and print nothing that looks like a
//! personnummer.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use reglink_tests::{copy_tree, listing, looks_like_a_number, pseudonymise_with, reglink_bin, run};

/// The kinds of case: folder name and the arguments a case runs with by default.
const KINDS: [(&str, &[&str]); 2] = [
    ("study", &["link", "study.toml", "--out", "out"]),
    (
        "policy",
        &[
            "run",
            "study.toml",
            "--policy",
            "policy.toml",
            "--out",
            "release",
        ],
    ),
];

/// Files of a case folder that describe the case rather than take part in the run.
const CASE_FILES: [&str; 2] = ["expected.txt", "args"];

fn main() {
    let args = Arguments::from_args();
    let bin = reglink_bin!();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/errors");
    let mut trials = Vec::new();
    for (kind, default_args) in KINDS {
        for name in listing(&root.join(kind)) {
            let case = root.join(kind).join(&name);
            let bin = bin.clone();
            trials.push(Trial::test(format!("{kind}::{name}"), move || {
                run_case(&bin, &case, default_args)
            }));
        }
    }
    assert!(!trials.is_empty(), "no cases under {}", root.display());
    libtest_mimic::run(&args, trials).exit();
}

/// Runs one case folder and checks everything the module doc promises.
fn run_case(bin: &Path, case: &Path, default_args: &[&str]) -> Result<(), Failed> {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let expected = match fs::read_to_string(case.join("expected.txt")) {
        Ok(text) => text,
        Err(_) if update => String::new(),
        Err(e) => return Err(format!("{}: {e}", case.join("expected.txt").display()).into()),
    };
    let dir = tempfile::tempdir()?;
    let work = dir.path();
    copy_tree(case, work);
    for file in CASE_FILES {
        let _ = fs::remove_file(work.join(file));
    }
    if fs::read_to_string(work.join("study.toml")).is_ok_and(|s| s.contains("\"synthetic/")) {
        std::os::unix::fs::symlink(synthetic(bin), work.join("synthetic"))?;
    }
    let args: Vec<String> = match fs::read_to_string(case.join("args")) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => default_args.iter().map(|a| (*a).to_string()).collect(),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = tree(work);

    let done = run(bin, work, &args);
    let stderr = done.stderr.replace(&work.display().to_string(), "[CASE]");
    if done.code != Some(2) {
        return Err(format!("exit code {:?}, expected 2; stderr:\n{stderr}", done.code).into());
    }
    if update {
        fs::write(case.join("expected.txt"), &stderr)?;
    } else if stderr != expected {
        return Err(format!(
            "stderr differs from expected.txt\n--- expected\n{expected}--- got\n{stderr}"
        )
        .into());
    }
    if !done.stdout.is_empty() {
        return Err(format!("printed on stdout:\n{}", done.stdout).into());
    }
    if looks_like_a_number(&done.all_output()) {
        return Err("the output holds something written like a personnummer".into());
    }
    let after = tree(work);
    if after != before {
        return Err(format!("the run changed its directory: {before:?} -> {after:?}").into());
    }
    Ok(())
}

/// The folder of pseudonymised synthetic registers the module doc describes,
/// made on first use and shared by the cases (much cheaper than `reglink
/// example`, which also links and releases).
fn synthetic(bin: &Path) -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let d = dir.path().join("synthetic");
        fs::create_dir(&d).expect("create folder");
        let synth = ["synth", "--preset", "tiny", "--seed", "1", "--out", "raw"];
        run(bin, &d, &synth).success();
        run(bin, &d, &["key", "new", "--out", "k.key"]).success();
        for (register, id_column) in [
            ("eb", "personnr"),
            ("af", "personnummer"),
            ("lisa", "PersonNr"),
        ] {
            let input = format!("raw/{register}.csv");
            let output = format!("{register}.parquet");
            let extra = [
                "--id-column",
                id_column,
                "--crosswalk",
                "raw/crosswalk.csv",
                "--derive",
            ];
            pseudonymise_with(bin, &d, "k.key", &input, &output, &extra).success();
        }
        (dir, d)
    });
    path
}

/// Every path under `dir` (not following symbolic links), sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).expect("read dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                stack.push(path.clone());
            }
            paths.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
        }
    }
    paths.sort();
    paths
}
