//! τ-ARGUS's tabular input (the `.tab` cells, the `.rda` metadata, one
//! `.hrc` hierarchy per rolled-up dimension), written by the release's own
//! writer (`reglink_release::tauargus`, the one the checker report uses),
//! and its result table read back as a suppression pattern.
//!
//! Every cell is written, totals and subtotals included. A primary cell of
//! value `v` gets status `U` with lower protection level `v` and upper
//! protection level `T - v`, so τ-ARGUS must give it the interval `[0, T]`
//! that reglink requires; every other cell has status `S`. The response is
//! the count itself, so a cell's cost is its value (τ-ARGUS's default).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use reglink_protect::{Flag, Policy};
use reglink_release::tauargus::{self, Quantity, Status};
use reglink_tabulate::CellTable;

/// Writes `table.tab`, `table.rda`, `table.hst`, one `DIM.hrc` per rolled-up
/// dimension, `README.txt` and `primaries.csv` (the primary cells' codes and
/// values) into `dir`, from the table's primary flags (`primary`) under
/// `policy`.
pub fn write_input(
    dir: &Path,
    table: &CellTable,
    primary: &[Flag],
    policy: &Policy,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let quantity = Quantity::persons(table, primary, policy);
    let sets = [("table".to_string(), quantity)];
    for (name, text) in tauargus::files(table, &sets) {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let codes: Vec<Vec<String>> = table.dimensions.iter().map(tauargus::codes).collect();
    let mut primaries = String::new();
    for cell in 0..table.shape.cells() {
        if sets[0].1.status[cell] == Status::Primary {
            let cell_codes: Vec<&str> = (0..codes.len())
                .map(|d| codes[d][table.shape.position(cell, d)].as_str())
                .collect();
            writeln!(
                primaries,
                "{};{}",
                cell_codes.join(";"),
                table.persons[cell]
            )?;
        }
    }
    std::fs::write(dir.join("primaries.csv"), primaries)?;
    Ok(())
}

/// A τ-ARGUS result read back: which cells it suppressed, and how.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Per cell of the table: suppressed (primary or secondary).
    pub suppressed: Vec<bool>,
    /// Cells with status `M` (secondary).
    pub secondary: usize,
    /// Cells with status `U` (primary).
    pub primary: usize,
}

/// Reads τ-ARGUS's intermediate result table (`WRITETABLE` type 5 with
/// `SO+`: the codes (padded with spaces), then response, frequency, cost, status and the two
/// protection levels per line, `;`-separated) of `table`.
pub fn read_result(path: &Path, table: &CellTable) -> anyhow::Result<Pattern> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dims = &table.dimensions;
    let position: Vec<HashMap<String, usize>> = dims
        .iter()
        .map(|d| {
            tauargus::codes(d)
                .into_iter()
                .enumerate()
                .map(|(p, code)| (code, p))
                .collect()
        })
        .collect();
    let strides: Vec<usize> = (0..dims.len())
        .map(|d| table.shape.sizes[d + 1..].iter().product())
        .collect();
    let mut pattern = Pattern {
        suppressed: vec![false; table.shape.cells()],
        secondary: 0,
        primary: 0,
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = i + 1;
        let fields: Vec<&str> = line
            .split(';')
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        if fields.len() < dims.len() + 3 {
            bail!("{}: line {row}: too few fields", path.display());
        }
        let mut cell = 0;
        for (d, map) in position.iter().enumerate() {
            let p = map.get(fields[d]).with_context(|| {
                format!(
                    "{}: line {row}, column {}: a code not in the table",
                    path.display(),
                    d + 1
                )
            })?;
            cell += p * strides[d];
        }
        match fields[fields.len() - 3] {
            "M" => {
                pattern.secondary += 1;
                pattern.suppressed[cell] = true;
            }
            "U" => {
                pattern.primary += 1;
                pattern.suppressed[cell] = true;
            }
            "S" | "E" | "P" => {}
            _ => bail!(
                "{}: line {row}, column {}: an unknown status",
                path.display(),
                fields.len() - 2
            ),
        }
    }
    Ok(pattern)
}
