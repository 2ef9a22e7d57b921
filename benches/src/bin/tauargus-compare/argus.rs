//! τ-ARGUS's tabular input (the `.tab` cells, the `.rda` metadata, one
//! `.hrc` hierarchy per rolled-up dimension) written from a cell table, and
//! its result table read back as a suppression pattern.
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
use reglink_tabulate::{CellTable, Dimension, TOTAL};

/// The total code of every dimension.
const TOTAL_CODE: &str = "_T";
/// Group codes get this prefix in the `.tab` and `.hrc`, so a group and one
/// of its categories never share a code (`unknown` is both).
const GROUP_PREFIX: &str = "G";

/// The code τ-ARGUS sees for position `p` of `dim`.
fn argus_code(dim: &Dimension, p: usize) -> String {
    let (code, level) = dim.position(p);
    if code == TOTAL && p == dim.positions() - 1 {
        TOTAL_CODE.to_string()
    } else if level == 1 && dim.group_of.is_some() {
        format!("{GROUP_PREFIX}{code}")
    } else {
        code.to_string()
    }
}

fn check_code(code: &str) -> anyhow::Result<()> {
    if code.is_empty() || code.contains([';', '"', '@', ' ']) {
        bail!(
            "a category code cannot be written to τ-ARGUS's format (empty, or with ; \" @ or a space)"
        );
    }
    Ok(())
}

/// Writes `table.tab`, `table.rda`, one `DIM.hrc` per rolled-up dimension
/// and `primaries.csv` (the primary cells' codes and values) into `dir`.
pub fn write_input(
    dir: &Path,
    table: &CellTable,
    primary: &[bool],
    threshold: u64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dims = &table.dimensions;
    let codes: Vec<Vec<String>> = dims
        .iter()
        .map(|d| (0..d.positions()).map(|p| argus_code(d, p)).collect())
        .collect();
    for c in codes.iter().flatten() {
        check_code(c)?;
    }

    let mut tab = String::new();
    let mut primaries = String::new();
    for cell in 0..table.shape.cells() {
        let cell_codes: Vec<&str> = (0..dims.len())
            .map(|d| codes[d][table.shape.position(cell, d)].as_str())
            .collect();
        let v = table.persons[cell];
        let (status, lower, upper) = if primary[cell] {
            writeln!(primaries, "{};{v}", cell_codes.join(";"))?;
            ("U", v, threshold.saturating_sub(v))
        } else {
            ("S", 0, 0)
        };
        // persons (the response), freq, status, lower and upper protection level.
        writeln!(
            tab,
            "{};{v};{v};{status};{lower};{upper}",
            cell_codes.join(";")
        )?;
    }

    let mut rda = String::from("<SEPARATOR> \";\"\n<SAFE> S\n<UNSAFE> U\n<PROTECT> P\n");
    for (d, dim) in dims.iter().enumerate() {
        writeln!(rda, "{}", dim.name)?;
        writeln!(rda, "  <RECODEABLE>\n  <TOTCODE> \"{TOTAL_CODE}\"")?;
        if let Some(group_of) = &dim.group_of {
            let hrc = format!("{}.hrc", dim.name);
            writeln!(
                rda,
                "  <HIERARCHICAL>\n  <HIERCODELIST> \"{}\"\n  <HIERLEADSTRING> \"@\"",
                dir.join(&hrc).display()
            )?;
            let n = dim.categories.len();
            let mut text = String::new();
            for g in 0..dim.groups.len() {
                writeln!(text, "{}", codes[d][n + g])?;
                for (c, _) in group_of
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| **x as usize == g)
                {
                    writeln!(text, "@{}", codes[d][c])?;
                }
            }
            std::fs::write(dir.join(hrc), text)?;
        }
    }
    rda.push_str("persons\n  <NUMERIC>\n  <DECIMALS> 0\n");
    rda.push_str("freq\n  <FREQUENCY>\n");
    rda.push_str("status\n  <STATUS>\n");
    rda.push_str("lpl\n  <NUMERIC> <LOWERPL>\n  <DECIMALS> 0\n");
    rda.push_str("upl\n  <NUMERIC> <UPPERPL>\n  <DECIMALS> 0\n");

    std::fs::write(dir.join("table.tab"), tab)?;
    std::fs::write(dir.join("table.rda"), rda)?;
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
        .map(|d| (0..d.positions()).map(|p| (argus_code(d, p), p)).collect())
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
