//! What the attacker reads from a release bundle: tables, their dimensions and cells, and the flags.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

/// What the attacker reads from a bundle.
#[derive(Debug)]
pub struct Bundle {
    pub threshold: f64,
    pub zeros_disclosive: bool,
    pub tables: Vec<Table>,
}

impl Bundle {
    /// What a flag tells the attacker about a suppressed count: bounds on it.
    pub fn bounds(&self, flag: &str) -> (f64, f64) {
        let t = self.threshold;
        match flag {
            "suppressed" => (0.0, f64::INFINITY),
            "zero" => (0.0, 0.0),
            "threshold" => (1.0, (t - 1.0).max(1.0)),
            "secondary" if self.zeros_disclosive => (t, f64::INFINITY),
            // Not small, or zero under a policy whose zeros are safe: not one interval.
            "secondary" => (0.0, f64::INFINITY),
            other => panic!("a suppressed count flagged {other:?}"),
        }
    }
}

#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub population: String,
    pub total_code: String,
    pub dims: Vec<Dim>,
    pub cells: Vec<Cell>,
}

#[derive(Debug)]
pub struct Dim {
    pub name: String,
    /// Each aggregate position (a group or the total) and the positions it sums.
    pub children: HashMap<String, Vec<String>>,
}

#[derive(Debug)]
pub struct Cell {
    pub codes: Vec<String>,
    pub labels: Vec<String>,
    /// `None` when suppressed (`..`).
    pub persons: Option<f64>,
    pub flag: String,
}

/// A cell's identity across the tables of one population: its non-total
/// codes by dimension name, sorted.
pub type Key = Vec<(String, String)>;

impl Table {
    pub fn key(&self, codes: &[String]) -> Key {
        let mut key: Key = self
            .dims
            .iter()
            .zip(codes)
            .filter(|(_, code)| **code != self.total_code)
            .map(|(dim, code)| (dim.name.clone(), code.clone()))
            .collect();
        key.sort();
        key
    }

    /// `year=2023 municipality=0311 (Ekstad) sex=_T`, for messages.
    pub fn describe(&self, cell: &Cell) -> String {
        let mut out = String::new();
        for ((dim, code), label) in self.dims.iter().zip(&cell.codes).zip(&cell.labels) {
            if !out.is_empty() {
                out.push(' ');
            }
            write!(out, "{}={code}", dim.name).unwrap();
            if label != code && *code != self.total_code {
                write!(out, " ({label})").unwrap();
            }
        }
        out
    }
}

pub fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
}

pub fn read_bundle(dir: &Path) -> Bundle {
    let manifest = read_json(&dir.join("manifest.json"));
    let threshold = manifest["policy"]["threshold"]
        .as_f64()
        .expect("manifest: policy.threshold");
    let zeros_disclosive = manifest["policy"]["zeros_disclosive"]
        .as_bool()
        .unwrap_or(false);
    let tables = manifest["tables"]
        .as_array()
        .expect("manifest: tables")
        .iter()
        .map(|name| read_table(&dir.join("tables"), name.as_str().expect("table name")))
        .collect();
    Bundle {
        threshold,
        zeros_disclosive,
        tables,
    }
}

fn read_table(dir: &Path, name: &str) -> Table {
    let meta = read_json(&dir.join(format!("{name}.json")));
    let total_code = str_of(&meta, "total_code").to_string();
    let dims: Vec<Dim> = meta["dimensions"]
        .as_array()
        .expect("dimensions")
        .iter()
        .map(|d| {
            let categories = d["categories"].as_array().expect("categories");
            let groups: Vec<String> = d["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| g.as_str().expect("group code").to_string())
                .collect();
            let mut children = HashMap::new();
            for group in &groups {
                let members = categories
                    .iter()
                    .filter(|c| c["group"].as_str() == Some(group))
                    .map(|c| str_of(c, "code").to_string())
                    .collect();
                children.insert(group.clone(), members);
            }
            let top = if groups.is_empty() {
                categories
                    .iter()
                    .map(|c| str_of(c, "code").to_string())
                    .collect()
            } else {
                groups
            };
            children.insert(total_code.clone(), top);
            Dim {
                name: str_of(d, "name").to_string(),
                children,
            }
        })
        .collect();

    let path = dir.join(format!("{name}.csv"));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let code_columns: Vec<usize> = dims.iter().map(|d| column(&d.name)).collect();
    let label_columns: Vec<usize> = dims
        .iter()
        .map(|d| column(&format!("{}_label", d.name)))
        .collect();
    let (persons, flag) = (column("persons"), column("persons_flag"));
    let cells = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let text = |i: usize| record[i].to_string();
            Cell {
                codes: code_columns.iter().map(|&i| text(i)).collect(),
                labels: label_columns.iter().map(|&i| text(i)).collect(),
                persons: match &record[persons] {
                    ".." => None,
                    v => Some(
                        v.parse()
                            .unwrap_or_else(|e| panic!("{}: persons {v:?}: {e}", path.display())),
                    ),
                },
                flag: text(flag),
            }
        })
        .collect();
    Table {
        name: name.to_string(),
        population: str_of(&meta, "population").to_string(),
        total_code,
        dims,
        cells,
    }
}
