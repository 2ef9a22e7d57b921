//! CSV extracts: every column is read as UTF-8 text.
//!
//! Real exports vary: comma, semicolon (Swedish spreadsheet default) or tab as
//! delimiter, an optional UTF-8 byte-order mark, CRLF line ends. The delimiter
//! is detected from the header line. Values are kept as text; typing happens
//! downstream where the study file says what a column means.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::{Batch, ExtractError};

pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    schema: SchemaRef,
    record: csv::ByteRecord,
    /// The record read before `record`: the last row once the reader is at the end.
    previous: csv::ByteRecord,
    next_row: u64,
    batch_size: usize,
    done: bool,
    /// Quote characters seen in the file so far (see [`QuoteCounter`]).
    quotes: Arc<AtomicU64>,
}

/// Counts `"` bytes as the csv reader pulls them.
///
/// A quote that is opened and never closed makes the csv crate read the rest
/// of the file into one field, silently swallowing every later row. In a
/// well-formed file quotes come in pairs (`""` inside a quoted field is one
/// more pair), so an odd count at the end of the file, with a line break in
/// the last row's fields, exposes exactly that case.
struct QuoteCounter<R> {
    inner: R,
    quotes: Arc<AtomicU64>,
}

impl<R: Read> Read for QuoteCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let count = buf[..n].iter().filter(|&&b| b == b'"').count() as u64;
        self.quotes.fetch_add(count, Ordering::Relaxed);
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
        if peek.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ExtractError::Empty {
                path: path.to_path_buf(),
            });
        }
        let delimiter = detect_delimiter(header_line);
        let quotes = Arc::new(AtomicU64::new(0));
        let boxed: Box<dyn Read + Send> = Box::new(QuoteCounter {
            inner: buffered,
            quotes: quotes.clone(),
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(boxed);
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, e, 0))?
            .clone();
        let mut fields = Vec::with_capacity(header.len());
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| ExtractError::NotUtf8 {
                path: path.to_path_buf(),
                row: 0,
                column: format!("#{}", i + 1),
            })?;
            let name = name.trim_start_matches('\u{feff}').trim().to_string();
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
            done: false,
            quotes,
        })
    }

    /// At the end of the file: the error for a quote that was never closed,
    /// if the last row shows one (see [`QuoteCounter`]).
    fn unclosed_quote(&self) -> Option<ExtractError> {
        if self.quotes.load(Ordering::Relaxed).is_multiple_of(2) || self.next_row == 1 {
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
        while rows < self.batch_size {
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
                    return Some(Err(csv_error(&self.path, e, self.next_row)));
                }
            }
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
