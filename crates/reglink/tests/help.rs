//! Every subcommand explains itself. (This integration test also makes
//! `cargo test --workspace` build the binary the top-level `tests/` run.)

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
