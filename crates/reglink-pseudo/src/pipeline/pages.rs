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
use parquet::schema::types::ColumnDescriptor;

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
    let plain = plain_layout(descr);

    let mut pages = SerializedPageReader::new(reader, meta, keep.len(), None)?;
    let mut sink = TrackedWrite::new(Vec::new());
    let mut writer = SerializedPageWriter::new(&mut sink);
    let mut scratch = Scratch::default();
    let mut chunk = ChunkTotals::default();
    let mut row = 0usize;

    while let Some(page) = pages.get_next_page()? {
        if let Page::DictionaryPage {
            buf,
            num_values,
            encoding,
            is_sorted,
        } = page
        {
            let page = Page::DictionaryPage {
                buf: compress(codec, &buf)?,
                num_values,
                encoding,
                is_sorted,
            };
            let spec = writer.write_page(CompressedPage::new(page, buf.len()))?;
            chunk.dictionary_offset.get_or_insert(spec.offset as i64);
            chunk.add(&spec, encoding);
            continue;
        }
        let Some(data) = DataPage::parse(&page, nullable, keep, &mut row)? else {
            return Ok(Filtered::Unsupported);
        };
        let Some(kept) = scratch.filter(
            data.levels,
            data.values,
            data.encoding,
            plain,
            data.keep,
            &mut chunk,
        )?
        else {
            return Ok(Filtered::Unsupported);
        };
        if kept == 0 {
            continue;
        }
        let (page, uncompressed) = data.rewritten(codec, kept, &scratch)?;
        let spec = writer.write_page(CompressedPage::new(page, uncompressed))?;
        chunk.data(&spec, data.encoding, kept);
    }
    if row != keep.len() {
        return Err(corrupt("the pages hold fewer rows than the row group"));
    }
    writer.close()?;
    let bytes = Bytes::from(sink.into_inner()?);
    let close = close_chunk(meta, nullable, &mut chunk, bytes.len())?;
    Ok(Filtered::Chunk(bytes, Box::new(close)))
}

/// How the PLAIN values of a column of `descr`'s physical type are laid out;
/// `None` for BOOLEAN, whose PLAIN values are bit-packed.
fn plain_layout(descr: &ColumnDescriptor) -> Option<Plain> {
    match descr.physical_type() {
        PhysicalType::INT32 | PhysicalType::FLOAT => Some(Plain::Fixed(4)),
        PhysicalType::INT64 | PhysicalType::DOUBLE => Some(Plain::Fixed(8)),
        PhysicalType::INT96 => Some(Plain::Fixed(12)),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            usize::try_from(descr.type_length()).ok().map(Plain::Fixed)
        }
        PhysicalType::BYTE_ARRAY => Some(Plain::LengthPrefixed),
        PhysicalType::BOOLEAN => None,
    }
}

/// The metadata of the rewritten chunk of `meta`, `len` bytes long, from the
/// totals of the pages written.
fn close_chunk(
    meta: &ColumnChunkMetaData,
    nullable: bool,
    chunk: &mut ChunkTotals,
    len: usize,
) -> Result<ColumnCloseResult, ParquetError> {
    let mut encodings = std::mem::take(&mut chunk.encodings);
    if nullable && !encodings.contains(&Encoding::RLE) {
        encodings.push(Encoding::RLE);
    }
    let mut builder = ColumnChunkMetaData::builder(meta.column_descr_ptr())
        .set_compression(meta.compression())
        .set_encodings(encodings)
        .set_num_values(chunk.rows as i64)
        .set_total_compressed_size(chunk.compressed as i64)
        .set_total_uncompressed_size(chunk.uncompressed as i64)
        .set_data_page_offset(chunk.data_offset.unwrap_or(0))
        .set_dictionary_page_offset(chunk.dictionary_offset);
    if let Some(stats) = meta.statistics() {
        builder = builder.set_statistics(narrowed(stats, chunk.dropped_nulls));
    }
    Ok(ColumnCloseResult {
        bytes_written: len as u64,
        rows_written: chunk.rows,
        metadata: builder.build()?,
        bloom_filter: None,
        column_index: None,
        offset_index: chunk.offset_index(),
    })
}

/// Where a data page keeps its definition levels and what of it is
/// compressed: the one thing in which data pages v1 and v2 differ here.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Data page v1: the levels (behind a 4-byte length, when the column is
    /// nullable) and the values, compressed together.
    V1 {
        def_level_encoding: Encoding,
        rep_level_encoding: Encoding,
    },
    /// Data page v2: the levels first, never compressed, their length in the
    /// page header; only the values compressed.
    V2,
}

/// A data page of either layout taken apart, decompressed.
struct DataPage<'a> {
    layout: Layout,
    encoding: Encoding,
    /// The page's entries of the row group's `keep`.
    keep: &'a [bool],
    /// The RLE definition levels of a nullable column, without a length
    /// prefix; `None` for a required column.
    levels: Option<&'a [u8]>,
    /// The encoded values.
    values: &'a [u8],
}

