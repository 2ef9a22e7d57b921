//! Three-party pseudonymisation through the binary: the example study's
//! registers through a source per register, one key holder and one linker,
//! against the single-key flow on the same registers; refusals; the key
//! holder's log; what each party's files and messages may hold.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{REFERENCE_DATE, Run, example, reglink};

const STUDY: &str = "example-eb-af-2023";
const EXTRACTS: [(&str, &str); 3] = [
    ("eb", "personnr"),
    ("af", "personnummer"),
    ("lisa", "PersonNr"),
];

/// Three parties' folders and keys: `linker/`, `keyholder/` (its
/// configuration lists the three sources with `quota`), `sources/`.
struct Parties {
    dir: tempfile::TempDir,
    /// Every message any role printed.
    messages: std::cell::RefCell<String>,
}

impl Parties {
    fn new(quota: u64) -> Parties {
        let dir = tempfile::tempdir().unwrap();
        let p = Parties {
            dir,
            messages: String::new().into(),
        };
        for d in ["linker", "keyholder", "sources"] {
            fs::create_dir(p.path(d)).unwrap();
        }
        p.ok(&["key", "new-linker", "--out", "linker/linker.key"]);
        p.ok(&["key", "new-keyholder", "--out", "keyholder/keyholder.key"]);
        fs::copy(
            p.path("linker/linker.key.pub"),
            p.path("keyholder/linker.key.pub"),
        )
        .unwrap();
        let mut config = String::from("log = \"keyholder.log\"\n");
        for study in [STUDY, "another-study"] {
            config.push_str(&format!(
                "[[study]]\nname = \"{study}\"\nlinker = \"linker.key.pub\"\n"
            ));
            for (name, _) in EXTRACTS {
                config.push_str(&format!(
                    "[[study.source]]\nname = \"{name}\"\npublic_key = \"{name}.key.pub\"\nquota = {quota}\n"
                ));
            }
        }
        fs::write(p.path("keyholder/keyholder.toml"), config).unwrap();
        for (name, _) in EXTRACTS {
            p.ok(&[
                "key",
                "new-signing",
                "--out",
                &format!("sources/{name}.key"),
            ]);
            fs::copy(
                p.path(&format!("sources/{name}.key.pub")),
                p.path(&format!("keyholder/{name}.key.pub")),
            )
            .unwrap();
        }
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = reglink!(self.dir.path(), args);
        self.messages.borrow_mut().push_str(&run.all_output());
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        self.run(args).success()
    }

    /// The source's step for one register of the example, into
    /// `sources/TAG-NAME.*`, with the crosswalk and `--derive`.
    fn encrypt(&self, name: &str, study: &str, tag: &str) -> Run {
        let crosswalk = example!().join("raw/crosswalk.csv");
        self.encrypt_as(
            name,
            (name, study),
            (
                &format!("sources/{name}.key"),
                "keyholder/keyholder.key.pub",
            ),
            &format!("{tag}-{name}"),
            &["--crosswalk", crosswalk.to_str().unwrap(), "--derive"],
        )
    }

