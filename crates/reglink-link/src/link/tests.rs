use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};

use super::bucket::{Sorted, af_spells, eb_months, lisa_years};
use super::*;
use crate::derive::EbMonth;
use crate::load::{NO_NUMBER, OPEN};
use crate::study::Concept;
use crate::testutil::{META, StudyDir, keyed, write_parquet};

/// A pseudonym in bucket `bucket`, told apart by `low`.
fn in_bucket(bucket: u128, low: u128) -> u128 {
    (bucket << (128 - BUCKET_BITS)) | low
}

#[test]
fn partition_groups_rows_by_bucket_in_file_order_and_moves_every_column() {
    let mut d = SourceData {
        person: vec![
            in_bucket(5, 1),
            in_bucket(0, 2),
            in_bucket(5, 3),
            in_bucket(1023, 4),
            in_bucket(0, 5),
        ],
        time: vec![10, 20, 30, 40, 50],
        record_key: vec![1, 2, 3, 4, 5],
        numbers: vec![(Concept::Amount, vec![100, 200, 300, 400, 500])],
        ..SourceData::default()
    };
    let offsets = partition(&mut d);
    assert_eq!(offsets.len(), BUCKETS + 1);
    assert_eq!(
        (offsets[0], offsets[1], offsets[5], offsets[6]),
        (0, 2, 2, 4)
    );
    assert_eq!((offsets[1023], offsets[1024]), (4, 5));
    assert_eq!(
        d.person,
        [
            in_bucket(0, 2),
            in_bucket(0, 5),
            in_bucket(5, 1),
            in_bucket(5, 3),
            in_bucket(1023, 4)
        ]
    );
    assert_eq!(d.time, [20, 50, 10, 30, 40]);
    assert_eq!(d.record_key, [2, 5, 1, 3, 4]);
    assert_eq!(
        d.numbers(Concept::Amount),
        Some(&[200, 500, 100, 300, 400][..])
    );
}

#[test]
fn a_bucket_walks_its_persons_in_order_across_sources() {
    let (a, b, c) = (in_bucket(3, 1), in_bucket(3, 2), in_bucket(3, 3));
    let mut eb = SourceData {
        // b's rows out of time order; a row of another bucket in between.
        person: vec![b, a, in_bucket(4, 9), b, a],
        time: vec![7, 5, 1, 6, 5],
        ..SourceData::default()
    };
    let mut lisa = SourceData {
        person: vec![c, a],
        time: vec![2023, 2023],
        ..SourceData::default()
    };
    let offsets = [Some(partition(&mut eb)), None, Some(partition(&mut lisa))];
    let data = [Some(&eb), None, Some(&lisa)];
    let walked: Vec<(u128, [Vec<u32>; 3])> = Sorted::new(&data, &offsets, 3)
        .persons()
        .map(|(p, rows)| (p, rows.map(<[u32]>::to_vec)))
        .collect();
    // Rows are indices after partitioning: bucket 3 holds eb rows 0..4 in file order.
    assert_eq!(
        walked,
        [
            (a, [vec![1, 3], vec![], vec![1]]),
            (b, [vec![2, 0], vec![], vec![]]),
            (c, [vec![], vec![], vec![0]]),
        ]
    );
    assert_eq!(Sorted::new(&data, &offsets, 4).persons().count(), 1);
    assert_eq!(Sorted::new(&data, &offsets, 0).persons().count(), 0);
}

fn eb_data(time: Vec<i32>, amount: Vec<i64>) -> SourceData {
    SourceData {
        person: vec![1; time.len()],
        time,
        numbers: vec![(Concept::Amount, amount)],
        ..SourceData::default()
    }
}

fn months(eb: &[EbMonth]) -> Vec<(i32, u32, i64)> {
    eb.iter().map(|m| (m.month, m.row, m.amount)).collect()
}

#[test]
fn eb_rows_of_a_month_merge_led_by_the_largest_amount() {
    // Month 1: 100 then 300 (the larger leads). Month 2: missing then 50 (a
    // known amount leads). Month 3: 70 twice (the first leads). Month 4 alone, missing.
    let d = eb_data(
        vec![1, 1, 2, 2, 3, 3, 4],
        vec![100, 300, NO_NUMBER, 50, 70, 70, NO_NUMBER],
    );
    let mut eb = Vec::new();
    let duplicates = eb_months(&d, &[0, 1, 2, 3, 4, 5, 6], &mut eb);
    assert_eq!(duplicates, 3);
    assert_eq!(
        months(&eb),
        [(1, 1, 400), (2, 3, 50), (3, 4, 140), (4, 6, NO_NUMBER)]
    );
}

#[test]
fn eb_rows_without_an_amount_column_merge_on_the_first_row() {
    let mut d = eb_data(vec![1, 1], vec![]);
    d.numbers.clear();
    let mut eb = Vec::new();
    assert_eq!(eb_months(&d, &[0, 1], &mut eb), 1);
    assert_eq!(months(&eb), [(1, 0, NO_NUMBER)]);
}

#[test]
fn identical_af_spells_count_once_and_different_programmes_do_not() {
    let d = SourceData {
        person: vec![1; 5],
        time: vec![10, 10, 10, 10, 12],
        end: vec![20, 30, 20, 20, OPEN],
        codes: vec![(Concept::Programme, vec![0, 0, 0, 1, 0])],
        ..SourceData::default()
    };
    let mut af = Vec::new();
    // Row 2 repeats row 0 with row 1 in between; row 3 differs in programme.
    assert_eq!(af_spells(&d, &[0, 1, 2, 3, 4], &mut af), 1);
    let spells: Vec<(i32, i32, u32)> = af.iter().map(|s| (s.start, s.end, s.row)).collect();
    assert_eq!(
        spells,
        [(10, 20, 0), (10, 30, 1), (10, 20, 3), (12, OPEN, 4)]
    );
}

