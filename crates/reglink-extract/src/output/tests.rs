use super::*;

const KIND: OutputKind = OutputKind {
    command: "reglink test",
    output: "test output",
    manifest: "manifest.json",
};

/// Writes an output of `KIND` with `files` at `out` through a `StagedDir`.
fn write_output(out: &Path, files: &[(&str, &str)]) -> Result<PathBuf, OutputError> {
    let staged = StagedDir::create(out, &KIND, &[])?;
    for (name, text) in files {
        let path = staged.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    write_manifest(staged.path(), &KIND, serde_json::json!({ "study": "s" })).unwrap();
    staged.commit()
}

/// Every entry of `dir`, sorted, as relative paths (directories end in `/`).
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_new_output_appears_whole_and_nothing_is_left_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("tables/t.csv", "a\n"), ("summary.md", "# s\n")]).unwrap();
    assert_eq!(
        listing(dir.path()),
        [
            "release/",
            "release/manifest.json",
            "release/summary.md",
            "release/tables/",
            "release/tables/t.csv"
        ]
    );
    prove_ours(&out, &KIND).unwrap();
}

#[test]
fn an_unchanged_earlier_output_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("old.csv", "1\n")]).unwrap();
    write_output(&out, &[("new.csv", "2\n")]).unwrap();
    assert_eq!(
        listing(dir.path()),
        ["release/", "release/manifest.json", "release/new.csv"]
    );
}

#[test]
fn an_empty_directory_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    std::fs::create_dir(&out).unwrap();
    write_output(&out, &[("new.csv", "2\n")]).unwrap();
    assert!(out.join("new.csv").exists());
}

/// Asserts that writing to `out` is refused as not reglink's, naming
/// `reason`, and that `dir` is exactly as before.
fn assert_refused(dir: &Path, out: &Path, reason: &str) {
    let before = listing(dir);
    let err = write_output(out, &[("x.csv", "x\n")]).unwrap_err();
    match &err {
        OutputError::NotOurs { reason: r, .. } => assert!(r.contains(reason), "{err}"),
        other => panic!("expected NotOurs, got {other}"),
    }
    assert_eq!(listing(dir), before, "a refused run changes nothing");
}

#[test]
fn a_folder_with_another_tools_manifest_is_never_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("work");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("manifest.json"), r#"{"name": "my-thesis"}"#).unwrap();
    std::fs::write(out.join("thesis.docx"), "words").unwrap();
    assert_refused(dir.path(), &out, "not a manifest of reglink");
}

#[test]
fn a_file_added_to_an_earlier_output_keeps_it_from_being_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("t.csv", "1\n")]).unwrap();
    std::fs::create_dir(out.join("notes")).unwrap();
    std::fs::write(out.join("notes/mine.txt"), "mine").unwrap();
    assert_refused(
        dir.path(),
        &out,
        "notes/mine.txt is not a file reglink wrote",
    );
}

#[test]
fn a_changed_file_keeps_an_earlier_output_from_being_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("t.csv", "1\n")]).unwrap();
    std::fs::write(out.join("t.csv"), "1,annotated\n").unwrap();
    assert_refused(dir.path(), &out, "t.csv has changed");
}

#[test]
fn a_manifest_that_is_not_json_or_a_plain_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("manifest.json"), "not json").unwrap();
    assert_refused(dir.path(), &out, "not reglink's");

    let file = dir.path().join("plain");
    std::fs::write(&file, "data").unwrap();
    assert_refused(dir.path(), &file, "not a directory");
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_inside_an_earlier_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("t.csv", "1\n")]).unwrap();
    std::fs::write(dir.path().join("precious"), "keep").unwrap();
    std::os::unix::fs::symlink(dir.path().join("precious"), out.join("link")).unwrap();
    assert_refused(dir.path(), &out, "symbolic link");
}

#[test]
fn a_change_during_the_run_is_caught_at_commit_and_the_old_output_stays() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("t.csv", "1\n")]).unwrap();
    let staged = StagedDir::create(&out, &KIND, &[]).unwrap();
    std::fs::write(staged.path().join("new.csv"), "2\n").unwrap();
    write_manifest(staged.path(), &KIND, serde_json::json!({})).unwrap();
    // Meanwhile the user saves a file into the old output.
    std::fs::write(out.join("added.txt"), "mine").unwrap();
    let err = staged.commit().unwrap_err();
    assert!(matches!(err, OutputError::NotOurs { .. }), "{err}");
    assert_eq!(
        listing(dir.path()),
        [
            "release/",
            "release/added.txt",
            "release/manifest.json",
            "release/t.csv"
        ],
        "the old output is back in place and the staging directory is gone"
    );
}

