//! The linker's step: open the key holder's batch and turn the source's rows
//! into a pseudonymised file that `reglink link` reads as it reads any.
//!
//! For each distinct person, in the batch's order (the order of the rows'
//! tokens): decrypt to the study point `k·P`, and hash it under the
//! linker's study hash key into pseudonym and record key, laid out as
//! `pseudonymise` lays out its own. Then every row's token is replaced by its
//! person's pseudonym.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch, UInt32Array};
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use reglink_extract::{AtomicFile, ExtractError, HashingWriter, pseudonymised};
use serde::Serialize;
use zeroize::Zeroizing;

use super::TranscryptError;
use super::batch::{Batch, Kind};
use super::group;
use super::keys::{KeyHolderPublicKey, LinkerKey};
use crate::{PSEUDONYM_LEN, kdf};

/// What [`open`] did.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    /// The study.
    pub study: String,
    /// The source, as the key holder's output names it.
    pub source: String,
    /// The id every file of this study's three-party pseudonyms carries.
    pub key_id: String,
    /// Rows written.
    pub rows: u64,
    /// Distinct persons.
    pub persons: u64,
    /// The pseudonymised file.
    pub output: String,
    /// Its fingerprint.
    pub output_fingerprint: String,
}

/// The key id of a study's three-party pseudonyms: `tp-` and 16 hex digits
/// of the hash of the key holder's study commitment, the linker's
/// fingerprint and the study. Files of one study share it, whatever their
/// source; `reglink link` refuses to link files whose ids differ.
pub fn key_id(commitment_hex: &str, linker: &str, study: &str) -> String {
    // Length-prefixed, so that no two triples give the same text.
    let text = [commitment_hex, linker, study]
        .iter()
        .map(|part| format!("{}:{part}", part.len()))
        .collect::<Vec<_>>()
        .join("\n");
    format!("tp-{}", &super::fingerprint_text(&text)[..16])
}

fn rows_error(path: &Path, problem: String) -> TranscryptError {
    TranscryptError::Mismatch {
        path: path.to_path_buf(),
        problem,
    }
}

