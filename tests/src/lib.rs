//! Helpers for the end-to-end tests of the `reglink` binary.
//!
//! The binary is the one `cargo test --workspace` builds beside the test
//! executables (`target/<profile>/reglink`); the tests run it as a user would
//! and check exit codes, messages, and the files it leaves behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The date the synthetic extracts are taken, as the CLI spells it.
pub const REFERENCE_DATE: &str = "2026-06-30";

/// Path of the `reglink` binary next to the running test executable, or
/// the one the environment variable `REGLINK_BIN` names.
///
/// # Panics
///
/// If the binary has not been built; `cargo test --workspace` builds it
/// because `crates/reglink` has integration tests.
pub fn reglink_bin() -> PathBuf {
    // A binary named explicitly (for running the tests against a copy while
    // the sources change) is taken as it is.
    if let Some(bin) = std::env::var_os("REGLINK_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/reglink
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("reglink{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: run the tests with `cargo test --workspace`",
        bin.display()
    );
    if let Some(source) = newer_source(&bin) {
        panic!(
            "{} is older than {}: run the tests with `cargo test --workspace`, which rebuilds it",
            bin.display(),
            source.display()
        );
    }
    bin
}

/// A source file of the workspace's crates modified after `bin`, if any:
/// `cargo test -p reglink-tests` alone does not rebuild the binary.
fn newer_source(bin: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m > built)
            {
                return Some(path);
            }
        }
    }
    None
}

/// The result of one `reglink` run, with its output as text.
#[derive(Debug)]
pub struct Run {
    /// Exit status code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts the run succeeded and returns it.
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "reglink failed:\n{}", self.stderr);
        self
    }

    /// Asserts the run failed with a non-zero exit code and returns it.
    #[track_caller]
    pub fn failure(self) -> Run {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure, got {:?}\nstdout: {}\nstderr: {}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout and stderr together.
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `reglink` with `args` in `cwd`.
pub fn reglink(cwd: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(reglink_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run reglink");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Names of the entries in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Runs `reglink pseudonymise --key KEY --study tests --in INPUT --out OUT`
/// with `extra` appended and, unless `extra` gives one, `--reference-date`
/// [`REFERENCE_DATE`].
pub fn pseudonymise(dir: &Path, key: &str, input: &str, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "pseudonymise",
        "--key",
        key,
        "--study",
        "tests",
        "--in",
        input,
        "--out",
        out,
    ];
    if !extra.contains(&"--reference-date") {
        args.extend(["--reference-date", REFERENCE_DATE]);
    }
    args.extend_from_slice(extra);
    reglink(dir, &args)
}

/// The folder of one `reglink --quiet example --out ex` run (raw/,
/// pseudonymised/, study.toml, link/, policy.toml, release/), made once per
/// test executable and shared by its tests; tests that change something
/// write their own copies next to it.
pub fn example() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        reglink(dir.path(), &["--quiet", "example", "--out", "ex"]).success();
        let path = dir.path().join("ex");
        (dir, path)
    });
    path
}
