//! CSV extracts: every column is read as UTF-8 text.
//!
//! Real exports vary: comma, semicolon (Swedish spreadsheet default) or tab as
//! delimiter, an optional UTF-8 byte-order mark, CRLF line ends. The delimiter
//! is detected from the header line. Values are kept as text; typing happens
//! downstream where the study file says what a column means.
//!
//! Memory stays bounded whatever the file holds: a field longer than
//! [`MAX_FIELD_BYTES`] is an error (found while the field is being read, so a
//! multi-gigabyte field is never held), and a batch is cut short once its text
//! passes [`BATCH_BYTES`], so Arrow's 32-bit string offsets never overflow.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::{Batch, ExtractError};

/// The longest field a CSV extract may have, in bytes (64 MiB). No register
/// value comes near it; a longer field is almost always a broken export.
pub(crate) const MAX_FIELD_BYTES: u64 = 64 << 20;

/// A batch ends early once its fields hold this many bytes of text (256 MiB),
/// far below the 2 GiB an Arrow string column can address.
pub(crate) const BATCH_BYTES: usize = 256 << 20;

/// Size limits of CSV reading; tests lower them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// See [`MAX_FIELD_BYTES`].
    pub field_bytes: u64,
    /// See [`BATCH_BYTES`].
    pub batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            field_bytes: MAX_FIELD_BYTES,
            batch_bytes: BATCH_BYTES,
        }
    }
}

pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    schema: SchemaRef,
    record: csv::ByteRecord,
    /// The record read before `record`: the last row once the reader is at the end.
    previous: csv::ByteRecord,
    next_row: u64,
    batch_size: usize,
    limits: Limits,
    done: bool,
    /// What the [`Guard`] under the csv reader has seen.
    seen: Arc<Seen>,
}

/// What [`Guard`] shares with the source.
#[derive(Debug, Default)]
struct Seen {
    /// Quote characters seen in the file so far.
    quotes: AtomicU64,
    /// 1 + the 0-based column of a field longer than the limit; 0 if none.
    oversized: AtomicU64,
}

/// Where [`Guard`] is in the CSV grammar (RFC 4180, as the csv crate reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a field.
    Start,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: the field's end or a doubled quote.
    QuoteInQuoted,
}

/// Watches the bytes as the csv reader pulls them.
///
/// It counts `"` bytes: a quote that is opened and never closed makes the csv
/// crate read the rest of the file into one field, silently swallowing every
/// later row. In a well-formed file quotes come in pairs (`""` inside a quoted
/// field is one more pair), so an odd count at the end of the file, with a
/// line break in the last row's fields, exposes exactly that case.
///
/// It also follows the fields and fails the read as soon as one grows past
/// the limit, before the csv crate has buffered it whole: a 2 GB field costs
/// no more memory than the limit.
struct Guard<R> {
    inner: R,
    seen: Arc<Seen>,
    delimiter: u8,
    at: At,
    column: u64,
    field_len: u64,
    limit: u64,
}

