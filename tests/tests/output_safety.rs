//! reglink never removes or overwrites what it did not write.
//!
//! Every command that writes a folder (`link`, `run`, `synth`, `example`)
//! replaces an existing one only if that folder is an unchanged earlier output
//! of the same command, never a folder that is or holds one of the run's
//! inputs; `pseudonymise` replaces an existing file only with `--force`, and
//! never one of its inputs. A refused run changes nothing, and refuses before
//! it does the work. Temporary files go away on Ctrl-C, and those a killed
//! run left are removed by the next run into the same place.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reglink_tests::{Run, example, pseudonymise, reglink, reglink_bin};

/// Every file below `dir` with its content, and every directory (as `/`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() {
                out.insert(rel.join(""), b"/".to_vec());
                stack.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A working folder as a user has it: raw extracts, pseudonymised extracts,
/// the study, the policy and the key, copied from the example.
fn working_folder(parent: &Path) -> PathBuf {
    let ex = example!();
    let work = parent.join("work");
    fs::create_dir(&work).unwrap();
    for name in ["raw", "pseudonymised"] {
        reglink_tests::copy_tree(&ex.join(name), &work.join(name));
    }
    for name in ["study.toml", "policy.toml", "example.key"] {
        fs::copy(ex.join(name), work.join(name)).unwrap();
    }
    work
}

fn run_into(cwd: &Path, out: &str) -> Run {
    reglink!(
        cwd,
        &[
            "--quiet",
            "run",
            "study.toml",
            "--policy",
            "policy.toml",
            "--out",
            out,
        ],
    )
}

#[test]
fn run_and_link_refuse_an_output_that_is_or_holds_their_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    // The trigger of the old data loss: a file named like reglink's manifests.
    fs::write(work.join("manifest.json"), "{}").unwrap();
    fs::write(work.join("link.json"), "{}").unwrap();
    let before = snapshot(dir.path());
    for out in [".", "pseudonymised", "raw/codelists", "../work"] {
        let r = run_into(&work, out).failure();
        assert!(
            r.stderr.contains("holds no input") || r.stderr.contains("of its own"),
            "--out {out}: {}",
            r.stderr
        );
        let r = reglink!(&work, &["--quiet", "link", "study.toml", "--out", out]).failure();
        assert!(!r.stderr.is_empty(), "--out {out}");
        assert_eq!(snapshot(dir.path()), before, "--out {out} changed files");
    }
    let r = reglink!(
        dir.path(),
        &[
            "run",
            "work/study.toml",
            "--policy",
            "work/policy.toml",
            "--out",
            "work",
        ],
    )
    .failure();
    assert!(r.stderr.contains("contains"), "{}", r.stderr);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_folder_reglink_did_not_write_is_never_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    let other = work.join("thesis");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("manifest.json"), r#"{"name": "my-thesis"}"#).unwrap();
    fs::write(other.join("thesis.docx"), "three years of work").unwrap();
    let before = snapshot(dir.path());
    for args in [
        vec![
            "run",
            "study.toml",
            "--policy",
            "policy.toml",
            "--out",
            "thesis",
        ],
        vec!["link", "study.toml", "--out", "thesis"],
        vec!["synth", "--out", "thesis"],
        vec!["example", "--out", "thesis"],
    ] {
        let r = reglink!(&work, &args).failure();
        assert!(
            r.stderr.contains("is not an output of"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(snapshot(dir.path()), before, "{args:?} changed files");
    }
}

#[test]
fn an_earlier_release_is_replaced_only_while_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    run_into(&work, "release").success();
    // Unchanged: a second run replaces it and leaves nothing beside it.
    run_into(&work, "release").success();
    let beside: Vec<String> = fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "left behind: {beside:?}");

    // A file the user added, and then a file the user edited.
    fs::write(work.join("release/notes.txt"), "my notes").unwrap();
    let before = snapshot(dir.path());
    let r = run_into(&work, "release").failure();
    assert!(r.stderr.contains("notes.txt"), "{}", r.stderr);
    assert_eq!(snapshot(dir.path()), before);
    fs::remove_file(work.join("release/notes.txt")).unwrap();
    let summary = work.join("release/summary.md");
    let mut text = fs::read_to_string(&summary).unwrap();
    text.push_str("\nReviewed by me.\n");
    fs::write(&summary, text).unwrap();
    let before = snapshot(dir.path());
    let r = run_into(&work, "release").failure();
    assert!(r.stderr.contains("summary.md has changed"), "{}", r.stderr);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_refused_output_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    // Without its pseudonymised extracts the study cannot be linked: an
    // error about the output, not about the extracts, shows the output was
    // checked first.
    fs::remove_dir_all(work.join("pseudonymised")).unwrap();
    fs::create_dir(work.join("taken")).unwrap();
    fs::write(work.join("taken/file.txt"), "x").unwrap();
    let r = run_into(&work, "taken").failure();
    assert!(r.stderr.contains("taken: exists"), "{}", r.stderr);
    let r = reglink!(&work, &["link", "study.toml", "--out", "taken"]).failure();
    assert!(r.stderr.contains("taken: exists"), "{}", r.stderr);
}

