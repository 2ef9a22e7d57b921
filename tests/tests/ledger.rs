//! The release ledger: `reglink run --ledger` records each release, keeps
//! what an earlier release of the same people hid hidden, and the audit of
//! the union catches what two releases give away together; `reglink ledger
//! verify` notices a changed, reordered or cut-short ledger. Two populations
//! one inside the other are also protected together within one release.

use std::fs;
use std::path::{Path, PathBuf};

use reglink_tests::{example, reglink};

// The independent attacker of the `attacker` test, from the bundle format
// alone, here given two releases at once.
#[allow(dead_code)]
#[path = "attacker/bundle.rs"]
mod bundle;
#[allow(dead_code)]
#[path = "attacker/lp.rs"]
mod lp;

/// A table of persons of a study file: its name, title, population and
/// dimensions (a TOML array).
fn persons_table(name: &str, title: &str, population: &str, dimensions: &str) -> String {
    format!(
        "[[tables]]\nname = \"{name}\"\ntitle = \"{title}\"\npopulation = \"{population}\"\n\
         dimensions = {dimensions}\nmeasures = [{{ name = \"persons\", kind = \"persons\" }}]\n\n"
    )
}

/// The example's study with its head (everything before the tables)
/// changed by `edit` and `tables` instead of its own, written as
/// `ledger-FILE.toml` beside the example: the study names its sources
/// relative to itself.
fn study_beside_example(file: &str, edit: impl FnOnce(&str) -> String, tables: &str) -> PathBuf {
    let ex = example!();
    let text = fs::read_to_string(ex.join("study.toml")).unwrap();
    let head = edit(&text[..text.find("[[tables]]").unwrap()]);
    let path = ex.join(format!("ledger-{file}.toml"));
    fs::write(&path, format!("{head}{tables}")).unwrap();
    path
}

/// The example's study with only the table `t3_exit_3m` (benefit group by
/// exit within 3 months, entrants of 2023), named after `dir`.
fn exit_study(dir: &Path) -> PathBuf {
    study_beside_example(
        &dir.file_name().unwrap().to_string_lossy(),
        str::to_string,
        &persons_table(
            "t3_exit_3m",
            "Exits within 3 months",
            "af_entrants_2023",
            r#"["benefit_group", "exit_3m"]"#,
        ),
    )
}

/// `reglink -q run STUDY --policy POLICY --out OUT [--ledger LEDGER]`.
fn run(study: &Path, policy: &str, out: &Path, ledger: Option<&Path>) -> reglink_tests::Run {
    let mut args = vec![
        "-q",
        "run",
        study.to_str().unwrap(),
        "--policy",
        policy,
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(l) = ledger {
        args.extend(["--ledger", l.to_str().unwrap()]);
    }
    reglink!(out.parent().unwrap(), &args)
}

/// A run that failed with `why` in its error and published nothing at `out`.
fn assert_refused(refused: &reglink_tests::Run, out: &Path, why: &[&str]) {
    assert_ne!(refused.code, Some(0));
    assert!(
        why.iter().all(|w| refused.stderr.contains(w)),
        "{}",
        refused.stderr
    );
    assert!(!out.exists());
}

/// `reglink audit BUNDLE --ledger LEDGER --json`: exit code and report.
fn audit(bundle: &Path, ledger: &Path) -> (Option<i32>, serde_json::Value) {
    let run = reglink!(
        bundle.parent().unwrap(),
        &[
            "audit",
            bundle.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
            "--json"
        ]
    );
    (run.code, serde_json::from_str(&run.stdout).unwrap())
}

/// The CSV lines (1-based, header 1) of `t3_exit_3m` whose count is hidden.
fn hidden(bundle: &Path) -> Vec<usize> {
    let text = fs::read_to_string(bundle.join("tables/t3_exit_3m.csv")).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.split(',').nth(4) == Some(".."))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Cells of earlier releases that the audit of the union finds recoverable.
fn failing_earlier_cells(report: &serde_json::Value) -> usize {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["table"].as_str().unwrap().starts_with('#'))
        .flat_map(|f| f["cells"].as_array().unwrap())
        .filter(|c| c["status"] == "fail")
        .count()
}

