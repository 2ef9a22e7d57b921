//! Dropping rows from an encoded Parquet column chunk without decoding its
//! values.
//!
//! A chunk of a flat column is a run of pages; each data page holds the
//! definition levels (one per row, when the column is nullable) and the
//! non-null values, either PLAIN or as dictionary indices. Dropping rows
//! needs only the levels and the boundaries of the values: PLAIN values are
//! copied by their byte ranges and dictionary indices are re-packed against
//! the chunk's unchanged dictionary (spliced a word at a time when every row
//! has a value, see [`rle::splice`]). No value is ever materialised, hashed or
//! compared, which is what makes this far cheaper than decoding into Arrow
//! and encoding again.
//!
//! Anything else (BOOLEAN's bit-packed PLAIN, the DELTA and BYTE_STREAM_SPLIT
//! encodings, codecs other than Snappy) is reported as [`Filtered::Unsupported`]
//! and the caller decodes that chunk instead.

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageReader, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};

use super::rle;

/// The result of [`filter_chunk`].
#[derive(Debug)]
pub(crate) enum Filtered {
    /// The rewritten chunk; offsets in its metadata count from the start of
    /// the bytes.
    Chunk(Bytes, Box<ColumnCloseResult>),
    /// The chunk uses something this filter does not handle: a nested
    /// column, a codec other than Snappy, or a value encoding other than
    /// PLAIN (of a type other than BOOLEAN) and the dictionary encodings.
    Unsupported,
}

/// How PLAIN values are laid out.
#[derive(Debug, Clone, Copy)]
enum Plain {
    Fixed(usize),
    LengthPrefixed,
}