    /// `source encrypt` of the example's register `name` as `(source, study)`,
    /// signed with and encrypted to `(signing key, key holder's public key)`,
    /// into `sources/OUT.rows.parquet` and `sources/OUT.batch`, with `extra`.
    fn encrypt_as(
        &self,
        name: &str,
        (source, study): (&str, &str),
        (sign, keyholder): (&str, &str),
        out: &str,
        extra: &[&str],
    ) -> Run {
        let input = example!().join(format!("raw/{name}.csv"));
        let id_column = EXTRACTS.iter().find(|(n, _)| *n == name).unwrap().1;
        let (rows, batch) = (
            format!("sources/{out}.rows.parquet"),
            format!("sources/{out}.batch"),
        );
        let mut args = vec![
            "source",
            "encrypt",
            "--in",
            input.to_str().unwrap(),
            "--id-column",
            id_column,
            "--study",
            study,
            "--source",
            source,
            "--linker-public",
            "linker/linker.key.pub",
            "--keyholder-public",
            keyholder,
            "--sign",
            sign,
            "--out",
            &rows,
            "--batch",
            &batch,
            "--reference-date",
            REFERENCE_DATE,
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn transcrypt(&self, batch: &str, out: &str) -> Run {
        self.run(&[
            "keyholder",
            "transcrypt",
            batch,
            "--key",
            "keyholder/keyholder.key",
            "--config",
            "keyholder/keyholder.toml",
            "--out",
            out,
        ])
    }

    fn open(&self, tag: &str, name: &str, out: &str) -> Run {
        self.run(&[
            "linker",
            "open",
            "--rows",
            &format!("sources/{tag}-{name}.rows.parquet"),
            "--batch",
            &format!("keyholder/{tag}-{name}.out"),
            "--key",
            "linker/linker.key",
            "--keyholder-public",
            "keyholder/keyholder.key.pub",
            "--out",
            out,
        ])
    }

    /// All three roles for one register: `linker/TAG/NAME.parquet`.
    fn through_all(&self, name: &str, study: &str, tag: &str) {
        fs::create_dir_all(self.path(&format!("linker/{tag}"))).unwrap();
        self.encrypt(name, study, tag).success();
        self.transcrypt(
            &format!("sources/{tag}-{name}.batch"),
            &format!("keyholder/{tag}-{name}.out"),
        )
        .success();
        self.open(tag, name, &format!("linker/{tag}/{name}.parquet"))
            .success();
    }
}

fn read(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn pseudonyms(path: &Path) -> HashSet<Vec<u8>> {
    let b = read(path);
    let col = b
        .column_by_name("pseudonym")
        .unwrap()
        .as_fixed_size_binary();
    (0..col.len()).map(|i| col.value(i).to_vec()).collect()
}

/// The example study's cell tables, linked from `pseudonymised` (a folder of
/// eb/af/lisa.parquet), as (table, columns without `record_key_sum`).
fn cells(pseudonymised: &Path, work: &Path) -> Vec<(String, RecordBatch)> {
    let ex = example!();
    let study = fs::read_to_string(ex.join("study.toml"))
        .unwrap()
        .replace("\"raw/", &format!("\"{}/raw/", ex.display()))
        .replace(
            "\"pseudonymised/",
            &format!("\"{}/", pseudonymised.display()),
        );
    fs::create_dir_all(work).unwrap();
    fs::write(work.join("study.toml"), study).unwrap();
    reglink!(work, &["--quiet", "link", "study.toml", "--out", "link"]).success();
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(work.join("link/cells"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    names.sort();
    for path in names {
        let b = read(&path);
        let keep: Vec<usize> = (0..b.num_columns())
            .filter(|&i| b.schema().field(i).name() != "record_key_sum")
            .collect();
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            b.project(&keep).unwrap(),
        ));
    }
    out
}

/// Every way a personnummer of the registers is written there, and as
/// reglink normalises it.
fn numbers_in_registers() -> Vec<String> {
    let raw = example!().join("raw");
    let mut numbers = HashSet::new();
    for (name, column) in EXTRACTS {
        let mut r = csv::Reader::from_path(raw.join(format!("{name}.csv"))).unwrap();
        let i = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap();
        for row in r.records() {
            let text = row.unwrap()[i].to_string();
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 10 {
                numbers.insert(digits[digits.len() - 10..].to_string());
            }
        }
    }
    numbers.into_iter().collect()
}

#[test]
fn the_example_study_through_three_roles_gives_the_single_key_tables() {
    let p = Parties::new(100_000);
    for (name, _) in EXTRACTS {
        p.through_all(name, STUDY, "a");
    }
    // Linked as the single-key flow's files are, the same tables.
    let three = cells(&p.path("linker/a"), &p.path("linked-three"));
    let single = cells(&example!().join("pseudonymised"), &p.path("linked-single"));
    assert_eq!(three.len(), single.len());
    assert!(three.len() >= 5, "the example study has its tables");
    for ((name, a), (_, b)) in three.iter().zip(&single) {
        assert_eq!(
            a, b,
            "table {name} differs between the three-party and the single-key flow"
        );
    }
    // Same person, same pseudonym, across sources: the linkage report finds
    // as many persons in EB and AF as the single-key run did.
    let report = |dir: &str| -> serde_json::Value {
        serde_json::from_str(
            &fs::read_to_string(p.path(dir).join("link/linkage-report.json")).unwrap(),
        )
        .unwrap()
    };
    let (three_report, single_report) = (report("linked-three"), report("linked-single"));
    assert_eq!(three_report["populations"], single_report["populations"]);
    for (name, _) in EXTRACTS {
        let strip = |v: &serde_json::Value| {
            let mut v = v["sources"][name].clone();
            for k in ["path", "fingerprint", "key_id"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        };
        assert_eq!(strip(&three_report), strip(&single_report), "source {name}");
        assert!(
            three_report["sources"][name]["key_id"]
                .as_str()
                .unwrap()
                .starts_with("tp-")
        );
    }
    assert!(
        three_report["sources"]["eb"]["matched"]["af"]
            .as_u64()
            .unwrap()
            > 50
    );
    // Record keys exist and differ between persons.
    let b = read(&p.path("linker/a/eb.parquet"));
    let keys: HashSet<u32> = b
        .column_by_name("record_key")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt32Type>()
        .values()
        .iter()
        .copied()
        .collect();
    assert!(
        keys.len() > 100,
        "record keys spread over persons: {}",
        keys.len()
    );
    // The pseudonyms are not the single-key flow's.
    let single_eb = pseudonyms(&example!().join("pseudonymised/eb.parquet"));
    let three_eb = pseudonyms(&p.path("linker/a/eb.parquet"));
    assert_eq!(single_eb.len(), three_eb.len());
    assert!(single_eb.is_disjoint(&three_eb));

    // Nothing the key holder wrote, and no message of any role, holds a
    // personnummer or a pseudonym (raw, or as hex).
    let numbers = numbers_in_registers();
    assert!(numbers.len() > 1000);
    let mut secrets: Vec<Vec<u8>> = numbers.iter().map(|n| n.as_bytes().to_vec()).collect();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for pseudo in three_eb.iter().chain(&single_eb) {
        secrets.push(pseudo.clone());
        secrets.push(hex(pseudo).into_bytes());
    }
    let mut files: Vec<PathBuf> = fs::read_dir(p.path("keyholder"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("keyholder.log")));
    let messages = p.messages.borrow().clone().into_bytes();
    for (what, bytes) in files
        .iter()
        .map(|f| (f.display().to_string(), fs::read(f).unwrap()))
        .chain([("the messages".to_string(), messages)])
    {
        for s in &secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_slice()),
                "{what} holds a personnummer or a pseudonym"
            );
        }
    }
}

#[test]
fn two_studies_give_unlinkable_pseudonyms() {
    let p = Parties::new(100_000);
    p.through_all("eb", STUDY, "a");
    p.through_all("eb", "another-study", "b");
    let a = pseudonyms(&p.path("linker/a/eb.parquet"));
    let b = pseudonyms(&p.path("linker/b/eb.parquet"));
    assert_eq!(a.len(), b.len());
    assert!(
        a.is_disjoint(&b),
        "one person's pseudonyms of two studies match"
    );
}

#[test]
fn the_pseudonyms_rest_on_the_key_holders_secret() {
    // What a source holds (its extract, its signing key, both public keys)
    // does not determine a pseudonym: the same extract through another key
    // holder opens to other pseudonyms for every person, so no function of
    // the source's files and keys alone gives the pseudonym of a number.
    let p = Parties::new(100_000);
    p.through_all("eb", STUDY, "a");
    p.ok(&["key", "new-keyholder", "--out", "other.key"]);
    // Another key holder, with its own configuration and log.
    fs::create_dir(p.path("other-kh")).unwrap();
    for f in [
        "keyholder.toml",
        "linker.key.pub",
        "eb.key.pub",
        "af.key.pub",
        "lisa.key.pub",
    ] {
        fs::copy(
            p.path(&format!("keyholder/{f}")),
            p.path(&format!("other-kh/{f}")),
        )
        .unwrap();
    }
    let crosswalk = example!().join("raw/crosswalk.csv");
    p.encrypt_as(
        "eb",
        ("eb", STUDY),
        ("sources/eb.key", "other.key.pub"),
        "o-eb",
        &["--crosswalk", crosswalk.to_str().unwrap(), "--derive"],
    )
    .success();
    p.ok(&[
        "keyholder",
        "transcrypt",
        "sources/o-eb.batch",
        "--key",
        "other.key",
        "--config",
        "other-kh/keyholder.toml",
        "--out",
        "keyholder/o-eb.out",
    ]);
    p.ok(&[
        "linker",
        "open",
        "--rows",
        "sources/o-eb.rows.parquet",
        "--batch",
        "keyholder/o-eb.out",
        "--key",
        "linker/linker.key",
        "--keyholder-public",
        "other.key.pub",
        "--out",
        "linker/other-eb.parquet",
    ]);
    let a = pseudonyms(&p.path("linker/a/eb.parquet"));
    let other = pseudonyms(&p.path("linker/other-eb.parquet"));
    assert_eq!(a.len(), other.len());
    assert!(a.is_disjoint(&other));
    // The linker refuses an output under another key holder's public key,
    // and a rows file of another batch.
    let run = p.run(&[
        "linker",
        "open",
        "--rows",
        "sources/o-eb.rows.parquet",
        "--batch",
        "keyholder/o-eb.out",
        "--key",
        "linker/linker.key",
        "--keyholder-public",
        "keyholder/keyholder.key.pub",
        "--out",
        "linker/refused.parquet",
    ]);
    assert!(
        run.failure()
            .stderr
            .contains("not signed by the key holder")
    );
    let run = p.run(&[
        "linker",
        "open",
        "--rows",
        "sources/a-eb.rows.parquet",
        "--batch",
        "keyholder/o-eb.out",
        "--key",
        "linker/linker.key",
        "--keyholder-public",
        "other.key.pub",
        "--out",
        "linker/refused.parquet",
    ]);
    let run = run.failure();
    assert!(
        run.stderr.contains("not the rows file of batch"),
        "{}",
        run.stderr
    );
    assert!(!p.path("linker/refused.parquet").exists());
}

/// The key holder's folder's files and their bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn refused_batches_write_nothing() {
    let p = Parties::new(300);
    // One accepted batch, so there is a log to keep unchanged.
    p.encrypt("eb", STUDY, "a").success();
    p.transcrypt("sources/a-eb.batch", "keyholder/a-eb.out")
        .success();
    let before = snapshot(&p.path("keyholder"));

