//! The release ledger: what every release published, kept so that the next
//! one can be checked against all of them.
//!
//! ```text
//! LEDGER/
//!   000001/
//!     entry.json        sequence number, the previous entry's hash, the study,
//!                       its inputs and key ids, the policy, the tables with
//!                       their populations, and the hash of the bundle's manifest
//!     entry.json.sig    with a signing key: its signature over entry.json
//!     bundle/           a copy of the published bundle (tables, descriptions,
//!                       summary, manifest and its signature)
//!   000002/
//!   ...
//! ```
//!
//! An entry holds only what its release published: aggregates, flags and
//! descriptions, never a row, a pseudonym or a hidden value. Each entry
//! names the hash of the one before it, so changing, removing or
//! reordering an earlier entry breaks every later link; the hash of the
//! last entry (the *head*, which `reglink ledger show` prints) pins the
//! whole ledger, so an auditor who keeps the head also notices when the
//! newest entries are cut off. Entries are added, never changed: a new
//! entry is staged beside the ledger and moved into place whole, under a
//! lock that keeps two runs from appending at once.

use std::path::{Path, PathBuf};

use reglink_keys::signing::{PublicKey, Signature, SigningKey};
use serde_json::{Value, json};

use crate::ReleaseError;
use crate::bundle::{self, Signed};

/// An entry's own description.
pub const ENTRY: &str = "entry.json";
/// Its signature, with a signing key.
pub const ENTRY_SIGNATURE: &str = "entry.json.sig";
/// The copy of the bundle in an entry.
pub const BUNDLE: &str = "bundle";
/// What `output` says in an entry.
const KIND: &str = "reglink ledger entry";
/// Held while a run appends.
const LOCK: &str = ".lock";

fn ledger_error(path: &Path, message: impl Into<String>) -> ReleaseError {
    ReleaseError::Ledger {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |e| ledger_error(path, e.to_string())
}

/// The name of entry `seq`.
fn entry_name(seq: usize) -> String {
    format!("{seq:06}")
}

/// One entry, as read.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1, 2, ...
    pub seq: usize,
    /// Its folder.
    pub dir: PathBuf,
    /// `entry.json`.
    pub description: Value,
    /// The hash of `entry.json` (`blake3:…`), which the next entry names.
    pub hash: String,
    /// Signed, and by whom.
    pub signed: Signed,
}

impl Entry {
    /// The copy of the release bundle.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join(BUNDLE)
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Every entry, in order.
    pub entries: Vec<Entry>,
    /// What is wrong; empty when the ledger holds.
    pub problems: Vec<String>,
}

impl Verified {
    /// The hash of the last entry, if any.
    pub fn head(&self) -> Option<&str> {
        self.entries.last().map(|e| e.hash.as_str())
    }
}

fn hash(path: &Path) -> Result<String, ReleaseError> {
    Ok(reglink_extract::fingerprint_file(path)?
        .as_str()
        .to_string())
}