#[test]
fn a_later_release_under_a_laxer_policy_keeps_hidden_what_an_earlier_one_hid() {
    let dir = tempfile::tempdir().unwrap();
    let study = exit_study(dir.path());
    let ledger = dir.path().join("ledger");
    let first = dir.path().join("first");
    let out = run(&study, "acro", &first, Some(&ledger)).success();
    assert!(
        out.stdout.contains("ledger: release 1 added"),
        "{}",
        out.stdout
    );
    let hidden_first = hidden(&first);
    assert!(hidden_first.len() > 10, "{hidden_first:?}");

    // Without the ledger, a release of the same table under a threshold of
    // 3 publishes counts of 3 to 9 that the first release hid: the audit of
    // the union finds them.
    let lax = dir.path().join("lax");
    run(&study, "lenient", &lax, None).success();
    assert!(hidden(&lax).len() < hidden_first.len());
    let (code, report) = audit(&lax, &ledger);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        failing_earlier_cells(&report) > 3,
        "{}",
        failing_earlier_cells(&report)
    );

    // With the ledger, every count the first release hid stays hidden, and
    // the union holds.
    let kept = dir.path().join("kept");
    let out = run(&study, "lenient", &kept, Some(&ledger)).success();
    assert!(
        out.stdout.contains("ledger: release 2 added"),
        "{}",
        out.stdout
    );
    let hidden_kept = hidden(&kept);
    assert!(
        hidden_first.iter().all(|l| hidden_kept.contains(l)),
        "{hidden_first:?} not all in {hidden_kept:?}"
    );
    let (code, report) = audit(&kept, &ledger);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(failing_earlier_cells(&report), 0);
    let related = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "ledger")
        .unwrap();
    assert!(
        related["reason"]
            .as_str()
            .unwrap()
            .contains("#1 (1 tables)"),
        "{related}"
    );
}

#[test]
fn ledger_verify_notices_a_changed_entry_and_a_ledger_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let study = exit_study(dir.path());
    let ledger = dir.path().join("ledger");
    for name in ["one", "two"] {
        run(&study, "acro", &dir.path().join(name), Some(&ledger)).success();
    }
    let d = dir.path();
    let verify = |extra: &[&str]| {
        let mut args = vec!["ledger", "verify", "ledger"];
        args.extend_from_slice(extra);
        reglink!(d, &args)
    };
    let ok = verify(&[]).success();
    let head = ok.stdout.rsplit("head ").next().unwrap().trim().to_string();
    assert!(head.starts_with("blake3:"), "{}", ok.stdout);
    let show = reglink!(d, &["ledger", "show", "ledger"]).success();
    assert!(show.stdout.contains(&head) && show.stdout.contains("2 release(s)"));
    verify(&["--head", &head]).success();

    // Cut short: the first entry alone no longer ends in the head.
    let second = ledger.join("000002");
    let aside = d.join("aside");
    reglink_tests::copy_tree(&second, &aside);
    fs::remove_dir_all(&second).unwrap();
    verify(&[]).success();
    let cut = verify(&["--head", &head]);
    assert_eq!(cut.code, Some(1));
    assert!(cut.stderr.contains("cut short"), "{}", cut.stderr);
    reglink_tests::copy_tree(&aside, &second);
    verify(&["--head", &head]).success();

    // A published value of the first release changed, with its bundle's
    // manifest rehashed so that the bundle alone still verifies: the entry
    // records the old manifest.
    let bundle = ledger.join("000001/bundle");
    let csv = bundle.join("tables/t3_exit_3m.csv");
    let text = fs::read_to_string(&csv).unwrap();
    let forged = text.replacen(",published", ",published ", 1);
    fs::write(&csv, forged).unwrap();
    let mpath = bundle.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&mpath).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        let file = bundle.join(f["path"].as_str().unwrap());
        f["blake3"] = reglink_extract::fingerprint_file(&file)
            .unwrap()
            .as_str()
            .into();
        f["bytes"] = fs::metadata(&file).unwrap().len().into();
    }
    fs::write(&mpath, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let changed = verify(&[]);
    assert_eq!(changed.code, Some(1));
    assert!(
        changed
            .stderr
            .contains("000001/bundle: its manifest is not the one the entry records"),
        "{}",
        changed.stderr
    );
    // And a new release is refused rather than added to a broken ledger.
    let refused = run(&study, "acro", &d.join("three"), Some(&ledger));
    assert_refused(&refused, &d.join("three"), &["does not verify"]);
}