/// Rewrites the column chunk `meta` of a flat column (no repetition, at most
/// one definition level), keeping the rows where `keep` is true. `keep` has
/// one entry per row of the row group.
pub(crate) fn filter_chunk<R: ChunkReader + 'static>(
    reader: Arc<R>,
    meta: &ColumnChunkMetaData,
    keep: &[bool],
) -> Result<Filtered, ParquetError> {
    let descr = meta.column_descr();
    if descr.max_rep_level() != 0 || descr.max_def_level() > 1 {
        return Ok(Filtered::Unsupported);
    }
    let nullable = descr.max_def_level() == 1;
    let codec = meta.compression();
    if !matches!(codec, Compression::UNCOMPRESSED | Compression::SNAPPY) {
        return Ok(Filtered::Unsupported);
    }
    let plain = match descr.physical_type() {
        PhysicalType::INT32 | PhysicalType::FLOAT => Some(Plain::Fixed(4)),
        PhysicalType::INT64 | PhysicalType::DOUBLE => Some(Plain::Fixed(8)),
        PhysicalType::INT96 => Some(Plain::Fixed(12)),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            usize::try_from(descr.type_length()).ok().map(Plain::Fixed)
        }
        PhysicalType::BYTE_ARRAY => Some(Plain::LengthPrefixed),
        PhysicalType::BOOLEAN => None,
    };

    let mut pages = SerializedPageReader::new(reader, meta, keep.len(), None)?;
    let mut sink = TrackedWrite::new(Vec::new());
    let mut writer = SerializedPageWriter::new(&mut sink);
    let mut scratch = Scratch::default();
    let mut chunk = ChunkTotals::default();
    let mut row = 0usize;

    while let Some(page) = pages.get_next_page()? {
        match page {
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                is_sorted,
            } => {
                let uncompressed = buf.len();
                let page = Page::DictionaryPage {
                    buf: compress(codec, &buf)?,
                    num_values,
                    encoding,
                    is_sorted,
                };
                let spec = writer.write_page(CompressedPage::new(page, uncompressed))?;
                chunk.dictionary_offset.get_or_insert(spec.offset as i64);
                chunk.add(&spec, encoding);
            }
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                statistics: _,
            } => {
                let rows = num_values as usize;
                let keep = page_rows(keep, row, rows)?;
                row += rows;
                let (defs_len, levels) = if nullable {
                    if def_level_encoding != Encoding::RLE {
                        return Ok(Filtered::Unsupported);
                    }
                    let len = buf
                        .get(..4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                        .ok_or_else(|| corrupt("a page too short for its levels"))?;
                    (len, buf.get(4..4 + len).ok_or_else(|| corrupt("levels"))?)
                } else {
                    (0, &[][..])
                };
                let values = &buf[if nullable { 4 + defs_len } else { 0 }..];
                let Some(kept) = scratch.filter(
                    nullable.then_some(levels),
                    values,
                    encoding,
                    plain,
                    keep,
                    &mut chunk,
                )?
                else {
                    return Ok(Filtered::Unsupported);
                };
                if kept == 0 {
                    continue;
                }
                let mut out = Vec::with_capacity(scratch.values.len() + scratch.levels.len() + 4);
                if nullable {
                    out.extend_from_slice(&(scratch.levels.len() as u32).to_le_bytes());
                    out.extend_from_slice(&scratch.levels);
                }
                out.extend_from_slice(&scratch.values);
                let page = Page::DataPage {
                    buf: compress(codec, &out)?,
                    num_values: kept as u32,
                    encoding,
                    def_level_encoding,
                    rep_level_encoding,
                    statistics: None,
                };
                let spec = writer.write_page(CompressedPage::new(page, out.len()))?;
                chunk.data(&spec, encoding, kept);
            }
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                num_rows,
                def_levels_byte_len,
                rep_levels_byte_len,
                ..
            } => {
                let rows = num_rows as usize;
                if num_values != num_rows || rep_levels_byte_len != 0 {
                    return Ok(Filtered::Unsupported);
                }
                let keep = page_rows(keep, row, rows)?;
                row += rows;
                let defs_end = def_levels_byte_len as usize;
                let levels = buf.get(..defs_end).ok_or_else(|| corrupt("levels"))?;
                let Some(kept) = scratch.filter(
                    nullable.then_some(levels),
                    &buf[defs_end..],
                    encoding,
                    plain,
                    keep,
                    &mut chunk,
                )?
                else {
                    return Ok(Filtered::Unsupported);
                };
                if kept == 0 {
                    continue;
                }
                let compressed = compress(codec, &scratch.values)?;
                let mut out = Vec::with_capacity(scratch.levels.len() + compressed.len());
                out.extend_from_slice(&scratch.levels);
                out.extend_from_slice(&compressed);
                let page = Page::DataPageV2 {
                    buf: out.into(),
                    num_values: kept as u32,
                    encoding,
                    num_nulls: scratch.nulls as u32,
                    num_rows: kept as u32,
                    def_levels_byte_len: scratch.levels.len() as u32,
                    rep_levels_byte_len: 0,
                    is_compressed: codec != Compression::UNCOMPRESSED,
                    statistics: None,
                };
                let uncompressed = scratch.levels.len() + scratch.values.len();
                let spec = writer.write_page(CompressedPage::new(page, uncompressed))?;
                chunk.data(&spec, encoding, kept);
            }
        }
    }
    if row != keep.len() {
        return Err(corrupt("the pages hold fewer rows than the row group"));
    }
    writer.close()?;
    let bytes = Bytes::from(sink.into_inner()?);

    let mut encodings = std::mem::take(&mut chunk.encodings);
    if nullable && !encodings.contains(&Encoding::RLE) {
        encodings.push(Encoding::RLE);
    }
    let mut builder = ColumnChunkMetaData::builder(meta.column_descr_ptr())
        .set_compression(codec)
        .set_encodings(encodings)
        .set_num_values(chunk.rows as i64)
        .set_total_compressed_size(chunk.compressed as i64)
        .set_total_uncompressed_size(chunk.uncompressed as i64)
        .set_data_page_offset(chunk.data_offset.unwrap_or(0))
        .set_dictionary_page_offset(chunk.dictionary_offset);
    if let Some(stats) = meta.statistics() {
        builder = builder.set_statistics(narrowed(stats, chunk.dropped_nulls));
    }
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: chunk.rows,
        metadata: builder.build()?,
        bloom_filter: None,
        column_index: None,
        offset_index: chunk.offset_index(),
    };
    Ok(Filtered::Chunk(bytes, Box::new(close)))
}

fn corrupt(what: &str) -> ParquetError {
    ParquetError::General(format!("corrupt data page: {what}"))
}

fn page_rows(keep: &[bool], row: usize, rows: usize) -> Result<&[bool], ParquetError> {
    keep.get(row..row + rows)
        .ok_or_else(|| corrupt("the pages hold more rows than the row group"))
}

fn compress(codec: Compression, data: &[u8]) -> Result<Bytes, ParquetError> {
    match codec {
        Compression::SNAPPY => snap::raw::Encoder::new()
            .compress_vec(data)
            .map(Bytes::from)
            .map_err(|e| ParquetError::External(Box::new(e))),
        _ => Ok(Bytes::copy_from_slice(data)),
    }
}

/// What the chunk's metadata needs from the pages written.
#[derive(Default)]
struct ChunkTotals {
    compressed: u64,
    uncompressed: u64,
    rows: u64,
    dropped_nulls: u64,
    data_offset: Option<i64>,
    dictionary_offset: Option<i64>,
    encodings: Vec<Encoding>,
    /// The data pages, for the offset index.
    locations: Vec<PageLocation>,
}

