//! The three steps on a small extract, checked from the inside: what each
//! file holds, in the group's own terms.

use std::path::Path;

use reglink_keys::signing::SigningKey;
use reglink_pnr::{Date, Pnr};

use super::batch::Batch;
use super::group::{self, CIPHERTEXT_LEN};
use super::keyholder::{self, KeyHolderConfig};
use super::keys::{KeyHolderKey, LinkerKey};
use super::source::{self, SourceOptions};
use super::{linker, utc_now};
use crate::PseudonymiseOptions;

/// 40 persons, three rows each: an extract with duplicates per person.
fn numbers() -> Vec<Pnr> {
    (0..40u16)
        .map(|i| {
            let born =
                Date::new(1960 + i32::from(i), 1 + (i % 12) as u8, 1 + (i % 28) as u8).unwrap();
            Pnr::from_parts(born, 100 + i, false).unwrap()
        })
        .collect()
}

struct Run {
    dir: tempfile::TempDir,
    keyholder: KeyHolderKey,
    linker: LinkerKey,
}

/// Source, key holder and linker on `numbers()`; the files under `dir`.
fn run_all() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("pnr,value\n");
    for (i, p) in numbers().iter().enumerate() {
        for r in 0..3 {
            csv.push_str(&format!(
                "{},{}\n",
                String::from_utf8_lossy(p.normalised()),
                i * 3 + r
            ));
        }
    }
    std::fs::write(d.join("extract.csv"), csv).unwrap();
    let keyholder = KeyHolderKey::from_bytes([5; 32]);
    let linker = LinkerKey::from_bytes([6; 32]);
    let signer = SigningKey::from_seed([7; 32]);
    std::fs::write(d.join("linker.pub"), linker.public().to_line()).unwrap();
    std::fs::write(d.join("source.pub"), signer.public().to_line()).unwrap();
    std::fs::write(
        d.join("kh.toml"),
        "log = \"kh.log\"\n[[study]]\nname = \"s\"\nlinker = \"linker.pub\"\n\
         [[study.source]]\nname = \"src\"\npublic_key = \"source.pub\"\nquota = 100\n",
    )
    .unwrap();
    let opts = PseudonymiseOptions::new(
        d.join("extract.csv"),
        d.join("rows.parquet"),
        "pnr",
        Date::new(2026, 6, 30).unwrap(),
    );
    let report = source::encrypt(
        &opts,
        &SourceOptions {
            source: "src",
            study: "s",
            linker: &linker.public(),
            keyholder: &keyholder.public(),
            signer: &signer,
            batch: d.join("source.batch"),
        },
        None,
        &|_| {},
    )
    .unwrap();
    assert_eq!((report.persons, report.rows.rows_out), (40, 120));
    let config = KeyHolderConfig::load(&d.join("kh.toml")).unwrap();
    keyholder::transcrypt(
        &d.join("source.batch"),
        &d.join("kh.out"),
        &keyholder,
        &config,
        &|_| {},
    )
    .unwrap();
    linker::open(
        &d.join("rows.parquet"),
        &d.join("kh.out"),
        &d.join("pseudonymised.parquet"),
        &linker,
        &keyholder.public(),
        &|_| {},
    )
    .unwrap();
    Run {
        dir,
        keyholder,
        linker,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn neither_the_linker_nor_the_key_holder_can_open_a_source_batch() {
    let run = run_all();
    let batch = Batch::read(&run.dir.path().join("source.batch")).unwrap();
    let points: Vec<[u8; 32]> = numbers()
        .iter()
        .map(|p| group::person_point(p.normalised()).compress().to_bytes())
        .collect();
    let y = run.linker.elgamal_secret();
    let x = run.keyholder.elgamal_secret();
    let mut opened_by_both = 0;
    for i in 0..batch.header.persons as usize {
        let ct = batch.ciphertext(i);
        assert!(
            !points.contains(&group::decrypt(&y, ct).unwrap()),
            "the linker opened a person"
        );
        assert!(
            !points.contains(&group::decrypt(&x, ct).unwrap()),
            "the key holder opened a person"
        );
        // The two shares together do open it: the test can tell.
        if points.contains(&group::decrypt(&(*x + *y), ct).unwrap()) {
            opened_by_both += 1;
        }
    }
    assert_eq!(opened_by_both, 40);
}

#[test]
fn no_file_but_the_linkers_output_holds_a_persons_number_point_or_pseudonym() {
    let run = run_all();
    let d = run.dir.path();
    let linker_fp = run.linker.public().fingerprint();
    let k = run.keyholder.study_scalar("s", &linker_fp);
    let hash_key = run.linker.hash_key("s");
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    let mut pseudonyms = Vec::new();
    for p in numbers() {
        let point = group::person_point(p.normalised());
        let study_point = (point * *k).compress().to_bytes();
        let h = crate::kdf::point_hash(&hash_key, &study_point);
        secrets.push(p.normalised().to_vec());
        secrets.push(point.compress().to_bytes().to_vec());
        secrets.push(study_point.to_vec());
        secrets.push(h[..16].to_vec());
        pseudonyms.push(h[..16].to_vec());
    }
    for file in ["source.batch", "kh.out", "kh.log", "rows.parquet"] {
        let bytes = std::fs::read(d.join(file)).unwrap();
        for s in &secrets {
            assert!(
                !contains(&bytes, s),
                "{file} holds a number, a point or a pseudonym"
            );
        }
    }
    // The linker's output holds exactly these pseudonyms: the test's own
    // computation of the protocol agrees with the code's.
    let out = std::fs::read(d.join("pseudonymised.parquet")).unwrap();
    for p in &pseudonyms {
        assert!(contains(&out, p), "a person's pseudonym is missing");
    }
    assert_eq!(batch_len(&d.join("kh.out")), 40 * CIPHERTEXT_LEN);
}

fn batch_len(path: &Path) -> usize {
    Batch::read(path).unwrap().ciphertexts().len()
}

#[test]
fn the_time_is_written_as_utc() {
    let t = utc_now();
    assert_eq!(t.len(), 20, "{t}");
    assert!(
        t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T",
        "{t}"
    );
}