#[test]
fn the_ledger_is_refused_inside_the_release_folder() {
    let dir = tempfile::tempdir().unwrap();
    let study = exit_study(dir.path());
    let out = dir.path().join("release");
    let run = run(&study, "acro", &out, Some(&out.join("ledger")));
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("a folder of its own"), "{}", run.stderr);
}

#[test]
fn signed_entries_verify_with_their_key_and_not_with_another() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = exit_study(d);
    for name in ["ours", "theirs"] {
        reglink!(d, &["key", "new-signing", "--out", &format!("{name}.key")]).success();
    }
    let ledger = d.join("ledger");
    let out = d.join("signed");
    let args = [
        "-q",
        "run",
        study.to_str().unwrap(),
        "--policy",
        "acro",
        "--out",
        out.to_str().unwrap(),
        "--ledger",
        ledger.to_str().unwrap(),
        "--sign",
        "ours.key",
    ];
    reglink!(d, &args).success();
    assert!(ledger.join("000001/entry.json.sig").is_file());
    reglink!(
        d,
        &["ledger", "verify", "ledger", "--public-key", "ours.key.pub"]
    )
    .success();
    let other = reglink!(
        d,
        &[
            "ledger",
            "verify",
            "ledger",
            "--public-key",
            "theirs.key.pub"
        ]
    );
    assert_eq!(other.code, Some(1));
    assert!(
        other.stderr.contains("not a valid signature"),
        "{}",
        other.stderr
    );
}

/// The example's study with its age bands set to `bands` and one table, age
/// band by long-term receipt, written beside the example.
fn banded_study(name: &str, bands: &str) -> PathBuf {
    let edit = |head: &str| {
        let original = "bands = [\"18-24\", \"25-29\", \"30-44\", \"45-54\", \"55-64\"]";
        assert!(head.contains(original));
        head.replace(original, &format!("bands = {bands}"))
    };
    study_beside_example(
        name,
        edit,
        &persons_table(
            "by_age",
            "By age band",
            "eb_adults_2023",
            r#"["age_band", "long_term"]"#,
        ),
    )
}

