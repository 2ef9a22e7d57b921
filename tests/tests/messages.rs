//! Messages that say what is really wrong: a `key new` that would replace
//! another file. (A `--policy` that is a folder, a device or an empty file
//! is a case under `fixtures/errors/policy/`.)

use std::fs;
use std::os::unix::fs::PermissionsExt;

use reglink_tests::reglink;

#[test]
fn key_new_refuses_any_existing_file_and_creates_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("eb.csv"), "personnr,kommun\n").unwrap();
    let run = reglink!(dir.path(), &["key", "new", "--out", "eb.csv"]).failure();
    assert!(
        run.stderr
            .contains("eb.csv: already exists; refusing to overwrite an existing file"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("eb.csv")).unwrap(),
        "personnr,kommun\n"
    );

    reglink!(dir.path(), &["key", "new", "--out", "newdir/k.key"]).success();
    let key = dir.path().join("newdir/k.key");
    let meta = fs::metadata(&key).unwrap();
    assert_eq!((meta.len(), meta.permissions().mode() & 0o777), (32, 0o600));
    reglink!(dir.path(), &["key", "id", "newdir/k.key"]).success();
}