    // Over quota: EB's second batch for the same study (2 × its persons > 300).
    p.encrypt("eb", STUDY, "again").success();
    let run = p
        .transcrypt("sources/again-eb.batch", "keyholder/x.out")
        .failure();
    assert!(
        run.stderr.contains("exceed its quota of 300"),
        "{}",
        run.stderr
    );

    // A bad signature: AF's batch, its signature's last byte changed.
    p.encrypt("af", STUDY, "a").success();
    let mut bytes = fs::read(p.path("sources/a-af.batch")).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    fs::write(p.path("sources/bad-af.batch"), bytes).unwrap();
    let refused = |batch: &str, expect: &str| {
        let run = p.transcrypt(batch, "keyholder/x.out").failure();
        assert!(run.stderr.contains(expect), "{expect}: {}", run.stderr);
    };
    refused(
        "sources/bad-af.batch",
        "signature is not that of source \"af\"",
    );

    // A source signing as another (LISA's key, claiming to be AF), and a
    // batch encrypted to another key holder, which this one cannot open.
    p.ok(&["key", "new-keyholder", "--out", "other.key"]);
    let encrypt = |sign: &str, keyholder: &str, out: &str| {
        p.encrypt_as("af", ("af", STUDY), (sign, keyholder), out, &[])
            .success();
    };
    encrypt("sources/lisa.key", "keyholder/keyholder.key.pub", "fake");
    refused(
        "sources/fake.batch",
        "signature is not that of source \"af\"",
    );
    encrypt("sources/af.key", "other.key.pub", "other");
    refused("sources/other.batch", "encrypted to key holder");

