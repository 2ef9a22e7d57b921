//! The example end to end: its steps, its folder, and what it does with an
//! earlier example or a folder that is not one.

use std::path::Path;
use std::sync::Mutex;

use reglink_extract::{Hinted, OutputError};

use super::*;

/// Records the name of each step; fails at the step named `fail_at`.
struct Recorder {
    steps: Mutex<Vec<&'static str>>,
    fail_at: Option<&'static str>,
}

impl Recorder {
    fn new(fail_at: Option<&'static str>) -> Recorder {
        Recorder {
            steps: Mutex::new(Vec::new()),
            fail_at,
        }
    }

    fn steps(&self) -> Vec<&'static str> {
        self.steps.lock().unwrap().clone()
    }
}

impl reglink_link::Progress for Recorder {
    fn stage(&self, _: &str, _: Option<u64>) {}
    fn set(&self, _: u64) {}
    fn finish(&self) {}
}

impl Observer for Recorder {}

impl ExampleObserver for Recorder {
    fn step(&self, step: Step<'_>) -> Result<(), ExampleError> {
        let name = match step {
            Step::Registers { .. } => "registers",
            Step::Key { .. } => "key",
            Step::Pseudonymising { .. } => "pseudonymising",
            Step::Extract { .. } => "extract",
            Step::Extracted => "extracted",
            Step::Pseudonymised { .. } => "pseudonymised",
            Step::Linking { .. } => "linking",
            Step::Linked(_) => "linked",
            Step::Protecting { .. } => "protecting",
        };
        self.steps.lock().unwrap().push(name);
        if self.fail_at == Some(name) {
            return Err(ExampleError::CreateDir {
                path: "stopped by the test".into(),
                source: std::io::Error::other("stopped"),
            });
        }
        Ok(())
    }
}

fn run(out: &Path, seed: u64, observer: &Recorder) -> Result<ExampleOutcome, ExampleError> {
    example(
        &ExampleOptions {
            out,
            seed,
            preset: reglink_synth::Preset::Tiny,
            auditor: None,
        },
        observer,
    )
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_steps_come_in_order_and_the_folder_is_a_finished_example() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("example");
    let recorder = Recorder::new(None);
    let outcome = run(&out, 7, &recorder).unwrap();
    let extract = ["extract", "extracted"];
    let mut expected = vec!["registers", "key", "pseudonymising"];
    expected.extend(extract.iter().cycle().take(6));
    expected.extend(["pseudonymised", "linking", "linked", "protecting"]);
    assert_eq!(recorder.steps(), expected);
    assert_eq!(
        names(&out),
        [
            "example.json",
            "example.key",
            "link",
            "policy.toml",
            "pseudonymised",
            "raw",
            "release",
            "release.checker",
            "study.toml"
        ]
    );
    assert_eq!(names(tmp.path()), ["example"], "nothing left beside it");
    assert_eq!(outcome.release_dir, out.join("release"));
    assert_eq!(outcome.link.out, out.join("link"));
    let released: Vec<_> = outcome
        .link
        .tabulated
        .tables
        .iter()
        .map(|t| &t.name)
        .collect();
    assert_eq!(released.len(), outcome.release.tables.len());
    assert!(released.iter().any(|n| *n == "t2_equal_terms"));

    let order: Vec<&str> = outcome.pseudonymised.iter().map(|(n, _)| *n).collect();
    assert_eq!(order, ["eb", "af", "lisa"]);
    let counts = count_persons(&outcome.pseudonymised).unwrap();
    let overlap = counts.eb_overlap.expect("all three extracts");
    assert_eq!(counts.per_extract[0], overlap.eb);
    assert!(overlap.eb > 0);
    assert!(0 < overlap.in_af && overlap.in_af <= overlap.eb);
    assert!(0 < overlap.in_lisa && overlap.in_lisa <= overlap.eb);
    for ((_, report), persons) in outcome.pseudonymised.iter().zip(&counts.per_extract) {
        assert!(0 < *persons && *persons as u64 <= report.rows_out);
    }
    // Without the EB file there is nothing to compare it with.
    let without_eb = count_persons(&outcome.pseudonymised[1..]).unwrap();
    assert_eq!(without_eb.per_extract, counts.per_extract[1..]);
    assert_eq!(without_eb.eb_overlap, None);
}

#[test]
fn a_failed_run_puts_the_earlier_example_back_and_a_later_one_replaces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("example");
    run(&out, 1, &Recorder::new(None)).unwrap();
    let manifest = std::fs::read(out.join("example.json")).unwrap();
    let key = std::fs::read(out.join("example.key")).unwrap();

    let failing = Recorder::new(Some("linking"));
    let err = run(&out, 2, &failing).unwrap_err();
    assert!(
        matches!(&err, ExampleError::CreateDir { path, .. } if path == Path::new("stopped by the test")),
        "{err:?}"
    );
    assert_eq!(failing.steps().last(), Some(&"linking"));
    assert_eq!(std::fs::read(out.join("example.json")).unwrap(), manifest);
    assert_eq!(std::fs::read(out.join("example.key")).unwrap(), key);
    assert_eq!(names(tmp.path()), ["example"], "nothing left beside it");

    run(&out, 3, &Recorder::new(None)).unwrap();
    let replaced = std::fs::read_to_string(out.join("example.json")).unwrap();
    assert!(replaced.contains("\"seed\": 3"), "{replaced}");
    assert_ne!(std::fs::read(out.join("example.key")).unwrap(), key);
    assert_eq!(names(tmp.path()), ["example"], "nothing left beside it");
}

#[test]
fn a_folder_that_is_not_an_example_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("notes");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let recorder = Recorder::new(None);
    let err = run(&out, 7, &recorder).unwrap_err();
    assert!(
        matches!(err, ExampleError::Output(OutputError::NotOurs { .. })),
        "{err:?}"
    );
    assert!(err.hint().is_some());
    assert!(recorder.steps().is_empty(), "refused before any work");
    assert_eq!(names(&out), ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(names(tmp.path()), ["notes"]);
}
