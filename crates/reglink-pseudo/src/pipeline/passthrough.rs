//! The fast path for Parquet extracts: only the id column is decoded.
//!
//! ```text
//!  read thread            this thread (rayon)                       write thread
//!  ───────────            ───────────────────                       ────────────
//!  row group bytes ──► decode id column, parse, keyed hash ──► per output column:
//!  (one pread)          per column, in parallel:                  append the chunk
//!                        no row rejected → copy the chunk bytes
//!                        rows rejected   → drop them page by page (pages.rs)
//!                        pseudonym, record key, derived → encode
//! ```
//!
//! Every other column keeps its encoded pages: a chunk of a row group without
//! rejected rows is copied byte for byte together with its page index (a chunk
//! without an offset index is rewritten instead, since readers reject files
//! where only some chunks have one), and a chunk with rejected rows is
//! rewritten page by page without decoding a value (`pages.rs`); what the
//! page filter does not handle is decoded and encoded again. The output has
//! the input's row groups (less the rejected rows) and the same logical
//! content as the general pipeline produces; `tests.rs` checks the two
//! against each other.
//!
//! Which files qualify is decided by [`Plan::new`]; every other file takes
//! the general path. Memory is bounded by about four row groups in flight
//! (one handed over by the read thread, one processed, one queued for and one
//! in the writer), so row groups above [`MAX_GROUP_ROWS`], [`MAX_GROUP_BYTES`]
//! or [`MAX_GROUP_DECODED`] take the general path, which streams in batches.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, mpsc};

use arrow_array::{Array, ArrayRef, BooleanArray, Int8Array, Int32Array};
use arrow_schema::{Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowWriterOptions, compute_leaves,
};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter, ProjectionMask};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, PageIndexPolicy};
use parquet::file::reader::{ChunkReader, Length};
use parquet::schema::types::{SchemaDescriptor, Type};
use rayon::prelude::*;
use reglink_extract::{AtomicFile, ExtractError, HashingWriter};
use reglink_pnr::Pnr;

use super::pages::{self, Filtered};
use super::{CHUNK, Done, PSEUDONYM_LEN, Parsed, PseudonymiseOptions, parse_ids};
use crate::pseudonym::Keyer;
use crate::report::RejectTally;
use crate::{Crosswalk, PseudoError};

/// Row groups with more rows than this take the general path.
pub(crate) const MAX_GROUP_ROWS: i64 = 1 << 22;
/// Row groups with more compressed bytes than this take the general path.
pub(crate) const MAX_GROUP_BYTES: u64 = 512 << 20;
/// Row groups whose pages hold more than this uncompressed take the general
/// path (a chunk the page filter cannot take is decoded whole).
pub(crate) const MAX_GROUP_DECODED: u64 = 1 << 30;

/// A Parquet extract the fast path can take.
pub(crate) struct Plan {
    file: File,
    len: u64,
    metadata: ArrowReaderMetadata,
}

impl Plan {
    /// Opens `path` and decides whether the fast path applies. `None` means:
    /// use the general path, which either handles the file or reports what
    /// is wrong with it. The fast path needs
    ///
    /// - a flat schema: every column a top-level primitive, at most nullable;
    /// - column types that Arrow writes back in the same physical type, so
    ///   that a chunk can be decoded and encoded again if it must (INT96
    ///   timestamps and BYTE_ARRAY decimals are not);
    /// - a footer that is plausible: no negative sizes or offsets, one value
    ///   per row in every chunk, chunks inside this file and not overlapping,
    ///   so that copying a chunk's bytes copies that chunk and nothing else
    ///   (above all, never the id column's bytes);
    /// - row groups of bounded size, since a few are held in memory at once.
    pub(crate) fn new(path: &Path) -> Result<Option<Plan>, PseudoError> {
        let io = |source| ExtractError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // The page index of copied chunks is copied with them.
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let Ok(metadata) = ArrowReaderMetadata::load(&file, options) else {
            return Ok(None);
        };
        let parquet = metadata.metadata();
        let schema = parquet.file_metadata().schema_descr();
        let flat = schema.root_schema().get_fields().len() == schema.num_columns()
            && metadata.schema().fields().len() == schema.num_columns()
            && schema.columns().iter().all(|c| {
                c.max_rep_level() == 0 && c.max_def_level() <= 1 && c.path().parts().len() == 1
            });
        let same_types = flat
            && ArrowSchemaConverter::new()
                .convert(metadata.schema())
                .is_ok_and(|arrow| {
                    schema.columns().iter().zip(arrow.columns()).all(|(a, b)| {
                        a.physical_type() == b.physical_type() && a.type_length() == b.type_length()
                    })
                });
        let plan = Plan {
            file,
            len,
            metadata,
        };
        Ok((same_types && plan.footer_is_plausible()).then_some(plan))
    }

