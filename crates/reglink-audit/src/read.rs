//! Reading a bundle as docs/release-bundle.md describes it, independently
//! of the code that wrote it: the manifest's policy and table list, each
//! table's description and its CSV file, and the perturbation table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::AuditError;

/// The policy as the manifest states it: only what the audit checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Counts below this are hidden (at least 1).
    pub threshold: u64,
    /// Whether a count of 0 is hidden too.
    pub zeros_disclosive: bool,
    /// Whether shares of 0 % and 100 % are hidden.
    pub class_disclosure: bool,
    /// How counts are protected.
    pub method: Method,
    /// The whole policy object, to compare with each table's copy.
    pub raw: serde_json::Value,
}

/// The method of the policy, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Published values are the true ones; some are `..`.
    Suppression,
    /// Inner counts are multiples of `base`; margins are their sums.
    Rounding {
        /// The base.
        base: u64,
    },
    /// Counts carry a perturbation from the perturbation table.
    CellKey,
}

/// One dimension of a table.
#[derive(Debug, Clone, Deserialize)]
pub struct Dimension {
    /// Its column name.
    pub name: String,
    /// Its categories in order.
    pub categories: Vec<Category>,
    /// Its groups in order (empty without a rollup).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One category of a dimension.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// The code in the CSV.
    pub code: String,
    /// The code of its group, if the dimension has groups.
    pub group: Option<String>,
}

impl Dimension {
    /// How many positions (categories, groups, total) the dimension runs through.
    pub fn positions(&self) -> usize {
        self.categories.len() + self.groups.len() + 1
    }

    /// Each margin position with the positions it is the sum of: a group
    /// of its categories, the total of the groups (or of the categories).
    pub fn margins(&self) -> Vec<(usize, Vec<usize>)> {
        let n = self.categories.len();
        let mut out: Vec<(usize, Vec<usize>)> = self
            .groups
            .iter()
            .enumerate()
            .map(|(g, code)| {
                let parts = (0..n)
                    .filter(|&c| self.categories[c].group.as_deref() == Some(code.as_str()))
                    .collect();
                (n + g, parts)
            })
            .collect();
        let parts = if self.groups.is_empty() {
            (0..n).collect()
        } else {
            (n..n + self.groups.len()).collect()
        };
        out.push((self.positions() - 1, parts));
        out
    }

    /// The code written at each position.
    pub fn codes(&self, total: &str) -> Vec<String> {
        let mut out: Vec<String> = self.categories.iter().map(|c| c.code.clone()).collect();
        out.extend(self.groups.iter().cloned());
        out.push(total.to_string());
        out
    }
}

/// One measure (value column) of a table.
#[derive(Debug, Clone, Deserialize)]
pub struct Measure {
    /// Its column name.
    pub name: String,
    /// `persons`, `households`, `share`, `sum`, `mean` or `median`.
    pub kind: String,
    /// The variable it is of.
    pub of: Option<String>,
}

/// A value column as read from the CSV.
#[derive(Debug, Clone)]
pub struct Column {
    /// The measure.
    pub measure: Measure,
    /// Per row: the number, or `None` where it is `..` or empty.
    pub values: Vec<Option<f64>>,
    /// Per row: whether the value is `..`.
    pub hidden: Vec<bool>,
    /// Per row: the flag.
    pub flags: Vec<String>,
}

/// One table of the bundle.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// The population it counts.
    pub population: String,
    /// The population's definition (`source`, `years`, `age`, `require`),
    /// `null` in bundles that do not give it.
    pub definition: serde_json::Value,
    /// Its dimensions in column order.
    pub dimensions: Vec<Dimension>,
    /// The code of a dimension's total.
    pub total_code: String,
    /// `persons` first, then the measures.
    pub columns: Vec<Column>,
    /// Flag counts per column as the description gives them.
    pub flag_counts: HashMap<String, HashMap<String, u64>>,
    /// The policy as the description gives it.
    pub policy: serde_json::Value,
}

impl Table {
    /// The number of cells.
    pub fn cells(&self) -> usize {
        self.dimensions.iter().map(Dimension::positions).product()
    }

