//! Code lists: codes with labels and groups, read from CSV.
//!
//! Code lists change between years, so reglink never hard-codes one: the
//! study file names a CSV per list and which of its columns hold the code,
//! the label and the group (the parent, for a municipality its county).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::LinkError;
use crate::error::withhold_numbers;

/// One code list.
#[derive(Debug, Clone)]
pub struct CodeList {
    /// Its name in the study file.
    pub name: String,
    /// The CSV it was read from.
    pub path: PathBuf,
    /// Codes in file order.
    pub codes: Vec<String>,
    /// Label per code (the code itself when the list has no labels).
    pub labels: Vec<String>,
    /// Group index per code, if the list has groups.
    pub group_of: Option<Vec<u32>>,
    /// Distinct groups in order of first appearance.
    pub groups: Vec<String>,
    index: HashMap<String, u32>,
    group_index: HashMap<String, u32>,
}

impl CodeList {
    /// Reads a code list. `code` defaults to the column `code`; `label` and
    /// `group` default to the columns of those names when present.
    pub fn load(
        name: &str,
        path: &Path,
        code: Option<&str>,
        label: Option<&str>,
        group: Option<&str>,
    ) -> Result<CodeList, LinkError> {
        let bytes = std::fs::read(path).map_err(|source| LinkError::CodeListIo {
            path: path.to_path_buf(),
            source,
        })?;
        CodeList::parse(name, path, &bytes, code, label, group)
    }

    /// Reads a code list from the bytes of its CSV; `path` names it in errors.
    /// See [`CodeList::load`].
    pub fn parse(
        name: &str,
        path: &Path,
        bytes: &[u8],
        code: Option<&str>,
        label: Option<&str>,
        group: Option<&str>,
    ) -> Result<CodeList, LinkError> {
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes))
            .map_err(|_| LinkError::CodeListFormat {
                path: path.to_path_buf(),
                row: None,
                message: "is not UTF-8".into(),
            })?;
        let first_line = text.lines().next().unwrap_or("");
        let delimiter = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| LinkError::CodeListFormat {
                path: path.to_path_buf(),
                row: None,
                message: withhold_numbers(&e.to_string()),
            })?
            .clone();
        let find = |wanted: &str| headers.iter().position(|h| h.trim() == wanted);
        let missing = |column: &str| LinkError::CodeListColumn {
            path: path.to_path_buf(),
            column: withhold_numbers(column),
            available: headers.iter().map(withhold_numbers).collect(),
        };
        let code_col =
            find(code.unwrap_or("code")).ok_or_else(|| missing(code.unwrap_or("code")))?;
        let label_col = match label {
            Some(l) => Some(find(l).ok_or_else(|| missing(l))?),
            None => find("label"),
        };
        let group_col = match group {
            Some(g) => Some(find(g).ok_or_else(|| missing(g))?),
            None => find("group"),
        };

        let mut list = CodeList {
            name: name.to_string(),
            path: path.to_path_buf(),
            codes: Vec::new(),
            labels: Vec::new(),
            group_of: group_col.map(|_| Vec::new()),
            groups: Vec::new(),
            index: HashMap::new(),
            group_index: HashMap::new(),
        };
        for (i, record) in reader.records().enumerate() {
            let row = i as u64 + 1;
            let record = record.map_err(|e| LinkError::CodeListFormat {
                path: path.to_path_buf(),
                row: Some(row),
                message: withhold_numbers(&e.to_string()),
            })?;
            let field = |col: usize| record.get(col).unwrap_or("").trim().to_string();
            let code = field(code_col);
            if code.is_empty() {
                return Err(LinkError::CodeListFormat {
                    path: path.to_path_buf(),
                    row: Some(row),
                    message: "empty code".into(),
                });
            }
            let idx = list.codes.len() as u32;
            if list.index.insert(code.clone(), idx).is_some() {
                return Err(LinkError::CodeListFormat {
                    path: path.to_path_buf(),
                    row: Some(row),
                    message: withhold_numbers(&format!("code {code:?} appears twice")),
                });
            }
            list.labels
                .push(label_col.map(field).unwrap_or_else(|| code.clone()));
            list.codes.push(code);
            if let (Some(col), Some(group_of)) = (group_col, list.group_of.as_mut()) {
                let group = field(col);
                let next = list.groups.len() as u32;
                let g = *list.group_index.entry(group.clone()).or_insert(next);
                if g == next {
                    list.groups.push(group);
                }
                group_of.push(g);
            }
        }
        if list.codes.is_empty() {
            return Err(LinkError::CodeListFormat {
                path: path.to_path_buf(),
                row: None,
                message: "has no codes".into(),
            });
        }
        Ok(list)
    }

    /// The index of `code`, if the list has it.
    pub fn find(&self, code: &str) -> Option<u32> {
        self.index.get(code).copied()
    }

    /// The index of group `group`, if the list has it.
    pub fn find_group(&self, group: &str) -> Option<u32> {
        self.group_index.get(group).copied()
    }

    /// Whether code `code` (an index) is in one of `groups`.
    pub fn code_in_groups(&self, code: u32, groups: &[u32]) -> bool {
        match &self.group_of {
            Some(g) => groups.contains(&g[code as usize]),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_labels_and_groups_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.csv");
        std::fs::write(
            &path,
            "code;name;county\n0180;Stockholm;01\n0380;Uppsala;03\n0114;Upplands Väsby;01\n",
        )
        .unwrap();
        let list = CodeList::load("kommun", &path, None, Some("name"), Some("county")).unwrap();
        assert_eq!(list.codes, ["0180", "0380", "0114"]);
        assert_eq!(list.labels[2], "Upplands Väsby");
        assert_eq!(list.groups, ["01", "03"]);
        assert_eq!(list.group_of.as_deref(), Some(&[0, 1, 0][..]));
        assert_eq!(list.find("0380"), Some(1));
        assert_eq!(list.find("9999"), None);
        assert!(list.code_in_groups(2, &[0]));
    }

    #[test]
    fn duplicate_codes_and_missing_columns_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.csv");
        std::fs::write(&path, "code,label\n01,a\n01,b\n").unwrap();
        let err = CodeList::load("k", &path, None, None, None).unwrap_err();
        assert!(
            matches!(err, LinkError::CodeListFormat { row: Some(2), .. }),
            "{err}"
        );
        let err = CodeList::load("k", &path, None, None, Some("county")).unwrap_err();
        assert!(matches!(err, LinkError::CodeListColumn { .. }), "{err}");
    }
}
