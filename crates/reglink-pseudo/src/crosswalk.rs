//! Changes of personal identity number, applied before hashing so that one
//! person keeps one pseudonym.
//!
//! The crosswalk is a CSV file with columns `old` and `new` (any of the textual
//! forms the extracts use). Chains `a -> b -> c` resolve to the last number.
//! A number mapped to two different numbers, or a cycle, is an error: the file
//! is authoritative, and guessing would silently merge or split people.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow_array::{Array, StringArray};
use reglink_extract::{ExtractReader, Fingerprint};
use reglink_pnr::{Date, Pnr};

use crate::PseudoError;

/// A resolved crosswalk: every old number maps straight to its final number.
#[derive(Debug)]
pub struct Crosswalk {
    path: PathBuf,
    fingerprint: Fingerprint,
    entries: usize,
    resolved: HashMap<Pnr, Pnr>,
}

impl Crosswalk {
    /// Reads and resolves a crosswalk file. `reference` is the date used to
    /// place 10-digit numbers in a century.
    pub fn load(path: &Path, reference: Date) -> Result<Crosswalk, PseudoError> {
        let mut reader = ExtractReader::open(path)?;
        let old_col = reader.column_index("old")?;
        let new_col = reader.column_index("new")?;
        // old number -> (new number, data row of the entry)
        let mut direct: HashMap<Pnr, (Pnr, u64)> = HashMap::new();
        let mut entries = 0usize;
        for batch in reader.by_ref() {
            let batch = batch?;
            let strings = |col: usize, name: &str| {
                batch
                    .batch
                    .column(col)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .ok_or_else(|| PseudoError::IdColumnType {
                        path: path.to_path_buf(),
                        column: name.to_string(),
                        found: batch.batch.column(col).data_type().to_string(),
                    })
            };
            let olds = strings(old_col, "old")?;
            let news = strings(new_col, "new")?;
            for i in 0..batch.batch.num_rows() {
                let row = batch.first_row + i as u64;
                let parse = |arr: &StringArray, column: &str| -> Result<Pnr, PseudoError> {
                    let invalid = |reason| PseudoError::CrosswalkInvalid {
                        path: path.to_path_buf(),
                        row,
                        column: column.to_string(),
                        reason,
                    };
                    if arr.is_null(i) {
                        return Err(invalid(crate::RejectReason::Missing));
                    }
                    Pnr::parse(arr.value(i), reference)
                        .map_err(|e| invalid(crate::RejectReason::from_error(&e)))
                };
                let old = parse(&olds, "old")?;
                let new = parse(&news, "new")?;
                entries += 1;
                match direct.get(&old) {
                    Some((existing, _)) if *existing == new => {} // exact repeat: harmless
                    Some((_, first_row)) => {
                        return Err(PseudoError::CrosswalkConflict {
                            path: path.to_path_buf(),
                            rows: (*first_row, row),
                        });
                    }
                    None => {
                        direct.insert(old, (new, row));
                    }
                }
            }
        }
        let resolved = resolve_chains(path, &direct)?;
        let fingerprint = reglink_extract::fingerprint_file(path)?;
        Ok(Crosswalk {
            path: path.to_path_buf(),
            fingerprint,
            entries,
            resolved,
        })
    }

    /// The final number for `pnr` (itself when it never changed).
    #[inline]
    pub fn resolve(&self, pnr: Pnr) -> Pnr {
        self.resolved.get(&pnr).copied().unwrap_or(pnr)
    }

    /// Whether `pnr` is an old number that the crosswalk replaces.
    #[inline]
    pub fn lookup(&self, pnr: &Pnr) -> Option<Pnr> {
        self.resolved.get(pnr).copied()
    }