    /// The row of a cell given its position in every dimension (the last
    /// dimension runs fastest).
    pub fn row(&self, positions: &[usize]) -> usize {
        self.dimensions
            .iter()
            .zip(positions)
            .fold(0, |row, (d, &p)| row * d.positions() + p)
    }

    /// The position in every dimension of a row.
    pub fn positions(&self, mut row: usize) -> Vec<usize> {
        let mut out = vec![0; self.dimensions.len()];
        for (i, d) in self.dimensions.iter().enumerate().rev() {
            out[i] = row % d.positions();
            row /= d.positions();
        }
        out
    }

    /// Every margin equation of the table, once: the dimension it runs
    /// along, the margin's row and the rows of its parts.
    pub fn margin_lines(&self) -> Vec<(usize, usize, Vec<usize>)> {
        let mut out = Vec::new();
        for (d, dim) in self.dimensions.iter().enumerate() {
            let margins = dim.margins();
            for row in 0..self.cells() {
                let mut pos = self.positions(row);
                // Each line along `d` once: from its first position.
                if pos[d] != 0 {
                    continue;
                }
                for (parent, parts) in &margins {
                    pos[d] = *parent;
                    let at = self.row(&pos);
                    let rows = parts
                        .iter()
                        .map(|&q| {
                            pos[d] = q;
                            self.row(&pos)
                        })
                        .collect();
                    out.push((d, at, rows));
                }
            }
        }
        out
    }

    /// The column of a measure by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.measure.name == name)
    }

    /// The cell's identity across the tables of its population: the
    /// `(dimension, code)` pairs of the dimensions not at the total.
    pub fn identity(&self, row: usize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .dimensions
            .iter()
            .zip(self.positions(row))
            .filter(|(d, p)| *p + 1 < d.positions())
            .map(|(d, p)| (d.name.clone(), d.codes(&self.total_code)[p].clone()))
            .collect();
        out.sort();
        out
    }
}

/// The perturbation table: per true count, the perturbations it can get.
#[derive(Debug, Clone, Default)]
pub struct Ptable {
    /// Rows by count, from 0 without a gap.
    pub rows: Vec<(u64, Vec<i64>)>,
    /// The last `period` rows stand for every larger count of the same
    /// remainder modulo `period` (1: the last row for every larger count).
    pub period: u64,
}

impl Ptable {
    /// The perturbations a true count `n` can get.
    pub fn of(&self, n: u64) -> &[i64] {
        let len = self.rows.len() as u64;
        if len == 0 {
            return &[];
        }
        let i = if n < len {
            n
        } else {
            let base = len.saturating_sub(self.period.max(1));
            base + (n - base) % self.period.max(1)
        };
        &self.rows[i as usize].1
    }
}

/// A bundle as read.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The policy of the manifest.
    pub policy: Policy,
    /// The tables in the manifest's order.
    pub tables: Vec<Table>,
    /// The perturbation table, under the cell key method.
    pub ptable: Option<Ptable>,
}

fn bad(path: &Path, what: impl Into<String>) -> AuditError {
    AuditError::Format {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, AuditError> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(path, format!("not JSON: {e}")))
}

fn policy(path: &Path, raw: &serde_json::Value) -> Result<Policy, AuditError> {
    let method = match raw["method"]["name"].as_str() {
        Some("suppression") => Method::Suppression,
        Some("rounding") => Method::Rounding {
            base: raw["method"]["base"]
                .as_u64()
                .filter(|b| *b > 0)
                .ok_or_else(|| bad(path, "policy.method.base is not a positive whole number"))?,
        },
        Some("cell_key") => Method::CellKey,
        other => {
            return Err(bad(
                path,
                format!("policy.method.name {other:?} is not a method"),
            ));
        }
    };
    Ok(Policy {
        threshold: raw["threshold"]
            .as_u64()
            .ok_or_else(|| bad(path, "policy.threshold is not a whole number"))?
            .max(1),
        zeros_disclosive: raw["zeros_disclosive"].as_bool().unwrap_or(false),
        class_disclosure: raw["class_disclosure"].as_bool().unwrap_or(false),
        method,
        raw: raw.clone(),
    })
}