impl<R> Guard<R> {
    /// Follows `bytes`; `Err` with the 0-based column of a field over the limit.
    fn follow(&mut self, bytes: &[u8]) -> Result<(), u64> {
        for &b in bytes {
            let end_of_field = |g: &mut Self, b: u8| {
                g.at = At::Start;
                g.field_len = 0;
                g.column = if b == g.delimiter { g.column + 1 } else { 0 };
            };
            let separator = b == self.delimiter || b == b'\n' || b == b'\r';
            match self.at {
                At::Start | At::Unquoted if separator => end_of_field(self, b),
                At::Start if b == b'"' => self.at = At::Quoted,
                At::Start => self.at = At::Unquoted,
                At::Unquoted => {}
                At::Quoted if b == b'"' => self.at = At::QuoteInQuoted,
                At::Quoted => {}
                At::QuoteInQuoted if b == b'"' => self.at = At::Quoted,
                At::QuoteInQuoted if separator => end_of_field(self, b),
                At::QuoteInQuoted => self.at = At::Unquoted,
            }
            if self.at != At::Start {
                self.field_len += 1;
                if self.field_len > self.limit {
                    return Err(self.column);
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // The chunk in which a field passed the limit is handed over first:
        // the csv reader asks for more only once it has parsed up to it, so
        // the error surfaces while it reads the row of that field.
        if self.seen.oversized.load(Ordering::Relaxed) != 0 {
            return Err(std::io::Error::other("field over the size limit"));
        }
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        let count = bytes.iter().filter(|&&b| b == b'"').count() as u64;
        self.seen.quotes.fetch_add(count, Ordering::Relaxed);
        if let Err(column) = self.follow(bytes) {
            self.seen.oversized.store(column + 1, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Picks the delimiter that occurs most often in the header line.
fn detect_delimiter(header: &[u8]) -> u8 {
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let n = header.iter().filter(|&&c| c == d).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

impl CsvSource {
    pub(crate) fn open(path: &Path, batch_size: usize) -> Result<CsvSource, ExtractError> {
        Self::open_with_limits(path, batch_size, Limits::default())
    }

    pub(crate) fn open_with_limits(
        path: &Path,
        batch_size: usize,
        limits: Limits,
    ) -> Result<CsvSource, ExtractError> {
        let file = crate::atomic::open(path)?;
        let mut buffered = BufReader::with_capacity(1 << 20, file);
        let io_err = |source| ExtractError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Peek at the first line without consuming it.
        let peek = buffered.fill_buf().map_err(io_err)?;
        let first_line_end = peek.iter().position(|&b| b == b'\n').unwrap_or(peek.len());
        let header_line = &peek[..first_line_end];
        // A byte-order mark alone is no header either.
        let content = peek.strip_prefix(b"\xef\xbb\xbf").unwrap_or(peek);
        if content.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ExtractError::Empty {
                path: path.to_path_buf(),
            });
        }
        let delimiter = detect_delimiter(header_line);
        let watch = Arc::new(Seen::default());
        let boxed: Box<dyn Read + Send> = Box::new(Guard {
            inner: buffered,
            seen: watch.clone(),
            delimiter,
            at: At::Start,
            column: 0,
            field_len: 0,
            limit: limits.field_bytes,
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(boxed);
        let header = match reader.byte_headers() {
            Ok(header) => header.clone(),
            Err(e) => {
                return Err(match oversized(&watch) {
                    Some(column) => ExtractError::FieldTooLarge {
                        path: path.to_path_buf(),
                        row: 0,
                        column: format!("#{}", column + 1),
                        limit: limits.field_bytes,
                    },
                    None => csv_error(path, e, 0),
                });
            }
        };
        if let Some(c) = header
            .iter()
            .position(|f| f.len() as u64 > limits.field_bytes)
        {
            return Err(ExtractError::FieldTooLarge {
                path: path.to_path_buf(),
                row: 0,
                column: format!("#{}", c + 1),
                limit: limits.field_bytes,
            });
        }
        let mut fields = Vec::with_capacity(header.len());
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| ExtractError::NotUtf8 {
                path: path.to_path_buf(),
                row: 0,
                column: format!("#{}", i + 1),
            })?;
            let name = name.trim_start_matches('\u{feff}').trim().to_string();
            // An extract exported without its header row has a person's
            // number here; as a column name it would travel into outputs.
            if reglink_pnr::withhold_numbers(&name) != name {
                return Err(ExtractError::HeaderLooksLikeData {
                    path: path.to_path_buf(),
                    column: i + 1,
                });
            }
            if !seen.insert(name.clone()) {
                return Err(ExtractError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name,
                });
            }
            fields.push(Field::new(name, DataType::Utf8, true));
        }
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            schema: Arc::new(Schema::new(fields)),
            record: csv::ByteRecord::new(),
            previous: csv::ByteRecord::new(),
            next_row: 1,
            batch_size,
            limits,
            done: false,
            seen: watch,
        })
    }

    /// At the end of the file: the error for a quote that was never closed,
    /// if the last row shows one (see [`Guard`]).
    fn unclosed_quote(&self) -> Option<ExtractError> {
        if self.seen.quotes.load(Ordering::Relaxed).is_multiple_of(2) || self.next_row == 1 {
            return None;
        }
        let last = &self.previous;
        let column = last.iter().position(|f| f.contains(&b'\n'))?;
        Some(ExtractError::CsvSyntax {
            path: self.path.clone(),
            row: self.next_row - 1,
            line: last.position().map_or(0, |p| p.line()),
            reason: format!(
                "column `{}` opens a quote that is never closed, so every later line was read into it",
                self.schema.field(column).name()
            ),
        })
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(crate) fn next_batch(&mut self) -> Option<Result<Batch, ExtractError>> {
        if self.done {
            return None;
        }
        let ncol = self.schema.fields().len();
        let mut builders: Vec<StringBuilder> = (0..ncol)
            .map(|_| StringBuilder::with_capacity(self.batch_size, self.batch_size * 12))
            .collect();
        let first_row = self.next_row;
        let mut rows = 0usize;
        let mut bytes = 0usize;
        while rows < self.batch_size && bytes < self.limits.batch_bytes {
            std::mem::swap(&mut self.record, &mut self.previous);
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    if let Some(err) = self.unclosed_quote() {
                        return Some(Err(err));
                    }
                    break;
                }
                Ok(true) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(match oversized(&self.seen) {
                        Some(column) => self.too_large(column as usize),
                        None => csv_error(&self.path, e, self.next_row),
                    }));
                }
            }
            // A field over the limit that ends in the chunk the guard stopped
            // at is read whole (a chunk is small); it is refused here.
            if let Some(c) = self
                .record
                .iter()
                .position(|f| f.len() as u64 > self.limits.field_bytes)
            {
                self.done = true;
                return Some(Err(self.too_large(c)));
            }
            bytes += self.record.as_slice().len();
            for (c, builder) in builders.iter_mut().enumerate() {
                let raw = &self.record[c];
                if raw.is_empty() {
                    builder.append_null();
                    continue;
                }
                match std::str::from_utf8(raw) {
                    Ok(s) => builder.append_value(s),
                    Err(_) => {
                        self.done = true;
                        return Some(Err(ExtractError::NotUtf8 {
                            path: self.path.clone(),
                            row: self.next_row,
                            column: self.schema.field(c).name().clone(),
                        }));
                    }
                }
            }
            self.next_row += 1;
            rows += 1;
        }
        if rows == 0 {
            return None;
        }
        let columns: Vec<ArrayRef> = builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        Some(
            RecordBatch::try_new(self.schema.clone(), columns)
                .map(|batch| Batch { batch, first_row })
                .map_err(|source| ExtractError::Arrow {
                    path: self.path.clone(),
                    source,
                }),
        )
    }
}

