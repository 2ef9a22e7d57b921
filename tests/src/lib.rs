//! Helpers for the end-to-end tests of the `reglink` binary.
//!
//! The tests run the tool as a user would and check exit codes, messages,
//! and the files it leaves behind. The executable is `reglink-cli`, this
//! package's own one-line copy of `reglink` (`src/bin/reglink-cli.rs`), which
//! cargo builds before it runs the tests and whose path it hands them as
//! `CARGO_BIN_EXE_reglink-cli`. That variable exists only while an
//! integration test is compiled, so the helpers that run the tool are
//! macros: [`reglink!`], [`pseudonymise!`], [`example!`] and [`reglink_bin!`].
//!
//! `REGLINK_BIN=/path/to/reglink cargo test -p reglink-tests` runs the whole
//! suite against another executable instead, for example a release build or
//! the binary of an earlier commit (snapshots were made that way).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The date the synthetic extracts are taken, as the CLI spells it.
pub const REFERENCE_DATE: &str = "2026-06-30";

/// The executable the tests run: the one the environment variable
/// `REGLINK_BIN` names if it is set, else `built` (cargo's build of
/// `reglink-cli`). Used through [`reglink_bin!`].
pub fn binary(built: &str) -> PathBuf {
    std::env::var_os("REGLINK_BIN").map_or_else(|| PathBuf::from(built), PathBuf::from)
}

/// Path of the `reglink` executable under test (see [`binary`]).
#[macro_export]
macro_rules! reglink_bin {
    () => {
        $crate::binary(env!("CARGO_BIN_EXE_reglink-cli"))
    };
}

/// `reglink!(cwd, args)`: runs the tool with `args` in `cwd` (see [`run`]).
#[macro_export]
macro_rules! reglink {
    ($cwd:expr, $args:expr $(,)?) => {
        $crate::run(&$crate::reglink_bin!(), $cwd, $args)
    };
}

/// `pseudonymise!(dir, key, input, out, extra)`: `reglink pseudonymise`
/// with the tests' study name and reference date (see [`pseudonymise_with`]).
#[macro_export]
macro_rules! pseudonymise {
    ($dir:expr, $key:expr, $input:expr, $out:expr, $extra:expr $(,)?) => {
        $crate::pseudonymise_with(&$crate::reglink_bin!(), $dir, $key, $input, $out, $extra)
    };
}

/// `example!()`: the folder of one `reglink example` run shared by the
/// tests of one test executable (see [`example_with`]).
#[macro_export]
macro_rules! example {
    () => {
        $crate::example_with(&$crate::reglink_bin!())
    };
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

/// Runs the executable `bin` with `args` in `cwd`.
pub fn run(bin: &Path, cwd: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(bin)
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

/// Runs `bin pseudonymise --key KEY --study tests --in INPUT --out OUT`
/// with `extra` appended and, unless `extra` gives one, `--reference-date`
/// [`REFERENCE_DATE`].
pub fn pseudonymise_with(
    bin: &Path,
    dir: &Path,
    key: &str,
    input: &str,
    out: &str,
    extra: &[&str],
) -> Run {
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
    run(bin, dir, &args)
}

/// The folder of one `bin --quiet example --preset tiny --out ex` run (raw/,
/// pseudonymised/, study.toml, link/, policy.toml, release/), made once per
/// test executable and shared by its tests; tests that change something
/// write their own copies next to it.
pub fn example_with(bin: &Path) -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        run(
            bin,
            dir.path(),
            &["--quiet", "example", "--preset", "tiny", "--out", "ex"],
        )
        .success();
        let path = dir.path().join("ex");
        (dir, path)
    });
    path
}

/// Snapshot settings whose filters replace what differs from run to run:
/// the folder `tmp` (`[TMP]`), key ids (`[KEY-ID]`: the key is new every
/// run), file fingerprints (they hash pseudonyms under that key) and timings.
pub fn snapshot_settings(tmp: Option<&Path>) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    if let Some(tmp) = tmp {
        settings.add_filter(&regex_escape(&tmp.display().to_string()), "[TMP]");
    }
    settings.add_filter(r"rk-[0-9a-f]{16}", "[KEY-ID]");
    settings.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[FINGERPRINT]");
    settings.add_filter(r"\b\d+(\.\d+)?(ns|µs|ms|s)\b", "[TIME]");
    settings
}

/// `text` with the characters a regular expression treats specially escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Whether `text` holds anything written like a personnummer: ten or more
/// digits in a row, or six digits, `-` or `+`, and four digits. What reglink
/// prints must never do.
pub fn looks_like_a_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits_at = |i: usize, n: usize| {
        bytes
            .get(i..i + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    (0..bytes.len()).any(|i| {
        let starts_a_run = i == 0 || !bytes[i - 1].is_ascii_digit();
        starts_a_run
            && (digits_at(i, 10)
                || (digits_at(i, 6)
                    && matches!(bytes.get(i + 6), Some(b'-' | b'+'))
                    && digits_at(i + 7, 4)))
    })
}

/// Every file below `dir`, as paths relative to it, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("below dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Adds one to the published count in field `field` (0-based) of the last
/// row of the CSV `csv` (a table's grand total), leaving its flag alone:
/// the change a forger would make. Returns the count as it was.
pub fn bump_grand_total(csv: &Path, field: usize) -> u64 {
    let text = std::fs::read_to_string(csv).expect("read the table");
    let last = text
        .trim_end()
        .rsplit('\n')
        .next()
        .expect("a row")
        .to_string();
    let fields: Vec<&str> = last.split(',').collect();
    let count: u64 = fields[field].parse().expect("the grand total is published");
    let mut changed = fields.iter().map(|f| f.to_string()).collect::<Vec<_>>();
    changed[field] = (count + 1).to_string();
    std::fs::write(csv, text.replace(&last, &changed.join(","))).expect("write the table");
    count
}

/// Copies the folder `from` into `to` (created if missing), sub-folders too.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A program from Debian's packages: `program` if it exists, else
/// `packages` installed with apt-get where the tests run as root. `Err`
/// (the reason, for [`skipped`]) where it is missing and cannot be had.
/// `recommends`: with the packages Debian recommends beside them (fonts for
/// a browser), or without (R's compilers and manuals).
pub fn debian_program(
    program: &str,
    packages: &[&str],
    recommends: bool,
) -> Result<PathBuf, String> {
    let bin = PathBuf::from(program);
    if bin.exists() {
        return Ok(bin);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err(format!("no {program}, and not root to install it"));
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q"])
        .args((!recommends).then_some("--no-install-recommends"))
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("no apt-get: {e}"))?;
    if installed.status.success() && bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "apt-get could not install {}: {}",
            packages.join(" "),
            String::from_utf8_lossy(&installed.stderr)
        ))
    }
}

/// Says on the test output why a test did not run its check (a tool it
/// needs could not be had): not a pass in disguise.
pub fn skipped(why: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipped: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_a_number;

    #[test]
    fn numbers_in_every_written_form_are_found() {
        for text in [
            "198112189876",
            "row 3: 8112189876 is bad",
            "811218-9876",
            "x 811218+9876.",
        ] {
            assert!(looks_like_a_number(text), "{text}");
        }
        for text in [
            "row 101, column 3",
            "12345-6789",
            "2026-06-30",
            "rk-1a2b3c4d",
        ] {
            assert!(!looks_like_a_number(text), "{text}");
        }
    }
}