    // An unknown study.
    p.encrypt("af", "no-such-study", "u").success();
    refused(
        "sources/u-af.batch",
        "study \"no-such-study\" is not in the configuration",
    );

    // Not a batch at all.
    fs::write(
        p.path("sources/junk.batch"),
        b"reglink-transcrypt-batch-v1\n{}\n",
    )
    .unwrap();
    refused("sources/junk.batch", "junk.batch: header");

    assert_eq!(
        snapshot(&p.path("keyholder")),
        before,
        "a refusal wrote or changed a file"
    );
    // The accepted one is still within quota, and the linker's step works.
    p.open("a", "eb", "linker/eb.parquet").success();
}

#[test]
fn the_log_shows_an_edited_removed_or_cut_entry() {
    let p = Parties::new(100_000);
    for (name, _) in EXTRACTS {
        p.encrypt(name, STUDY, "a").success();
        p.transcrypt(
            &format!("sources/a-{name}.batch"),
            &format!("keyholder/a-{name}.out"),
        )
        .success();
    }
    let shown = p
        .ok(&[
            "keyholder",
            "log",
            "--config",
            "keyholder/keyholder.toml",
            "--public-key",
            "keyholder/keyholder.key.pub",
        ])
        .stdout;
    assert!(
        shown.contains("3 entries, unbroken, every entry signed by rh-"),
        "{shown}"
    );
    let head = shown.rsplit("head ").next().unwrap().trim().to_string();
    p.ok(&[
        "keyholder",
        "log",
        "--config",
        "keyholder/keyholder.toml",
        "--head",
        &head,
    ]);

    let log = p.path("keyholder/keyholder.log");
    let original = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let check = |text: String, expect: &str| {
        fs::write(&log, text).unwrap();
        let run = p
            .run(&[
                "keyholder",
                "log",
                "--config",
                "keyholder/keyholder.toml",
                "--head",
                &head,
            ])
            .failure();
        assert!(run.stderr.contains(expect), "{expect}: {}", run.stderr);
    };
    // Edited: the second entry's person count.
    let persons = lines[1]
        .split("\"persons\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let edited = lines[1].replace(&format!("\"persons\":{persons},"), "\"persons\":1,");
    assert_ne!(edited, lines[1]);
    check(
        format!("{}\n{edited}\n{}\n", lines[0], lines[2]),
        "line 2: its hash does not match",
    );
    // Removed: the second entry.
    check(
        format!("{}\n{}\n", lines[0], lines[2]),
        "line 2: it does not follow",
    );
    // Cut short: the last entry, noticed through the head noted earlier.
    check(
        format!("{}\n{}\n", lines[0], lines[1]),
        "entries were removed or added",
    );
    // Rewritten whole, every hash recomputed: the signatures give it away.
    let rewritten = rewrite_chain(&lines, persons);
    fs::write(&log, &rewritten).unwrap();
    p.ok(&["keyholder", "log", "--config", "keyholder/keyholder.toml"]);
    let run = p
        .run(&[
            "keyholder",
            "log",
            "--config",
            "keyholder/keyholder.toml",
            "--public-key",
            "keyholder/keyholder.key.pub",
        ])
        .failure();
    assert!(
        run.stderr
            .contains("line 2: its signature is not the key holder's"),
        "{}",
        run.stderr
    );
    // The key holder checks the signatures itself before it works.
    p.encrypt("eb", STUDY, "c").success();
    let run = p
        .transcrypt("sources/c-eb.batch", "keyholder/c-eb.out")
        .failure();
    assert!(
        run.stderr.contains("its signature is not the key holder's"),
        "{}",
        run.stderr
    );
    // A removed entry's quota does not come back unnoticed: the key holder
    // refuses to work on a broken log.
    check(format!("{}\n{}\n", lines[0], lines[2]), "does not follow");
    p.encrypt("eb", STUDY, "b").success();
    let run = p
        .transcrypt("sources/b-eb.batch", "keyholder/b-eb.out")
        .failure();
    assert!(run.stderr.contains("it does not follow"), "{}", run.stderr);
}