    fn footer_is_plausible(&self) -> bool {
        let mut ranges = Vec::new();
        for group in self.metadata.metadata().row_groups() {
            let rows = group.num_rows();
            if !(0..=MAX_GROUP_ROWS).contains(&rows) {
                return false;
            }
            let mut compressed = 0u64;
            let mut uncompressed = 0u64;
            for c in group.columns() {
                let sane = c.file_path().is_none()
                    && c.num_values() == rows
                    && c.data_page_offset() >= 0
                    && c.compressed_size() >= 0
                    && c.uncompressed_size() >= 0
                    && c.dictionary_page_offset().is_none_or(|d| d >= 0);
                if !sane {
                    return false;
                }
                let (start, length) = c.byte_range();
                if start.saturating_add(length) > self.len {
                    return false;
                }
                ranges.push((start, start + length));
                compressed += length;
                uncompressed += c.uncompressed_size() as u64;
            }
            if compressed > MAX_GROUP_BYTES || uncompressed > MAX_GROUP_DECODED {
                return false;
            }
        }
        ranges.sort_unstable();
        ranges.windows(2).all(|w| w[0].1 <= w[1].0)
    }
}

/// The byte range `(start, length)` of a row group's column chunks.
fn group_range(columns: &[ColumnChunkMetaData]) -> (u64, u64) {
    let start = columns.iter().map(|c| c.byte_range().0).min().unwrap_or(0);
    let end = columns
        .iter()
        .map(|c| c.byte_range().0 + c.byte_range().1)
        .max()
        .unwrap_or(0);
    (start, end.saturating_sub(start))
}

/// One row group's bytes, addressed by file offset.
#[derive(Clone)]
struct GroupBytes {
    base: u64,
    bytes: Bytes,
    file_len: u64,
}

impl GroupBytes {
    fn slice(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        let from = start
            .checked_sub(self.base)
            .map(|s| s as usize)
            .filter(|s| s + length <= self.bytes.len())
            .ok_or_else(|| {
                ParquetError::EOF(format!(
                    "bytes {start}..{} are outside the row group",
                    start + length as u64
                ))
            })?;
        Ok(self.bytes.slice(from..from + length))
    }
}

impl Length for GroupBytes {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for GroupBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        let rest = (self.base + self.bytes.len() as u64).saturating_sub(start) as usize;
        Ok(bytes::Buf::reader(self.slice(start, rest)?))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.slice(start, length)
    }
}

/// One output column chunk of a row group, ready to append.
enum Part {
    /// The input chunk, unchanged, read from the row group's bytes.
    Copy(Box<ColumnCloseResult>),
    /// A chunk written here: filtered page by page, or the pseudonym or
    /// record key as plain pages.
    Written(Bytes, Box<ColumnCloseResult>),
    /// A chunk encoded from Arrow.
    Encoded(Box<ArrowColumnChunk>),
}

struct Group {
    index: usize,
    bytes: GroupBytes,
    ids: ArrayRef,
}