/// Reads the bundle in `dir`: the manifest, every table it names, and the
/// perturbation table if there is one.
pub fn bundle(dir: &Path) -> Result<Bundle, AuditError> {
    let path = dir.join("manifest.json");
    let manifest = read_json(&path)?;
    let policy = policy(&path, &manifest["policy"])?;
    let names = manifest["tables"]
        .as_array()
        .ok_or_else(|| bad(&path, "`tables` is not a list"))?;
    let mut tables = Vec::new();
    for name in names {
        let name = name
            .as_str()
            .ok_or_else(|| bad(&path, "`tables` holds a name that is not text"))?;
        tables.push(table(dir, name)?);
    }
    let ptable_path = dir.join("ptable.csv");
    let ptable = if ptable_path.is_file() {
        Some(ptable(&ptable_path)?)
    } else {
        None
    };
    Ok(Bundle {
        policy,
        tables,
        ptable,
    })
}

#[derive(Deserialize)]
struct Description {
    name: String,
    population: String,
    #[serde(default)]
    population_definition: serde_json::Value,
    total_code: String,
    dimensions: Vec<Dimension>,
    measures: Vec<Measure>,
    columns: Vec<String>,
    flags: HashMap<String, HashMap<String, u64>>,
    policy: serde_json::Value,
}

fn table(dir: &Path, name: &str) -> Result<Table, AuditError> {
    let json: PathBuf = dir.join("tables").join(format!("{name}.json"));
    let d: Description = serde_json::from_value(read_json(&json)?)
        .map_err(|e| bad(&json, format!("not a table description: {e}")))?;
    if d.name != name {
        return Err(bad(&json, "its `name` is not the table's"));
    }
    let mut measures = vec![Measure {
        name: "persons".into(),
        kind: "persons".into(),
        of: None,
    }];
    // The persons column comes first whatever the study named that measure.
    measures.extend(d.measures.into_iter().filter(|m| m.kind != "persons"));
    let mut table = Table {
        name: d.name,
        population: d.population,
        definition: d.population_definition,
        dimensions: d.dimensions,
        total_code: d.total_code,
        columns: measures
            .into_iter()
            .map(|measure| Column {
                measure,
                values: Vec::new(),
                hidden: Vec::new(),
                flags: Vec::new(),
            })
            .collect(),
        flag_counts: d.flags,
        policy: d.policy,
    };
    let csv = dir.join("tables").join(format!("{name}.csv"));
    read_rows(&csv, &d.columns, &mut table)?;
    Ok(table)
}

/// Reads the CSV rows into the table's columns, checking that every row's
/// codes are the ones its position calls for.
fn read_rows(path: &Path, columns: &[String], table: &mut Table) -> Result<(), AuditError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(path, e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header != columns {
        return Err(bad(path, "its header is not the description's `columns`"));
    }
    let index = |name: &str| header.iter().position(|h| h == name);
    let dims: Vec<(usize, Vec<String>)> = table
        .dimensions
        .iter()
        .map(|d| {
            let i = index(&d.name).ok_or_else(|| bad(path, format!("no column `{}`", d.name)))?;
            Ok((i, d.codes(&table.total_code)))
        })
        .collect::<Result<_, AuditError>>()?;
    let mut cols = Vec::new();
    for c in &table.columns {
        let name = &c.measure.name;
        let v = index(name).ok_or_else(|| bad(path, format!("no column `{name}`")))?;
        let f = index(&format!("{name}_flag"))
            .ok_or_else(|| bad(path, format!("no column `{name}_flag`")))?;
        cols.push((v, f));
    }
    let cells = table.cells();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(path, format!("line {line}: {e}")))?;
        if i >= cells {
            return Err(bad(
                path,
                format!("line {line}: more rows than the table's {cells} cells"),
            ));
        }
        for ((col, codes), p) in dims.iter().zip(table.positions(i)) {
            if record.get(*col) != Some(codes[p].as_str()) {
                return Err(bad(
                    path,
                    format!(
                        "line {line}, column `{}`: not the code this row's position calls for",
                        header[*col]
                    ),
                ));
            }
        }
        for (c, (v, f)) in table.columns.iter_mut().zip(&cols) {
            let text = record.get(*v).unwrap_or_default();
            let value =
                match text {
                    ".." | "" => None,
                    t => Some(t.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(
                        || {
                            bad(
                                path,
                                format!("line {line}, column `{}`: not a number", header[*v]),
                            )
                        },
                    )?),
                };
            c.values.push(value);
            c.hidden.push(text == "..");
            c.flags.push(record.get(*f).unwrap_or_default().to_string());
        }
    }
    if table.columns[0].values.len() != cells {
        return Err(bad(
            path,
            format!(
                "{} rows where the dimensions make {cells} cells",
                table.columns[0].values.len()
            ),
        ));
    }
    Ok(())
}