#[test]
fn dropping_an_uncommitted_output_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    {
        let staged = StagedDir::create(&out, &KIND, &[]).unwrap();
        std::fs::write(staged.path().join("t.csv"), "1\n").unwrap();
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn an_output_that_is_or_contains_an_input_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let inputs_dir = dir.path().join("work");
    std::fs::create_dir_all(inputs_dir.join("raw")).unwrap();
    let study = inputs_dir.join("study.toml");
    let extract = inputs_dir.join("raw/eb.parquet");
    std::fs::write(&study, "x").unwrap();
    std::fs::write(&extract, "x").unwrap();
    let inputs = vec![
        ("the study file".to_string(), study.clone()),
        ("source `eb`".to_string(), extract.clone()),
    ];
    let before = listing(dir.path());
    // The folder that holds the study, a parent of it, a spelling with `..`.
    for out in [
        inputs_dir.clone(),
        dir.path().to_path_buf(),
        inputs_dir.join("raw/../raw"),
        extract.clone(),
    ] {
        let err = StagedDir::create(&out, &KIND, &inputs).unwrap_err();
        assert!(
            matches!(err, OutputError::HoldsInput { .. }),
            "{}: {err}",
            out.display()
        );
    }
    assert_eq!(listing(dir.path()), before);
    // A sibling folder is fine.
    StagedDir::create(&inputs_dir.join("release"), &KIND, &inputs).unwrap();
}

#[test]
fn a_new_file_is_refused_if_it_exists_unless_forced_and_never_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eb.parquet");
    let input = dir.path().join("eb.csv");
    std::fs::write(&input, "x").unwrap();
    let inputs = vec![("the extract".to_string(), input.clone())];
    check_new_file(&out, false, &inputs).unwrap();
    std::fs::write(&out, "x").unwrap();
    assert!(matches!(
        check_new_file(&out, false, &inputs),
        Err(OutputError::FileExists { .. })
    ));
    check_new_file(&out, true, &inputs).unwrap();
    assert!(matches!(
        check_new_file(&input, true, &inputs),
        Err(OutputError::HoldsInput { .. })
    ));
}

#[test]
fn resolved_spellings_of_one_place_are_equal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    assert_eq!(
        resolved(&dir.path().join("a/../a/new/x")),
        resolved(&dir.path().join("a/new/x"))
    );
    assert_eq!(
        resolved(&dir.path().join("a/./b/../c")),
        resolved(&dir.path().join("a/c"))
    );
}

#[test]
fn another_commands_output_is_never_taken_for_this_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("t.csv", "1\n")]).unwrap();
    let other = OutputKind {
        command: "reglink other",
        output: "other output",
        manifest: "manifest.json",
    };
    let before = listing(dir.path());
    let err = StagedDir::create(&out, &other, &[]).unwrap_err();
    assert!(err.to_string().contains("it is a test output"), "{err}");
    assert_eq!(listing(dir.path()), before);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_as_the_output_is_refused_with_or_without_a_slash() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    write_output(&real, &[("t.csv", "1\n")]).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = listing(dir.path());
    for spelling in [link.clone(), dir.path().join("link/")] {
        let err = StagedDir::create(&spelling, &KIND, &[]).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn a_failed_swap_puts_the_earlier_output_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    write_output(&out, &[("old.csv", "1\n")]).unwrap();
    let set_aside = SetAside::new(&out, &KIND).unwrap();
    assert!(!out.exists(), "the earlier output is aside");
    drop(set_aside); // the new output never came
    assert_eq!(
        listing(dir.path()),
        ["release/", "release/manifest.json", "release/old.csv"]
    );
}

#[test]
fn a_cleared_staging_directory_commits_only_what_was_written_after() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let outside = dir.path().join("kept.txt");
    std::fs::write(&outside, "not staged").unwrap();
    let staged = StagedDir::create(&out, &KIND, &[]).unwrap();
    std::fs::create_dir_all(staged.path().join("tables")).unwrap();
    std::fs::write(staged.path().join("tables/first.csv"), "a\n").unwrap();
    std::fs::write(staged.path().join("summary.md"), "first\n").unwrap();
    // A link in the staging directory is removed, not followed.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path(), staged.path().join("link")).unwrap();
    staged.clear().unwrap();
    assert_eq!(listing(staged.path()), Vec::<String>::new());
    std::fs::write(staged.path().join("second.csv"), "b\n").unwrap();
    write_manifest(staged.path(), &KIND, serde_json::json!({ "study": "s" })).unwrap();
    staged.commit().unwrap();
    assert_eq!(listing(&out), ["manifest.json", "second.csv"]);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not staged");
}