#[test]
fn lisa_keeps_the_first_row_of_each_year() {
    let d = SourceData {
        person: vec![1; 4],
        time: vec![2022, 2023, 2023, 2024],
        ..SourceData::default()
    };
    let mut lisa = Vec::new();
    assert_eq!(lisa_years(&d, &[0, 1, 2, 3], &mut lisa), 1);
    assert_eq!(lisa, [(2022, 0), (2023, 1), (2024, 3)]);
}

/// An EB row: person, month, kommun, amount.
type EbRow = (u64, &'static str, &'static str, &'static str);

/// EB rows written in the given order.
fn write_eb(dir: &StudyDir, rows: &[EbRow]) {
    let ids: Vec<Option<u64>> = rows.iter().map(|r| Some(r.0)).collect();
    let mut columns = keyed(&ids);
    let text = |f: fn(&EbRow) -> &'static str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    columns.push(("period", text(|r| r.1)));
    columns.push(("kommun", text(|r| r.2)));
    columns.push(("belopp", text(|r| r.3)));
    write_parquet(&dir.path("eb.parquet"), columns, META, 4);
}

/// What a link run produced, without the file fingerprints.
fn outcome(dir: &StudyDir, threads: usize) -> (String, String) {
    outcome_in(dir, threads, crate::study::DEFAULT_ROWS_IN_MEMORY)
}

/// [`outcome`], holding at most `rows_in_memory` source rows at once.
fn outcome_in(dir: &StudyDir, threads: usize, rows_in_memory: u64) -> (String, String) {
    let mut study = dir.study();
    study.memory.rows = rows_in_memory;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let linked = pool
        .install(|| crate::link(&study, &crate::NoProgress))
        .unwrap();
    let mut report = serde_json::to_value(&linked.report).unwrap();
    report["sources"]["eb"]["fingerprint"] = serde_json::Value::Null;
    (format!("{:?}", linked.frame), report.to_string())
}

#[test]
fn the_result_depends_neither_on_threads_nor_on_the_order_of_persons_in_the_file() {
    // 300 persons over many buckets, some with a duplicate month.
    let mut rows: Vec<EbRow> = Vec::new();
    for p in 0..300u64 {
        let kommun = if p % 3 == 0 { "0180" } else { "0380" };
        rows.push((p, "202303", kommun, if p % 2 == 0 { "100" } else { "250" }));
        if p % 5 == 0 {
            rows.push((p, "202303", kommun, "40"));
            rows.push((p, "202411", kommun, "7"));
        }
    }
    let dir = StudyDir::new(false);
    write_eb(&dir, &rows);
    let one = outcome(&dir, 1);
    assert_eq!(outcome(&dir, 3), one);
    assert!(one.1.contains("\"duplicates\":60"), "{}", one.1);

    // The same rows with the persons in another order; each person's own rows
    // keep their order (it decides which duplicate leads).
    let mut by_person: Vec<Vec<EbRow>> = vec![Vec::new(); 300];
    for r in &rows {
        by_person[r.0 as usize].push(*r);
    }
    let shuffled: Vec<_> = (0..300)
        .map(|i| (i * 7919) % 300)
        .flat_map(|p| by_person[p].clone())
        .collect();
    write_eb(&dir, &shuffled);
    assert_eq!(outcome(&dir, 2), one);
}

#[test]
fn linking_a_group_of_persons_at_a_time_gives_the_same_result() {
    let mut rows: Vec<EbRow> = Vec::new();
    for p in 0..800u64 {
        let kommun = if p % 3 == 0 { "0180" } else { "0380" };
        rows.push((p, "202303", kommun, "100"));
        if p % 4 == 0 {
            rows.push((p, "202303", kommun, "40"));
            rows.push((p, "202402", "bad", "7"));
        }
    }
    let dir = StudyDir::new(false);
    write_eb(&dir, &rows);
    let whole = outcome(&dir, 2);
    assert!(whole.1.contains("\"duplicates\":200"), "{}", whole.1);
    // 1,200 rows: 16 groups of about 100, then the most groups there are.
    assert_eq!(outcome_in(&dir, 2, 100), whole);
    // At one row per group there are not enough groups: the same result,
    // and a warning that says so.
    let (frame, report) = outcome_in(&dir, 2, 1);
    assert_eq!(frame, whole.0);
    assert!(
        report.contains("1024 groups (the most there are)"),
        "{report}"
    );
    // The spill folder beside the extract is gone.
    let left: Vec<_> = std::fs::read_dir(dir.path("eb.parquet").parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spill"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn groups_are_a_power_of_two_that_keeps_the_limit() {
    assert_eq!(crate::groups_for(0, 100), 1);
    assert_eq!(crate::groups_for(100, 100), 1);
    assert_eq!(crate::groups_for(101, 100), 2);
    assert_eq!(crate::groups_for(750, 100), 8);
    assert_eq!(crate::groups_for(u64::MAX / 2, 1), super::MAX_GROUPS);
    for p in [0u128, 1 << 100, u128::MAX] {
        let g = super::group_of(p, 8);
        assert!(super::group_buckets(g, 8).contains(&super::bucket_of(p)));
    }
}