/// Pseudonymises the extract of `plan` into `output`. `out_schema` is the
/// general pipeline's output schema; the Parquet schema keeps the input's
/// column types so that unchanged chunks can be copied.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    plan: Plan,
    opts: &PseudonymiseOptions,
    key: &dyn Keyer,
    crosswalk: Option<&Crosswalk>,
    progress: &(dyn Fn(u64) + Sync),
    id_index: usize,
    out_schema: &SchemaRef,
    output: HashingWriter<AtomicFile>,
) -> Result<Done, PseudoError> {
    let output_err = |source| PseudoError::Parquet {
        path: opts.output.clone(),
        source,
    };
    let in_descr = plan.metadata.metadata().file_metadata().schema_descr_ptr();
    let n_in = in_descr.num_columns();
    let out_descr = output_descriptor(&in_descr, out_schema, id_index, n_in).map_err(output_err)?;
    let options = ArrowWriterOptions::new()
        .with_properties(super::writer_properties())
        .with_parquet_schema(out_descr.clone());
    let (mut writer, factory) =
        ArrowWriter::try_new_with_options(output, out_schema.clone(), options)
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(output_err)?;
    let ctx = GroupContext {
        plan: &plan,
        opts,
        key,
        out_schema,
        out_descr: &out_descr,
        id_index,
        n_in,
    };

    let mut tally = RejectTally::default();
    let mut rows_out = 0u64;
    let mut remapped = 0u64;
    let mut first_row = 1u64;
    let output = std::thread::scope(|scope| -> Result<_, PseudoError> {
        let (group_tx, group_rx) = mpsc::sync_channel::<Result<Group, PseudoError>>(0);
        let (part_tx, part_rx) = mpsc::sync_channel::<(GroupBytes, Vec<Part>)>(1);
        let plan = &plan;
        std::thread::Builder::new()
            .name("pseudo-read".into())
            .spawn_scoped(scope, move || {
                for index in 0..plan.metadata.metadata().num_row_groups() {
                    // An empty row group has nothing to read or write.
                    if plan.metadata.metadata().row_group(index).num_rows() == 0 {
                        continue;
                    }
                    let group = read_group(plan, index, opts).map_err(PseudoError::from);
                    let failed = group.is_err();
                    if group_tx.send(group).is_err() || failed {
                        break;
                    }
                }
            })
            .expect("spawn the read thread");
        let encoder = std::thread::Builder::new()
            .name("pseudo-write".into())
            .spawn_scoped(scope, move || {
                for (bytes, parts) in part_rx {
                    let mut group = writer.next_row_group()?;
                    for part in parts {
                        match part {
                            Part::Copy(close) => group.append_column(&bytes, *close)?,
                            Part::Written(chunk, close) => group.append_column(&chunk, *close)?,
                            Part::Encoded(chunk) => chunk.append_to_row_group(&mut group)?,
                        }
                    }
                    group.close()?;
                }
                writer.into_inner()
            })
            .expect("spawn the write thread");

        let processing = (|| {
            let mut written = 0usize;
            for group in group_rx {
                let Group { index, bytes, ids } = group?;
                let rows = ids.len();
                let parsed = parse_ids(&ids, opts.reference_date, crosswalk);
                drop(ids);
                remapped += parsed.remapped;
                for (offset, row) in parsed.rows.iter().enumerate() {
                    if let Err(reason) = row {
                        tally.add(*reason, first_row + offset as u64);
                    }
                }
                first_row += rows as u64;
                progress(first_row - 1);
                let keep = parsed.keep();
                let kept = keep.iter().filter(|k| **k).count();
                if kept == 0 {
                    continue;
                }
                let writers = factory.create_column_writers(written).map_err(output_err)?;
                written += 1;
                let parts = ctx.process(index, &bytes, &parsed, &keep, kept, writers)?;
                rows_out += kept as u64;
                if part_tx.send((bytes, parts)).is_err() {
                    break; // the writer stopped; its error is reported below
                }
            }
            Ok::<(), PseudoError>(())
        })();
        drop(part_tx);
        let written = encoder.join().expect("Parquet writer thread panicked");
        processing?;
        written.map_err(output_err)
    })?;
    Ok(Done {
        rows_out,
        remapped,
        tally,
        output,
    })
}

/// What making a row group's output chunks needs besides the group.
struct GroupContext<'a> {
    plan: &'a Plan,
    opts: &'a PseudonymiseOptions,
    key: &'a dyn Keyer,
    out_schema: &'a SchemaRef,
    out_descr: &'a SchemaDescriptor,
    id_index: usize,
    n_in: usize,
}

