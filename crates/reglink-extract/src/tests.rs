use std::sync::Arc;

use arrow_array::{Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::*;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_all(path: &Path, batch_size: usize) -> Result<Vec<Batch>, ExtractError> {
    ExtractReader::with_batch_size(path, batch_size)?.collect()
}

#[test]
fn csv_batches_carry_row_numbers_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "x.csv",
        b"\xEF\xBB\xBFid,amount\r\na,1\r\nb,\r\nc,3\r\n",
    );
    let batches = read_all(&p, 2).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].first_row, 1);
    assert_eq!(batches[1].first_row, 3);
    let schema = batches[0].batch.schema();
    assert_eq!(schema.field(0).name(), "id", "BOM must be stripped");
    let amount = batches[0]
        .batch
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert!(amount.is_null(1));
    assert_eq!(amount.value(0), "1");
}

#[test]
fn semicolon_and_tab_delimiters_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("s.csv", "a;b\n1;2\n"), ("t.tsv", "a\tb\n1\t2\n")] {
        let p = write(&dir, name, text.as_bytes());
        let b = read_all(&p, 10).unwrap();
        assert_eq!(b[0].batch.num_columns(), 2, "{name}");
    }
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "e.csv", b"");
    assert!(matches!(
        ExtractReader::open(&p),
        Err(ExtractError::Empty { .. })
    ));
    let p = write(&dir, "e.parquet", b"");
    assert!(matches!(
        ExtractReader::open(&p),
        Err(ExtractError::Empty { .. })
    ));
}

#[test]
fn a_file_of_only_a_byte_order_mark_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("bom.csv", &b"\xef\xbb\xbf"[..]),
        ("bom-line.csv", &b"\xef\xbb\xbf\r\n"[..]),
    ] {
        let p = write(&dir, name, bytes);
        let err = ExtractReader::open(&p).unwrap_err();
        assert!(matches!(err, ExtractError::Empty { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains("the file is empty"), "{err}");
    }
}

#[test]
fn a_missing_column_of_a_file_without_columns_says_so() {
    let err = ExtractError::MissingColumn {
        path: "x.parquet".into(),
        column: "personnr".into(),
        available: Vec::new(),
    };
    assert_eq!(
        err.to_string(),
        "x.parquet: no column `personnr`; the file has no columns"
    );
}

#[test]
fn header_only_csv_has_no_batches() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "h.csv", b"a,b\n");
    assert_eq!(read_all(&p, 10).unwrap().len(), 0);
}

#[test]
fn ragged_row_names_row_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"a,b\n1,2\n3,4\n5\n");
    let err = read_all(&p, 10).unwrap_err();
    match &err {
        ExtractError::FieldCount {
            row,
            line,
            expected,
            found,
            ..
        } => assert_eq!((*row, *line, *expected, *found), (3, 4, 2, 1)),
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("r.csv") && msg.contains("row 3"), "{msg}");
}

#[test]
fn non_utf8_names_row_and_column_but_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "u.csv", b"id,name\n1,ok\n2,G\xF6ran\n");
    let err = read_all(&p, 10).unwrap_err();
    match &err {
        ExtractError::NotUtf8 { row, column, .. } => {
            assert_eq!((*row, column.as_str()), (2, "name"))
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.to_string().contains("ran"));
}

#[test]
fn duplicate_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "d.csv", b"a,a\n1,2\n");
    assert!(matches!(
        ExtractReader::open(&p),
        Err(ExtractError::DuplicateColumn { .. })
    ));
}

#[test]
fn missing_column_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "m.csv", b"kommun,belopp\n1,2\n");
    let r = ExtractReader::open(&p).unwrap();
    let err = r.column_index("personnr").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("personnr") && msg.contains("kommun, belopp"),
        "{msg}"
    );
}

#[test]
fn unknown_format_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "x.xlsx", b"PK\x03\x04");
    assert!(matches!(
        ExtractReader::open(&p),
        Err(ExtractError::UnknownFormat { .. })
    ));
}

