//! Signed releases through the binary: `reglink key new-signing`, `reglink
//! run --sign` and `reglink verify --public-key`, against a bundle changed
//! the way someone who can edit files (and recompute hashes) would change it.
//!
//! One signed release of the example study is made once; each test changes
//! its own copy.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reglink_keys::signing::SigningKey;
use reglink_tests::{Run, copy_tree, example, reglink};
use serde_json::Value;

/// A folder with the signing key pair `keys/signing` (+ `.pub`), a second
/// pair `keys/other`, and `signed/`, the example study released under
/// `lenient` and signed with the first.
fn signed() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for name in ["signing", "other"] {
            reglink!(
                &root,
                &["key", "new-signing", "--out", &format!("keys/{name}")]
            )
            .success();
        }
        let ex = example!();
        reglink!(
            ex,
            &[
                "-q",
                "run",
                "study.toml",
                "--policy",
                "lenient",
                "--out",
                root.join("signed").to_str().unwrap(),
                "--sign",
                root.join("keys/signing").to_str().unwrap(),
            ],
        )
        .success();
        (dir, root)
    });
    path
}

/// A copy of the signed bundle in a new folder: (folder, bundle in it).
fn copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    copy_tree(&signed().join("signed"), &bundle);
    (dir, bundle)
}