/// Checks the key holder's batch against the linker, the key holder and the
/// source's rows file, then writes the pseudonymised file.
pub fn open(
    rows: &Path,
    transcrypted: &Path,
    output: &Path,
    key: &LinkerKey,
    keyholder: &KeyHolderPublicKey,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<OpenReport, TranscryptError> {
    let inputs = [
        ("the rows".to_string(), rows.to_path_buf()),
        ("the batch".to_string(), transcrypted.to_path_buf()),
    ];
    reglink_extract::check_new_file(output, false, &inputs)?;
    let batch = Batch::read(transcrypted)?;
    let h = &batch.header;
    let refuse = |reason: String| TranscryptError::Refused {
        path: transcrypted.to_path_buf(),
        reason,
    };
    if h.kind != Kind::Transcrypted {
        return Err(refuse(
            "it is a source's batch, not the key holder's output".into(),
        ));
    }
    if !batch.signed_by(&keyholder.signing) || h.keyholder != keyholder.fingerprint() {
        return Err(refuse(format!(
            "it is not signed by the key holder {}",
            keyholder.fingerprint()
        )));
    }
    let linker = key.public().fingerprint();
    if h.linker != linker {
        return Err(refuse(format!(
            "it is encrypted to linker {:?}, not to this key ({linker})",
            h.linker
        )));
    }
    let commitment = h
        .study_commitment
        .clone()
        .ok_or_else(|| refuse("its header has no study commitment".into()))?;

    let (schema, layout, tokens) = read_rows(rows, transcrypted, h)?;

    // Decrypt and hash, in parallel.
    let y = key.elgamal_secret();
    let hash_key = key.hash_key(&h.study);
    // The i-th person's pseudonym and record key, beside the sorted tokens:
    // 36 bytes a person, looked up by binary search.
    let mut opened = vec![([0u8; PSEUDONYM_LEN], 0u32); tokens.len()];
    let invalid = opened
        .par_iter_mut()
        .enumerate()
        .map(|(i, slot)| {
            let Some(point) = group::decrypt(&y, batch.ciphertext(i)) else {
                return 1usize;
            };
            let out = Zeroizing::new(kdf::point_hash(&hash_key, &point));
            slot.0.copy_from_slice(&out[..PSEUDONYM_LEN]);
            slot.1 = u32::from_le_bytes([out[16], out[17], out[18], out[19]]);
            0
        })
        .sum::<usize>();
    if invalid > 0 {
        return Err(refuse(
            "some of its ciphertexts are not valid group elements".into(),
        ));
    }
    let map = Opened { tokens, opened };
    let header = batch.header.clone();
    let h = &header;
    drop(batch);

    let key_id = key_id(&commitment, &linker, &h.study);
    let (rows_out, fingerprint) = rewrite(rows, output, &schema, &layout, &map, &key_id, progress)?;
    Ok(OpenReport {
        study: h.study.clone(),
        source: h.source.clone(),
        key_id,
        rows: rows_out,
        persons: map.tokens.len() as u64,
        output: output.display().to_string(),
        output_fingerprint: fingerprint,
    })
}

/// The rows file's schema, layout and distinct tokens (sorted: the batch's
/// order), if it is a source's rows file of this batch, exactly as the source
/// signed its fingerprint.
fn read_rows(
    rows: &Path,
    transcrypted: &Path,
    h: &super::batch::Header,
) -> Result<(Arc<Schema>, pseudonymised::Layout, Vec<u128>), TranscryptError> {
    let rows_fingerprint = reglink_extract::fingerprint_file(rows)?;
    if rows_fingerprint.as_str() != h.rows {
        return Err(rows_error(
            rows,
            format!(
                "it is not the rows file of batch {} (its fingerprint differs from the one the source signed)",
                transcrypted.display()
            ),
        ));
    }
    let builder = open_rows(rows)?;
    let parquet_err = |e: parquet::errors::ParquetError| {
        rows_error(rows, format!("cannot read it as Parquet: {e}"))
    };
    let schema = builder.schema().clone();
    let meta = schema.metadata();
    if meta
        .get(pseudonymised::PSEUDONYM_SCHEME_KEY)
        .map(String::as_str)
        != Some(pseudonymised::SOURCE_ROWS_SCHEME)
    {
        return Err(rows_error(
            rows,
            "it is not a source's rows file (`reglink source encrypt`)".into(),
        ));
    }
    let expected_id = format!("{}{}", pseudonymised::SOURCE_BATCH_PREFIX, h.batch_id);
    if meta.get(pseudonymised::KEY_ID_KEY) != Some(&expected_id) {
        return Err(rows_error(
            rows,
            format!("it does not belong to batch {}", transcrypted.display()),
        ));
    }
    if meta.get(pseudonymised::STUDY_KEY) != Some(&h.study) {
        return Err(rows_error(rows, format!("its study is not `{}`", h.study)));
    }
    // The columns as a pseudonymised file has them (`check` itself refuses
    // a source's rows, which is what this step turns them into).
    let mut plain = meta.clone();
    plain.remove(pseudonymised::PSEUDONYM_SCHEME_KEY);
    let layout = pseudonymised::check(
        rows,
        &Schema::new_with_metadata(schema.fields().clone(), plain),
    )?;

    // Distinct tokens, sorted: the batch's order.
    let mask = ProjectionMask::roots(builder.parquet_schema(), [layout.pseudonym]);
    let mut tokens: Vec<u128> = Vec::new();
    for b in builder.with_projection(mask).build().map_err(parquet_err)? {
        let b = b.map_err(|e| rows_error(rows, format!("cannot read it: {e}")))?;
        let col = b.column(0).as_fixed_size_binary();
        tokens.extend(col.iter().flatten().map(token));
    }
    tokens.par_sort_unstable();
    tokens.dedup();
    if tokens.len() as u64 != h.persons {
        return Err(rows_error(
            rows,
            format!("it holds {} persons, the batch {}", tokens.len(), h.persons),
        ));
    }

    Ok((schema, layout, tokens))
}

/// Pseudonyms and record keys by token.
struct Opened {
    /// Sorted, distinct.
    tokens: Vec<u128>,
    /// Beside them.
    opened: Vec<([u8; PSEUDONYM_LEN], u32)>,
}

impl Opened {
    fn get(&self, token: u128) -> Option<&([u8; PSEUDONYM_LEN], u32)> {
        let i = self.tokens.binary_search(&token).ok()?;
        Some(&self.opened[i])
    }
}

/// A reader of the rows file; errors name it.
fn open_rows(rows: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TranscryptError> {
    let file = File::open(rows).map_err(|source| TranscryptError::Io {
        path: rows.to_path_buf(),
        source,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| rows_error(rows, format!("cannot read it as Parquet: {e}")))
}

fn token(bytes: &[u8]) -> u128 {
    let mut t = [0u8; PSEUDONYM_LEN];
    t.copy_from_slice(bytes);
    u128::from_le_bytes(t)
}

fn rewrite(
    rows: &Path,
    output: &Path,
    schema: &Arc<Schema>,
    layout: &pseudonymised::Layout,
    map: &Opened,
    key_id: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, String), TranscryptError> {
    let mut metadata = schema.metadata().clone();
    metadata.insert(
        pseudonymised::PSEUDONYM_SCHEME_KEY.to_string(),
        pseudonymised::THREE_PARTY_SCHEME.to_string(),
    );
    metadata.insert(pseudonymised::KEY_ID_KEY.to_string(), key_id.to_string());
    let out_schema = Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata));
    let reader = open_rows(rows)?
        .build()
        .map_err(|e| rows_error(rows, format!("cannot read it as Parquet: {e}")))?;
    let out_err = |e: parquet::errors::ParquetError| {
        TranscryptError::Extract(ExtractError::Output {
            path: output.to_path_buf(),
            source: std::io::Error::other(e),
        })
    };
    let mut writer = ArrowWriter::try_new(
        HashingWriter::new(AtomicFile::create(output)?),
        out_schema.clone(),
        Some(crate::pipeline::writer_properties()),
    )
    .map_err(out_err)?;
    let mut n = 0u64;
    for b in reader {
        let b = b.map_err(|e| rows_error(rows, format!("cannot read it: {e}")))?;
        let tokens = b.column(layout.pseudonym).as_fixed_size_binary();
        let mut pseudonyms = Vec::with_capacity(b.num_rows() * PSEUDONYM_LEN);
        let mut record_keys = Vec::with_capacity(b.num_rows());
        for i in 0..tokens.len() {
            let (p, r) = map
                .get(token(tokens.value(i)))
                .ok_or_else(|| rows_error(rows, "a row's person is not in the batch".into()))?;
            pseudonyms.extend_from_slice(p);
            record_keys.push(*r);
        }
        let mut columns: Vec<ArrayRef> = b.columns().to_vec();
        columns[layout.pseudonym] = Arc::new(
            FixedSizeBinaryArray::try_new(PSEUDONYM_LEN as i32, pseudonyms.into(), None)
                .expect("16 bytes per row"),
        );
        columns[layout.record_key] = Arc::new(UInt32Array::from(record_keys));
        let batch = RecordBatch::try_new(out_schema.clone(), columns).expect("same schema");
        writer.write(&batch).map_err(out_err)?;
        n += batch.num_rows() as u64;
        progress(n);
    }
    let hashing = writer.into_inner().map_err(out_err)?;
    let (file, fingerprint, _) = hashing.finish();
    file.commit()?;
    Ok((n, fingerprint.as_str().to_string()))
}