fn ptable(path: &Path) -> Result<Ptable, AuditError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(path, e.to_string()))?;
    let mut rows: Vec<(u64, Vec<i64>, f64)> = Vec::new();
    let mut period: Option<u64> = None;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(path, format!("line {line}: {e}")))?;
        let field = |k: usize| record.get(k).unwrap_or_default();
        // `n`, `n+` (every larger count) or `n+Pk` (n, n + P, n + 2P, ...).
        let label = field(0);
        let (n, tail) = match label.split_once('+') {
            None => (label, None),
            Some((n, "")) => (n, Some(Ok(1))),
            Some((n, p)) => (n, Some(p.strip_suffix('k').unwrap_or("x").parse::<u64>())),
        };
        let (Ok(n), Ok(d), Ok(p)) = (
            n.parse::<u64>(),
            field(1).parse::<i64>(),
            field(2).parse::<f64>(),
        ) else {
            return Err(bad(
                path,
                format!("line {line}: expected `n,perturbation,probability`"),
            ));
        };
        match tail {
            Some(Ok(p)) if p > 0 && period.is_none_or(|q| q == p) => period = Some(p),
            Some(_) => {
                return Err(bad(
                    path,
                    format!("line {line}: the count {label:?} is not `n`, `n+` or `n+Pk`"),
                ));
            }
            None if period.is_some() => {
                return Err(bad(
                    path,
                    format!("line {line}: a plain count after the repeating rows"),
                ));
            }
            None => {}
        }
        let next = rows.len() as u64;
        match rows.last_mut() {
            Some(last) if last.0 == n => {
                last.1.push(d);
                last.2 += p;
            }
            _ if n != next => {
                return Err(bad(
                    path,
                    format!("line {line}: the counts must run 0, 1, 2, ... without a gap"),
                ));
            }
            _ => rows.push((n, vec![d], p)),
        }
    }
    if let Some((n, _, p)) = rows.iter().find(|r| (r.2 - 1.0).abs() > 1e-6) {
        return Err(bad(
            path,
            format!("the probabilities for n = {n} sum to {p}, not 1"),
        ));
    }
    let period = period.unwrap_or(1);
    if period > rows.len() as u64 {
        return Err(bad(path, "fewer rows than the period of the last ones"));
    }
    Ok(Ptable {
        rows: rows.into_iter().map(|(n, d, _)| (n, d)).collect(),
        period,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Ptable, AuditError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ptable.csv");
        std::fs::write(&path, text).unwrap();
        ptable(&path)
    }

    #[test]
    fn repeating_rows_stand_for_every_larger_count_of_their_remainder() {
        let t =
            read("n,perturbation,probability\n0,0,1\n1,-1,1\n2+2k,-2,0.5\n2+2k,2,0.5\n3+2k,1,1\n")
                .unwrap();
        assert_eq!(t.of(1), &[-1]);
        assert_eq!(t.of(2), &[-2, 2]);
        assert_eq!(t.of(3), &[1]);
        assert_eq!(t.of(1_000), &[-2, 2]);
        assert_eq!(t.of(1_001), &[1]);
        let last = read("n,perturbation,probability\n0,0,1\n1+,-1,0.5\n1+,1,0.5\n").unwrap();
        assert_eq!(last.of(50), &[-1, 1]);
    }

    #[test]
    fn a_gap_a_bad_label_or_a_row_not_summing_to_one_is_refused() {
        for (text, says) in [
            (
                "n,perturbation,probability\n0,0,1\n2,0,1\n",
                "without a gap",
            ),
            ("n,perturbation,probability\n0,0,1\n1+x,0,1\n", "n+Pk"),
            (
                "n,perturbation,probability\n0,0,1\n1+,0,1\n2,0,1\n",
                "after the repeating",
            ),
            ("n,perturbation,probability\n0,0,0.5\n", "sum to"),
        ] {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