impl ChunkTotals {
    fn add(&mut self, spec: &parquet::column::page::PageWriteSpec, encoding: Encoding) {
        self.compressed += spec.compressed_size as u64;
        self.uncompressed += spec.uncompressed_size as u64;
        if !self.encodings.contains(&encoding) {
            self.encodings.push(encoding);
        }
    }

    fn data(
        &mut self,
        spec: &parquet::column::page::PageWriteSpec,
        encoding: Encoding,
        rows: usize,
    ) {
        self.add(spec, encoding);
        self.data_offset.get_or_insert(spec.offset as i64);
        self.locations.push(PageLocation {
            offset: spec.offset as i64,
            compressed_page_size: spec.compressed_size as i32,
            first_row_index: self.rows as i64,
        });
        self.rows += rows as u64;
    }

    /// The offset index of the pages written; offsets count from the chunk's
    /// start, as `append_column` expects.
    fn offset_index(&mut self) -> Option<OffsetIndexMetaData> {
        Some(OffsetIndexMetaData {
            page_locations: std::mem::take(&mut self.locations),
            unencoded_byte_array_data_bytes: None,
        })
    }
}

/// Buffers reused from page to page.
#[derive(Default)]
struct Scratch {
    defs: Vec<u32>,
    indices: Vec<u32>,
    kept_indices: Vec<u32>,
    kept_defs: Vec<u32>,
    /// The filtered, encoded definition levels (without a length prefix).
    levels: Vec<u8>,
    /// The filtered, encoded values.
    values: Vec<u8>,
    /// Nulls among the kept rows.
    nulls: usize,
}

impl Scratch {
    /// Filters one page's rows. `levels` is the RLE stream of definition
    /// levels of a nullable column. Returns the number of rows kept, or `None`
    /// for a value encoding this module does not handle.
    fn filter(
        &mut self,
        levels: Option<&[u8]>,
        values: &[u8],
        encoding: Encoding,
        plain: Option<Plain>,
        keep: &[bool],
        chunk: &mut ChunkTotals,
    ) -> Result<Option<usize>, ParquetError> {
        let rows = keep.len();
        self.defs.clear();
        self.kept_defs.clear();
        self.levels.clear();
        self.values.clear();
        self.nulls = 0;
        let nullable = levels.is_some();
        // A column without nulls has one run of 1s for levels; it is then
        // filtered as if it were required, and given one run back.
        let all_present = levels.is_none_or(|l| rle::leading_run(l, 1, rows) == Some(1));
        let levels = if all_present { None } else { levels };
        let present = if let Some(levels) = levels {
            rle::decode(levels, 1, rows, &mut self.defs).map_err(corrupt)?;
            if self.defs.iter().any(|d| *d > 1) {
                return Err(corrupt("a definition level above the column's maximum"));
            }
            self.defs.iter().filter(|d| **d == 1).count()
        } else {
            rows
        };
        let is_present = |defs: &[u32], r: usize| defs.is_empty() || defs[r] == 1;

        match (encoding, plain) {
            (Encoding::PLAIN, Some(Plain::Fixed(width))) => {
                if values.len() < present * width {
                    return Err(corrupt("fewer values than levels"));
                }
                // Rejected rows are rare: copy the stretches between them.
                let mut at = 0;
                let mut from = 0;
                for (r, &k) in keep.iter().enumerate() {
                    if is_present(&self.defs, r) {
                        if !k {
                            self.values.extend_from_slice(&values[from..at]);
                            from = at + width;
                        }
                        at += width;
                    }
                }
                self.values.extend_from_slice(&values[from..at]);
            }
            (Encoding::PLAIN, Some(Plain::LengthPrefixed)) => {
                let mut at = 0;
                let mut from = 0;
                for (r, &k) in keep.iter().enumerate() {
                    if is_present(&self.defs, r) {
                        let len = values
                            .get(at..at + 4)
                            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                            .ok_or_else(|| corrupt("fewer values than levels"))?;
                        let end = at + 4 + len;
                        if end > values.len() {
                            return Err(corrupt("a value past the end of the page"));
                        }
                        if !k {
                            self.values.extend_from_slice(&values[from..at]);
                            from = end;
                        }
                        at = end;
                    }
                }
                self.values.extend_from_slice(&values[from..at]);
            }
            (Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY, _) => {
                let bit_width = match values.first() {
                    Some(w) => *w,
                    None if present == 0 => 0,
                    None => return Err(corrupt("no index bit width")),
                };
                self.values.push(bit_width);
                if levels.is_none() {
                    // Every row has an index: splice the stream.
                    if present > 0 {
                        rle::splice(&values[1..], bit_width, keep, &mut self.values)
                            .map_err(corrupt)?;
                    }
                } else {
                    self.indices.clear();
                    self.kept_indices.clear();
                    if present > 0 {
                        rle::decode(&values[1..], bit_width, present, &mut self.indices)
                            .map_err(corrupt)?;
                    }
                    let mut next = 0;
                    for (&d, &k) in self.defs.iter().zip(keep) {
                        if d == 1 {
                            if k {
                                self.kept_indices.push(self.indices[next]);
                            }
                            next += 1;
                        }
                    }
                    rle::encode(&self.kept_indices, bit_width, &mut self.values);
                }
            }
            _ => return Ok(None),
        }

        let kept = keep.iter().filter(|k| **k).count();
        if levels.is_some() {
            for (&d, &k) in self.defs.iter().zip(keep) {
                if k {
                    self.kept_defs.push(d);
                    if d == 0 {
                        self.nulls += 1;
                    }
                } else if d == 0 {
                    chunk.dropped_nulls += 1;
                }
            }
            rle::encode(&self.kept_defs, 1, &mut self.levels);
        } else if nullable {
            rle::rle_run(1, kept, 1, &mut self.levels);
        }
        Ok(Some(kept))
    }
}