#[test]
fn a_band_split_against_an_earlier_release_is_caught_and_protected_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let coarse = banded_study("coarse", "[\"18-29\", \"30-44\", \"45-54\", \"55-64\"]");
    let fine = banded_study(
        "fine",
        "[\"18-24\", \"25-29\", \"30-44\", \"45-54\", \"55-64\"]",
    );
    let ledger = d.join("ledger");
    run(&coarse, "lenient", &d.join("coarse"), Some(&ledger)).success();
    let policy = d.join("t6.toml");
    fs::write(&policy, "preset = \"lenient\"\nthreshold = 6\n").unwrap();
    let policy = policy.to_str().unwrap();

    // Alone, the finer release protects its small 18-24 cells; with the
    // earlier 18-29 counts (18-29 = 18-24 + 25-29) they are recovered.
    let alone = d.join("alone");
    run(&fine, policy, &alone, None).success();
    let (code, report) = audit(&alone, &ledger);
    assert_eq!(code, Some(1), "{report}");
    let exposed: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["table"] == "by_age")
        .flat_map(|f| f["cells"].as_array().unwrap())
        .filter(|c| c["status"] == "fail")
        .map(|c| c["codes"].to_string())
        .collect();
    assert!(
        !exposed.is_empty() && exposed.iter().all(|c| c.contains("18-24")),
        "{exposed:?}"
    );

    // What anyone holding both bundles reads off: 18-24 = (18-29) - (25-29).
    let read_off = band_differences(&d.join("coarse"), &alone);
    assert!(!read_off.is_empty(), "the control should give counts away");

    // With the ledger the same release is protected again: the 25-29 cells
    // that pin 18-24 down are hidden too, and the union passes.
    let protected = d.join("protected");
    let done = run(&fine, policy, &protected, Some(&ledger)).success();
    assert!(done.stdout.contains("after hiding"), "{}", done.stdout);
    let (code, report) = audit(&protected, &ledger);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        band_differences(&d.join("coarse"), &protected),
        Vec::<String>::new()
    );
    // Only the split bands pay: what the release alone publishes outside
    // them is still published.
    let published = |dir: &Path| -> std::collections::BTreeSet<String> {
        published_counts(&dir.join("tables/by_age.csv"))
            .into_keys()
            .filter(|k| !k.contains("18-24") && !k.contains("25-29"))
            .collect()
    };
    let (protected, alone) = (published(&protected), published(&alone));
    assert!(alone.is_subset(&protected), "{alone:?} {protected:?}");
}

/// The counts of 18-24 by long-term receipt below 6 that the coarse
/// release's 18-29 and the fine release's 25-29 give away, by subtraction.
fn band_differences(coarse: &Path, fine: &Path) -> Vec<String> {
    let coarse = published_counts(&coarse.join("tables/by_age.csv"));
    let fine = published_counts(&fine.join("tables/by_age.csv"));
    fine.iter()
        .filter_map(|(codes, part)| {
            let long_term = codes.strip_prefix("25-29,")?;
            let whole = coarse.get(&format!("18-29,{long_term}"))?;
            let n = whole - part;
            (n > 0 && n < 6).then(|| format!("18-24,{long_term}: {n}"))
        })
        .collect()
}

/// The example's study with the population `eb_adults_2023` aged 18 to
/// `oldest` and one table, by long-term receipt, written beside the example.
fn aged_study(oldest: u32) -> PathBuf {
    let edit = |head: &str| {
        let section = head.find("[populations.eb_adults_2023]").unwrap();
        let at = section + head[section..].find("age = [18, 64]").unwrap();
        format!(
            "{}age = [18, {oldest}]{}",
            &head[..at],
            &head[at + "age = [18, 64]".len()..]
        )
    };
    study_beside_example(
        &format!("aged-{oldest}"),
        edit,
        &persons_table(
            "by_long_term",
            "By long-term receipt",
            "eb_adults_2023",
            r#"["long_term"]"#,
        ),
    )
}

#[test]
fn a_population_one_year_of_age_wider_is_caught_and_protected_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ledger = d.join("ledger");
    run(&aged_study(64), "acro", &d.join("to64"), Some(&ledger)).success();

    // Alone each release publishes its three counts (all at least 10);
    // together their differences count the people aged 65, a handful.
    let alone = d.join("to65");
    run(&aged_study(65), "acro", &alone, None).success();
    let (code, report) = audit(&alone, &ledger);
    assert_eq!(code, Some(1), "{report}");
    let differences = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "differences")
        .expect("a differences finding");
    assert_eq!(differences["status"], "fail", "{differences}");
    assert!(
        differences["cells"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["codes"] == "the grand total"),
        "{differences}"
    );

    let to64 = d.join("to64/tables/by_long_term.csv");
    let read_off = small_differences(&to64, &alone.join("tables/by_long_term.csv"));
    assert!(!read_off.is_empty(), "the control should give counts away");

    // With the ledger the wider release is protected again: its counts that
    // differ from the narrower ones by a handful are hidden, and the union
    // passes.
    let protected = d.join("protected");
    let done = run(&aged_study(65), "acro", &protected, Some(&ledger)).success();
    assert!(done.stdout.contains("after hiding"), "{}", done.stdout);
    let (code, report) = audit(&protected, &ledger);
    assert_eq!(code, Some(0), "{report}");
    let wide = protected.join("tables/by_long_term.csv");
    assert_eq!(small_differences(&to64, &wide), Vec::<String>::new());
}

