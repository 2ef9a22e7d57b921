//! Writing the tables: CSV text or snappy Parquet, always through a temporary
//! file in the output directory ([`reglink_extract::AtomicFile`]) that is
//! renamed into place only when every file of the run is complete
//! ([`reglink_extract::commit_all`]). A failure drops the temporary files, so
//! it leaves nothing half-written behind.
//!
//! CSV is encoded by `csv::Writer` from the same record batches the Parquet
//! writer gets, so both formats hold the same values: text as is (quoted only
//! when it holds a comma, quote or line break), integers in decimal, dates as
//! `YYYY-MM-DD`, null as an empty field; comma-separated, lines ending in
//! `\n`.

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use reglink_extract::AtomicFile;
use reglink_pnr::Date;

use crate::error::SynthError;
use crate::preset::Format;

/// Rows per Parquet row group.
pub(crate) const ROW_GROUP_ROWS: usize = 1 << 20;

/// One table's rows of one chunk, ready for its writer.
#[derive(Debug)]
pub(crate) enum Encoded {
    /// For the Parquet writer.
    Batch(RecordBatch),
    /// CSV lines, without the header.
    Csv(Vec<u8>),
}

impl Encoded {
    /// Encodes `batch`, rows of `table`, for `format`.
    pub(crate) fn new(
        batch: RecordBatch,
        format: Format,
        table: &'static str,
    ) -> Result<Encoded, SynthError> {
        match format {
            Format::Parquet => Ok(Encoded::Batch(batch)),
            Format::Csv => {
                let out = Vec::with_capacity(batch.num_rows() * 64);
                let out =
                    encode_csv(&batch, out).map_err(|source| SynthError::Csv { table, source })?;
                Ok(Encoded::Csv(out))
            }
        }
    }
}

/// A file of the run, written to a temporary name beside `target` and
/// renamed into place with the others by [`reglink_extract::commit_all`].
/// Synthetic registers describe nobody, so they get an ordinary data file's
/// mode (0666 less the umask).
pub(crate) fn staged(target: &Path) -> Result<AtomicFile, SynthError> {
    Ok(AtomicFile::create_readable(target)?)
}

/// A staged file holding `text`.
pub(crate) fn staged_text(target: &Path, text: &str) -> Result<AtomicFile, SynthError> {
    let mut file = staged(target)?;
    file.write_all(text.as_bytes())
        .map_err(|e| SynthError::io(target, e))?;
    Ok(file)
}

/// Writes one table, chunk by chunk, in the chosen format.
#[derive(Debug)]
pub(crate) struct TableWriter {
    target: PathBuf,
    inner: Inner,
    rows: u64,
}

enum Inner {
    Csv(AtomicFile),
    Parquet(Box<ArrowWriter<AtomicFile>>),
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inner::Csv(_) => "Csv",
            Inner::Parquet(_) => "Parquet",
        })
    }
}

impl TableWriter {
    /// Starts `target` with the columns of `schema`; `id_column` is written
    /// without dictionary encoding.
    pub(crate) fn create(
        target: PathBuf,
        format: Format,
        schema: SchemaRef,
        id_column: &str,
    ) -> Result<TableWriter, SynthError> {
        let mut file = staged(&target)?;
        let inner = match format {
            Format::Csv => {
                let header = csv_header(&schema).map_err(|source| SynthError::Csv {
                    table: "header",
                    source,
                })?;
                file.write_all(&header)
                    .map_err(|e| SynthError::io(&target, e))?;
                Inner::Csv(file)
            }
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_column_dictionary_enabled(ColumnPath::from(id_column), false)
                    .build();
                let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|source| {
                    SynthError::Parquet {
                        path: target.clone(),
                        source,
                    }
                })?;
                Inner::Parquet(Box::new(writer))
            }
        };
        Ok(TableWriter {
            target,
            inner,
            rows: 0,
        })
    }

    /// Appends one chunk's rows.
    pub(crate) fn write(&mut self, rows: u64, encoded: Encoded) -> Result<(), SynthError> {
        match (&mut self.inner, encoded) {
            (Inner::Csv(file), Encoded::Csv(bytes)) => file
                .write_all(&bytes)
                .map_err(|e| SynthError::io(&self.target, e))?,
            (Inner::Parquet(writer), Encoded::Batch(batch)) => {
                writer.write(&batch).map_err(|source| SynthError::Parquet {
                    path: self.target.clone(),
                    source,
                })?
            }
            _ => unreachable!("chunks are encoded for the writer's format"),
        }
        self.rows += rows;
        Ok(())
    }

    /// Finishes the file (footer) and returns it staged for the rename, with
    /// the number of rows written.
    pub(crate) fn finish(self) -> Result<(AtomicFile, u64), SynthError> {
        let TableWriter {
            target,
            inner,
            rows,
        } = self;
        let file = match inner {
            Inner::Csv(file) => file,
            Inner::Parquet(writer) => {
                writer.into_inner().map_err(|source| SynthError::Parquet {
                    path: target.clone(),
                    source,
                })?
            }
        };
        Ok((file, rows))
    }
}