/// The chunk's statistics after dropping rows: min and max become bounds,
/// the null count is reduced, the distinct count is unknown.
fn narrowed(stats: &Statistics, dropped_nulls: u64) -> Statistics {
    fn narrow<T: Clone>(
        s: &ValueStatistics<T>,
        deprecated: bool,
        dropped_nulls: u64,
    ) -> ValueStatistics<T> {
        ValueStatistics::new(
            s.min_opt().cloned(),
            s.max_opt().cloned(),
            None,
            s.null_count_opt().map(|n| n.saturating_sub(dropped_nulls)),
            deprecated,
        )
        .with_min_is_exact(false)
        .with_max_is_exact(false)
        .with_backwards_compatible_min_max(s.is_min_max_backwards_compatible())
    }
    let old = stats.is_min_max_deprecated();
    match stats {
        Statistics::Boolean(s) => Statistics::Boolean(narrow(s, old, dropped_nulls)),
        Statistics::Int32(s) => Statistics::Int32(narrow(s, old, dropped_nulls)),
        Statistics::Int64(s) => Statistics::Int64(narrow(s, old, dropped_nulls)),
        Statistics::Int96(s) => Statistics::Int96(narrow(s, old, dropped_nulls)),
        Statistics::Float(s) => Statistics::Float(narrow(s, old, dropped_nulls)),
        Statistics::Double(s) => Statistics::Double(narrow(s, old, dropped_nulls)),
        Statistics::ByteArray(s) => Statistics::ByteArray(narrow(s, old, dropped_nulls)),
        Statistics::FixedLenByteArray(s) => {
            Statistics::FixedLenByteArray(narrow(s, old, dropped_nulls))
        }
    }
}

/// Values per page of [`plain_chunk`]: about a megabyte.
const PLAIN_PAGE_BYTES: usize = 1 << 20;

/// Writes a required column of fixed-width values, already PLAIN-encoded
/// back to back in `data`, as an uncompressed chunk of about 1 MB pages.
/// This is what `ArrowWriter` writes for a column without dictionary,
/// compression or statistics, minus a copy of every value.
pub(crate) fn plain_chunk(
    descr: parquet::schema::types::ColumnDescPtr,
    data: Bytes,
    width: usize,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    debug_assert_eq!(descr.max_def_level(), 0, "a required column");
    let rows = data.len() / width;
    let per_page = (PLAIN_PAGE_BYTES / width).max(1);
    let mut sink = TrackedWrite::new(Vec::with_capacity(data.len() + data.len() / 1000 + 64));
    let mut writer = SerializedPageWriter::new(&mut sink);
    let mut chunk = ChunkTotals::default();
    let mut from = 0;
    while from < rows {
        let to = rows.min(from + per_page);
        let buf = data.slice(from * width..to * width);
        let len = buf.len();
        let page = Page::DataPage {
            buf,
            num_values: (to - from) as u32,
            encoding: Encoding::PLAIN,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = writer.write_page(CompressedPage::new(page, len))?;
        chunk.data(&spec, Encoding::PLAIN, to - from);
        from = to;
    }
    writer.close()?;
    let bytes = Bytes::from(sink.into_inner()?);
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::UNCOMPRESSED)
        .set_encodings(vec![Encoding::PLAIN])
        .set_num_values(chunk.rows as i64)
        .set_total_compressed_size(chunk.compressed as i64)
        .set_total_uncompressed_size(chunk.uncompressed as i64)
        .set_data_page_offset(0)
        .build()?;
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: chunk.rows,
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: chunk.offset_index(),
    };
    Ok((bytes, close))
}
