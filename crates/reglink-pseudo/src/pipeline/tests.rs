//! Tests of the pseudonymise pipeline against small hand-made extracts.

use std::fs;
use std::path::Path;

use arrow_array::{Array, FixedSizeBinaryArray, Int8Array, Int32Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use reglink_extract::{ExtractError, Hinted};
use reglink_pnr::{Date, Form, Pnr};

use super::*;
use crate::MasterKey;

fn reference() -> Date {
    Date::new(2026, 6, 30).unwrap()
}

fn study_key() -> StudyKey {
    MasterKey::from_bytes([7; 32]).study_key("tests").unwrap()
}

fn pnr(year: i32, month: u8, day: u8, n: u16) -> Pnr {
    Pnr::from_parts(Date::new(year, month, day).unwrap(), n, false).unwrap()
}

fn read_all(path: &Path) -> RecordBatch {
    let file = fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn pseudonyms(batch: &RecordBatch) -> Vec<[u8; 16]> {
    let col = batch
        .column_by_name(PSEUDONYM_COLUMN)
        .unwrap()
        .as_any()
        .downcast_ref::<FixedSizeBinaryArray>()
        .unwrap();
    (0..col.len())
        .map(|i| col.value(i).try_into().unwrap())
        .collect()
}

fn run(
    dir: &Path,
    csv: &str,
    opts: impl FnOnce(&mut PseudonymiseOptions),
) -> Result<PseudonymiseReport, PseudoError> {
    let input = dir.join("in.csv");
    fs::write(&input, csv).unwrap();
    let mut o = PseudonymiseOptions::new(&input, dir.join("out.parquet"), "personnr", reference());
    opts(&mut o);
    pseudonymise(&o, &study_key(), None, &|_| {})
}

fn no_outputs(dir: &Path) {
    let left: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "in.csv")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn every_form_of_a_number_gets_the_same_pseudonym() {
    let dir = tempfile::tempdir().unwrap();
    let p = pnr(1981, 12, 18, 987);
    let mut csv = String::from("personnr,x\n");
    for form in [
        Form::Twelve,
        Form::TwelveDash,
        Form::TenSeparated,
        Form::Ten,
    ] {
        csv.push_str(&format!("{},{}\n", p.format(form, reference()), 1));
    }
    csv.push_str(&format!("  {}  ,2\n", p.format(Form::Twelve, reference())));
    let report = run(dir.path(), &csv, |_| {}).unwrap();
    assert_eq!(
        (report.rows_in, report.rows_out, report.rows_rejected),
        (5, 5, 0)
    );
    let out = read_all(&dir.path().join("out.parquet"));
    let ps = pseudonyms(&out);
    assert!(
        ps.iter()
            .all(|x| *x == study_key().pseudonym(&p).to_bytes())
    );
    // The id column is replaced in place; other columns are untouched.
    assert_eq!(out.schema().field(0).name(), PSEUDONYM_COLUMN);
    assert_eq!(
        out.schema().field(0).data_type(),
        &DataType::FixedSizeBinary(16)
    );
    assert_eq!(out.schema().field(1).name(), "x");
}

#[test]
fn rejects_are_counted_by_reason_with_row_numbers_and_never_values() {
    let dir = tempfile::tempdir().unwrap();
    let good = pnr(1990, 1, 2, 123).format(Form::Twelve, reference());
    let mut bad_checksum = good.clone().into_bytes();
    bad_checksum[11] = if bad_checksum[11] == b'9' {
        b'0'
    } else {
        bad_checksum[11] + 1
    };
    let bad_checksum = String::from_utf8(bad_checksum).unwrap();
    let csv = format!(
        "personnr,x\n{good},1\n{bad_checksum},2\n,3\n19900230-1234,4\n{good},5\n12345,6\n19900102x1234,7\n"
    );
    let report = run(dir.path(), &csv, |_| {}).unwrap();
    assert_eq!(report.rows_in, 7);
    assert_eq!(report.rows_out, 2);
    assert_eq!(report.rows_rejected, 5);
    assert_eq!(report.rows_in, report.rows_out + report.rows_rejected);
    let rows = |r: RejectReason| report.rejects.get(&r).map(|x| x.rows.clone());
    assert_eq!(rows(RejectReason::Checksum), Some(vec![2]));
    assert_eq!(rows(RejectReason::Missing), Some(vec![3]));
    assert_eq!(rows(RejectReason::Date), Some(vec![4]));
    assert_eq!(rows(RejectReason::Length), Some(vec![6]));
    assert_eq!(
        rows(RejectReason::Separator).or(rows(RejectReason::Character)),
        Some(vec![7])
    );

    let json = fs::read_to_string(report_path(&dir.path().join("out.parquet"))).unwrap();
    assert!(!json.contains(&good) && !json.contains(&bad_checksum[2..]));
    assert!(!json.contains("19900230"));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["rows_in"], 7);
    // Kept rows keep their other columns in order.
    let out = read_all(&dir.path().join("out.parquet"));
    let x = out
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!((x.value(0), x.value(1)), ("1", "5"));
}

#[test]
fn output_never_contains_the_raw_number() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..200)
        .map(|i| {
            pnr(
                1950 + i % 50,
                1 + (i % 12) as u8,
                1 + (i % 28) as u8,
                ((i * 7) % 1000) as u16,
            )
            .format(Form::Twelve, reference())
        })
        .collect();
    let csv = format!("personnr\n{}\n", ids.join("\n"));
    run(dir.path(), &csv, |o| o.derive_columns = true).unwrap();
    let bytes = fs::read(dir.path().join("out.parquet")).unwrap();
    for id in &ids {
        for needle in [&id[..], &id[2..]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "raw number found in output"
            );
        }
    }
}

