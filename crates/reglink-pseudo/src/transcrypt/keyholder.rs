//! The key holder: its configuration (which studies, which sources, what
//! quotas), its tamper-evident log, and the transcrypt step.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use reglink_extract::{AtomicFile, ExtractError};
use reglink_keys::signing::PublicKey;
use serde::{Deserialize, Serialize};

use super::TranscryptError;
use super::batch::{self, Batch, Header, Kind};
use super::group::{self, CIPHERTEXT_LEN, Rekeyer};
use super::keys::{KeyHolderKey, LinkerPublicKey};
use crate::kdf;

/// The key holder's configuration file (TOML), as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    log: PathBuf,
    #[serde(default)]
    study: Vec<StudyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    name: String,
    linker: PathBuf,
    #[serde(default)]
    source: Vec<SourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    name: String,
    public_key: PathBuf,
    quota: u64,
}

/// What the key holder serves: studies, their linker and their sources.
#[derive(Debug)]
pub struct KeyHolderConfig {
    /// The configuration file.
    pub path: PathBuf,
    /// The log (relative paths are relative to the configuration file).
    pub log: PathBuf,
    /// The studies.
    pub studies: Vec<Study>,
}

/// One study the key holder serves.
#[derive(Debug)]
pub struct Study {
    /// Its name, as sources and the linker use it.
    pub name: String,
    /// The linker's public key.
    pub linker: LinkerPublicKey,
    /// The sources allowed to submit batches.
    pub sources: Vec<Source>,
}

/// A source allowed to submit batches for a study.
#[derive(Debug)]
pub struct Source {
    /// Its name.
    pub name: String,
    /// Its public signing key.
    pub key: PublicKey,
    /// How many persons it may submit for the study in all (its declared
    /// extract size plus a margin): the cap on how many numbers it could
    /// try through the key holder.
    pub quota: u64,
}

impl KeyHolderConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<KeyHolderConfig, TranscryptError> {
        let bad = |message: String| TranscryptError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|source| TranscryptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut studies: Vec<Study> = Vec::new();
        for s in file.study {
            if s.name.trim().is_empty() {
                return Err(bad("a study has an empty name".into()));
            }
            if studies.iter().any(|t| t.name == s.name) {
                return Err(bad(format!("study `{}` is listed twice", s.name)));
            }
            let linker = LinkerPublicKey::load(&dir.join(&s.linker))?;
            let mut sources: Vec<Source> = Vec::new();
            for src in s.source {
                if sources.iter().any(|t| t.name == src.name) {
                    return Err(bad(format!(
                        "source `{}` is listed twice in study `{}`",
                        src.name, s.name
                    )));
                }
                if src.quota == 0 {
                    return Err(bad(format!(
                        "source `{}` of study `{}`: quota must be at least 1",
                        src.name, s.name
                    )));
                }
                let key = PublicKey::load(&dir.join(&src.public_key))?;
                sources.push(Source {
                    name: src.name,
                    key,
                    quota: src.quota,
                });
            }
            studies.push(Study {
                name: s.name,
                linker,
                sources,
            });
        }
        Ok(KeyHolderConfig {
            path: path.to_path_buf(),
            log: dir.join(file.log),
            studies,
        })
    }
}

/// One line of the key holder's log: one accepted batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// When (UTC).
    pub time: String,
    /// The study.
    pub study: String,
    /// The source's name in the configuration.
    pub source: String,
    /// Fingerprint of the source's signing key.
    pub signer: String,
    /// Persons in the batch.
    pub persons: u64,
    /// BLAKE3 fingerprint of the source's batch file.
    pub batch: String,
    /// BLAKE3 fingerprint of the key holder's output.
    pub output: String,
    /// The previous entry's `hash` (`genesis` for the first).
    pub prev: String,
    /// BLAKE3 of this entry's JSON with `hash` and `signature` empty.
    pub hash: String,
    /// The key holder's ed25519 signature over `hash` (hex), so that nobody
    /// without its key can rewrite the chain after an edit.
    pub signature: String,
}

const GENESIS: &str = "genesis";
const LOG_CONTEXT: &[u8] = b"reglink key holder log entry v1\n";

