//! Month, date and number cells of pseudonymised extracts, read by
//! `reglink-link`'s column reader (`load/col.rs`, private), reached through
//! the public `reglink_link::link`.
//!
//! Each line of the input is one person-row in all three sources, its fields
//! separated by tabs: person, EB month, EB amount, AF start, AF end, LISA
//! year, LISA earnings. The fields become text columns of three small
//! pseudonymised Parquet files in a temporary directory, read by a fixed
//! study that uses every one of them.

#![no_main]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, FixedSizeBinaryArray, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use libfuzzer_sys::fuzz_target;
use parquet::arrow::ArrowWriter;
use reglink_link::{NoProgress, Study};

const STUDY: &str = r#"
[study]
name = "fuzz"
period = ["2023-01", "2024-12"]

[sources.eb]
kind = "eb"
path = "eb.parquet"
[sources.eb.columns]
month = "month"
municipality = "kommun"
amount = "amount"

[sources.af]
kind = "af"
path = "af.parquet"
[sources.af.columns]
start = "start"
end = "end"

[sources.lisa]
kind = "lisa"
path = "lisa.parquet"
[sources.lisa.columns]
year = "year"
earnings = "earnings"

[variables.eb_amount]
kind = "eb_amount"

[variables.at_af]
kind = "at_af_during_eb"

[variables.earnings]
kind = "lisa_value"
column = "earnings"
offset = 0

[populations.eb]
source = "eb"
years = [2023, 2024]

[populations.af]
source = "af"
years = [2023, 2024]

[[tables]]
name = "eb"
population = "eb"
dimensions = ["year"]
measures = [
  { name = "persons", kind = "persons" },
  { name = "amount", kind = "sum", of = "eb_amount" },
  { name = "at_af", kind = "share", of = "at_af" },
]

[[tables]]
name = "af"
population = "af"
dimensions = ["year"]
measures = [
  { name = "persons", kind = "persons" },
  { name = "earnings", kind = "median", of = "earnings" },
]
"#;

struct Setup {
    dir: PathBuf,
    study: Study,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = reglink_fuzz::scratch_dir().to_path_buf();
        let path = dir.join("study.toml");
        let study = Study::parse(&path, STUDY).expect("the fuzz study is valid");
        Setup { dir, study }
    })
}

/// Writes one pseudonymised Parquet file: pseudonym, record key and text columns.
fn write(path: &Path, persons: &[u8], columns: &[(&str, Vec<Option<&str>>)]) {
    let mut fields = vec![
        Field::new("pseudonym", DataType::FixedSizeBinary(16), false),
        Field::new("record_key", DataType::UInt32, false),
    ];
    let pseudonyms = FixedSizeBinaryArray::try_from_iter(persons.iter().map(|&p| [p % 8; 16]))
        .expect("16-byte pseudonyms");
    let keys = UInt32Array::from_iter_values((0..persons.len() as u32).map(|k| k + 1));
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(pseudonyms), Arc::new(keys)];
    for (name, values) in columns {
        fields.push(Field::new(*name, DataType::Utf8, true));
        arrays.push(Arc::new(StringArray::from(values.clone())));
    }
    let metadata = [
        ("reglink.key_id".to_string(), "fuzz-key".to_string()),
        ("reglink.study".to_string(), "fuzz".to_string()),
    ];
    let metadata: std::collections::HashMap<String, String> = metadata.into_iter().collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("a batch");
    let mut writer =
        ArrowWriter::try_new(File::create(path).expect("create"), schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fuzz_target!(|text: &str| {
    let setup = setup();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .take(64)
        .map(|l| l.split('\t').collect())
        .collect();
    if rows.is_empty() {
        return;
    }
    // A field the line lacks is null; a field present but empty is empty text.
    let field =
        |k: usize| -> Vec<Option<&str>> { rows.iter().map(|r| r.get(k).copied()).collect() };
    let persons: Vec<u8> = rows
        .iter()
        .map(|r| r[0].bytes().next().unwrap_or(0))
        .collect();
    write(
        &setup.dir.join("eb.parquet"),
        &persons,
        &[
            ("month", field(1)),
            ("kommun", vec![Some("0311"); rows.len()]),
            ("amount", field(2)),
        ],
    );
    write(
        &setup.dir.join("af.parquet"),
        &persons,
        &[("start", field(3)), ("end", field(4))],
    );
    write(
        &setup.dir.join("lisa.parquet"),
        &persons,
        &[("year", field(5)), ("earnings", field(6))],
    );
    let _ = reglink_link::link(&setup.study, &NoProgress);
});