impl<'a> DataPage<'a> {
    /// Takes a data page of a flat column apart; `row` is the row group's row
    /// the page starts at, and is moved past the page. `None` for what this
    /// module does not handle: v1 levels not in RLE, v2 repetition levels or
    /// a v2 page whose rows and values differ.
    fn parse(
        page: &'a Page,
        nullable: bool,
        keep: &'a [bool],
        row: &mut usize,
    ) -> Result<Option<DataPage<'a>>, ParquetError> {
        let page_keep = |row: &mut usize, rows: u32| {
            let rows = rows as usize;
            let page = page_rows(keep, *row, rows);
            *row += rows;
            page
        };
        match page {
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                statistics: _,
            } => {
                let keep = page_keep(row, *num_values)?;
                let (levels, values) = if nullable {
                    if *def_level_encoding != Encoding::RLE {
                        return Ok(None);
                    }
                    let len = buf
                        .get(..4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                        .ok_or_else(|| corrupt("a page too short for its levels"))?;
                    let levels = buf.get(4..4 + len).ok_or_else(|| corrupt("levels"))?;
                    (Some(levels), &buf[4 + len..])
                } else {
                    (None, &buf[..])
                };
                let layout = Layout::V1 {
                    def_level_encoding: *def_level_encoding,
                    rep_level_encoding: *rep_level_encoding,
                };
                Ok(Some(DataPage {
                    layout,
                    encoding: *encoding,
                    keep,
                    levels,
                    values,
                }))
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
                if num_values != num_rows || *rep_levels_byte_len != 0 {
                    return Ok(None);
                }
                let keep = page_keep(row, *num_rows)?;
                let defs_end = *def_levels_byte_len as usize;
                let levels = buf.get(..defs_end).ok_or_else(|| corrupt("levels"))?;
                Ok(Some(DataPage {
                    layout: Layout::V2,
                    encoding: *encoding,
                    keep,
                    levels: nullable.then_some(levels),
                    values: &buf[defs_end..],
                }))
            }
            Page::DictionaryPage { .. } => Ok(None),
        }
    }

    /// The page in the same layout holding the `kept` rows that `scratch`
    /// filtered from this one, compressed with `codec`, and its uncompressed
    /// size.
    fn rewritten(
        &self,
        codec: Compression,
        kept: usize,
        scratch: &Scratch,
    ) -> Result<(Page, usize), ParquetError> {
        let encoding = self.encoding;
        match self.layout {
            Layout::V1 {
                def_level_encoding,
                rep_level_encoding,
            } => {
                let mut out = Vec::with_capacity(scratch.values.len() + scratch.levels.len() + 4);
                if self.levels.is_some() {
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
                Ok((page, out.len()))
            }
            Layout::V2 => {
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
                Ok((page, scratch.levels.len() + scratch.values.len()))
            }
        }
    }
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

        match (encoding, plain) {
            (Encoding::PLAIN, Some(Plain::Fixed(width))) => {
                self.filter_fixed(values, width, present, keep)?;
            }
            (Encoding::PLAIN, Some(Plain::LengthPrefixed)) => {
                self.filter_length_prefixed(values, keep)?;
            }
            (Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY, _) => {
                self.filter_indices(values, present, levels.is_none(), keep)?;
            }
            _ => return Ok(None),
        }

        let kept = keep.iter().filter(|k| **k).count();
        if levels.is_some() {
            self.filter_levels(keep, chunk);
        } else if nullable {
            rle::rle_run(1, kept, 1, &mut self.levels);
        }
        Ok(Some(kept))
    }

    /// Whether row `r` of the page has a value (every row has one when
    /// `defs` is empty).
    fn is_present(&self, r: usize) -> bool {
        self.defs.is_empty() || self.defs[r] == 1
    }

    /// Copies the kept ones of `present` PLAIN values `width` bytes wide.
    fn filter_fixed(
        &mut self,
        values: &[u8],
        width: usize,
        present: usize,
        keep: &[bool],
    ) -> Result<(), ParquetError> {
        if values.len() < present * width {
            return Err(corrupt("fewer values than levels"));
        }
        // Rejected rows are rare: copy the stretches between them.
        let mut at = 0;
        let mut from = 0;
        for (r, &k) in keep.iter().enumerate() {
            if self.is_present(r) {
                if !k {
                    self.values.extend_from_slice(&values[from..at]);
                    from = at + width;
                }
                at += width;
            }
        }
        self.values.extend_from_slice(&values[from..at]);
        Ok(())
    }

    /// Copies the kept PLAIN values that each follow their 4-byte length.
    fn filter_length_prefixed(&mut self, values: &[u8], keep: &[bool]) -> Result<(), ParquetError> {
        let mut at = 0;
        let mut from = 0;
        for (r, &k) in keep.iter().enumerate() {
            if self.is_present(r) {
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
        Ok(())
    }

    /// Re-packs the kept ones of `present` dictionary indices (a bit width,
    /// then the RLE / bit-packed hybrid stream) at the same bit width;
    /// `every_row` says each row has an index, so the stream is spliced.
    fn filter_indices(
        &mut self,
        values: &[u8],
        present: usize,
        every_row: bool,
        keep: &[bool],
    ) -> Result<(), ParquetError> {
        let bit_width = match values.first() {
            Some(w) => *w,
            None if present == 0 => 0,
            None => return Err(corrupt("no index bit width")),
        };
        self.values.push(bit_width);
        if every_row {
            if present > 0 {
                rle::splice(&values[1..], bit_width, keep, &mut self.values).map_err(corrupt)?;
            }
            return Ok(());
        }
        self.indices.clear();
        self.kept_indices.clear();
        if present > 0 {
            rle::decode(&values[1..], bit_width, present, &mut self.indices).map_err(corrupt)?;
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
        Ok(())
    }

    /// Encodes the kept rows' definition levels, counting the nulls kept
    /// and, in `chunk`, those dropped.
    fn filter_levels(&mut self, keep: &[bool], chunk: &mut ChunkTotals) {
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