/// The example's study with two populations of 2023, `eb_adults_2023`
/// (18-64) and `eb_adults_to65` (18-65), and the table by long-term receipt
/// of each (`by_long_term`, `by_long_term_to65`), written beside the
/// example.
fn both_ages_study() -> PathBuf {
    let narrow = fs::read_to_string(aged_study(64)).unwrap();
    let at = narrow.find("[[tables]]").unwrap();
    let path = example!().join("ledger-both-ages.toml");
    fs::write(
        &path,
        format!(
            "{}[populations.eb_adults_to65]\nsource = \"eb\"\nyears = [2023]\nage = [18, 65]\n\n{}{}",
            &narrow[..at],
            &narrow[at..],
            persons_table(
                "by_long_term_to65",
                "By long-term receipt, 18-65",
                "eb_adults_to65",
                r#"["long_term"]"#,
            )
        ),
    )
    .unwrap();
    path
}

/// Published counts of a table by its codes joined with commas (a total as
/// `_T`).
fn published_counts(csv: &Path) -> std::collections::BTreeMap<String, u64> {
    let text = fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let persons = header.iter().position(|h| *h == "persons").unwrap();
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // Each dimension is a code and its label.
            let codes: Vec<&str> = f[..persons].iter().step_by(2).copied().collect();
            Some((codes.join(","), f[persons].parse().ok()?))
        })
        .collect()
}

/// What anyone can do with two tables of nested populations: subtract the
/// same cell. The codes whose difference is a count from 1 to 9 (the `acro`
/// threshold is 10).
fn small_differences(narrow: &Path, wide: &Path) -> Vec<String> {
    let (n, w) = (published_counts(narrow), published_counts(wide));
    n.iter()
        .filter_map(|(code, a)| {
            let b = w.get(code)?;
            (*b > *a && b - a < 10).then(|| code.clone())
        })
        .collect()
}

#[test]
fn two_populations_one_inside_the_other_are_protected_together_in_one_release() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Released one at a time, the two tables give the people aged 65 away.
    run(&aged_study(64), "acro", &d.join("to64"), None).success();
    run(&aged_study(65), "acro", &d.join("to65"), None).success();
    let apart = small_differences(
        &d.join("to64/tables/by_long_term.csv"),
        &d.join("to65/tables/by_long_term.csv"),
    );
    assert!(
        !apart.is_empty(),
        "the control should give differences away"
    );

    // Released together, their differences are protected like any count,
    // and the audit (which relates them on its own) agrees.
    let both = d.join("both");
    run(&both_ages_study(), "acro", &both, None).success();
    let tables = both.join("tables");
    let (narrow, wide) = (
        published_counts(&tables.join("by_long_term.csv")),
        published_counts(&tables.join("by_long_term_to65.csv")),
    );
    // Every cell of the two tables pairs with one of the other whose
    // difference is small: one table can be published, not both.
    assert!(
        !narrow.is_empty() || !wide.is_empty(),
        "not everything hidden: {narrow:?} {wide:?}"
    );
    assert_eq!(
        small_differences(
            &tables.join("by_long_term.csv"),
            &tables.join("by_long_term_to65.csv")
        ),
        Vec::<String>::new()
    );
    let checked = reglink!(d, &["audit", both.to_str().unwrap(), "--json"]).success();
    let report: serde_json::Value = serde_json::from_str(&checked.stdout).unwrap();
    let differences = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "differences")
        .expect("the audit relates the two populations");
    assert_eq!(differences["status"], "pass", "{differences}");
}

