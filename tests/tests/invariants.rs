//! Architecture invariants from ARCHITECTURE.md and SECURITY.md that a test
//! can hold the code to.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A source file without its unit tests: a `#[cfg(test)]` item declared as
/// `mod tests;` is dropped with its attribute and the code around it kept; an
/// inline `#[cfg(test)] mod tests { ... }` is, by the code base's habit, the
/// last item of its file, so everything from it on is dropped.
fn without_unit_tests(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            match lines.peek() {
                Some(next) if next.trim_end().ends_with(';') => {
                    lines.next();
                    continue;
                }
                _ => break,
            }
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

#[test]
fn unit_tests_are_cut_only_where_they_are() {
    let text = "a\n#[cfg(test)]\nmod tests;\nb\n#[cfg(test)]\nmod inline {\n c\n}\n";
    assert_eq!(without_unit_tests(text), "a\nb\n");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// clippy (run with `-D warnings` in CI) bans every BLAKE3 entry point that
/// can hash a personnummer without the study key.
#[test]
fn clippy_bans_unkeyed_and_free_standing_blake3() {
    let config = fs::read_to_string(root().join("clippy.toml")).unwrap();
    for path in [
        "blake3::hash",
        "blake3::keyed_hash",
        "blake3::derive_key",
        "blake3::Hasher::new",
        "blake3::Hasher::new_keyed",
        "blake3::Hasher::new_derive_key",
        "blake3::hazmat::hash_derive_key_context",
        "blake3::hazmat::merge_subtrees_root",
        // The type, for `Hasher::default()`, which no method path names.
        "blake3::Hasher",
    ] {
        assert!(
            config.contains(&format!("\"{path}\"")),
            "clippy.toml does not ban {path}"
        );
    }
}

/// Only the sanctioned modules may lift that ban.
#[test]
fn only_sanctioned_modules_call_blake3_directly() {
    let allowed = [
        "crates/reglink-pseudo/src/kdf.rs",
        "crates/reglink-extract/src/fingerprint.rs",
        "benches/src/baseline.rs",
        "benches/src/enumeration.rs",
    ];
    let mut files = Vec::new();
    for dir in ["crates", "benches", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "source tree not found");
    let this_file = root().join("tests/tests/invariants.rs");
    for file in files.iter().filter(|f| **f != this_file) {
        let text = fs::read_to_string(file).unwrap();
        let rel = file
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // Lifting the ban by name, or through the lint groups holding it.
        let lifted = [
            "disallowed_methods",
            "disallowed_types",
            "allow(clippy::style",
            "allow(clippy::all",
        ]
        .iter()
        .any(|l| text.contains(l));
        if lifted {
            assert!(
                allowed.contains(&rel.as_str()),
                "{rel} lifts the ban on bare BLAKE3 calls"
            );
        }
    }
}

/// Only reglink-pseudo (and the benchmarks) depend on blake3's key machinery;
/// only reglink-pseudo (the master key) and reglink-keys (key files and the
/// release-signing key) depend on zeroize and getrandom, i.e. hold keys.
#[test]
fn only_the_pseudonymisation_crate_holds_keys() {
    let mut crates = fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    crates.sort();
    for dir in crates {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let deps = manifest.split("[dev-dependencies]").next().unwrap();
        if name != "reglink-pseudo" && name != "reglink-keys" {
            assert!(
                !deps.contains("zeroize"),
                "{name} depends on zeroize: does it hold a key?"
            );
            assert!(!deps.contains("getrandom"), "{name} draws key material");
        }
    }
}

/// Every source file under `crates/` that ships (not a test file, not
/// `testutil.rs`, not one of `allowed`), as (path from the root, code without
/// its unit tests).
fn shipped_sources(allowed: &[&str]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .filter_map(|file| {
            let rel = file
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let test_only = rel.contains("/tests/")
                || rel.ends_with("tests.rs")
                || rel.ends_with("testutil.rs");
            if test_only || allowed.contains(&rel.as_str()) {
                return None;
            }
            Some((rel, without_unit_tests(&fs::read_to_string(file).unwrap())))
        })
        .collect();
    assert!(sources.len() > 20, "source tree not found");
    sources
}

/// Only the output module, which removes nothing it has not proven to be an
/// unchanged output of reglink, and the temporary-file registry, which
/// removes only what this process created, remove directories or move them
/// into place. Every command goes through them.
#[test]
fn only_the_output_module_removes_what_reglink_wrote() {
    let allowed = [
        "crates/reglink-extract/src/output.rs",
        "crates/reglink-extract/src/cleanup.rs",
        "crates/reglink-extract/src/scratch.rs",
    ];
    for (rel, code) in shipped_sources(&allowed) {
        for call in ["remove_dir_all", "fs::rename("] {
            assert!(
                !code.contains(call),
                "{rel} calls {call}: use reglink_extract::StagedDir, AtomicFile or SetAside"
            );
        }
    }
}

/// Every file reglink writes goes through `AtomicFile` (a temporary beside the
/// target, renamed into place whole) and every folder through `StagedDir`
/// (`output.rs`), except key files (`reglink-keys`' `secret.rs`), which are
/// created once with `create_new` (secret ones with mode 0600) and never
/// replaced.
#[test]
fn only_the_atomic_file_and_the_key_open_files_for_writing() {
    let allowed = [
        "crates/reglink-extract/src/atomic.rs",
        "crates/reglink-extract/src/output.rs",
        "crates/reglink-extract/src/scratch.rs",
        "crates/reglink-keys/src/secret.rs",
    ];
    for (rel, code) in shipped_sources(&allowed) {
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for call in [
                "File::create",
                "OpenOptions",
                "fs::write(",
                "File::options",
                "tempfile::",
            ] {
                // `AtomicFile::create` is the sanctioned way, not a match.
                let found = line.match_indices(call).any(|(at, _)| {
                    !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                assert!(
                    !found,
                    "{rel} writes a file with {call}: use reglink_extract::AtomicFile or write_atomic"
                );
            }
        }
    }
}

/// What writes the release and the checker report (with its τ-ARGUS input
/// sets) takes cells and flags, never a type that holds rows (`Frame`,
/// `Linked`) or pseudonyms.
#[test]
fn the_release_writers_never_see_rows_or_pseudonyms() {
    for rel in [
        "crates/reglink-release/src/bundle.rs",
        "crates/reglink-release/src/checker.rs",
        "crates/reglink-release/src/tauargus.rs",
    ] {
        let text = fs::read_to_string(root().join(rel)).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for name in [
                "Frame",
                "Linked",
                "Pseudonym",
                "reglink_pseudo",
                "reglink_link",
            ] {
                assert!(!line.contains(name), "{rel} uses {name}: {line}");
            }
        }
    }
}

/// Disclosure control reads and writes no file: no direct I/O dependency
/// (`architecture.rs`), and no file access in its source either, not even
/// through the cell table's own Parquet writer.
#[test]
fn disclosure_control_touches_no_file() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/reglink-protect/src"), &mut files);
    assert!(files.len() > 10, "source tree not found");
    for file in &files {
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        let code = without_unit_tests(&fs::read_to_string(file).unwrap());
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for name in ["std::fs", "fs::", "File", "std::io", ".write(", "Path"] {
                assert!(!line.contains(name), "{rel} touches files ({name}): {line}");
            }
        }
    }
}
