//! Every example in the docs runs as written.
//!
//! - Each ```` ```toml ```` block of `docs/study-file.md` is a whole study; a
//!   ```` ```toml fragment ```` block belongs to the first whole study of the
//!   page and is checked appended to it. Each is linked with `reglink link` in
//!   the folder `reglink example` writes, whose paths the examples use.
//! - Each ```` ```toml ```` block of `docs/disclosure-control.md` is a policy,
//!   used by `reglink run` on the first study of `docs/study-file.md`.
//! - The shell commands of the README's "Using it on real extracts" run in
//!   order on the synthetic registers.

use std::fs;
use std::path::{Path, PathBuf};

use reglink_tests::{Run, example, reglink};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fenced blocks of `doc` whose info string is `lang` (exactly, or
/// followed by words such as `fragment`), as (info string, text).
fn blocks(doc: &str, lang: &str) -> Vec<(String, String)> {
    let text = fs::read_to_string(root().join(doc)).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    let info = info.trim();
                    if info.split_whitespace().next() == Some(lang) {
                        current = Some((info.to_string(), String::new()));
                    }
                }
            }
            Some((_, body)) => {
                if line.trim_end() == "```" {
                    out.push(current.take().unwrap());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "{doc}: unterminated code block");
    out
}

/// The studies of `docs/study-file.md`: every whole block, then the first
/// whole block with each fragment appended.
fn studies() -> Vec<(String, String)> {
    let all = blocks("docs/study-file.md", "toml");
    let whole: Vec<&String> = all
        .iter()
        .filter(|(info, _)| info == "toml")
        .map(|(_, t)| t)
        .collect();
    assert!(!whole.is_empty(), "docs/study-file.md has no whole study");
    let mut out: Vec<(String, String)> = whole
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("study {}", i + 1), t.to_string()))
        .collect();
    for (i, (info, text)) in all.iter().enumerate() {
        match info.as_str() {
            "toml" => {}
            "toml fragment" => out.push((
                format!("fragment (block {}) in the first study", i + 1),
                format!("{}\n{text}", whole[0]),
            )),
            other => panic!(
                "docs/study-file.md: block {}: unknown kind `{other}`",
                i + 1
            ),
        }
    }
    out
}

#[track_caller]
fn ok(run: Run, what: &str) {
    assert_eq!(
        run.code,
        Some(0),
        "{what} does not run:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn every_study_of_the_study_file_reference_links() {
    let ex = example!();
    let studies = studies();
    assert!(studies.len() >= 3, "expected the study and its fragments");
    for (i, (what, text)) in studies.iter().enumerate() {
        let file = format!("doc-study-{i}.toml");
        fs::write(ex.join(&file), text).unwrap();
        let out = format!("doc-study-{i}-out");
        ok(
            reglink!(ex, &["-q", "link", &file, "--out", &out]),
            &format!("docs/study-file.md, {what}"),
        );
        assert!(ex.join(&out).join("linkage-report.json").exists());
    }
}

#[test]
fn every_policy_of_the_disclosure_reference_runs() {
    let ex = example!();
    let policies = blocks("docs/disclosure-control.md", "toml");
    assert!(policies.len() >= 3, "expected a policy per method");
    let study = &studies()[0].1;
    fs::write(ex.join("doc-policy-study.toml"), study).unwrap();
    for (i, (info, text)) in policies.iter().enumerate() {
        assert_eq!(info, "toml", "policies are whole files");
        let file = format!("doc-policy-{i}.toml");
        fs::write(ex.join(&file), text).unwrap();
        let out = format!("doc-policy-{i}-release");
        ok(
            reglink!(
                ex,
                &[
                    "-q",
                    "run",
                    "doc-policy-study.toml",
                    "--policy",
                    &file,
                    "--out",
                    &out,
                ],
            ),
            &format!("docs/disclosure-control.md, policy {}", i + 1),
        );
        assert!(ex.join(&out).join("manifest.json").exists());
    }
}

/// The commands of the README's section `heading`, continuation lines
/// joined and comments removed, as words.
fn readme_commands(heading: &str) -> Vec<Vec<String>> {
    let text = fs::read_to_string(root().join("README.md")).unwrap();
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading}"));
    let section = &text[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let words: Vec<String> = pending.split_whitespace().map(str::to_string).collect();
        pending.clear();
        if !words.is_empty() {
            commands.push(words);
        }
    }
    commands
}

