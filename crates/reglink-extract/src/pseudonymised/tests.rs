use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int32Array, RecordBatch, UInt32Array};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;

use super::*;

fn metadata(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn schema(fields: Vec<Field>, meta: &[(&str, &str)]) -> Schema {
    Schema::new_with_metadata(fields, metadata(meta))
}

fn required_fields() -> Vec<Field> {
    vec![
        Field::new("kommun", DataType::Utf8, true),
        Field::new(PSEUDONYM, PSEUDONYM_TYPE, false),
        Field::new(RECORD_KEY, RECORD_KEY_TYPE, false),
    ]
}

fn problem_of(result: Result<Layout, ExtractError>) -> SchemaProblem {
    match result {
        Err(ExtractError::NotPseudonymised { path, problem }) => {
            assert_eq!(path, Path::new("x.parquet"));
            problem
        }
        other => panic!("expected NotPseudonymised, got {other:?}"),
    }
}

#[test]
fn check_finds_every_column_and_the_metadata() {
    let mut fields = required_fields();
    fields.extend([
        Field::new(SEX, SEX_TYPE, false),
        Field::new(BIRTH_YEAR, BIRTH_YEAR_TYPE, false),
        Field::new(BIRTH_MONTH, BIRTH_MONTH_TYPE, false),
    ]);
    let s = schema(fields, &[(KEY_ID_KEY, "abc"), (STUDY_KEY, "eb-af")]);
    let layout = check(Path::new("x.parquet"), &s).unwrap();
    assert_eq!(
        layout,
        Layout {
            pseudonym: 1,
            record_key: 2,
            birth_year: Some(4),
            birth_month: Some(5),
            sex: Some(3),
            key_id: "abc".into(),
            study: "eb-af".into(),
        }
    );
}

#[test]
fn check_takes_a_derived_name_of_any_type_and_a_missing_study_as_empty() {
    let mut fields = required_fields();
    fields.push(Field::new(BIRTH_YEAR, DataType::Utf8, true));
    let s = schema(fields, &[(KEY_ID_KEY, "abc")]);
    let layout = check(Path::new("x.parquet"), &s).unwrap();
    assert_eq!((layout.birth_year, layout.sex), (Some(3), None));
    assert_eq!(layout.study, "");
}

#[test]
fn check_names_a_missing_or_mistyped_column_and_missing_metadata() {
    let meta = [(KEY_ID_KEY, "abc")];
    let path = Path::new("x.parquet");

    let mut fields = required_fields();
    fields.remove(1);
    assert_eq!(
        problem_of(check(path, &schema(fields, &meta))),
        SchemaProblem::MissingColumn { column: PSEUDONYM }
    );

    let mut fields = required_fields();
    fields[1] = Field::new(PSEUDONYM, DataType::Utf8, false);
    let err = check(path, &schema(fields, &meta)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.parquet: not a pseudonymised file: column `pseudonym` has type Utf8, expected FixedSizeBinary(16)"
    );

    let mut fields = required_fields();
    fields.pop();
    assert_eq!(
        problem_of(check(path, &schema(fields, &meta))),
        SchemaProblem::MissingColumn { column: RECORD_KEY }
    );

    let mut fields = required_fields();
    fields[2] = Field::new(RECORD_KEY, DataType::Int64, false);
    assert_eq!(
        problem_of(check(path, &schema(fields, &meta))),
        SchemaProblem::ColumnType {
            column: RECORD_KEY,
            expected: RECORD_KEY_TYPE,
            found: DataType::Int64
        }
    );

    let err = check(path, &schema(required_fields(), &[(STUDY_KEY, "s")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.parquet: not a pseudonymised file: no `reglink.key_id` in its metadata"
    );
}

/// Writes a Parquet file with the given columns and metadata, in batches of two rows.
fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, meta: &[(&str, &str)]) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(schema(fields, meta));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
    for start in (0..batch.num_rows()).step_by(2) {
        let len = 2.min(batch.num_rows() - start);
        writer.write(&batch.slice(start, len)).unwrap();
        writer.flush().unwrap();
    }
    writer.close().unwrap();
}

fn pseudonyms(ids: &[u8]) -> ArrayRef {
    let values = ids.iter().map(|&b| {
        let mut v = [0u8; 16];
        v[0] = b;
        v[15] = b.wrapping_mul(7);
        v
    });
    Arc::new(FixedSizeBinaryArray::try_from_iter(values).unwrap())
}

#[test]
fn describe_counts_rows_and_distinct_pseudonyms_across_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eb.parquet");
    write(
        &path,
        vec![
            (PSEUDONYM, pseudonyms(&[1, 2, 1, 3, 2])),
            (RECORD_KEY, Arc::new(UInt32Array::from(vec![9, 8, 9, 7, 8]))),
            ("belopp", Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5]))),
        ],
        &[(KEY_ID_KEY, "k"), (STUDY_KEY, "s")],
    );
    let d = describe(&path).unwrap();
    assert_eq!(
        d,
        Description {
            rows: 5,
            distinct_pseudonyms: Some(3),
            key_id: Some("k".into()),
            study: Some("s".into()),
            columns: vec![
                ("pseudonym".into(), "FixedSizeBinary(16)".into()),
                ("record_key".into(), "UInt32".into()),
                ("belopp".into(), "Int32".into()),
            ],
        }
    );
    let set = pseudonym_set(&path).unwrap();
    assert_eq!(set.len(), 3);
    assert!(set.contains(&(1u128 << 120 | 7)));
}

#[test]
fn describe_a_file_without_pseudonyms_and_refuse_their_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.parquet");
    write(
        &path,
        vec![("belopp", Arc::new(Int32Array::from(vec![1, 2, 3])))],
        &[],
    );
    let d = describe(&path).unwrap();
    assert_eq!((d.rows, d.distinct_pseudonyms), (3, None));
    assert_eq!((d.key_id, d.study), (None, None));
    let err = pseudonym_set(&path).unwrap_err();
    assert!(matches!(
        err,
        ExtractError::NotPseudonymised {
            problem: SchemaProblem::MissingColumn { column: PSEUDONYM },
            ..
        }
    ));
}

#[test]
fn a_mistyped_pseudonym_column_is_an_error_not_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    write(
        &path,
        vec![(PSEUDONYM, Arc::new(Int32Array::from(vec![1, 2])))],
        &[],
    );
    let err = describe(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("column `pseudonym` has type Int32, expected FixedSizeBinary(16)"),
        "{err}"
    );
}

#[test]
fn a_missing_or_non_parquet_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.parquet");
    assert!(matches!(
        describe(&missing),
        Err(ExtractError::Io { path, .. }) if path == missing
    ));
    let text = dir.path().join("text.parquet");
    std::fs::write(&text, "kommun\n0180\n").unwrap();
    assert!(matches!(
        pseudonym_set(&text),
        Err(ExtractError::Parquet { path, .. }) if path == text
    ));
}

#[test]
fn pseudonym_value_is_big_endian() {
    let mut bytes = [0u8; 16];
    bytes[15] = 1;
    assert_eq!(pseudonym_value(&bytes), 1);
    bytes[0] = 0x80;
    assert_eq!(pseudonym_value(&bytes), 1 << 127 | 1);
}
