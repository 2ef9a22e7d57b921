//! A bundle's published tables read back from its own files (each table's
//! CSV and JSON description), for the readers that may use nothing else:
//! `report.html` and `reglink export`. Reading only what was published is
//! what keeps them from showing anything the audited tables do not.

use std::path::Path;

use serde_json::Value;

use crate::ReleaseError;
use crate::error::file_error;

/// One published table as its files hold it.
#[derive(Debug)]
pub(crate) struct PublishedTable {
    /// The table's name (`tables/NAME.csv`).
    pub name: String,
    /// Its JSON description.
    pub description: Value,
    /// The CSV header.
    pub header: Vec<String>,
    /// The CSV rows, as text.
    pub rows: Vec<Vec<String>>,
}

impl PublishedTable {
    /// Reads `tables/NAME.json` and `tables/NAME.csv` of the bundle `dir`.
    pub fn read(dir: &Path, name: &str) -> Result<PublishedTable, ReleaseError> {
        let json = dir.join("tables").join(format!("{name}.json"));
        let bytes = std::fs::read(&json).map_err(file_error(&json))?;
        let description: Value = serde_json::from_slice(&bytes).map_err(file_error(&json))?;
        let csv_path = dir.join("tables").join(format!("{name}.csv"));
        let unreadable = |e: csv::Error| ReleaseError::PublishedTable {
            path: csv_path.clone(),
            reason: e.to_string(),
        };
        let mut reader = csv::Reader::from_path(&csv_path).map_err(unreadable)?;
        let header = reader
            .headers()
            .map_err(unreadable)?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<Vec<Vec<String>>, _>>()
            .map_err(unreadable)?;
        Ok(PublishedTable {
            name: name.to_string(),
            description,
            header,
            rows,
        })
    }

    /// The description's text field `key` (empty when absent).
    pub fn text(&self, key: &str) -> String {
        self.description[key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The title, if the table has one.
    pub fn title(&self) -> Option<String> {
        self.description["title"].as_str().map(str::to_string)
    }

    /// Every measure's name and kind, in the description's order.
    pub fn measures(&self) -> Vec<(String, String)> {
        self.description["measures"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                (s("name"), s("kind"))
            })
            .collect()
    }
}