impl CsvSource {
    /// The error for a field over the limit in column `column` of the current row.
    fn too_large(&self, column: usize) -> ExtractError {
        let name = match self.schema.fields().get(column) {
            Some(f) => f.name().clone(),
            None => format!("#{}", column + 1),
        };
        ExtractError::FieldTooLarge {
            path: self.path.clone(),
            row: self.next_row,
            column: name,
            limit: self.limits.field_bytes,
        }
    }
}

/// The 0-based column of a field the guard stopped, if it stopped one.
fn oversized(seen: &Seen) -> Option<u64> {
    seen.oversized.load(Ordering::Relaxed).checked_sub(1)
}

/// Turns a csv error into one that names the file, data row and line, never a value.
fn csv_error(path: &Path, e: csv::Error, row: u64) -> ExtractError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ExtractError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ExtractError::FieldCount {
            path: path.to_path_buf(),
            row,
            line,
            expected: expected_len as usize,
            found: len as usize,
        },
        csv::ErrorKind::Utf8 { err, .. } => ExtractError::NotUtf8 {
            path: path.to_path_buf(),
            row,
            column: format!("#{}", err.field() + 1),
        },
        other => ExtractError::CsvSyntax {
            path: path.to_path_buf(),
            row,
            line,
            // The csv crate's messages describe structure, not content, but be
            // safe: only the kind's name is kept.
            reason: kind_name(&other).to_string(),
        },
    }
}

fn kind_name(kind: &csv::ErrorKind) -> &'static str {
    match kind {
        csv::ErrorKind::Seek => "seek error",
        csv::ErrorKind::Serialize(_) | csv::ErrorKind::Deserialize { .. } => "cannot decode row",
        _ => "unparseable row",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection_prefers_the_most_common() {
        assert_eq!(detect_delimiter(b"a,b,c"), b',');
        assert_eq!(detect_delimiter(b"a;b;c"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
    }
}
