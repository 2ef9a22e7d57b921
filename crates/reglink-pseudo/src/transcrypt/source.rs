//! The source's step: the extract's rows for the linker, its persons
//! encrypted for the key holder.
//!
//! The rows go through the same pipeline as `pseudonymise` (parsing,
//! rejects, crosswalk, `--derive`), but the pseudonym column holds a
//! throw-away *token*: keyed BLAKE3 under 256 random bits that exist only in
//! this process's memory. Meanwhile every distinct person's number is kept
//! (in memory, never written) beside its token. Then, for each distinct
//! person, in token order, the source encrypts the person's point to the
//! linker and writes the signed batch. The linker later replaces each token
//! by the person's pseudonym; the source never learns one.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use rayon::prelude::*;
use reglink_extract::{AtomicFile, ExtractError, pseudonymised};
use reglink_keys::signing::SigningKey;
use reglink_pnr::Pnr;
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

use super::TranscryptError;
use super::batch::{self, Header, Kind};
use super::group::{self, CIPHERTEXT_LEN, Encryptor};
use super::keys::{KeyHolderPublicKey, LinkerPublicKey};
use crate::pipeline::{PseudonymiseOptions, pseudonymise_with};
use crate::pseudonym::Keyer;
use crate::{Crosswalk, Keyed, PSEUDONYM_LEN, Pseudonym, PseudonymiseReport, kdf};

const SHARDS: usize = 64;

/// Who the source is and where its batch goes.
#[derive(Debug)]
pub struct SourceOptions<'a> {
    /// The source's name, as the key holder's configuration lists it.
    pub source: &'a str,
    /// The study.
    pub study: &'a str,
    /// The linker's public key, from the linker (compare its fingerprint).
    pub linker: &'a LinkerPublicKey,
    /// The key holder's public key, from the key holder (compare its fingerprint).
    pub keyholder: &'a KeyHolderPublicKey,
    /// The source's signing key, whose public half the key holder has.
    pub signer: &'a SigningKey,
    /// Where the batch for the key holder goes.
    pub batch: PathBuf,
}

/// What [`encrypt`] did.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// The rows' accounting, as `pseudonymise` reports it.
    pub rows: PseudonymiseReport,
    /// Distinct persons in the batch.
    pub persons: u64,
    /// The batch file.
    pub batch: String,
    /// Its fingerprint.
    pub batch_fingerprint: String,
    /// The linker's fingerprint the persons are encrypted to.
    pub linker: String,
}

/// The pipeline's key for the source: tokens, and the persons behind them.
struct Collector {
    token_key: Zeroizing<[u8; 32]>,
    shards: Vec<Mutex<HashMap<u128, [u8; 12]>>>,
    key_id: String,
    study: String,
}

impl Keyer for Collector {
    fn keyed(&self, pnr: &Pnr) -> Keyed {
        let h = Zeroizing::new(kdf::identifier_hash(&self.token_key, pnr.normalised()));
        let mut token = [0u8; PSEUDONYM_LEN];
        token.copy_from_slice(&h[..PSEUDONYM_LEN]);
        let shard = &self.shards[h[PSEUDONYM_LEN] as usize % SHARDS];
        shard
            .lock()
            .expect("no panic while holding the lock")
            .insert(u128::from_le_bytes(token), *pnr.normalised());
        Keyed {
            pseudonym: Pseudonym(token),
            record_key: 0,
        }
    }
    fn scheme(&self) -> &str {
        pseudonymised::SOURCE_ROWS_SCHEME
    }
    fn key_id(&self) -> String {
        self.key_id.clone()
    }
    fn study(&self) -> &str {
        &self.study
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        for shard in &self.shards {
            if let Ok(mut map) = shard.lock() {
                for v in map.values_mut() {
                    v.zeroize();
                }
            }
        }
    }
}

/// Runs the source's step: `opts.output` gets the rows (for the linker),
/// `source.batch` the signed batch (for the key holder), and the reject
/// report goes beside the rows as `pseudonymise` writes it.
pub fn encrypt(
    opts: &PseudonymiseOptions,
    source: &SourceOptions<'_>,
    crosswalk: Option<&Crosswalk>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SourceReport, TranscryptError> {
    if source.study.trim().is_empty() {
        return Err(crate::PseudoError::EmptyStudyName.into());
    }
    let inputs = [("the extract".to_string(), opts.input.clone())];
    reglink_extract::check_new_file(&source.batch, false, &inputs)?;
    if source.batch == opts.output {
        return Err(TranscryptError::Usage(
            "the rows and the batch must go to different files".into(),
        ));
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| TranscryptError::Random(e.to_string()))?;
    let batch_id = super::hex(&id);
    let mut token_key = Zeroizing::new([0u8; 32]);
    getrandom::fill(token_key.as_mut_slice())
        .map_err(|e| TranscryptError::Random(e.to_string()))?;
    let collector = Collector {
        token_key,
        shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        key_id: format!("{}{batch_id}", pseudonymised::SOURCE_BATCH_PREFIX),
        study: source.study.to_string(),
    };
    let rows = pseudonymise_with(opts, &collector, crosswalk, progress)?;

    // Every distinct person, in token order: an order that says nothing.
    let mut persons: Vec<(u128, [u8; 12])> = Vec::new();
    for shard in &collector.shards {
        let mut map = shard.lock().expect("no panic while holding the lock");
        persons.extend(map.drain());
    }
    drop(collector);
    persons.par_sort_unstable_by_key(|(token, _)| *token);
    // To the joint key: neither the linker nor the key holder alone can open it.
    let encryptor = Encryptor::new(&(source.linker.point() + source.keyholder.point()));
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice()).map_err(|e| TranscryptError::Random(e.to_string()))?;
    let count = persons.len() as u64;
    let header = Header {
        kind: Kind::Encrypted,
        study: source.study.to_string(),
        source: source.source.to_string(),
        signer: source.signer.public().fingerprint().to_string(),
        linker: source.linker.fingerprint(),
        keyholder: source.keyholder.fingerprint(),
        batch_id,
        rows: rows.output_fingerprint.clone(),
        persons: count,
        study_commitment: None,
        source_batch: None,
        source_signer: None,
        log_seq: None,
        log_prev: None,
    };
    // The batch is built in place: first line and header, each ciphertext
    // straight into its slot, then the signature.
    let mut bytes = batch::prefix(&header);
    let at = bytes.len();
    bytes.resize(at + persons.len() * CIPHERTEXT_LEN, 0);
    bytes[at..]
        .par_chunks_mut(CIPHERTEXT_LEN)
        .zip(persons.par_iter())
        .enumerate()
        .for_each(|(i, (slot, (_, normalised)))| {
            let b = Zeroizing::new(group::scalar(&Zeroizing::new(kdf::nonce(&seed, i as u64))));
            slot.copy_from_slice(&encryptor.encrypt(&group::person_point(normalised), &b));
        });
    for (_, n) in &mut persons {
        n.zeroize();
    }
    drop(persons);
    batch::sign(&mut bytes, source.signer);
    let mut f = AtomicFile::create(&source.batch)?;
    f.write_all(&bytes).map_err(|e| ExtractError::Output {
        path: source.batch.clone(),
        source: e,
    })?;
    f.commit()?;
    Ok(SourceReport {
        rows,
        persons: count,
        batch: source.batch.display().to_string(),
        batch_fingerprint: reglink_extract::fingerprint_bytes(&bytes).to_string(),
        linker: source.linker.fingerprint(),
    })
}
