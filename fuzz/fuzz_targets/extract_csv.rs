//! CSV extracts: `ExtractReader` on any bytes written to a temporary `.csv`
//! file, read to the end in batches of 1 to 256 rows (the first byte).
//!
//! Beyond "never panics": every column is text, batches number their rows
//! consecutively from 1 and never hold more rows than asked for.

#![no_main]

use arrow_schema::DataType;
use libfuzzer_sys::fuzz_target;
use reglink_extract::ExtractReader;

fuzz_target!(|data: &[u8]| {
    let file = reglink_fuzz::scratch_file("extract.csv");
    let Some((&size, bytes)) = data.split_first() else {
        return;
    };
    std::fs::write(&file, bytes).expect("write the extract");
    let Ok(reader) = ExtractReader::with_batch_size(&file, usize::from(size) + 1) else {
        return;
    };
    let schema = reader.schema();
    for field in schema.fields() {
        assert_eq!(field.data_type(), &DataType::Utf8, "CSV columns are text");
    }
    let mut next_row = 1u64;
    for batch in reader {
        let Ok(batch) = batch else {
            break;
        };
        assert_eq!(batch.first_row, next_row, "rows are numbered consecutively");
        assert_eq!(batch.batch.schema().fields().len(), schema.fields().len());
        assert!(
            batch.batch.num_rows() <= usize::from(size) + 1,
            "batch size is kept"
        );
        next_row += batch.batch.num_rows() as u64;
    }
});