/// The example's study with the AF entrants of 2023 and 2024 (the
/// population `af_entrants_2023` in two years) and their table by year,
/// benefit group and exit within 3 months, written beside the example.
fn two_year_exit_study() -> PathBuf {
    let edit = |head: &str| {
        format!(
            "{head}[populations.af_entrants_2y]\nsource = \"af\"\nyears = [2023, 2024]\n\
             age = [18, 64]\nrequire = [\"af_entry\"]\n\n"
        )
    };
    study_beside_example(
        "two-years",
        edit,
        &persons_table(
            "t3_exit_3m_by_year",
            "Exits within 3 months, by year",
            "af_entrants_2y",
            r#"["year", "benefit_group", "exit_3m"]"#,
        ),
    )
}

/// Counts of the 2023 entrants that the first release (`t3_exit_3m`) hid
/// and a release by year publishes for 2023 below the first release's
/// threshold of 10: what anyone holding both bundles reads off, matching
/// rows by their codes. Returns the codes.
fn read_off_in_2023(first: &Path, by_year: &Path) -> Vec<String> {
    let rows = |path: &Path| -> Vec<Vec<String>> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let first = rows(&first.join("tables/t3_exit_3m.csv"));
    let by_year = rows(&by_year.join("tables/t3_exit_3m_by_year.csv"));
    let column = |rows: &[Vec<String>], name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (fb, fe, fp) = (
        column(&first, "benefit_group"),
        column(&first, "exit_3m"),
        column(&first, "persons"),
    );
    let (yy, yb, ye, yp) = (
        column(&by_year, "year"),
        column(&by_year, "benefit_group"),
        column(&by_year, "exit_3m"),
        column(&by_year, "persons"),
    );
    first[1..]
        .iter()
        .filter(|r| r[fp] == "..")
        .filter_map(|r| {
            let later = by_year[1..]
                .iter()
                .find(|y| y[yy] == "2023" && y[yb] == r[fb] && y[ye] == r[fe])?;
            let n: u64 = later[yp].parse().ok()?;
            (n > 0 && n < 10).then(|| format!("{}/{}", r[fb], r[fe]))
        })
        .collect()
}

#[test]
fn a_release_over_two_years_cannot_publish_what_a_release_of_one_of_them_hid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ledger = d.join("ledger");
    let first = d.join("first");
    run(&exit_study(d), "acro", &first, Some(&ledger)).success();

    // Without the ledger, the table by year under a threshold of 3 gives
    // 2023 counts of 3 to 9 away that the first release hid; the audit of
    // the union relates the 2023 cells to the first release's and fails.
    let lax = d.join("lax");
    run(&two_year_exit_study(), "lenient", &lax, None).success();
    let read_off = read_off_in_2023(&first, &lax);
    assert!(!read_off.is_empty(), "the control should give counts away");
    let (code, report) = audit(&lax, &ledger);
    assert_eq!(code, Some(1), "{report}");
    assert!(failing_earlier_cells(&report) > 0, "{report}");

    // With the ledger the release is refused, after trying to hide more:
    // its own hidden counts are held to the first release's threshold of
    // 10, which its policy of 3 did not protect them for. Nothing is
    // published, and the error says what would do.
    let refused = run(
        &two_year_exit_study(),
        "lenient",
        &d.join("refused"),
        Some(&ledger),
    );
    assert_refused(
        &refused,
        &d.join("refused"),
        &[
            "the audit of the release failed",
            "Release #1 in the ledger",
            "a threshold of at least 10",
        ],
    );
    // Under the first release's policy it goes through.
    let same = d.join("same-policy");
    run(&two_year_exit_study(), "acro", &same, Some(&ledger)).success();
    assert_eq!(read_off_in_2023(&first, &same), Vec::<String>::new());
    let (code, report) = audit(&same, &ledger);
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_release_that_gives_cells_away_through_a_population_of_more_years_is_refused() {
    // The example's overlap table over 2023 and 2024, beside its outcome
    // tables of the 2023 cohort: the 2023 cells of the one are the cells of
    // the other, which secondary suppression does not yet relate. On the
    // tiny registers the audit, which does, finds cells of the overlap table
    // pinned below the threshold, and nothing is published.
    let ex = example!();
    let text = fs::read_to_string(ex.join("study.toml")).unwrap();
    let two_years = text.replacen(
        "[populations.eb_adults]\nsource = \"eb\"\nyears = [2024]",
        "[populations.eb_adults]\nsource = \"eb\"\nyears = [2023, 2024]",
        1,
    );
    assert_ne!(two_years, text);
    let study = ex.join("ledger-overlap-two-years.toml");
    fs::write(&study, two_years).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let refused = run(&study, "acro", &out, None);
    assert_refused(
        &refused,
        &out,
        &["the audit of the release failed", "t1_overlap"],
    );
}