impl LogEntry {
    fn computed_hash(&self) -> String {
        let mut e = self.clone();
        e.hash = String::new();
        e.signature = String::new();
        let json = serde_json::to_string(&e).expect("an entry serialises");
        reglink_extract::fingerprint_bytes(json.as_bytes()).to_string()
    }

    fn signed_by(&self, key: &PublicKey) -> bool {
        super::unhex::<64>(&self.signature)
            .is_some_and(|sig| key.verify_with_context(LOG_CONTEXT, self.hash.as_bytes(), &sig))
    }
}

/// Reads the log (absent: empty) and checks its chain and, given the key
/// holder's public signing key, every entry's signature. An edited entry, a
/// removed or reordered one, a bad signature or a line that is not an entry
/// is an error naming the line.
pub fn read_log(path: &Path, signer: Option<&PublicKey>) -> Result<Vec<LogEntry>, TranscryptError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(TranscryptError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let bad = |line: usize, problem: String| TranscryptError::Log {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut entries: Vec<LogEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let entry: LogEntry =
            serde_json::from_str(line).map_err(|e| bad(n, format!("not a log entry: {e}")))?;
        if entry.hash != entry.computed_hash() {
            return Err(bad(
                n,
                "its hash does not match its contents: the entry was edited".into(),
            ));
        }
        if signer.is_some_and(|key| !entry.signed_by(key)) {
            return Err(bad(n, "its signature is not the key holder's".into()));
        }
        let prev = entries.last().map_or(GENESIS, |e| e.hash.as_str());
        if entry.prev != prev || entry.seq != entries.len() as u64 + 1 {
            return Err(bad(
                n,
                "it does not follow the entry before it: an entry was removed, added or reordered"
                    .into(),
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// What [`transcrypt`] did.
#[derive(Debug, Clone, Serialize)]
pub struct TranscryptReport {
    /// The study.
    pub study: String,
    /// The source's name.
    pub source: String,
    /// Persons transcrypted.
    pub persons: u64,
    /// Persons the source has submitted for the study so far, this batch included.
    pub used: u64,
    /// Its quota.
    pub quota: u64,
    /// The log entry written (`seq`).
    pub log_seq: u64,
    /// The output file.
    pub output: String,
}

/// Checks a source's batch and, if it passes, writes the rekeyed batch for
/// the linker and appends the log entry.
///
/// Refused (nothing written): a file that is not a batch, a study or source
/// the configuration does not name, a signature that is not the source's, a
/// batch encrypted to another linker or key holder, a batch that would take
/// the source over its quota, a broken log, invalid ciphertexts.
///
/// The log is locked from reading to writing (`LOG.lock` beside it), so two
/// runs cannot both spend the same quota; the entry is written before the
/// output, so a failure in between spends quota without an output, never
/// the other way round.
pub fn transcrypt(
    input: &Path,
    output: &Path,
    key: &KeyHolderKey,
    config: &KeyHolderConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TranscryptReport, TranscryptError> {
    reglink_extract::check_new_file(
        output,
        false,
        &[("the source's batch".to_string(), input.to_path_buf())],
    )?;
    let batch = Batch::read(input)?;
    let (study, source) = check(&batch, key, config)?;
    let h = &batch.header;
    let mut lock_path = config.log.clone().into_os_string();
    lock_path.push(".lock");
    let _lock = reglink_extract::exclusive_lock(Path::new(&lock_path))?;
    let signing = key.signing();
    let log = read_log(&config.log, Some(&signing.public()))?;
    let before = log
        .iter()
        .filter(|e| e.study == study.name && e.source == source.name)
        .try_fold(0u64, |sum, e| sum.checked_add(e.persons));
    let used = before.and_then(|b| b.checked_add(h.persons));
    let (Some(before), Some(used)) = (before, used) else {
        return Err(refuse(input, "the log's counts overflow".into()));
    };
    if used > source.quota {
        return Err(refuse(
            input,
            format!(
                "source {:?} has submitted {before} persons for study {:?}; {} more would exceed its quota of {}",
                source.name, study.name, h.persons, source.quota
            ),
        ));
    }

    let linker_fp = study.linker.fingerprint();
    let rekeyer = Rekeyer::new(
        &key.study_scalar(&study.name, &linker_fp),
        &key.elgamal_secret(),
        &study.linker.point(),
    );
    let source_batch = reglink_extract::fingerprint_file(input)?
        .as_str()
        .to_string();
    let seq = log.len() as u64 + 1;
    let prev = log
        .last()
        .map_or_else(|| GENESIS.to_string(), |e| e.hash.clone());
    let header = Header {
        kind: Kind::Transcrypted,
        study: study.name.clone(),
        source: source.name.clone(),
        signer: signing.public().fingerprint().to_string(),
        linker: h.linker.clone(),
        keyholder: h.keyholder.clone(),
        batch_id: h.batch_id.clone(),
        persons: h.persons,
        rows: h.rows.clone(),
        study_commitment: Some(super::hex(&key.study_commitment(&study.name, &linker_fp))),
        source_batch: Some(source_batch.clone()),
        source_signer: Some(h.signer.clone()),
        log_seq: Some(seq),
        log_prev: Some(prev.clone()),
    };
    // The output is built in place: its first line and header, then each
    // rekeyed ciphertext straight into its slot, then the signature.
    let mut bytes = batch::prefix(&header);
    let at = bytes.len();
    bytes.resize(at + batch.ciphertexts().len(), 0);
    let invalid = rekey_into(&batch, &rekeyer, &mut bytes[at..], progress)?;
    if invalid > 0 {
        return Err(refuse(
            input,
            format!("{invalid} of its ciphertexts are not valid, non-identity group elements"),
        ));
    }
    drop(batch);
    batch::sign(&mut bytes, &signing);
    let mut entry = LogEntry {
        seq,
        time: super::utc_now(),
        study: study.name.clone(),
        source: source.name.clone(),
        signer: header.source_signer.clone().unwrap_or_default(),
        persons: header.persons,
        batch: source_batch,
        output: reglink_extract::fingerprint_bytes(&bytes).to_string(),
        prev,
        hash: String::new(),
        signature: String::new(),
    };
    entry.hash = entry.computed_hash();
    entry.signature = super::hex(&signing.sign_with_context(LOG_CONTEXT, entry.hash.as_bytes()));
    append_and_write(output, &bytes, &config.log, &entry)?;
    Ok(TranscryptReport {
        study: study.name.clone(),
        source: source.name.clone(),
        persons: header.persons,
        used,
        quota: source.quota,
        log_seq: seq,
        output: output.display().to_string(),
    })
}

fn refuse(input: &Path, reason: String) -> TranscryptError {
    TranscryptError::Refused {
        path: input.to_path_buf(),
        reason,
    }
}

/// The batch's study and source, if the configuration lists them and the
/// batch is theirs: signed by the source, encrypted to this key holder and
/// the study's linker. Names from the (not yet trusted) header are quoted
/// with escapes.
fn check<'c>(
    batch: &Batch,
    key: &KeyHolderKey,
    config: &'c KeyHolderConfig,
) -> Result<(&'c Study, &'c Source), TranscryptError> {
    let input = &batch.path;
    let h = &batch.header;
    if h.kind != Kind::Encrypted {
        return Err(refuse(input, "it is not a source's batch".into()));
    }
    let study = config
        .studies
        .iter()
        .find(|s| s.name == h.study)
        .ok_or_else(|| {
            refuse(
                input,
                format!("study {:?} is not in the configuration", h.study),
            )
        })?;
    let source = study
        .sources
        .iter()
        .find(|s| s.name == h.source)
        .ok_or_else(|| {
            refuse(
                input,
                format!(
                    "source {:?} is not allowed to submit for study {:?}",
                    h.source, h.study
                ),
            )
        })?;
    if !batch.signed_by(&source.key) {
        return Err(refuse(
            input,
            format!(
                "the signature is not that of source {:?} ({})",
                source.name,
                source.key.fingerprint()
            ),
        ));
    }
    if h.linker != study.linker.fingerprint() {
        return Err(refuse(
            input,
            format!(
                "it is encrypted to linker {:?}, but study {:?} has linker {}",
                h.linker,
                study.name,
                study.linker.fingerprint()
            ),
        ));
    }
    let mine = key.public().fingerprint();
    if h.keyholder != mine {
        return Err(refuse(
            input,
            format!(
                "it is encrypted to key holder {:?}, not to this one ({mine})",
                h.keyholder
            ),
        ));
    }
    Ok((study, source))
}

/// Every ciphertext of `batch` rekeyed and rerandomised into `out`, in
/// parallel; the count of those that were not valid.
fn rekey_into(
    batch: &Batch,
    rekeyer: &Rekeyer,
    out: &mut [u8],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, TranscryptError> {
    const CHUNK: usize = 1024;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice()).map_err(|e| TranscryptError::Random(e.to_string()))?;
    let done = std::sync::atomic::AtomicU64::new(0);
    let invalid = out
        .par_chunks_mut(CIPHERTEXT_LEN * CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut bad = 0u64;
            for (j, slot) in chunk.chunks_mut(CIPHERTEXT_LEN).enumerate() {
                let i = c * CHUNK + j;
                let r = group::scalar(&zeroize::Zeroizing::new(kdf::nonce(&seed, i as u64)));
                match rekeyer.rekey(batch.ciphertext(i), &r) {
                    Some(ct) => slot.copy_from_slice(&ct),
                    None => bad += 1,
                }
            }
            let n = (chunk.len() / CIPHERTEXT_LEN) as u64;
            progress(done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n);
            bad
        })
        .sum::<u64>();
    Ok(invalid)
}

/// Writes the output and the log with the new entry appended: both or neither.
fn append_and_write(
    output: &Path,
    bytes: &[u8],
    log: &Path,
    entry: &LogEntry,
) -> Result<(), TranscryptError> {
    let mut log_text = match std::fs::read(log) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(TranscryptError::Io {
                path: log.to_path_buf(),
                source,
            });
        }
    };
    log_text.extend_from_slice(serde_json::to_string(entry).expect("serialises").as_bytes());
    log_text.push(b'\n');
    let write = |target: &Path, bytes: &[u8]| -> Result<AtomicFile, TranscryptError> {
        let mut f = AtomicFile::create(target)?;
        f.write_all(bytes).map_err(|source| ExtractError::Output {
            path: target.to_path_buf(),
            source,
        })?;
        Ok(f)
    };
    let (log_file, out_file) = (write(log, &log_text)?, write(output, bytes)?);
    // The log first: should the output then fail, quota is spent with no
    // output, never an output made without its entry.
    log_file.commit()?;
    out_file.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, text: &str) -> Result<KeyHolderConfig, TranscryptError> {
        let public = super::super::keys::LinkerKey::from_bytes([1; 32])
            .public()
            .to_line();
        std::fs::write(dir.join("linker.pub"), public).unwrap();
        let signing = reglink_keys::signing::SigningKey::from_seed([2; 32])
            .public()
            .to_line();
        std::fs::write(dir.join("src.pub"), signing).unwrap();
        std::fs::write(dir.join("kh.toml"), text).unwrap();
        KeyHolderConfig::load(&dir.join("kh.toml"))
    }

    const STUDY: &str = "[[study]]\nname = \"s\"\nlinker = \"linker.pub\"\n";
    const SOURCE: &str = "[[study.source]]\nname = \"eb\"\npublic_key = \"src.pub\"\nquota = 10\n";

    #[test]
    fn a_configuration_that_makes_no_sense_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ok = config(d, &format!("log = \"log\"\n{STUDY}{SOURCE}")).unwrap();
        assert_eq!(ok.studies[0].sources[0].quota, 10);
        assert_eq!(ok.log, d.join("log"));
        let err = |text: String| config(d, &text).unwrap_err().to_string();
        let e = err(format!(
            "log = \"log\"\n{STUDY}{}",
            SOURCE.replace("quota = 10", "qouta = 10")
        ));
        assert!(e.contains("line 8") && e.contains("qouta"), "{e}");
        let e = err(format!(
            "log = \"log\"\n{STUDY}{}",
            SOURCE.replace("10", "0")
        ));
        assert!(e.contains("quota must be at least 1"), "{e}");
        let e = err(format!("log = \"log\"\n{STUDY}{SOURCE}{SOURCE}"));
        assert!(e.contains("listed twice"), "{e}");
        let e = err(format!("log = \"log\"\n{STUDY}{STUDY}"));
        assert!(e.contains("study `s` is listed twice"), "{e}");
        let e = err(format!(
            "log = \"log\"\n{}",
            STUDY.replace("linker.pub", "src.pub")
        ));
        assert!(
            e.contains("src.pub") && e.contains("linker's public key"),
            "{e}"
        );
    }
}