#[test]
fn derived_columns_match_the_number() {
    let dir = tempfile::tempdir().unwrap();
    let man = pnr(1975, 3, 9, 131); // odd birth number: man
    let woman = Pnr::from_parts(Date::new(2001, 11, 30).unwrap(), 242, true).unwrap();
    let csv = format!(
        "personnr\n{}\n{}\n",
        man.format(Form::TenSeparated, reference()),
        woman.format(Form::Twelve, reference())
    );
    run(dir.path(), &csv, |o| o.derive_columns = true).unwrap();
    let out = read_all(&dir.path().join("out.parquet"));
    let col = |name: &str| out.column_by_name(name).unwrap().clone();
    let year = col(BIRTH_YEAR_COLUMN);
    let year = year.as_any().downcast_ref::<Int32Array>().unwrap();
    let month = col(BIRTH_MONTH_COLUMN);
    let month = month.as_any().downcast_ref::<Int8Array>().unwrap();
    let sex = col(SEX_COLUMN);
    let sex = sex.as_any().downcast_ref::<Int8Array>().unwrap();
    assert_eq!(year.values().to_vec(), vec![1975, 2001]);
    assert_eq!(month.values().to_vec(), vec![3, 11]);
    assert_eq!(sex.values().to_vec(), vec![1, 2]);
}

#[test]
fn crosswalk_gives_old_and_new_numbers_one_pseudonym() {
    let dir = tempfile::tempdir().unwrap();
    let old = pnr(1980, 5, 5, 100);
    let mid = pnr(1980, 5, 5, 102);
    let new = pnr(1980, 5, 5, 104);
    let cw = dir.path().join("crosswalk.csv");
    let n = |p: &Pnr| String::from_utf8(p.normalised().to_vec()).unwrap();
    fs::write(
        &cw,
        format!(
            "old,new\n{},{}\n{},{}\n",
            n(&old),
            n(&mid),
            n(&mid),
            n(&new)
        ),
    )
    .unwrap();
    let crosswalk = Crosswalk::load(&cw, reference()).unwrap();
    let input = dir.path().join("in.csv");
    fs::write(
        &input,
        format!("personnr\n{}\n{}\n{}\n", n(&old), n(&mid), n(&new)),
    )
    .unwrap();
    let opts = PseudonymiseOptions::new(
        &input,
        dir.path().join("out.parquet"),
        "personnr",
        reference(),
    );
    let report = pseudonymise(&opts, &study_key(), Some(&crosswalk), &|_| {}).unwrap();
    assert_eq!(report.rows_remapped, 2);
    let ps = pseudonyms(&read_all(&dir.path().join("out.parquet")));
    assert_eq!(ps, vec![study_key().pseudonym(&new).to_bytes(); 3]);
}

