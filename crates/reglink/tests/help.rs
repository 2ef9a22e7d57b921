//! Every subcommand explains itself, under whatever name the executable has.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_reglink"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run reglink");
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

#[test]
fn top_level_help_lists_every_subcommand() {
    let text = help(&[]);
    for sub in ["example", "key", "pseudonymise", "synth", "inspect"] {
        assert!(text.contains(sub), "`{sub}` missing from --help:\n{text}");
    }
}

#[test]
fn each_subcommand_documents_its_options() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["pseudonymise"],
            &[
                "--key",
                "--study",
                "--id-column",
                "--in",
                "--out",
                "--crosswalk",
                "--derive",
            ],
        ),
        (&["synth"], &["--preset", "--seed", "--out", "--format"]),
        (&["key", "new"], &["--out"]),
        (&["example"], &["--out", "--seed"]),
    ];
    for (args, options) in cases {
        let text = help(args);
        for option in *options {
            assert!(
                text.contains(option),
                "{args:?} --help lacks {option}:\n{text}"
            );
        }
    }
}

#[test]
fn unknown_subcommand_fails() {
    let out = Command::new(env!("CARGO_BIN_EXE_reglink"))
        .arg("frobnicate")
        .output()
        .expect("run reglink");
    assert!(!out.status.success());
}

/// A copy of the binary under another name (the end-to-end tests build one)
/// still calls itself `reglink` in its help and usage lines.
#[test]
fn the_program_name_does_not_depend_on_the_executable_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir
        .path()
        .join(format!("other-name{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_reglink"), &copy).expect("copy the binary");
    for args in [&["--help"][..], &["run", "--help"], &["run"]] {
        let original = Command::new(env!("CARGO_BIN_EXE_reglink"))
            .args(args)
            .output()
            .expect("run reglink");
        let renamed = Command::new(&copy)
            .args(args)
            .output()
            .expect("run the copy");
        assert_eq!(original.stdout, renamed.stdout, "{args:?}");
        assert_eq!(original.stderr, renamed.stderr, "{args:?}");
        assert_eq!(original.status.code(), renamed.status.code(), "{args:?}");
    }
    let usage = Command::new(&copy)
        .arg("run")
        .output()
        .expect("run the copy");
    let stderr = String::from_utf8(usage.stderr).expect("utf-8 usage");
    assert!(stderr.contains("Usage: reglink run "), "{stderr}");
}