/// Reads and checks the ledger in `dir`: entries numbered from 1 without a
/// gap, each naming the hash of the one before, each bundle copy matching
/// its manifest (and the entry's record of it), and with `public` every
/// entry's and bundle's signature. With `head`, the last entry must have
/// that hash.
pub fn verify(
    dir: &Path,
    public: Option<&PublicKey>,
    head: Option<&str>,
) -> Result<Verified, ReleaseError> {
    let mut names: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        // The lock, and what a stopped run left half written (hidden).
        if name.starts_with('.') {
            continue;
        }
        if name.len() == 6 && name.bytes().all(|b| b.is_ascii_digit()) && e.path().is_dir() {
            names.push(name);
        } else {
            problems.push(format!("{name}: not a ledger entry"));
        }
    }
    names.sort();
    let mut entries: Vec<Entry> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let seq = i + 1;
        if *name != entry_name(seq) {
            problems.push(format!("{name}: expected entry {}", entry_name(seq)));
            break;
        }
        let entry_dir = dir.join(name);
        let path = entry_dir.join(ENTRY);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let description: Value = serde_json::from_str(&text)
            .map_err(|e| ledger_error(&path, format!("not a ledger entry: {e}")))?;
        if description["output"] != KIND || description["seq"] != seq {
            problems.push(format!(
                "{name}/{ENTRY}: not entry {seq} of a reglink ledger"
            ));
        }
        let previous = entries.last().map(|e: &Entry| Value::from(e.hash.clone()));
        if description["previous"] != previous.clone().unwrap_or(Value::Null) {
            problems.push(format!(
                "{name}/{ENTRY}: names {} as the entry before it, but that entry's hash is {}",
                description["previous"],
                previous.unwrap_or(Value::Null)
            ));
        }
        let bundle_dir = entry_dir.join(BUNDLE);
        let manifest = bundle_dir.join(bundle::MANIFEST);
        if !manifest.is_file() || description["bundle_manifest"] != hash(&manifest)? {
            problems.push(format!(
                "{name}/{BUNDLE}: its manifest is not the one the entry records"
            ));
        }
        let checked = bundle::verify(&bundle_dir, public).map_err(Box::new);
        match checked {
            Ok(v) => problems.extend(v.problems.iter().map(|p| format!("{name}/{BUNDLE}: {p}"))),
            Err(e) => problems.push(format!("{name}/{BUNDLE}: {e}")),
        }
        let signed = entry_signature(&entry_dir, (&text, &description), public, &mut problems);
        entries.push(Entry {
            seq,
            hash: hash(&path)?,
            dir: entry_dir,
            description,
            signed,
        });
    }
    if let Some(head) = head {
        let last = entries.last().map(|e| e.hash.as_str());
        if last != Some(head) {
            problems.push(format!(
                "the last entry's hash is {}, not the head given ({head}): the ledger was changed or cut short",
                last.unwrap_or("none (the ledger is empty)")
            ));
        }
    }
    Ok(Verified { entries, problems })
}

/// The signature of an entry; problems for a missing, wrong or invalid one.
fn entry_signature(
    dir: &Path,
    (text, description): (&str, &Value),
    public: Option<&PublicKey>,
    problems: &mut Vec<String>,
) -> Signed {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let named = description["signing_key"].as_str();
    let Ok(sig_text) = std::fs::read_to_string(dir.join(ENTRY_SIGNATURE)) else {
        if let Some(key) = named {
            problems.push(format!(
                "{name}/{ENTRY_SIGNATURE}: missing, though the entry says {key} signed it"
            ));
        } else if public.is_some() {
            problems.push(format!(
                "{name}: unsigned, so it cannot be shown to come from the key given"
            ));
        }
        return Signed::No;
    };
    let Some(signature) = Signature::parse(&sig_text) else {
        problems.push(format!("{name}/{ENTRY_SIGNATURE}: not a reglink signature"));
        return Signed::Invalid;
    };
    if named != Some(signature.signer.as_str()) {
        problems.push(format!(
            "{name}/{ENTRY_SIGNATURE}: signed by {}, but the entry names {}",
            signature.signer,
            named.unwrap_or("no key")
        ));
        return Signed::Invalid;
    }
    let Some(public) = public else {
        return Signed::Unchecked(signature.signer);
    };
    if signature.signer != public.fingerprint().to_string()
        || !public.verify(text.as_bytes(), &signature)
    {
        problems.push(format!(
            "{name}/{ENTRY_SIGNATURE}: not a valid signature by {}",
            public.fingerprint()
        ));
        return Signed::Invalid;
    }
    Signed::Valid(signature.signer)
}

/// Holds the ledger's lock (a folder: creating one is atomic) while a run
/// appends.
struct Lock(PathBuf);