#[test]
fn missing_id_column_names_the_file_and_the_columns_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(dir.path(), "pnr,x\n1,2\n", |_| {}).unwrap_err();
    match &err {
        PseudoError::Extract(ExtractError::MissingColumn {
            column, available, ..
        }) => {
            assert_eq!(column, "personnr");
            assert!(available.iter().any(|c| c == "pnr"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("in.csv"));
    no_outputs(dir.path());
}

#[test]
fn malformed_row_late_in_the_file_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = pnr(1990, 1, 2, 123).format(Form::Twelve, reference());
    let mut csv = String::from("personnr,x\n");
    for i in 0..10_000 {
        csv.push_str(&format!("{good},{i}\n"));
    }
    csv.push_str(&format!("{good},1,extra\n"));
    let err = run(dir.path(), &csv, |o| o.batch_size = 1000).unwrap_err();
    match &err {
        PseudoError::Extract(ExtractError::FieldCount {
            row,
            expected,
            found,
            ..
        }) => {
            assert_eq!((*row, *expected, *found), (10_001, 2, 3));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(!err.to_string().contains(&good));
    no_outputs(dir.path());
}

#[test]
fn non_utf8_bytes_are_located_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(
        &input,
        b"personnr,namn\n198112189876,ok\n198112189876,G\xf6ran\n",
    )
    .unwrap();
    let opts = PseudonymiseOptions::new(
        &input,
        dir.path().join("out.parquet"),
        "personnr",
        reference(),
    );
    let err = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap_err();
    match &err {
        PseudoError::Extract(ExtractError::NotUtf8 { row, column, .. }) => {
            assert_eq!((*row, column.as_str()), (2, "namn"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    no_outputs(dir.path());
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(dir.path(), "", |_| {}).unwrap_err();
    assert!(
        matches!(err, PseudoError::Extract(ExtractError::Empty { .. })),
        "{err:?}"
    );
    no_outputs(dir.path());
}

#[test]
fn header_only_file_gives_an_empty_but_valid_output() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), "personnr,x\n", |_| {}).unwrap();
    assert_eq!((report.rows_in, report.rows_out), (0, 0));
    let file = fs::File::open(dir.path().join("out.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(builder.metadata().file_metadata().num_rows(), 0);
}

#[test]
fn unwritable_output_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, "personnr\n198112189876\n").unwrap();
    let output = dir.path().join("no-such-dir").join("out.parquet");
    let opts = PseudonymiseOptions::new(&input, &output, "personnr", reference());
    let err = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(!output.exists());
}

#[test]
fn output_that_is_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, "personnr\n198112189876\n").unwrap();
    let opts = PseudonymiseOptions::new(&input, &input, "personnr", reference());
    let err = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap_err();
    assert!(matches!(err, PseudoError::OutputIsInput { .. }), "{err:?}");
    assert_eq!(
        fs::read_to_string(&input).unwrap(),
        "personnr\n198112189876\n"
    );
}

#[test]
fn a_reserved_output_column_in_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(dir.path(), "personnr,record_key\n198112189876,1\n", |_| {}).unwrap_err();
    assert!(matches!(err, PseudoError::ReservedColumn { .. }), "{err:?}");
    no_outputs(dir.path());
}

