//! Test helpers: small pseudonymised Parquet files and a study that reads them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeBinaryArray, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use reglink_extract::pseudonymised::{KEY_ID_KEY, PSEUDONYM, RECORD_KEY, STUDY_KEY};

use crate::Study;

/// The metadata `pseudonymise` writes, under key `k` for study `s`.
pub(crate) const META: &[(&str, &str)] = &[(KEY_ID_KEY, "k"), (STUDY_KEY, "s")];

/// The pseudonym of test person `id`: spread over the whole 128 bits, so
/// that persons fall into different buckets.
/// Code lists of every shape the study tests need: a rollup with labels
/// (`kommun` → county), a flat list, and grouped AF and LISA lists.
pub(crate) const CODE_LISTS: [(&str, &str); 5] = [
    (
        "kommun.csv",
        "code,name,county\n0180,Stockholm,01\n0380,Uppsala,03\n",
    ),
    ("flat.csv", "code,label\nA,a\nB,b\n"),
    (
        "programme.csv",
        "code,label,group\nP1,p1,guarantee\nP2,p2,training\n",
    ),
    (
        "exit.csv",
        "code,label,group\nE1,job,work\nE2,moved,transfer\nE3,other,other\n",
    ),
    (
        "employment.csv",
        "code,label,group\nW1,emp,employed\nW2,unemp,not_employed\n",
    ),
];

pub(crate) fn pseudonym(id: u64) -> u128 {
    u128::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1
}

/// A pseudonym column of test persons (`None`: null).
pub(crate) fn pseudonyms(ids: &[Option<u64>]) -> ArrayRef {
    let values = ids
        .iter()
        .map(|id| id.map(|id| pseudonym(id).to_be_bytes()));
    Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(values, 16).unwrap())
}

/// Writes a Parquet file with these columns and metadata, in row groups of
/// at most `row_group` rows.
pub(crate) fn write_parquet(
    path: &Path,
    columns: Vec<(&str, ArrayRef)>,
    meta: &[(&str, &str)],
    row_group: usize,
) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let metadata: std::collections::HashMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The pseudonym and record-key columns of a pseudonymised file.
pub(crate) fn keyed(ids: &[Option<u64>]) -> Vec<(&'static str, ArrayRef)> {
    let keys: Vec<u32> = ids.iter().map(|id| id.unwrap_or(0) as u32 * 7).collect();
    vec![
        (PSEUDONYM, pseudonyms(ids)),
        (
            RECORD_KEY,
            Arc::new(arrow_array::UInt32Array::from(keys)) as ArrayRef,
        ),
    ]
}

/// A study folder: `kommun.csv` and `study.toml` with an EB source
/// (`eb.parquet`: month `period`, municipality `kommun`, amount `belopp`), a
/// LISA source (`lisa.parquet`: year `ar`) if `lisa`, the period 2023-01 to
/// 2024-12, and a population of EB recipients in 2023 tabulated by
/// municipality with their amounts.
pub(crate) struct StudyDir {
    pub dir: tempfile::TempDir,
}

impl StudyDir {
    pub(crate) fn new(lisa: bool) -> StudyDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kommun.csv"),
            "code,name,county\n0180,Stockholm,01\n0380,Uppsala,03\n",
        )
        .unwrap();
        let lisa = if lisa {
            "[sources.lisa]\nkind = \"lisa\"\npath = \"lisa.parquet\"\ncolumns = { year = \"ar\" }\n"
        } else {
            ""
        };
        let text = format!(
            r#"[study]
name = "s"
period = ["2023-01", "2024-12"]

[codelists.kommun]
path = "kommun.csv"
label = "name"
group = "county"

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = {{ month = "period", municipality = "kommun", amount = "belopp" }}
codelists = {{ municipality = "kommun" }}
{lisa}
[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"

[variables.eb_amount]
kind = "eb_amount"

[populations.p]
source = "eb"
years = [2023]

[[tables]]
name = "t"
population = "p"
dimensions = ["municipality"]
measures = [{{ name = "amount", kind = "sum", of = "eb_amount" }}]
"#
        );
        std::fs::write(dir.path().join("study.toml"), text).unwrap();
        StudyDir { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn study(&self) -> Study {
        Study::load(self.path("study.toml")).unwrap()
    }
}