/// A CSV writer into `out`: comma-separated, quoting only the fields that
/// hold a comma, a quote or a line break (quotes doubled), every line ending
/// in `\n`. (It would also quote an empty field that is a whole line; every
/// table has several columns.)
fn csv_writer(out: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(b',')
        .quote_style(csv::QuoteStyle::Necessary)
        .double_quote(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        .from_writer(out)
}

/// The header line of a CSV file of `schema`: its column names.
fn csv_header(schema: &SchemaRef) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv_writer(Vec::new());
    writer.write_record(schema.fields().iter().map(|f| f.name().as_bytes()))?;
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// Appends `batch` as CSV lines to `out`.
pub(crate) fn encode_csv(batch: &RecordBatch, out: Vec<u8>) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv_writer(out);
    let columns = batch.columns();
    let mut text = [0u8; 20];
    for row in 0..batch.num_rows() {
        for column in columns {
            if column.is_null(row) {
                writer.write_field(b"")?;
                continue;
            }
            let field: &[u8] = match column.data_type() {
                DataType::Utf8 => column.as_string::<i32>().value(row).as_bytes(),
                DataType::Int32 => {
                    let value = i64::from(column.as_primitive::<Int32Type>().value(row));
                    int_text(value, &mut text)
                }
                DataType::Int64 => {
                    int_text(column.as_primitive::<Int64Type>().value(row), &mut text)
                }
                DataType::Date32 => {
                    date_text(column.as_primitive::<Date32Type>().value(row), &mut text)
                }
                other => unreachable!("no {other} columns in the synthetic tables"),
            };
            writer.write_field(field)?;
        }
        writer.write_record(None::<&[u8]>)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// `value` in decimal, written into the end of `buf`.
fn int_text(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut v = value.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// The date `days` after 1970-01-01 as `YYYY-MM-DD`, written into `buf`.
fn date_text(days: i32, buf: &mut [u8; 20]) -> &[u8] {
    let date = Date::from_days_since_epoch(days);
    let (y, m, d) = (date.year(), date.month(), date.day());
    let text = &mut buf[..10];
    text[0] = b'0' + (y / 1000 % 10) as u8;
    text[1] = b'0' + (y / 100 % 10) as u8;
    text[2] = b'0' + (y / 10 % 10) as u8;
    text[3] = b'0' + (y % 10) as u8;
    text[4] = b'-';
    text[5] = b'0' + m / 10;
    text[6] = b'0' + m % 10;
    text[7] = b'-';
    text[8] = b'0' + d / 10;
    text[9] = b'0' + d % 10;
    &buf[..10]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Date32Array, Int32Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    #[test]
    fn csv_round_trips_through_the_csv_crate() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Int32, true),
            Field::new("c", DataType::Int64, false),
            Field::new("d", DataType::Date32, true),
        ]));
        let day = Date::new(2024, 2, 29).unwrap().days_since_epoch();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some(" 19811218-9876"),
                    Some("a,\"b\""),
                    None,
                ])),
                Arc::new(Int32Array::from(vec![Some(202301), None, Some(-7)])),
                Arc::new(Int64Array::from(vec![0, i64::MIN, 1_234_567])),
                Arc::new(Date32Array::from(vec![Some(day), None, Some(0)])),
            ],
        )
        .unwrap();
        let out = encode_csv(&batch, Vec::new()).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_slice());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(rows[0], [" 19811218-9876", "202301", "0", "2024-02-29"]);
        assert_eq!(rows[1], ["a,\"b\"", "", &i64::MIN.to_string(), ""]);
        assert_eq!(rows[2], ["", "-7", "1234567", "1970-01-01"]);
    }

    #[test]
    fn csv_bytes_quote_only_where_needed_and_end_lines_in_newline() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("plain"),
                    Some("say \"hi\""),
                    Some("a\rb"),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(-12),
                    None,
                    Some(i64::MAX),
                    None,
                ])),
            ],
        )
        .unwrap();
        let out = encode_csv(&batch, b"kept,".to_vec()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "kept,plain,-12\n\"say \"\"hi\"\"\",\n\"a\rb\",9223372036854775807\n,\n"
        );
        assert_eq!(csv_header(&schema).unwrap(), b"id,n\n");
    }

    #[test]
    fn numbers_and_dates_as_text() {
        let mut buf = [0u8; 20];
        assert_eq!(int_text(0, &mut buf), b"0");
        assert_eq!(int_text(i64::MIN, &mut buf), b"-9223372036854775808");
        assert_eq!(int_text(202_301, &mut buf), b"202301");
        let day = Date::new(1905, 1, 9).unwrap().days_since_epoch();
        assert_eq!(date_text(day, &mut buf), b"1905-01-09");
    }
}
