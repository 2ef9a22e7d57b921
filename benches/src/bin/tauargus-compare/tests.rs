//! The checker and the τ-ARGUS files on a hand-built 2 × 2 table.

use reglink_protect::Flag;
use reglink_tabulate::CellTable;
use reglink_tabulate::testing::{Inner, table};

use crate::{argus, check, policy};

fn inner(persons: u64) -> Inner {
    Inner {
        persons,
        num: 0,
        den: 0,
        contributions: Vec::new(),
        key: 0,
    }
}

/// Inner cells a0b0 = 1 (primary at T = 3), a0b1 = 10, a1b0 = 10, a1b1 = 10.
fn small() -> CellTable {
    table(2, 2, &[inner(1), inner(10), inner(10), inner(10)])
}

/// Cell index of inner cell (i, j): 3 positions per dimension.
fn cell(i: usize, j: usize) -> usize {
    i * 3 + j
}

fn verdict(suppressed_inner: &[(usize, usize)]) -> check::Verdict {
    let t = small();
    let policy = policy(3).unwrap();
    let primary = reglink_protect::primary(&t, &policy);
    assert_eq!(primary.persons[cell(0, 0)], Flag::Threshold);
    let mut suppressed = vec![false; t.shape.cells()];
    for &(i, j) in suppressed_inner {
        suppressed[cell(i, j)] = true;
    }
    check::pattern(&t, &primary, &policy, (&suppressed, None), 100)
}

#[test]
fn a_primary_cell_alone_is_under_protected() {
    let v = verdict(&[(0, 0)]);
    assert_eq!((v.under_protected, v.undecided), (1, 0));
    assert!(!v.protected());
}

#[test]
fn a_rectangle_protects_the_primary_cell() {
    // x00 + x01 = 11 and x00 + x10 = 11 are known: x00 can be anything in [0, 11].
    let v = verdict(&[(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert!(v.protected(), "{v:?}");
}

#[test]
fn a_line_of_cells_does_not_protect() {
    // With a0b1 published, x00 = 11 - 10 is exact whatever else is hidden.
    let v = verdict(&[(0, 0), (1, 0)]);
    assert_eq!(v.under_protected, 1);
}

/// A result as τ-ARGUS writes it: quoted codes padded with spaces, then
/// response, frequency, cost, status and protection levels.
fn result_from(tab: &str, secondary: &[usize]) -> String {
    let mut out = String::new();
    for (c, line) in tab.lines().enumerate() {
        let f: Vec<&str> = line.split(';').collect();
        let status = if secondary.contains(&c) { "M" } else { f[4] };
        out.push_str(&format!(
            "\"{:>4}\";\"  {}\";{};{};{};{};{};{}\n",
            f[0], f[1], f[2], f[3], f[2], status, f[5], f[6]
        ));
    }
    out
}

#[test]
fn a_result_is_read_back_cell_by_cell() {
    let t = small();
    let policy = policy(3).unwrap();
    let primary = reglink_protect::primary(&t, &policy);
    let dir = tempfile::tempdir().unwrap();
    argus::write_input(dir.path(), &t, &primary.persons, &policy).unwrap();
    let tab = std::fs::read_to_string(dir.path().join("table.tab")).unwrap();
    assert_eq!(tab.lines().count(), 9);
    // The primary cell asks for [0, 3]: LPL 1, UPL 2.
    assert!(tab.lines().any(|l| l == "a0;b0;1;1;U;1;2"), "{tab}");

    let secondary = [cell(0, 1), cell(1, 0), cell(1, 1)];
    let path = dir.path().join("result-optimal.txt");
    std::fs::write(&path, result_from(&tab, &secondary)).unwrap();
    let pattern = argus::read_result(&path, &t).unwrap();
    assert_eq!((pattern.primary, pattern.secondary), (1, 3));
    let expected: Vec<bool> = (0..9)
        .map(|c| c == cell(0, 0) || secondary.contains(&c))
        .collect();
    assert_eq!(pattern.suppressed, expected);
}

#[test]
fn a_code_not_in_the_table_names_the_line_and_column() {
    let t = small();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result-modular.txt");
    std::fs::write(&path, "\"a0\";\"b7\";1;1;1;S;0;0\n").unwrap();
    let err = argus::read_result(&path, &t).unwrap_err().to_string();
    assert!(
        err.ends_with("line 1, column 2: a code not in the table"),
        "{err}"
    );
}