#[test]
fn parquet_round_trip_keeps_types_and_counts_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("v", DataType::Int64, false),
    ]));
    let ids: Vec<String> = (0..1000).map(|i| format!("r{i}")).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int64Array::from_iter_values(0..1000)),
        ],
    )
    .unwrap();
    let mut out = AtomicFile::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out.commit().unwrap();

    let batches = read_all(&path, 300).unwrap();
    assert_eq!(
        batches.iter().map(|b| b.first_row).collect::<Vec<_>>(),
        vec![1, 301, 601, 901]
    );
    assert_eq!(
        batches[0].batch.schema().field(1).data_type(),
        &DataType::Int64
    );
}

#[test]
fn corrupt_parquet_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "c.parquet", b"PAR1 this is not parquet PAR1");
    let err = ExtractReader::open(&p).unwrap_err();
    assert!(matches!(err, ExtractError::Parquet { .. }));
    assert!(err.to_string().contains("c.parquet"));
}

#[test]
fn unclosed_quote_is_an_error_not_swallowed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "id,kommun\n1,0180\n2,\"0181\n3,0182\n4,0183\n").unwrap();
    let reader = ExtractReader::open(&path).unwrap();
    let err = reader
        .map(|b| b.map(|_| ()))
        .collect::<Result<Vec<()>, _>>()
        .unwrap_err();
    match err {
        ExtractError::CsvSyntax {
            row, line, reason, ..
        } => {
            assert_eq!((row, line), (2, 3));
            assert!(reason.contains("kommun"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn quoted_line_breaks_and_doubled_quotes_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "id,note\n1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n").unwrap();
    let rows: usize = ExtractReader::open(&path)
        .unwrap()
        .map(|b| b.unwrap().batch.num_rows())
        .sum();
    assert_eq!(rows, 2);
}

fn read_with_limits(
    path: &Path,
    batch_size: usize,
    field_bytes: u64,
    batch_bytes: usize,
) -> Result<Vec<Batch>, ExtractError> {
    let limits = csv_source::Limits {
        field_bytes,
        batch_bytes,
    };
    let mut source = csv_source::CsvSource::open_with_limits(path, batch_size, limits)?;
    std::iter::from_fn(|| source.next_batch()).collect()
}

#[test]
fn wide_fields_end_a_batch_by_bytes_not_only_by_rows() {
    // The shape of 60,000 rows with a 40 KB field, scaled down: without a byte
    // budget all rows land in one batch, whose string offsets overflow at full size.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,note\n");
    let wide = "x".repeat(400);
    for i in 0..600 {
        text.push_str(&format!("{i},{wide}\n"));
    }
    let p = write(&dir, "wide.csv", text.as_bytes());
    let budget = 10_000;
    let batches = read_with_limits(&p, 64 * 1024, 1000, budget).unwrap();
    assert!(
        batches.len() > 1,
        "one batch of {} rows",
        batches[0].batch.num_rows()
    );
    let mut next = 1;
    for b in &batches {
        assert_eq!(b.first_row, next);
        next += b.batch.num_rows() as u64;
        let notes = b
            .batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        // At most one row past the budget.
        assert!(
            notes.value_data().len() <= budget + 400,
            "{}",
            notes.value_data().len()
        );
    }
    assert_eq!(next, 601, "every row is read once");
}

#[test]
fn a_field_over_the_limit_names_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // Quoted with line breaks and doubled quotes, and unquoted, in the middle of a file.
    let long = format!("\"{}\"\"\n{}\"", "y".repeat(300), "z".repeat(300));
    for (name, field) in [("q.csv", long), ("u.csv", "9".repeat(700))] {
        let text =
            format!("id;kommun;note\n1;0180;ok\n2;0181;\"a;b\"\n3;0182;{field}\n4;0183;ok\n");
        let p = write(&dir, name, text.as_bytes());
        let err = read_with_limits(&p, 10, 500, 1 << 20).unwrap_err();
        match &err {
            ExtractError::FieldTooLarge {
                row, column, limit, ..
            } => assert_eq!((*row, column.as_str(), *limit), (3, "note", 500), "{name}"),
            other => panic!("{name}: unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(name) && !msg.contains("999") && !msg.contains("yyy"),
            "{msg}"
        );
        // Under the limit the same file reads.
        assert_eq!(
            read_with_limits(&p, 10, 1000, 1 << 20).unwrap()[0]
                .batch
                .num_rows(),
            4,
            "{name}"
        );
    }
}

#[test]
fn a_huge_field_is_stopped_while_it_is_read() {
    // An unclosed quote turns the rest of the file into one field. The guard
    // stops it at the limit: the csv reader never buffers the whole field.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,note\n1,\"open\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i},ok\n"));
    }
    let p = write(&dir, "huge.csv", text.as_bytes());
    let err = read_with_limits(&p, 10, 1000, 1 << 20).unwrap_err();
    assert!(
        matches!(&err, ExtractError::FieldTooLarge { row: 1, column, .. } if column == "note"),
        "{err:?}"
    );
    // A header field over the limit names its position.
    let p = write(
        &dir,
        "head.csv",
        format!("id,{}\n1,2\n", "h".repeat(600)).as_bytes(),
    );
    let err = read_with_limits(&p, 10, 500, 1 << 20).unwrap_err();
    assert!(
        matches!(&err, ExtractError::FieldTooLarge { row: 0, column, .. } if column == "#2"),
        "{err:?}"
    );
}

#[test]
fn a_file_without_its_header_row_never_prints_its_first_row() {
    // Exported without a header: the first row's personnummer becomes a column name.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "nohead.csv",
        b"19900101-0017,0180\n199001010017,0181\n",
    );
    let err = ExtractReader::open(&p).unwrap_err();
    assert!(
        matches!(err, ExtractError::HeaderLooksLikeData { column: 1, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nohead.csv") && msg.contains("column 1"),
        "{msg}"
    );
    assert!(!msg.contains("19900101") && !msg.contains("0017"), "{msg}");
    assert!(err.hint().unwrap().contains("no header row"));
    let p = write(&dir, "dup.csv", b"199001010017,199001010017\n1,2\n");
    let msg = ExtractReader::open(&p).unwrap_err().to_string();
    assert!(!msg.contains("19900101"), "{msg}");
}

#[test]
fn a_header_name_that_could_be_a_number_is_refused_wherever_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    // Every written form; the number is in the third column, behind a BOM in one case.
    for (i, number) in [
        "199001010017",
        "900101-0017",
        "19900101+0017",
        "900101 0017",
    ]
    .iter()
    .enumerate()
    {
        let p = write(
            &dir,
            &format!("n{i}.csv"),
            format!("\u{feff}kommun;belopp;{number}\n0180;1;2\n").as_bytes(),
        );
        match ExtractReader::open(&p) {
            Err(ExtractError::HeaderLooksLikeData { column, .. }) => assert_eq!(column, 3),
            other => panic!("{number:?}: unexpected {other:?}"),
        }
    }
    // Short numbers are ordinary column names (years, codes).
    let p = write(&dir, "years.csv", b"kommun,2023,2024\n0180,1,2\n");
    assert_eq!(ExtractReader::open(&p).unwrap().schema().fields().len(), 3);
}

#[test]
fn commit_all_leaves_all_files_or_none() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut a = AtomicFile::create(dir.path().join("a.txt")).unwrap();
    a.write_all(b"a").unwrap();
    let b = AtomicFile::create(dir.path().join("b")).unwrap();
    // A folder where `b` should go: its rename fails after `a` is in place.
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::write(dir.path().join("b").join("x"), b"x").unwrap();
    assert!(commit_all(vec![a, b]).is_err());
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["b"], "a.txt is removed again, no temporary is left");

    let mut c = AtomicFile::create(dir.path().join("c.txt")).unwrap();
    c.write_all(b"c").unwrap();
    let d = AtomicFile::create(dir.path().join("d.txt")).unwrap();
    let done = commit_all(vec![c, d]).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(std::fs::read(dir.path().join("c.txt")).unwrap(), b"c");
    assert!(dir.path().join("d.txt").is_file());
}

#[cfg(unix)]
#[test]
fn outputs_are_owner_only_unless_asked_to_be_readable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    AtomicFile::create(dir.path().join("private"))
        .unwrap()
        .commit()
        .unwrap();
    AtomicFile::create_readable(dir.path().join("public"))
        .unwrap()
        .commit()
        .unwrap();
    assert_eq!(mode("private"), 0o600);
    // 0666 less the umask: readable by others under any usual umask.
    assert_eq!(mode("public") & 0o600, 0o600);
    assert_ne!(mode("public"), 0o600);
}