impl Lock {
    fn take(dir: &Path) -> Result<Lock, ReleaseError> {
        let path = dir.join(LOCK);
        std::fs::create_dir(&path).map_err(|e| {
            ledger_error(
                dir,
                format!("cannot take the lock ({e}): another run is appending, or one stopped; remove {LOCK} if none is running"),
            )
        })?;
        Ok(Lock(path))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Copies every regular file below `from` into `to`, each written whole.
fn copy_tree(from: &Path, to: &Path) -> Result<(), ReleaseError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for e in std::fs::read_dir(from).map_err(io(from))? {
        let e = e.map_err(io(from))?;
        let kind = e.file_type().map_err(io(from))?;
        let target = to.join(e.file_name());
        if kind.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else if kind.is_file() {
            let bytes = std::fs::read(e.path()).map_err(io(&e.path()))?;
            reglink_extract::write_atomic(&target, &bytes)?;
        }
    }
    Ok(())
}

/// An entry's folder, as an output of `reglink run --ledger`.
const ENTRY_OUTPUT: reglink_extract::OutputKind = reglink_extract::OutputKind {
    command: "reglink run --ledger",
    output: KIND,
    manifest: ENTRY,
};

/// Appends the release in `bundle_dir` to the ledger in `dir` (created if
/// missing), signed with `sign` if given. The ledger must verify first: a
/// broken ledger is never extended. Returns the new entry's number and
/// hash.
pub fn append(
    dir: &Path,
    bundle_dir: &Path,
    sign: Option<&SigningKey>,
) -> Result<(usize, String), ReleaseError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = Lock::take(dir)?;
    let verified = verify(dir, sign.map(SigningKey::public).as_ref(), None)?;
    if !verified.problems.is_empty() {
        return Err(ledger_error(
            dir,
            format!(
                "the ledger does not verify, so nothing is added: {}",
                verified.problems.join("; ")
            ),
        ));
    }
    let seq = verified.entries.len() + 1;
    let manifest_path = bundle_dir.join(bundle::MANIFEST);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?)
            .map_err(|e| ledger_error(&manifest_path, e.to_string()))?;
    let mut populations: Vec<Value> = Vec::new();
    for t in manifest["tables"].as_array().into_iter().flatten() {
        let name = t.as_str().unwrap_or_default();
        let path = bundle_dir.join("tables").join(format!("{name}.json"));
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(&path).map_err(io(&path))?)
            .map_err(|e| ledger_error(&path, e.to_string()))?;
        populations.push(json!({ "table": name, "population": meta["population"] }));
    }
    let mut description = json!({
        "output": KIND,
        "seq": seq,
        "previous": verified.head(),
        "tool": manifest["tool"],
        "study": manifest["study"],
        "study_file_blake3": manifest["study_file_blake3"],
        "inputs": manifest["inputs"],
        "policy": manifest["policy"],
        "tables": populations,
        "bundle_manifest": hash(&manifest_path)?,
    });
    if let Some(key) = sign {
        description["signing_key"] = json!(key.public().fingerprint().to_string());
    }
    let target = dir.join(entry_name(seq));
    let staged = reglink_extract::StagedDir::create(&target, &ENTRY_OUTPUT, &[])?;
    copy_tree(bundle_dir, &staged.path().join(BUNDLE))?;
    let mut text = serde_json::to_string_pretty(&description).expect("JSON");
    text.push('\n');
    reglink_extract::write_atomic(staged.path().join(ENTRY), text.as_bytes())?;
    if let Some(key) = sign {
        let signature = key.sign_manifest(text.as_bytes());
        reglink_extract::write_atomic(
            staged.path().join(ENTRY_SIGNATURE),
            signature.to_text().as_bytes(),
        )?;
    }
    staged.commit()?;
    Ok((seq, hash(&target.join(ENTRY))?))
}

/// A cell's identity across the tables of a population: the `(dimension,
/// code)` pairs of its dimensions not at the total, sorted. Cells of two
/// tables with the same identity count the same people.
type Identity = Vec<(String, String)>;

/// Per population (its name and definition), the identities of the counts
/// of persons that an earlier release hid, from the bundle copies in the
/// ledger.
/// The strictest threshold among the earlier releases of `dir` with the
/// same `inputs` (the releases the audit relates to a new one), with the
/// number of the release that set it; `None` without such a release.
pub fn strictest_threshold(
    dir: &Path,
    inputs: &Value,
) -> Result<Option<(u64, usize)>, ReleaseError> {
    if !dir.exists() {
        return Ok(None);
    }
    let verified = verify(dir, None, None)?;
    Ok(verified
        .entries
        .iter()
        .filter(|e| e.description["inputs"] == *inputs)
        .filter_map(|e| Some((e.description["policy"]["threshold"].as_u64()?, e.seq)))
        .max_by_key(|&(t, seq)| (t, std::cmp::Reverse(seq))))
}