impl GroupContext<'_> {
    /// The output chunks of row group `index`, in column order: the kept
    /// rows hashed while the other columns are copied, filtered or
    /// re-encoded (the two share the cores), then the added columns.
    fn process(
        &self,
        index: usize,
        bytes: &GroupBytes,
        parsed: &Parsed,
        keep: &[bool],
        kept: usize,
        writers: Vec<ArrowColumnWriter>,
    ) -> Result<Vec<Part>, PseudoError> {
        let output_err = |source| PseudoError::Parquet {
            path: self.opts.output.clone(),
            source,
        };
        let (mut added_writers, mut input_writers) = (Vec::new(), Vec::new());
        for (j, writer) in writers.into_iter().enumerate() {
            if j == self.id_index || j >= self.n_in {
                added_writers.push((j, writer));
            } else {
                input_writers.push((j, writer));
            }
        }
        let (added, parts) = rayon::join(
            || Added::new(parsed, kept, self.key, self.opts.derive_columns),
            || {
                input_writers
                    .into_par_iter()
                    .map(|(j, writer)| {
                        Ok((j, self.input_column(index, bytes, keep, kept, j, writer)?))
                    })
                    .collect::<Result<Vec<_>, PseudoError>>()
            },
        );
        let mut parts = parts?;
        let encoded = added_writers
            .into_par_iter()
            .map(|(j, writer)| {
                let plain = |data: &Bytes, width| -> Result<Part, PseudoError> {
                    let (bytes, close) =
                        pages::plain_chunk(self.out_descr.column(j), data.clone(), width)
                            .map_err(output_err)?;
                    Ok(Part::Written(bytes, Box::new(close)))
                };
                let part = if j == self.id_index {
                    plain(&added.pseudonyms, PSEUDONYM_LEN)?
                } else if j == self.n_in {
                    plain(&added.record_keys, 4)?
                } else {
                    let array = &added.derived[j - self.n_in - 1];
                    encode(writer, self.out_schema, j, array, &self.opts.output)?
                };
                Ok((j, part))
            })
            .collect::<Result<Vec<_>, PseudoError>>()?;
        parts.extend(encoded);
        parts.sort_by_key(|(j, _)| *j);
        Ok(parts.into_iter().map(|(_, part)| part).collect())
    }

    /// Input column `j` of row group `index`, less the rejected rows.
    fn input_column(
        &self,
        index: usize,
        bytes: &GroupBytes,
        keep: &[bool],
        kept: usize,
        j: usize,
        writer: ArrowColumnWriter,
    ) -> Result<Part, PseudoError> {
        let parquet = self.plan.metadata.metadata();
        let meta = parquet.row_group(index).column(j);
        let page_index = parquet.page_index_for_row_group(index);
        // A chunk is copied whole only with its offset index: readers reject a
        // file where some chunks have one and others do not.
        if kept == keep.len()
            && let Some(offsets) = page_index.offset_index(j)
        {
            return Ok(Part::Copy(Box::new(ColumnCloseResult {
                bytes_written: meta.compressed_size() as u64,
                rows_written: meta.num_values() as u64,
                metadata: meta.clone(),
                bloom_filter: None,
                column_index: page_index.column_index(j).cloned(),
                offset_index: Some(offsets.clone()),
            })));
        }
        let filtered =
            pages::filter_chunk(Arc::new(bytes.clone()), meta, keep).map_err(|source| {
                ExtractError::Parquet {
                    path: self.opts.input.clone(),
                    source,
                }
            })?;
        match filtered {
            Filtered::Chunk(b, close) => Ok(Part::Written(b, close)),
            Filtered::Unsupported => {
                let column = decode_column(self.plan, bytes, index, j, keep, self.opts)?;
                encode(writer, self.out_schema, j, &column, &self.opts.output)
            }
        }
    }
}

/// The output's Parquet schema: the input's column types, the id column
/// replaced by the pseudonym, the added columns as `ArrowWriter` would type
/// them.
fn output_descriptor(
    input: &SchemaDescriptor,
    out_schema: &SchemaRef,
    id_index: usize,
    n_in: usize,
) -> Result<SchemaDescriptor, ParquetError> {
    let converted = ArrowSchemaConverter::new().convert(out_schema)?;
    let converted = converted.root_schema().get_fields();
    let mut fields = input.root_schema().get_fields().to_vec();
    fields[id_index] = converted[id_index].clone();
    fields.extend(converted[n_in..].iter().cloned());
    let root = Type::group_type_builder(input.root_schema().name())
        .with_fields(fields)
        .build()?;
    Ok(SchemaDescriptor::new(Arc::new(root)))
}

/// Reads row group `index` with one positional read and decodes its id column.
fn read_group(
    plan: &Plan,
    index: usize,
    opts: &PseudonymiseOptions,
) -> Result<Group, ExtractError> {
    let parquet = plan.metadata.metadata();
    let (start, length) = group_range(parquet.row_group(index).columns());
    let mut buf = vec![0u8; length as usize];
    plan.file
        .read_exact_at(&mut buf, start)
        .map_err(|source| ExtractError::Io {
            path: opts.input.clone(),
            source,
        })?;
    let bytes = GroupBytes {
        base: start,
        bytes: Bytes::from(buf),
        file_len: plan.len,
    };
    let id_index = plan
        .metadata
        .schema()
        .index_of(&opts.id_column)
        .expect("the id column was found when the extract was opened");
    let ids = read_column(plan, &bytes, index, id_index).map_err(|source| ExtractError::Arrow {
        path: opts.input.clone(),
        source,
    })?;
    Ok(Group { index, bytes, ids })
}

