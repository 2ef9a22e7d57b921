//! Never-panic properties of CSV reading: arbitrary bytes, and near-valid
//! extracts (random delimiters, quoting, line ends, byte-order mark, ragged
//! rows, non-UTF-8 bytes, personnummer in the header), give batches or an
//! error, never a panic; batches number their rows without gaps; and no
//! error repeats a personnummer-like value of the file.

use proptest::prelude::*;
use reglink_extract::{ExtractError, ExtractReader};

/// Reads every batch of `bytes` written as a CSV file; the number of rows.
fn read(bytes: &[u8], batch_size: usize) -> Result<u64, ExtractError> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("x.csv");
    std::fs::write(&path, bytes).expect("write");
    let mut rows = 0;
    for batch in ExtractReader::with_batch_size(&path, batch_size)? {
        let batch = batch?;
        assert_eq!(batch.first_row, rows + 1, "rows are numbered without gaps");
        rows += batch.batch.num_rows() as u64;
    }
    Ok(rows)
}

/// Runs of ten or more digits: the personnummer-like values.
fn pnrs_in(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut run = String::new();
    for &b in bytes.iter().chain(std::iter::once(&b' ')) {
        if b.is_ascii_digit() {
            run.push(b as char);
        } else {
            if run.len() >= 10 {
                found.push(run.clone());
            }
            run.clear();
        }
    }
    found
}

fn check(bytes: &[u8], batch_size: usize) -> Result<(), TestCaseError> {
    if let Err(e) = read(bytes, batch_size) {
        let message = e.to_string();
        for p in pnrs_in(bytes) {
            prop_assert!(
                !message.contains(&p),
                "an error repeats a personnummer-like value: {}",
                message
            );
        }
    }
    Ok(())
}

fn cell() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => "[a-zåäö0-9 ]{0,8}".prop_map(String::into_bytes),
        2 => "[12][0-9]{11}".prop_map(String::into_bytes),
        1 => "[0-9]{6}[-+][0-9]{4}".prop_map(String::into_bytes),
        1 => "\"[a-z,;\n\"]{0,6}\"".prop_map(String::into_bytes),
        1 => Just(b"\"unclosed".to_vec()),
        1 => Just(b"G\xf6ran".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
    .boxed()
}

fn near_valid_csv() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![b',', b';', b'\t', b'|']),
        prop::sample::select(vec![&b"\n"[..], b"\r\n", b"\r"]),
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(cell(), 1..5), 0..8),
    )
        .prop_map(|(delimiter, end, bom, rows)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice(b"\xef\xbb\xbf");
            }
            for row in rows {
                for (i, cell) in row.iter().enumerate() {
                    if i > 0 {
                        out.push(delimiter);
                    }
                    out.extend_from_slice(cell);
                }
                out.extend_from_slice(end);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_batches_or_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        batch_size in 1usize..5,
    ) {
        check(&bytes, batch_size)?;
    }

    #[test]
    fn near_valid_extracts_are_batches_or_an_error(bytes in near_valid_csv(), batch_size in 1usize..5) {
        check(&bytes, batch_size)?;
    }
}