fn verify(bundle: &Path, key: Option<&str>) -> Run {
    let mut args = vec!["verify".to_string(), bundle.display().to_string()];
    if let Some(k) = key {
        args.push("--public-key".into());
        args.push(signed().join(format!("keys/{k}.pub")).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    reglink!(signed(), &args)
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap()
}

fn write_manifest(bundle: &Path, m: &Value) {
    let mut text = serde_json::to_string_pretty(m).unwrap();
    text.push('\n');
    fs::write(bundle.join("manifest.json"), text).unwrap();
}

/// Changes a published file and puts its new hash (and size) into the
/// manifest, as anyone who can read the bundle format can.
fn change_with_hashes_recomputed(bundle: &Path) {
    let rel = "tables/t2_equal_terms.csv";
    let csv = bundle.join(rel);
    // The grand total's count (three dimensions: the seventh field) plus
    // one; the flags stay as they are, so the description still agrees.
    reglink_tests::bump_grand_total(&csv, 6);
    let mut m = manifest(bundle);
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == rel {
            f["blake3"] = reglink_extract::fingerprint_file(&csv)
                .unwrap()
                .as_str()
                .into();
            if f.get("bytes").is_some() {
                f["bytes"] = fs::metadata(&csv).unwrap().len().into();
            }
        }
    }
    write_manifest(bundle, &m);
    let unsigned_check = verify(bundle, None);
    assert!(
        !unsigned_check.all_output().contains("t2_equal_terms"),
        "the forgery should pass every check but the signature: {}",
        unsigned_check.all_output()
    );
}

#[test]
fn a_signed_release_verifies_with_its_public_key() {
    let bundle = signed().join("signed");
    let fingerprint = reglink!(signed(), &["key", "id", "keys/signing.pub"]).success();
    let fingerprint = fingerprint.stdout.trim();
    assert!(fingerprint.starts_with("rs-"), "{fingerprint}");
    // The private key file names the same key, and is the owner's only.
    let private = reglink!(signed(), &["key", "id", "keys/signing"]).success();
    assert_eq!(private.stdout.trim(), fingerprint);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(signed().join("keys/signing"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(manifest(&bundle)["signing_key"], fingerprint);

    let checked = verify(&bundle, Some("signing")).success();
    assert!(
        checked
            .stdout
            .contains(&format!("signed by {fingerprint}, signature valid")),
        "{}",
        checked.stdout
    );
    let unchecked = verify(&bundle, None).success();
    assert!(
        unchecked.stdout.contains("pass --public-key"),
        "{}",
        unchecked.stdout
    );
}

#[test]
fn a_changed_value_with_its_hash_recomputed_fails_the_signature() {
    let (_dir, bundle) = copy();
    change_with_hashes_recomputed(&bundle);
    let bad = verify(&bundle, Some("signing")).failure();
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr
            .contains("manifest.json.sig: does not match manifest.json"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_bundle_re_signed_with_another_key_fails() {
    let (_dir, bundle) = copy();
    change_with_hashes_recomputed(&bundle);
    // The forger signs with a key of their own, and names it in the manifest.
    let other = SigningKey::generate().unwrap();
    let mut m = manifest(&bundle);
    m["signing_key"] = other.public().fingerprint().to_string().into();
    write_manifest(&bundle, &m);
    let text = fs::read(bundle.join("manifest.json")).unwrap();
    fs::write(
        bundle.join("manifest.json.sig"),
        other.sign_manifest(&text).to_text(),
    )
    .unwrap();
    // Valid for the forger's key...
    assert!(
        other.public().verify(
            &text,
            &reglink_keys::signing::Signature::parse(
                &fs::read_to_string(bundle.join("manifest.json.sig")).unwrap()
            )
            .unwrap()
        )
    );
    // ...but not the data holder's.
    let bad = verify(&bundle, Some("signing")).failure();
    assert!(
        bad.stderr.contains(&format!(
            "signed by {}, not by the key given",
            other.public().fingerprint()
        )),
        "{}",
        bad.stderr
    );
    // The other key of the test, which did not sign it either.
    verify(&bundle, Some("other")).failure();
}

#[test]
fn a_bundle_stripped_of_its_signature_is_reported_unsigned() {
    let (_dir, bundle) = copy();
    change_with_hashes_recomputed(&bundle);
    fs::remove_file(bundle.join("manifest.json.sig")).unwrap();
    // Still naming its signer: the missing signature is a problem.
    let bad = verify(&bundle, None).failure();
    assert!(
        bad.stderr.contains("manifest.json.sig: missing"),
        "{}",
        bad.stderr
    );
    // With the signer's name removed too, it is an unsigned bundle: fine
    // without a key, and refused when the auditor asks for a signature.
    let mut m = manifest(&bundle);
    m.as_object_mut().unwrap().remove("signing_key");
    write_manifest(&bundle, &m);
    let unsigned = verify(&bundle, None).success();
    assert!(
        unsigned.stdout.contains("; unsigned"),
        "{}",
        unsigned.stdout
    );
    let bad = verify(&bundle, Some("signing")).failure();
    assert!(
        bad.stderr.contains("the bundle is unsigned"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_manifest_contradicting_the_tables_descriptions_fails() {
    let (_dir, bundle) = copy();
    let mut m = manifest(&bundle);
    m["policy"]["threshold"] = 1.into();
    m["tables"].as_array_mut().unwrap().pop();
    write_manifest(&bundle, &m);
    let bad = verify(&bundle, None).failure();
    assert!(
        bad.stderr
            .contains("its policy differs from the manifest's"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("a table the manifest does not name"),
        "{}",
        bad.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_signing_key_others_can_read_is_refused_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let created = reglink!(dir.path(), &["key", "new-signing", "--out", "k"]).success();
    let secret = fs::read(dir.path().join("k")).unwrap();
    let refused = {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path().join("k"), fs::Permissions::from_mode(0o644)).unwrap();
        let ex = example!();
        let out = dir.path().join("r");
        let r = reglink!(
            ex,
            &[
                "run",
                "study.toml",
                "--policy",
                "lenient",
                "--out",
                out.to_str().unwrap(),
                "--sign",
                dir.path().join("k").to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(
            r.stderr.contains("accessible by group or others"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
        assert!(!out.exists(), "nothing is released with a refused key");
        r.all_output()
    };
    // Nothing reglink printed holds the key's seed, in any common spelling.
    let seed: String = secret[secret.len() - 32..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let private_id = reglink!(dir.path(), &["key", "id", "k"]);
    for output in [created.all_output(), refused, private_id.all_output()] {
        assert!(!output.to_lowercase().contains(&seed[..16]), "{output}");
        assert!(
            !output
                .as_bytes()
                .windows(8)
                .any(|w| w == &secret[secret.len() - 32..][..8])
        );
    }
    // Creating the same key twice is refused: nothing is overwritten.
    let twice = reglink!(dir.path(), &["key", "new-signing", "--out", "k"]).failure();
    assert!(twice.stderr.contains("already exists"), "{}", twice.stderr);
    assert_eq!(fs::read(dir.path().join("k")).unwrap(), secret);
}

#[test]
fn a_tampered_signature_or_a_smuggled_file_fails() {
    // Signature bytes changed, signer line kept.
    let (_dir, bundle) = copy();
    let sig = fs::read_to_string(bundle.join("manifest.json.sig")).unwrap();
    let last = sig.trim_end().chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    let tampered = format!("{}{flipped}\n", &sig.trim_end()[..sig.trim_end().len() - 1]);
    fs::write(bundle.join("manifest.json.sig"), tampered).unwrap();
    let bad = verify(&bundle, Some("signing")).failure();
    assert!(
        bad.stderr.contains("does not match manifest.json"),
        "{}",
        bad.stderr
    );

    // A file whose name spells a listed path with a backslash, and a
    // symbolic link: neither may hide in a signed bundle.
    let (_dir, bundle) = copy();
    fs::write(bundle.join("tables\\t2_equal_terms.csv"), "anything\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/", bundle.join("root")).unwrap();
        // A table replaced by a named pipe: reported, never opened (reading
        // it would wait for ever).
        let table = bundle.join("tables/t3_exit_3m.csv");
        fs::remove_file(&table).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&table).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    }
    let bad = verify(&bundle, Some("signing")).failure();
    assert!(
        bad.stderr.contains("not a regular file with a plain name"),
        "{}",
        bad.stderr
    );
    #[cfg(unix)]
    {
        assert!(bad.stderr.contains("\"root\""), "{}", bad.stderr);
        assert!(
            bad.stderr.contains(
                "tables/t3_exit_3m.csv: listed in the manifest but missing or not a regular file"
            ),
            "{}",
            bad.stderr
        );
    }
}