/// Runs one README command (`reglink ...`) in `d`, with keys under the
/// test's folder instead of the machine's `/secure/`; the run and how to
/// name it in a failure.
fn run_readme_command(d: &Path, words: &[String]) -> (Run, String) {
    assert_eq!(words[0], "reglink");
    let args: Vec<String> = words[1..]
        .iter()
        .map(|w| w.replacen("/secure/", "secure/", 1))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (reglink!(d, &args), format!("README: `{}`", words.join(" ")))
}

/// A study over the one extract the README pseudonymises.
const README_STUDY: &str = r#"
[study]
name = "readme"
period = ["2023-01", "2024-12"]

[codelists.kommun]
path = "raw/codelists/kommun.csv"
label = "name"
group = "county"

[sources.eb]
kind = "eb"
path = "eb_2024.parquet"
[sources.eb.columns]
month = "period"
municipality = "kommun"
[sources.eb.codelists]
municipality = "kommun"

[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"
rollup = true

[populations.eb]
source = "eb"
years = [2023, 2024]

[[tables]]
name = "recipients"
population = "eb"
dimensions = ["year", "municipality", "sex"]
measures = [{ name = "persons", kind = "persons" }]
"#;

#[test]
fn the_readme_sequence_runs_on_synthetic_registers() {
    let commands = readme_commands("## Using it on real extracts");
    let names: Vec<&str> = commands.iter().map(|c| c[1].as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "pseudonymise",
            "link",
            "key",
            "run",
            "verify",
            "audit"
        ],
        "the README's sequence changed; update this test"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    reglink!(
        d,
        &[
            "-q", "synth", "--preset", "tiny", "--seed", "5", "--out", "raw",
        ],
    )
    .success();
    fs::copy(d.join("raw/eb.csv"), d.join("eb_2024.csv")).unwrap();
    fs::copy(d.join("raw/crosswalk.csv"), d.join("nummerbyten.csv")).unwrap();
    fs::create_dir(d.join("secure")).unwrap();
    fs::write(d.join("study.toml"), README_STUDY).unwrap();
    fs::copy(
        root().join("fixtures/policies/example.toml"),
        d.join("policy.toml"),
    )
    .unwrap();

    for words in &commands {
        let (run, what) = run_readme_command(d, words);
        if words[1] == "verify" {
            assert!(
                run.stdout.contains("signature valid"),
                "{what}: {}",
                run.stdout
            );
        }
        if words[1] == "audit" {
            assert!(
                run.stdout.contains("signed by") && run.stdout.contains("attacker"),
                "{what}: {}",
                run.stdout
            );
        }
        ok(run, &what);
    }
    assert!(d.join("eb_2024.rejects.json").exists());
    assert!(d.join("linked/cells/recipients.parquet").exists());
    assert!(d.join("release/manifest.json").exists());
}

/// A Python with pandas, polars and pyarrow: `REGLINK_TEST_PYTHON` if set,
/// else a virtual environment under the target folder, made on first use
/// with the machine's `python3` and pip. `None` (and the reason) where
/// there is no Python or the packages cannot be installed: then the
/// snippets are not run, and the test says so.
fn python_with_dataframes() -> Result<PathBuf, String> {
    let check = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", "import pandas, polars, pyarrow, openpyxl"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(p) = std::env::var_os("REGLINK_TEST_PYTHON") {
        let p = PathBuf::from(p);
        return if check(&p) {
            Ok(p)
        } else {
            Err(format!("{} lacks pandas, polars or pyarrow", p.display()))
        };
    }
    let venv = root().join("target/test-python");
    let python = venv.join("bin/python");
    if check(&python) {
        return Ok(python);
    }
    let made = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("no python3: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let installed = std::process::Command::new(&python)
        .args([
            "-m", "pip", "install", "-q", "pandas", "polars", "pyarrow", "openpyxl",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if installed.status.success() && check(&python) {
        Ok(python)
    } else {
        Err(format!(
            "pip could not install pandas, polars and pyarrow: {}",
            String::from_utf8_lossy(&installed.stderr)
        ))
    }
}

/// Every Python snippet of `docs/researchers.md` runs on the example's
/// release, and the types it promises hold: whole counts and year codes as
/// integers, suppressed values as nulls, municipality codes as text.
#[test]
fn the_researchers_python_snippets_load_the_release() {
    let snippets = blocks("docs/researchers.md", "python");
    assert!(snippets.len() >= 4, "docs/researchers.md lost its snippets");
    let python = match python_with_dataframes() {
        Ok(p) => p,
        Err(why) => return reglink_tests::skipped(&why),
    };
    let ex = example!();
    reglink!(ex, &["-q", "export", "release", "--out", "release-excel"]).success();
    let check = r#"
import pandas as pd, polars as pl
t = pd.read_parquet("release/tables/t1_overlap.parquet", dtype_backend="numpy_nullable")
assert str(t["persons"].dtype) == "Int64", t.dtypes
assert str(t["year"].dtype) == "Int64", t.dtypes
assert t["municipality"].dtype == object or str(t["municipality"].dtype) == "string"
hidden = t["persons_flag"] == "suppressed"
assert hidden.any() and t.loc[hidden, "persons"].isna().all()
assert t.loc[~hidden, "persons"].notna().all()
assert t.loc[t["year_level"] == "total", "year"].isna().all()
p = pl.read_parquet("release/tables/t1_overlap.parquet")
assert p.schema["persons"] == pl.Int64 and p.schema["year"] == pl.Int64
c = pd.read_csv("release/tables/t1_overlap.csv", na_values=[".."], keep_default_na=False,
                dtype={"municipality": str})
assert (c["persons"].isna() == hidden).all()
assert set(c["municipality"]) == set(t["municipality"])
import csv, openpyxl
book = openpyxl.load_workbook("release-excel/release.xlsx", read_only=True)
sheet = list(book["t1_overlap"].iter_rows(values_only=True))
rows = list(csv.reader(open("release/tables/t1_overlap.csv", newline="")))
assert len(sheet) == len(rows)
at = rows[0].index("persons")
for x, r in zip(sheet[1:], rows[1:]):
    if r[at] == "..":
        assert x[at] == "..", (x, r)
    else:
        assert x[at] == int(r[at]), (x, r)
"#;
    for (i, (_, code)) in snippets
        .iter()
        .chain(std::iter::once(&(String::new(), check.to_string())))
        .enumerate()
    {
        let out = std::process::Command::new(&python)
            .args(["-c", code])
            .current_dir(ex)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "Python snippet {i} of docs/researchers.md fails:\n{code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An R with readr: `REGLINK_TEST_RSCRIPT` if set, else Debian's
/// `Rscript`, with `r-base-core` and `r-cran-readr` installed by apt-get
/// where they are missing and the tests run as root.
fn r_with_readr() -> Result<PathBuf, String> {
    let has_readr = |rscript: &Path| {
        std::process::Command::new(rscript)
            .args(["-e", "library(readr)"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(p) = std::env::var_os("REGLINK_TEST_RSCRIPT") {
        let p = PathBuf::from(p);
        return if has_readr(&p) {
            Ok(p)
        } else {
            Err(format!("{} lacks readr", p.display()))
        };
    }
    let packages = ["r-base-core", "r-cran-readr"];
    let rscript = reglink_tests::debian_program("/usr/bin/Rscript", &packages, false)?;
    if has_readr(&rscript) {
        return Ok(rscript);
    }
    // R without readr: the same install adds it.
    let _ = std::process::Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "r-cran-readr",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output();
    if has_readr(&rscript) {
        Ok(rscript)
    } else {
        Err("R is here but readr is not, and apt-get could not add it".into())
    }
}

/// Every R snippet of `docs/researchers.md` runs on the example's release
/// where R has the packages it loads, and readr's reading of the CSV gives
/// what the page promises: whole counts as integers, `NA` exactly where a
/// value is suppressed, municipality codes as text. (The arrow package is
/// not in Debian's packages; its snippet runs where it is installed.)
#[test]
fn the_researchers_r_snippets_load_the_release() {
    let snippets = blocks("docs/researchers.md", "r");
    assert!(
        snippets.len() >= 2,
        "docs/researchers.md lost its R snippets"
    );
    let rscript = match r_with_readr() {
        Ok(p) => p,
        Err(why) => return reglink_tests::skipped(&why),
    };
    let ex = example!();
    let has = |package: &str| {
        std::process::Command::new(&rscript)
            .args(["-e", &format!("library({package})")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let check = r#"
library(readr)
t <- read_csv("release/tables/t1_overlap.csv", na = c("..", ""),
              col_types = cols(.default = col_character(), persons = col_integer()))
stopifnot(is.integer(t$persons))
hidden <- t$persons_flag == "suppressed"
stopifnot(any(hidden), all(is.na(t$persons[hidden])), all(!is.na(t$persons[!hidden])))
stopifnot(is.character(t$municipality), any(grepl("^0[0-9]{3}$", t$municipality)))
if (requireNamespace("arrow", quietly = TRUE)) {
  p <- arrow::read_parquet("release/tables/t1_overlap.parquet")
  stopifnot(is.integer(p$persons), all(is.na(p$persons) == (p$persons_flag == "suppressed")))
}
"#;
    let mut ran = 0;
    for (i, (_, code)) in snippets
        .iter()
        .chain(std::iter::once(&(String::new(), check.to_string())))
        .enumerate()
    {
        if code.contains("library(arrow)") && !has("arrow") {
            reglink_tests::skipped(&format!(
                "R snippet {i} of docs/researchers.md: R has no arrow package"
            ));
            continue;
        }
        let out = std::process::Command::new(&rscript)
            .args(["-e", code])
            .current_dir(ex)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "R snippet {i} of docs/researchers.md fails:\n{code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 2, "only {ran} R snippets ran");
}

/// The README's "No shared key" walkthrough, run as written (keys under the
/// test's folder instead of `/secure/`; each public key handed over by
/// copying it into the working folder), with its `keyholder.toml`.
#[test]
fn the_readme_three_party_walkthrough_runs() {
    let heading = "## No shared key: three agencies, three roles";
    let commands = readme_commands(heading);
    let names: Vec<String> = commands.iter().map(|c| c[1..3].join(" ")).collect();
    assert_eq!(
        names,
        [
            "key new-linker",
            "key new-keyholder",
            "key new-signing",
            "source encrypt",
            "keyholder transcrypt",
            "keyholder log",
            "linker open",
            "link study.toml",
        ],
        "the README's walkthrough changed; update this test"
    );
    let text = fs::read_to_string(root().join("README.md")).unwrap();
    let section = &text[text.find(heading).unwrap()..];
    let section = &section[..section[heading.len()..].find("\n## ").unwrap() + heading.len()];
    let config = section
        .split("```toml\n")
        .nth(1)
        .and_then(|t| t.split("```").next())
        .expect("the section shows keyholder.toml");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    reglink!(
        d,
        &[
            "-q", "synth", "--preset", "tiny", "--seed", "5", "--out", "raw"
        ]
    )
    .success();
    fs::copy(d.join("raw/eb.csv"), d.join("eb_2024.csv")).unwrap();
    fs::copy(d.join("raw/crosswalk.csv"), d.join("nummerbyten.csv")).unwrap();
    fs::create_dir(d.join("secure")).unwrap();
    fs::write(d.join("keyholder.toml"), config).unwrap();
    fs::write(
        d.join("study.toml"),
        README_STUDY.replace("name = \"readme\"", "name = \"eb-af-2024\""),
    )
    .unwrap();
    for words in &commands {
        let (run, what) = run_readme_command(d, words);
        if words[1] == "keyholder" && words[2] == "log" {
            assert!(
                run.stdout.contains("1 entries, unbroken"),
                "{what}: {}",
                run.stdout
            );
        }
        ok(run, &what);
        // Public keys are handed over: the next party finds them in the working folder.
        if words[1] == "key" {
            for entry in fs::read_dir(d.join("secure")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "pub") {
                    fs::copy(&path, d.join(path.file_name().unwrap())).unwrap();
                }
            }
        }
    }
    let linked: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("linked/linkage-report.json")).unwrap())
            .unwrap();
    assert!(
        linked["sources"]["eb"]["key_id"]
            .as_str()
            .unwrap()
            .starts_with("tp-")
    );
    assert!(linked["sources"]["eb"]["rows_used"].as_u64().unwrap() > 1000);
    assert!(d.join("linked/cells/recipients.parquet").exists());
}