/// Decodes column `column` of row group `index` into one Arrow array.
fn read_column(
    plan: &Plan,
    bytes: &GroupBytes,
    index: usize,
    column: usize,
) -> Result<ArrayRef, arrow_schema::ArrowError> {
    let parquet = plan.metadata.metadata();
    let rows = parquet.row_group(index).num_rows() as usize;
    let mask = ProjectionMask::leaves(parquet.file_metadata().schema_descr(), [column]);
    let reader =
        ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), plan.metadata.clone())
            .with_row_groups(vec![index])
            .with_projection(mask)
            .with_batch_size(rows.max(1))
            .build()?;
    let mut arrays = Vec::with_capacity(1);
    for batch in reader {
        arrays.push(batch?.column(0).clone());
    }
    match arrays.len() {
        0 => Ok(arrow_array::new_empty_array(
            plan.metadata.schema().field(column).data_type(),
        )),
        1 => Ok(arrays.pop().expect("one array")),
        _ => {
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            arrow_select::concat::concat(&refs)
        }
    }
}

/// The general way for a chunk the page filter does not handle: decode the
/// column, drop the rejected rows, encode.
fn decode_column(
    plan: &Plan,
    bytes: &GroupBytes,
    index: usize,
    column: usize,
    keep: &[bool],
    opts: &PseudonymiseOptions,
) -> Result<ArrayRef, PseudoError> {
    let arrow_err = |source| ExtractError::Arrow {
        path: opts.input.clone(),
        source,
    };
    let array = read_column(plan, bytes, index, column).map_err(arrow_err)?;
    let keep = BooleanArray::from(keep.to_vec());
    Ok(arrow_select::filter::filter(&array, &keep).map_err(arrow_err)?)
}

/// The added columns of the kept rows.
struct Added {
    /// Pseudonyms, back to back.
    pseudonyms: Bytes,
    /// Record keys, little-endian `u32`s back to back.
    record_keys: Bytes,
    /// Birth year, birth month and sex, when asked for.
    derived: Vec<ArrayRef>,
}

impl Added {
    /// Hashes the kept rows straight into the output buffers.
    fn new(parsed: &Parsed, kept: usize, key: &dyn Keyer, derive: bool) -> Added {
        let pnrs: Vec<Pnr> = parsed
            .rows
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        debug_assert_eq!(pnrs.len(), kept);
        let mut pseudonyms = vec![0u8; kept * PSEUDONYM_LEN];
        let mut record_keys = vec![0u8; kept * 4];
        pseudonyms
            .par_chunks_mut(CHUNK * PSEUDONYM_LEN)
            .zip(record_keys.par_chunks_mut(CHUNK * 4))
            .zip(pnrs.par_chunks(CHUNK))
            .for_each(|((p, r), pnrs)| {
                for ((p, r), pnr) in p
                    .chunks_exact_mut(PSEUDONYM_LEN)
                    .zip(r.chunks_exact_mut(4))
                    .zip(pnrs)
                {
                    let keyed = key.keyed(pnr);
                    p.copy_from_slice(&keyed.pseudonym.to_bytes());
                    r.copy_from_slice(&keyed.record_key.to_le_bytes());
                }
            });
        let derived: Vec<ArrayRef> = if derive {
            let births: Vec<_> = pnrs.iter().map(Pnr::birth_date).collect();
            vec![
                Arc::new(Int32Array::from_iter_values(
                    births.iter().map(|b| b.year()),
                )),
                Arc::new(Int8Array::from_iter_values(
                    births.iter().map(|b| b.month() as i8),
                )),
                Arc::new(Int8Array::from_iter_values(
                    pnrs.iter().map(|p| super::sex_code(p.sex())),
                )),
            ]
        } else {
            Vec::new()
        };
        Added {
            pseudonyms: Bytes::from(pseudonyms),
            record_keys: Bytes::from(record_keys),
            derived,
        }
    }
}

/// Encodes one column chunk from Arrow with the writer for output column `j`.
fn encode(
    mut writer: ArrowColumnWriter,
    schema: &Schema,
    j: usize,
    array: &ArrayRef,
    output: &Path,
) -> Result<Part, PseudoError> {
    let chunk = (|| {
        for leaf in compute_leaves(schema.field(j), array)? {
            writer.write(&leaf)?;
        }
        writer.close()
    })();
    chunk
        .map(|c| Part::Encoded(Box::new(c)))
        .map_err(|source| PseudoError::Parquet {
            path: output.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests;