    /// Number of entries (rows) read.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// BLAKE3 fingerprint of the file.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

/// Follows every chain to its end; a chain longer than the number of entries
/// must revisit a number, which is a cycle.
fn resolve_chains(
    path: &Path,
    direct: &HashMap<Pnr, (Pnr, u64)>,
) -> Result<HashMap<Pnr, Pnr>, PseudoError> {
    let mut resolved: HashMap<Pnr, Pnr> = HashMap::with_capacity(direct.len());
    for (&start, &(first, row)) in direct {
        let mut current = first;
        let mut steps = 0usize;
        while let Some(&(next, _)) = direct.get(&current) {
            if let Some(&done) = resolved.get(&current) {
                current = done;
                break;
            }
            current = next;
            steps += 1;
            if steps > direct.len() {
                return Err(PseudoError::CrosswalkCycle {
                    path: path.to_path_buf(),
                    row,
                });
            }
        }
        if current == start {
            return Err(PseudoError::CrosswalkCycle {
                path: path.to_path_buf(),
                row,
            });
        }
        resolved.insert(start, current);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reglink_pnr::Form;

    fn reference() -> Date {
        Date::new(2026, 6, 30).unwrap()
    }

    fn p(n: u16) -> Pnr {
        Pnr::from_parts(Date::new(1970, 1, 1 + (n % 28) as u8).unwrap(), n, false).unwrap()
    }

    fn text(pnr: Pnr) -> String {
        pnr.format(Form::Twelve, reference())
    }

    fn load(rows: &[(String, String)]) -> Result<Crosswalk, PseudoError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crosswalk.csv");
        let mut s = String::from("old,new\n");
        for (a, b) in rows {
            s.push_str(&format!("{a},{b}\n"));
        }
        std::fs::write(&path, s).unwrap();
        Crosswalk::load(&path, reference())
    }

    #[test]
    fn chains_resolve_to_the_last_number() {
        let cw = load(&[(text(p(1)), text(p(2))), (text(p(2)), text(p(3)))]).unwrap();
        assert_eq!(cw.resolve(p(1)), p(3));
        assert_eq!(cw.resolve(p(2)), p(3));
        assert_eq!(cw.resolve(p(3)), p(3));
        assert_eq!(cw.resolve(p(4)), p(4));
        assert_eq!(cw.entries(), 2);
    }

    #[test]
    fn other_textual_forms_resolve_too() {
        let old = p(10).format(Form::TenSeparated, reference());
        let cw = load(&[(old, text(p(11)))]).unwrap();
        assert_eq!(cw.resolve(p(10)), p(11));
    }

    #[test]
    fn repeated_identical_entry_is_fine_conflict_is_not() {
        assert!(load(&[(text(p(1)), text(p(2))), (text(p(1)), text(p(2)))]).is_ok());
        let err = load(&[(text(p(1)), text(p(2))), (text(p(1)), text(p(3)))]).unwrap_err();
        assert!(
            matches!(err, PseudoError::CrosswalkConflict { rows: (1, 2), .. }),
            "{err:?}"
        );
    }

    #[test]
    fn cycles_are_errors() {
        let err = load(&[(text(p(1)), text(p(2))), (text(p(2)), text(p(1)))]).unwrap_err();
        assert!(matches!(err, PseudoError::CrosswalkCycle { .. }), "{err:?}");
        let err = load(&[(text(p(5)), text(p(5)))]).unwrap_err();
        assert!(matches!(err, PseudoError::CrosswalkCycle { .. }), "{err:?}");
        let err = load(&[
            (text(p(1)), text(p(2))),
            (text(p(2)), text(p(3))),
            (text(p(3)), text(p(1))),
        ])
        .unwrap_err();
        assert!(matches!(err, PseudoError::CrosswalkCycle { .. }), "{err:?}");
    }

    #[test]
    fn invalid_number_names_row_and_column_not_value() {
        let mut bad = text(p(7));
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        let err = load(&[(text(p(1)), text(p(2))), (text(p(3)), bad.clone())]).unwrap_err();
        match &err {
            PseudoError::CrosswalkInvalid { row, column, .. } => {
                assert_eq!((*row, column.as_str()), (2, "new"))
            }
            other => panic!("{other:?}"),
        }
        assert!(!err.to_string().contains(&bad));
        assert!(!err.to_string().contains(&bad[2..]));
    }

    #[test]
    fn missing_column_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cw.csv");
        std::fs::write(&path, "from,to\n").unwrap();
        assert!(matches!(
            Crosswalk::load(&path, reference()),
            Err(PseudoError::Extract(
                reglink_extract::ExtractError::MissingColumn { .. }
            ))
        ));
    }
}
