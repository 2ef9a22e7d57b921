//! Parquet extracts, streamed one record batch at a time.

use std::path::{Path, PathBuf};

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::{Batch, ExtractError};

pub(crate) struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    schema: SchemaRef,
    next_row: u64,
}

impl ParquetSource {
    pub(crate) fn open(path: &Path, batch_size: usize) -> Result<ParquetSource, ExtractError> {
        let file = crate::atomic::open(path)?;
        if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return Err(ExtractError::Empty {
                path: path.to_path_buf(),
            });
        }
        let perr = |source| ExtractError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr)?;
        let schema = builder.schema().clone();
        let reader = builder.with_batch_size(batch_size).build().map_err(perr)?;
        Ok(ParquetSource {
            path: path.to_path_buf(),
            reader,
            schema,
            next_row: 1,
        })
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(crate) fn next_batch(&mut self) -> Option<Result<Batch, ExtractError>> {
        let batch = self.reader.next()?;
        Some(match batch {
            Ok(batch) => {
                let first_row = self.next_row;
                self.next_row += batch.num_rows() as u64;
                Ok(Batch { batch, first_row })
            }
            Err(source) => Err(ExtractError::Arrow {
                path: self.path.clone(),
                source,
            }),
        })
    }
}