/// A Parquet extract with one text column called `name` holding `values`.
fn parquet_with_column(path: &Path, name: &str, values: Vec<&str>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(name, DataType::Utf8, true),
        Field::new("kommun", DataType::Utf8, true),
    ]));
    let n = values.len();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(values)),
            Arc::new(StringArray::from(vec!["0180"; n])),
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn an_id_column_that_could_be_a_number_is_refused_before_anything_is_written() {
    // A CSV without its header row: its first row's number is the "column name".
    let dir = tempfile::tempdir().unwrap();
    let number = "197909134277";
    for id_column in [number, "790913-4277"] {
        let err = run(
            dir.path(),
            &format!("{number},0180\n198112189876,0181\n"),
            |o| o.id_column = id_column.to_string(),
        )
        .unwrap_err();
        assert!(
            matches!(err, PseudoError::IdColumnLooksLikeNumber { .. }),
            "{err:?}"
        );
        let msg = format!("{err} {}", err.hint().unwrap());
        assert!(
            msg.contains("in.csv") && msg.contains("header row"),
            "{msg}"
        );
        assert!(!msg.contains("4277"), "{msg}");
        no_outputs(dir.path());
    }
    // The same through a Parquet extract whose column carries the number as its name.
    let input = dir.path().join("in.parquet");
    parquet_with_column(&input, number, vec!["198112189876"]);
    let opts =
        PseudonymiseOptions::new(&input, dir.path().join("out.parquet"), number, reference());
    let err = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap_err();
    assert!(
        matches!(err, PseudoError::IdColumnLooksLikeNumber { .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("out.parquet").exists());
}

#[test]
fn a_parquet_column_named_like_a_number_is_refused() {
    // Column names are copied into the output, so a number there would leak.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    parquet_with_column(&input, "19790913-4277", vec!["198112189876"]);
    for passthrough in [true, false] {
        let mut opts = PseudonymiseOptions::new(
            &input,
            dir.path().join("out.parquet"),
            "kommun",
            reference(),
        );
        opts.passthrough = passthrough;
        let err = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap_err();
        match &err {
            PseudoError::ColumnNameLooksLikeNumber { column, .. } => assert_eq!(*column, 1),
            other => panic!("unexpected error {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("in.parquet") && !msg.contains("4277"), "{msg}");
        assert!(!dir.path().join("out.parquet").exists());
    }
}

#[test]
fn parquet_input_with_integer_ids_works() {
    let dir = tempfile::tempdir().unwrap();
    let p = pnr(1962, 7, 14, 555);
    let id: i64 = std::str::from_utf8(p.normalised())
        .unwrap()
        .parse()
        .unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("pnr", DataType::Int64, true)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(vec![Some(id), None, Some(id)]))],
    )
    .unwrap();
    let input = dir.path().join("in.parquet");
    let mut w = ArrowWriter::try_new(fs::File::create(&input).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let opts = PseudonymiseOptions::new(&input, dir.path().join("out.parquet"), "pnr", reference());
    let report = pseudonymise(&opts, &study_key(), None, &|_| {}).unwrap();
    assert_eq!((report.rows_out, report.rows_rejected), (2, 1));
    assert_eq!(report.rejects[&RejectReason::Missing].rows, vec![2]);
    let ps = pseudonyms(&read_all(&dir.path().join("out.parquet")));
    assert_eq!(ps, vec![study_key().pseudonym(&p).to_bytes(); 2]);
}

#[test]
fn different_studies_give_unrelated_pseudonyms() {
    let master = MasterKey::from_bytes([9; 32]);
    let p = pnr(1981, 12, 18, 987);
    let a = master.study_key("study-a").unwrap().pseudonym(&p);
    let b = master.study_key("study-b").unwrap().pseudonym(&p);
    assert_ne!(a.to_bytes(), b.to_bytes());
}

/// One generated row: a valid number in some form, or garbage.
#[derive(Debug, Clone)]
enum Row {
    Valid { days: i32, n: u16, form: u8 },
    Garbage(String),
    Empty,
}

fn row_strategy() -> impl Strategy<Value = Row> {
    prop_oneof![
        6 => (-20_000i32..19_000, 0u16..1000, 0u8..4).prop_map(|(days, n, form)| Row::Valid { days, n, form }),
        2 => "[0-9+\\- a-z]{0,14}".prop_map(Row::Garbage),
        1 => Just(Row::Empty),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every input row is used or counted, and every counted row number is a
    /// row that did not parse.
    #[test]
    fn every_row_is_accounted_for(rows in prop::collection::vec(row_strategy(), 0..300), batch in 1usize..80) {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("personnr,i\n");
        let mut expect_ok = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let text = match row {
                Row::Valid { days, n, form } => {
                    let p = Pnr::from_parts(Date::from_days_since_epoch(*days), *n, false).unwrap();
                    let form = [Form::Twelve, Form::TwelveDash, Form::TenSeparated, Form::Ten][*form as usize];
                    p.format(form, reference())
                }
                Row::Garbage(s) => s.clone(),
                Row::Empty => String::new(),
            };
            expect_ok.push(Pnr::parse(&text, reference()).is_ok());
            csv.push_str(&format!("\"{text}\",{i}\n"));
        }
        let report = run(dir.path(), &csv, |o| o.batch_size = batch).unwrap();
        prop_assert_eq!(report.rows_in, rows.len() as u64);
        prop_assert_eq!(report.rows_in, report.rows_out + report.rows_rejected);
        let mut rejected: Vec<u64> = report.rejects.values().flat_map(|r| r.rows.iter().copied()).collect();
        rejected.sort_unstable();
        let expected: Vec<u64> = expect_ok.iter().enumerate().filter(|(_, ok)| !**ok).map(|(i, _)| i as u64 + 1).collect();
        prop_assert_eq!(rejected, expected);
        let counted: u64 = report.rejects.values().map(|r| r.count).sum();
        prop_assert_eq!(counted, report.rows_rejected);
    }
}
