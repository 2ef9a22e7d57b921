use std::error::Error;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use reglink_extract::ExtractError;
use reglink_extract::pseudonymised::{KEY_ID_KEY, PSEUDONYM, RECORD_KEY};

use super::*;
use crate::testutil::{META, StudyDir, keyed, pseudonym, write_parquet};

fn text(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// EB rows: (person, period, kommun, belopp).
type EbRow = (
    Option<u64>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

fn eb_columns(rows: &[EbRow]) -> Vec<(&'static str, ArrayRef)> {
    let ids: Vec<Option<u64>> = rows.iter().map(|r| r.0).collect();
    let mut columns = keyed(&ids);
    columns.push((
        "period",
        text(&rows.iter().map(|r| r.1).collect::<Vec<_>>()),
    ));
    columns.push((
        "kommun",
        text(&rows.iter().map(|r| r.2).collect::<Vec<_>>()),
    ));
    columns.push((
        "belopp",
        text(&rows.iter().map(|r| r.3).collect::<Vec<_>>()),
    ));
    columns
}

fn rejected(data: &SourceData) -> Vec<(&str, u64, Vec<u64>)> {
    data.stats
        .rejected
        .iter()
        .map(|(reason, c)| (reason.as_str(), c.rows, c.first_rows.clone()))
        .collect()
}

#[test]
fn rows_are_kept_rejected_with_their_reason_and_row_or_outside_the_period() {
    let dir = StudyDir::new(false);
    let rows: &[EbRow] = &[
        (Some(1), Some("202305"), Some("0180"), Some("100")),
        (Some(2), Some("202313"), Some("0180"), Some("100")),
        (Some(3), None, Some("0180"), Some("1")),
        (Some(4), Some("202306"), None, Some("1")),
        (Some(5), Some("202201"), Some("0180"), Some("1")),
        (Some(6), Some("202307"), Some("0380"), Some("1,234")),
        (None, Some("202307"), Some("0380"), Some("5")),
        (Some(1), Some("2023-06"), Some(" 0380 "), None),
    ];
    // Row groups of three rows: row numbers run on across row groups.
    write_parquet(&dir.path("eb.parquet"), eb_columns(rows), META, 3);
    let data = load_source(&dir.study(), 0).unwrap();

    assert_eq!(data.person, [pseudonym(1), pseudonym(1)]);
    assert_eq!(data.record_key, [7, 7]);
    assert_eq!(data.time, [2023 * 12 + 4, 2023 * 12 + 5]);
    assert_eq!(data.numbers(Concept::Amount), Some(&[100, NO_NUMBER][..]));
    assert_eq!(
        data.dictionary(Concept::Municipality),
        Some(&["0180".to_string(), "0380".to_string()][..])
    );
    assert_eq!(data.codes(Concept::Municipality), Some(&[0, 1][..]));
    assert_eq!(
        rejected(&data),
        [
            ("amount_ambiguous", 1, vec![6]),
            ("month_invalid", 1, vec![2]),
            ("month_missing", 1, vec![3]),
            ("municipality_missing", 1, vec![4]),
            ("pseudonym_missing", 1, vec![7]),
        ]
    );
    assert_eq!(data.stats.rows_read, 8);
    assert_eq!(data.stats.outside_period, 1);
    assert_eq!(
        (data.key_id.as_str(), data.pseudonym_study.as_str()),
        ("k", "s")
    );
    assert!(!data.has_birth);
}

#[test]
fn a_reason_keeps_its_first_rows_and_counts_the_rest() {
    let dir = StudyDir::new(false);
    let rows: Vec<EbRow> = (0..50)
        .map(|i| (Some(i), Some("2023-00"), Some("0180"), Some("1")))
        .collect();
    write_parquet(&dir.path("eb.parquet"), eb_columns(&rows), META, 7);
    let data = load_source(&dir.study(), 0).unwrap();
    let first: Vec<u64> = (1..=FIRST_ROWS as u64).collect();
    assert_eq!(rejected(&data), [("month_invalid", 50, first)]);
    assert_eq!(data.len(), 0);
}

fn load_err(dir: &StudyDir, columns: Vec<(&str, ArrayRef)>, meta: &[(&str, &str)]) -> LinkError {
    write_parquet(&dir.path("eb.parquet"), columns, meta, 100);
    load_source(&dir.study(), 0).unwrap_err()
}

const ONE_ROW: &[EbRow] = &[(Some(1), Some("202305"), Some("0180"), Some("1"))];

#[test]
fn a_missing_mapped_column_names_concept_and_column() {
    let dir = StudyDir::new(false);
    let mut columns = eb_columns(ONE_ROW);
    columns.retain(|(name, _)| *name != "belopp");
    match load_err(&dir, columns, META) {
        LinkError::MissingColumn {
            source_name,
            concept,
            column,
            available,
            ..
        } => {
            assert_eq!((source_name.as_str(), concept.as_str()), ("eb", "amount"));
            assert_eq!(column, "belopp");
            assert_eq!(available, [PSEUDONYM, RECORD_KEY, "period", "kommun"]);
        }
        other => panic!("expected MissingColumn, got {other}"),
    }
}

#[test]
fn a_mistyped_mapped_column_says_what_would_do() {
    let dir = StudyDir::new(false);
    let mut columns = eb_columns(ONE_ROW);
    columns[2].1 = Arc::new(Float64Array::from(vec![202305.0]));
    match load_err(&dir, columns, META) {
        LinkError::ColumnType {
            concept,
            column,
            found,
            expected,
            ..
        } => {
            assert_eq!((concept.as_str(), column.as_str()), ("month", "period"));
            assert_eq!(
                (found.as_str(), expected),
                ("Float64", Want::Month.expected())
            );
        }
        other => panic!("expected ColumnType, got {other}"),
    }
}

#[test]
fn a_file_pseudonymise_did_not_write_is_refused_in_the_same_words() {
    let dir = StudyDir::new(false);
    let path = dir.path("eb.parquet");
    let message = |err: LinkError| {
        let prefix = format!("source eb ({}): ", path.display());
        err.to_string()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{err}"))
            .to_string()
    };

    let mut columns = eb_columns(ONE_ROW);
    columns[0].1 = text(&[Some("not a pseudonym")]);
    assert_eq!(
        message(load_err(&dir, columns, META)),
        "has no 16-byte pseudonym column"
    );

    let mut columns = eb_columns(ONE_ROW);
    columns.retain(|(name, _)| *name != PSEUDONYM);
    assert_eq!(
        message(load_err(&dir, columns, META)),
        "has no 16-byte pseudonym column"
    );

    let mut columns = eb_columns(ONE_ROW);
    columns.retain(|(name, _)| *name != RECORD_KEY);
    assert_eq!(
        message(load_err(&dir, columns, META)),
        "has no record_key column"
    );

    let no_key_id: Vec<(&str, &str)> = META
        .iter()
        .copied()
        .filter(|(k, _)| *k != KEY_ID_KEY)
        .collect();
    assert_eq!(
        message(load_err(&dir, eb_columns(ONE_ROW), &no_key_id)),
        "has no key id in its metadata"
    );

    let csv = dir.path("eb.csv");
    std::fs::write(&csv, "period\n202305\n").unwrap();
    let study = std::fs::read_to_string(dir.path("study.toml"))
        .unwrap()
        .replace("eb.parquet", "eb.csv");
    std::fs::write(dir.path("study.toml"), study).unwrap();
    let err = load_source(&dir.study(), 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("source eb ({}): is not a Parquet file", csv.display())
    );
}

/// Each cause's text is part of the line above, so the binary, which leaves
/// such causes out, prints every message once.
fn assert_causes_repeat_nothing_new(err: &dyn Error) {
    let mut above = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        assert!(above.contains(&c.to_string()), "{above:?} / {c}");
        above = c.to_string();
        cause = c.source();
    }
}

#[test]
fn a_missing_file_keeps_its_io_error_as_the_cause() {
    let dir = StudyDir::new(false);
    let err = load_source(&dir.study(), 0).unwrap_err();
    let path = dir.path("eb.parquet");
    assert!(
        err.to_string()
            .starts_with(&format!("source eb: {}: cannot read: ", path.display())),
        "{err}"
    );
    let cause = err.source().expect("the extract error is the cause");
    let extract = cause.downcast_ref::<ExtractError>().unwrap();
    assert!(matches!(extract, ExtractError::Io { path: p, .. } if *p == path));
    assert!(cause.source().is_some(), "the io error is its cause");
    assert_causes_repeat_nothing_new(&err);
}

#[test]
fn an_unreadable_parquet_file_keeps_the_reader_error_as_the_cause() {
    let dir = StudyDir::new(false);
    let path = dir.path("eb.parquet");
    std::fs::write(&path, "PAR1 and then nothing a reader can use").unwrap();
    let err = load_source(&dir.study(), 0).unwrap_err();
    let parquet = err
        .source()
        .and_then(|c| c.downcast_ref::<parquet::errors::ParquetError>())
        .expect("a ParquetError cause");
    assert_eq!(
        err.to_string(),
        format!("source eb ({}): {parquet}", path.display())
    );
    assert_causes_repeat_nothing_new(&err);
}

#[test]
fn sources_under_another_key_or_study_cannot_be_linked() {
    let dir = StudyDir::new(true);
    write_parquet(&dir.path("eb.parquet"), eb_columns(ONE_ROW), META, 100);
    let mut lisa = keyed(&[Some(1)]);
    lisa.push(("ar", text(&[Some("2023")])));
    write_parquet(
        &dir.path("lisa.parquet"),
        lisa,
        &[
            (KEY_ID_KEY, "k"),
            (reglink_extract::pseudonymised::STUDY_KEY, "other"),
        ],
        100,
    );
    let err = crate::link(&dir.study(), &crate::NoProgress).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "source lisa ({}): was pseudonymised under key k for study \"other\", but source eb under key k for study \"s\"; pseudonyms only match under one key and one study",
            dir.path("lisa.parquet").display()
        )
    );
}