fn hidden_earlier(
    entries: &[Entry],
    inputs: &Value,
) -> Result<std::collections::HashMap<String, std::collections::HashSet<Identity>>, ReleaseError> {
    let mut hidden: std::collections::HashMap<String, std::collections::HashSet<Identity>> =
        std::collections::HashMap::new();
    for e in entries
        .iter()
        .filter(|e| e.description["inputs"] == *inputs)
    {
        let bundle = e.bundle();
        for t in e.description["tables"].as_array().into_iter().flatten() {
            let (Some(name), Some(population)) = (t["table"].as_str(), t["population"].as_str())
            else {
                continue;
            };
            let meta_path = bundle.join("tables").join(format!("{name}.json"));
            let meta: Value =
                serde_json::from_str(&std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?)
                    .map_err(|err| ledger_error(&meta_path, err.to_string()))?;
            let total = meta["total_code"].as_str().unwrap_or("_T");
            let dims: Vec<String> = meta["dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["name"].as_str().map(String::from))
                .collect();
            let csv_path = bundle.join("tables").join(format!("{name}.csv"));
            let mut reader = csv::Reader::from_path(&csv_path)
                .map_err(|err| ledger_error(&csv_path, err.to_string()))?;
            let header: Vec<String> = reader
                .headers()
                .map_err(|err| ledger_error(&csv_path, err.to_string()))?
                .iter()
                .map(String::from)
                .collect();
            let at = |name: &str| header.iter().position(|h| h == name);
            let (Some(persons), Some(dim_at)) = (
                at("persons"),
                dims.iter().map(|d| at(d)).collect::<Option<Vec<usize>>>(),
            ) else {
                continue;
            };
            // The same name under another definition is another population.
            let key = format!("{population} {}", meta["population_definition"]);
            let set = hidden.entry(key).or_default();
            for record in reader.records() {
                let record = record.map_err(|err| ledger_error(&csv_path, err.to_string()))?;
                if record.get(persons) != Some("..") {
                    continue;
                }
                let mut identity: Identity = dims
                    .iter()
                    .zip(&dim_at)
                    .map(|(d, &i)| (d.clone(), record.get(i).unwrap_or_default().to_string()))
                    .filter(|(_, code)| code != total)
                    .collect();
                identity.sort();
                set.insert(identity);
            }
        }
    }
    Ok(hidden)
}

/// Per table and cell, whether an earlier release in the ledger in `dir`
/// that counts the same people (the same `inputs`, hashes and key ids
/// alike) hid the cell's count of persons: those stay hidden in the new
/// release. An empty answer when the ledger does not exist yet.
pub fn carried(
    dir: &Path,
    tables: &[reglink_tabulate::CellTable],
    inputs: &Value,
) -> Result<Vec<Vec<bool>>, ReleaseError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let verified = verify(dir, None, None)?;
    if !verified.problems.is_empty() {
        return Err(ledger_error(
            dir,
            format!(
                "the ledger does not verify: {}",
                verified.problems.join("; ")
            ),
        ));
    }
    let hidden = hidden_earlier(&verified.entries, inputs)?;
    Ok(tables
        .iter()
        .map(|t| {
            let key = format!("{} {}", t.population, t.definition);
            let Some(set) = hidden.get(&key) else {
                return vec![false; t.shape.cells()];
            };
            (0..t.shape.cells())
                .map(|c| {
                    let mut identity: Identity = t
                        .dimensions
                        .iter()
                        .enumerate()
                        .map(|(d, dim)| {
                            let (code, _) = dim.position(t.shape.position(c, d));
                            (dim.name.clone(), code.to_string())
                        })
                        .filter(|(_, code)| code != reglink_tabulate::TOTAL)
                        .collect();
                    identity.sort();
                    set.contains(&identity)
                })
                .collect()
        })
        .collect())
}