#[test]
fn pseudonymise_replaces_an_existing_output_only_with_force_and_never_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    let args =
        |out: &str, extra: &[&str]| pseudonymise!(&work, "example.key", "raw/eb.csv", out, extra);
    fs::write(work.join("eb.parquet"), "not mine to overwrite").unwrap();
    let r = args("eb.parquet", &["--id-column", "personnr"]).failure();
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(
        fs::read(work.join("eb.parquet")).unwrap(),
        b"not mine to overwrite"
    );
    // The reject report beside it counts too.
    fs::remove_file(work.join("eb.parquet")).unwrap();
    fs::write(work.join("eb.rejects.json"), "mine").unwrap();
    args("eb.parquet", &["--id-column", "personnr"]).failure();
    assert_eq!(fs::read(work.join("eb.rejects.json")).unwrap(), b"mine");
    args("eb.parquet", &["--id-column", "personnr", "--force"]).success();
    assert!(work.join("eb.parquet").exists());

    // Never the extract, the key or the crosswalk, whatever --force says.
    let before = snapshot(dir.path());
    for out in ["raw/eb.csv", "example.key", "raw/crosswalk.csv"] {
        let r = args(
            out,
            &[
                "--id-column",
                "personnr",
                "--crosswalk",
                "raw/crosswalk.csv",
                "--force",
            ],
        )
        .failure();
        assert!(r.stderr.contains("refusing"), "--out {out}: {}", r.stderr);
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn synth_and_example_replace_only_their_own_unchanged_output() {
    let dir = tempfile::tempdir().unwrap();
    reglink!(dir.path(), &["--quiet", "synth", "--out", "s"]).success();
    reglink!(
        dir.path(),
        &["--quiet", "synth", "--out", "s", "--seed", "7"],
    )
    .success();
    fs::write(dir.path().join("s/eb.csv"), "edited").unwrap();
    let before = snapshot(dir.path());
    reglink!(dir.path(), &["--quiet", "synth", "--out", "s"]).failure();
    assert_eq!(snapshot(dir.path()), before);

    reglink!(
        dir.path(),
        &["--quiet", "example", "--preset", "tiny", "--out", "ex"]
    )
    .success();
    reglink!(
        dir.path(),
        &["--quiet", "example", "--preset", "tiny", "--out", "ex"]
    )
    .success();
    fs::write(dir.path().join("ex/raw/my-extract.csv"), "mine").unwrap();
    let before = snapshot(dir.path());
    let r = reglink!(
        dir.path(),
        &["--quiet", "example", "--preset", "tiny", "--out", "ex"]
    )
    .failure();
    assert!(r.stderr.contains("my-extract.csv"), "{}", r.stderr);
    assert_eq!(snapshot(dir.path()), before);
}

/// Temporary names reglink makes for `target` in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".reglink-"))
        .collect()
}

#[cfg(unix)]
#[test]
fn an_interrupted_pseudonymise_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // An extract large enough to be interrupted mid-way.
    reglink!(
        dir.path(),
        &[
            "--quiet",
            "synth",
            "--preset",
            "municipality",
            "--out",
            "raw",
        ],
    )
    .success();
    let key = dir.path().join("k.key");
    reglink!(dir.path(), &["key", "new", "--out", key.to_str().unwrap()]).success();
    for signal in ["INT", "TERM"] {
        let mut child = std::process::Command::new(reglink_bin!())
            .current_dir(dir.path())
            .args([
                "--quiet",
                "pseudonymise",
                "--key",
                "k.key",
                "--study",
                "s",
                "--id-column",
                "PersonNr",
                "--in",
                "raw/lisa.csv",
                "--out",
                "lisa.parquet",
                "--reference-date",
                "2026-06-30",
                "--batch-size",
                "1024",
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the temporary output exists, then interrupt.
        let started = Instant::now();
        while temporaries(dir.path()).is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no temporary file appeared"
            );
            if child.try_wait().unwrap().is_some() {
                panic!("pseudonymise finished before it could be interrupted");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "SIG{signal}");
        assert!(
            temporaries(dir.path()).is_empty(),
            "SIG{signal} left {:?}",
            temporaries(dir.path())
        );
        assert!(!dir.path().join("lisa.parquet").exists());
    }
}

#[test]
fn a_temporary_left_by_a_killed_run_is_removed_and_named_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    // What SIGKILL leaves: a temporary named for the target, by a process
    // that no longer runs (no pid is this large).
    let stale = work.join(".eb.parquet.reglink-tmp-999999999-abcdef.tmp");
    fs::write(&stale, "row-level data").unwrap();
    let r = pseudonymise!(
        &work,
        "example.key",
        "raw/eb.csv",
        "eb.parquet",
        &["--id-column", "personnr"],
    )
    .success();
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists());
        assert!(r.stderr.contains("interrupted run"), "{}", r.stderr);
    }
}

#[test]
fn one_commands_output_is_never_replaced_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let work = working_folder(dir.path());
    run_into(&work, "release").success();
    reglink!(&work, &["--quiet", "synth", "--out", "synthetic"]).success();
    let before = snapshot(dir.path());
    for args in [
        vec!["synth", "--out", "release"],
        vec!["synth", "--out", "release.checker"],
        vec!["link", "study.toml", "--out", "release"],
        vec![
            "run",
            "study.toml",
            "--policy",
            "policy.toml",
            "--out",
            "synthetic",
        ],
        vec![
            "run",
            "study.toml",
            "--policy",
            "policy.toml",
            "--out",
            "release.checker",
        ],
    ] {
        let r = reglink!(&work, &args).failure();
        assert!(
            r.stderr.contains("is not an output of"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(snapshot(dir.path()), before, "{args:?} changed files");
    }
}