#[test]
fn key_id_names_each_role_key_and_its_public_half_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (command, file, prefix) in [
        ("new-keyholder", "kh.key", "rh-"),
        ("new-linker", "l.key", "rl-"),
        ("new-signing", "s.key", "rs-"),
    ] {
        let made = reglink!(d, &["key", command, "--out", file])
            .success()
            .stdout;
        let printed = made
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint: "))
            .unwrap()
            .to_string();
        assert!(printed.starts_with(prefix), "{made}");
        for f in [file.to_string(), format!("{file}.pub")] {
            let id = reglink!(d, &["key", "id", &f]).success().stdout;
            assert_eq!(id.trim(), printed, "{f}");
        }
    }
}

/// The log's lines with the second entry's `persons` set to 1 and every
/// hash recomputed as reglink computes them, signatures kept: what someone
/// who can write the log but has not the key holder's key can make.
fn rewrite_chain(lines: &[&str], persons: &str) -> String {
    let field = |line: &str, name: &str| -> String {
        let key = format!("\"{name}\":\"");
        line.split(&key)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let mut rewritten = String::new();
    let mut prev = "genesis".to_string();
    for (i, line) in lines.iter().enumerate() {
        // The entry as reglink serialises it, with its values changed in place.
        let (hash, signature) = (field(line, "hash"), field(line, "signature"));
        let mut e = line
            .replace(&format!("\"hash\":\"{hash}\""), "\"hash\":\"\"")
            .replace(
                &format!("\"signature\":\"{signature}\""),
                "\"signature\":\"\"",
            )
            .replace(
                &format!("\"prev\":\"{}\"", field(line, "prev")),
                &format!("\"prev\":\"{prev}\""),
            );
        if i == 1 {
            e = e.replace(&format!("\"persons\":{persons},"), "\"persons\":1,");
        }
        let new_hash = reglink_extract::fingerprint_bytes(e.as_bytes()).to_string();
        let e = e
            .replace("\"hash\":\"\"", &format!("\"hash\":\"{new_hash}\""))
            .replace(
                "\"signature\":\"\"",
                &format!("\"signature\":\"{signature}\""),
            );
        rewritten.push_str(&e);
        rewritten.push('\n');
        prev = new_hash;
    }
    rewritten
}

#[test]
fn each_role_prints_one_json_object_with_its_counts() {
    let p = Parties::new(100_000);
    let json = |run: Run| -> serde_json::Value {
        let run = run.success();
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not one JSON value ({e}): {}", run.stdout))
    };
    let source = json(p.encrypt_as(
        "eb",
        ("eb", STUDY),
        ("sources/eb.key", "keyholder/keyholder.key.pub"),
        "j",
        &["--json"],
    ));
    let rows_in = source["rows_in"].as_u64().unwrap();
    assert_eq!(
        rows_in,
        source["rows_written"].as_u64().unwrap() + source["rows_rejected"].as_u64().unwrap()
    );
    let persons = source["persons"].as_u64().unwrap();
    assert!(persons > 100 && persons < rows_in, "{source}");
    let keyholder = json(p.run(&[
        "keyholder",
        "transcrypt",
        "sources/j.batch",
        "--key",
        "keyholder/keyholder.key",
        "--config",
        "keyholder/keyholder.toml",
        "--out",
        "keyholder/j.out",
        "--json",
    ]));
    assert_eq!(keyholder["persons"].as_u64(), Some(persons));
    assert_eq!(keyholder["used"].as_u64(), Some(persons));
    assert_eq!(keyholder["log_seq"].as_u64(), Some(1));
    let linker = json(p.run(&[
        "linker",
        "open",
        "--rows",
        "sources/j.rows.parquet",
        "--batch",
        "keyholder/j.out",
        "--key",
        "linker/linker.key",
        "--keyholder-public",
        "keyholder/keyholder.key.pub",
        "--out",
        "linker/j.parquet",
        "--json",
    ]));
    assert_eq!(linker["persons"].as_u64(), Some(persons));
    assert_eq!(linker["rows"], source["rows_written"]);
    assert!(linker["key_id"].as_str().unwrap().starts_with("tp-"));
}