/// The example's study head with `eb_adults_2023` narrowed by `require` (a
/// filter on a variable that is not a dimension).
fn adults_2023_requiring(head: &str, require: &str) -> String {
    let section = head.find("[populations.eb_adults_2023]").unwrap();
    let age = "age = [18, 64]\n";
    let at = section + head[section..].find(age).unwrap() + age.len();
    format!("{}require = [\"{require}\"]\n{}", &head[..at], &head[at..])
}

/// The example's study with `eb_adults_2023` narrowed by `require` and its
/// table by sex, in a file named after `name`.
fn filtered_study(name: &str, require: &str) -> PathBuf {
    study_beside_example(
        &format!("filtered-{name}"),
        |head| adults_2023_requiring(head, require),
        &persons_table("by_sex", "By sex", "eb_adults_2023", r#"["sex"]"#),
    )
}

/// Long-term recipients of 2023 in one release and recipients registered
/// at AF in the next: the same register and year, filters on variables
/// that are no dimension, so the audit cannot relate their cells. The
/// second release is refused, unless its policy allows such pairs; then it
/// is published, the manifest's policy says so, and the audit names the
/// pair for review.
#[test]
fn populations_that_cannot_be_related_are_refused_unless_the_policy_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ledger = d.join("ledger");
    run(
        &filtered_study("long", "long_term"),
        "lenient",
        &d.join("r1"),
        Some(&ledger),
    )
    .success();
    // The same study again relates to itself: nothing to refuse.
    run(
        &filtered_study("long", "long_term"),
        "lenient",
        &d.join("again"),
        Some(&ledger),
    )
    .success();

    let at_af = filtered_study("at-af", "at_af");
    let refused = run(&at_af, "lenient", &d.join("r2"), Some(&ledger));
    assert_refused(
        &refused,
        &d.join("r2"),
        &[
            "the audit of the release failed",
            "cannot be related",
            "eb_adults_2023 and eb_adults_2023 of release #1",
        ],
    );
    // Counting the earlier population again beside the new one does not
    // settle the pair.
    let both = study_beside_example(
        "filtered-both",
        |head| {
            format!(
                "{}[populations.at_af_2023]\nsource = \"eb\"\nyears = [2023]\nage = [18, 64]\n\
                 require = [\"at_af\"]\n\n",
                adults_2023_requiring(head, "long_term")
            )
        },
        &format!(
            "{}{}",
            persons_table("at_af_by_sex", "At AF by sex", "at_af_2023", r#"["sex"]"#),
            persons_table("by_sex", "By sex", "eb_adults_2023", r#"["sex"]"#)
        ),
    );
    // Released on its own, the same study warns about the pair.
    let alone = d.join("alone");
    let warned = reglink!(
        d,
        &[
            "run",
            both.to_str().unwrap(),
            "--policy",
            "lenient",
            "--out",
            alone.to_str().unwrap()
        ]
    )
    .success();
    assert!(
        warned.stderr.contains(
            "populations at_af_2023 and eb_adults_2023 count people of one register in 2023"
        ),
        "{}",
        warned.stderr
    );
    let refused = run(&both, "lenient", &d.join("r3"), Some(&ledger));
    assert_refused(
        &refused,
        &d.join("r3"),
        &[
            "cannot be related",
            "at_af_2023 and eb_adults_2023 of release #1",
        ],
    );

    let policy = d.join("allow.toml");
    fs::write(
        &policy,
        "preset = \"lenient\"\nunrelated_populations = \"allow\"\n",
    )
    .unwrap();
    let out = d.join("r2-allowed");
    run(&at_af, policy.to_str().unwrap(), &out, Some(&ledger)).success();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["policy"]["unrelated_populations"], "allow");
    let (code, report) = audit(&out, &ledger);
    assert_eq!(code, Some(0), "{report}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "ledger")
        .expect("a ledger finding");
    assert_eq!(finding["status"], "review", "{finding}");
    let reason = finding["reason"].as_str().unwrap();
    assert!(
        reason.contains("eb_adults_2023 and eb_adults_2023 of release #1"),
        "{reason}"
    );
}

/// The example's study with a `county` variable (the municipality code
/// list's groups) and one table of `eb_adults_2023` by `place` and region of
/// birth, written beside the example.
fn placed_study(name: &str, place: &str) -> PathBuf {
    let edit = |head: &str| {
        let at = head.find("[variables.af_municipality]").unwrap();
        format!(
            "{}[variables.county]\nkind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\n\
             codelist = \"kommun\"\nlevel = \"group\"\n\n{}",
            &head[..at],
            &head[at..]
        )
    };
    study_beside_example(
        name,
        edit,
        &persons_table(
            &format!("by_{place}"),
            "By place and region of birth",
            "eb_adults_2023",
            &format!("[\"{place}\", \"region_of_birth\"]"),
        ),
    )
}

/// The counts the attacker of the `attacker` test pins below the threshold
/// of 10 and narrower than it, given the `earlier` release's tables beside
/// the `later` one's, a county read as the municipality dimension's group of
/// the same code (as anyone who knows the code list reads it).
fn exposed_together(earlier: &Path, later: &Path) -> Vec<String> {
    let mut union = bundle::read_bundle(later);
    for t in &mut union.tables {
        for d in &mut t.dims {
            if d.name == "county" {
                d.name = "municipality".into();
            }
        }
    }
    for mut t in bundle::read_bundle(earlier).tables {
        t.name = format!("#1/{}", t.name);
        union.tables.push(t);
    }
    union.threshold = 10.0;
    lp::attack(&union)
        .into_iter()
        .filter(|f| f.max < 10.0 - 1e-6 && !f.protected(10.0))
        .map(|f| format!("{} {}: [{}, {}]", f.table, f.cell, f.min, f.max))
        .collect()
}

#[test]
fn a_table_by_county_after_one_by_municipality_is_protected_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ledger = d.join("ledger");
    let by_municipality = d.join("by-municipality");
    let municipality = placed_study("by-municipality", "municipality");
    run(&municipality, "acro", &by_municipality, Some(&ledger)).success();
    let county = placed_study("by-county", "county");

    // Alone, the county table is protected; beside the municipality table,
    // whose counties are its groups, counts are pinned below the threshold.
    let alone = d.join("alone");
    run(&county, "acro", &alone, None).success();
    assert_eq!(
        exposed_together(&by_municipality, &by_municipality),
        Vec::<String>::new()
    );
    assert_eq!(exposed_together(&alone, &alone), Vec::<String>::new());
    let exposed = exposed_together(&by_municipality, &alone);
    assert!(!exposed.is_empty(), "the control should give counts away");
    let (code, report) = audit(&alone, &ledger);
    assert_eq!(code, Some(1), "{report}");

    // With the ledger the same attacker finds nothing, and the audit agrees.
    let protected = d.join("protected");
    run(&county, "acro", &protected, Some(&ledger)).success();
    assert_eq!(
        exposed_together(&by_municipality, &protected),
        Vec::<String>::new()
    );
    let (code, report) = audit(&protected, &ledger);
    assert_eq!(code, Some(0), "{report}");
}
