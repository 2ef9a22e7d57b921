//! The study file as written: serde types that mirror the TOML, with spans so
//! that every later complaint can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStudy {
    pub study: RawStudyHeader,
    #[serde(default)]
    pub codelists: BTreeMap<String, Spanned<RawCodeList>>,
    pub sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    pub variables: BTreeMap<String, Spanned<RawVariable>>,
    #[serde(default)]
    pub populations: BTreeMap<String, Spanned<RawPopulation>>,
    #[serde(default)]
    pub tables: Vec<Spanned<RawTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStudyHeader {
    pub name: Spanned<String>,
    pub period: Spanned<[String; 2]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCodeList {
    pub path: Spanned<String>,
    pub code: Option<String>,
    pub label: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    pub kind: Spanned<String>,
    pub path: Spanned<String>,
    #[serde(default)]
    pub columns: BTreeMap<Spanned<String>, String>,
    #[serde(default)]
    pub codelists: BTreeMap<Spanned<String>, Spanned<String>>,
    pub roles: Option<RawRoles>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoles {
    pub applicant: Option<String>,
    pub co_applicant: Option<String>,
    pub child: Option<String>,
}

/// Every key any variable kind takes; which ones a kind allows is checked
/// after parsing, so the error can say which key does not belong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVariable {
    pub kind: Spanned<String>,
    pub of: Option<Spanned<String>>,
    pub bands: Option<Spanned<Vec<String>>>,
    pub source: Option<Spanned<String>>,
    pub column: Option<Spanned<String>>,
    pub codelist: Option<Spanned<String>>,
    pub level: Option<Spanned<String>>,
    pub rollup: Option<Spanned<bool>>,
    pub offset: Option<Spanned<i64>>,
    pub min_months: Option<Spanned<i64>>,
    pub groups: Option<Spanned<Vec<String>>>,
    pub within_months: Option<Spanned<i64>>,
    pub months: Option<Spanned<i64>>,
    pub max_gap: Option<Spanned<i64>>,
    pub employed: Option<Spanned<Vec<String>>>,
}

impl RawVariable {
    /// The keys that are set, with their spans, other than `kind`.
    pub fn set_keys(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut keys = Vec::new();
        macro_rules! key {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    keys.push((stringify!($field), v.span()));
                }
            )*};
        }
        key!(
            of,
            bands,
            source,
            column,
            codelist,
            level,
            rollup,
            offset,
            min_months,
            groups,
            within_months,
            months,
            max_gap,
            employed
        );
        keys
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPopulation {
    pub source: Spanned<String>,
    pub years: Spanned<Vec<i64>>,
    pub age: Option<Spanned<[i64; 2]>>,
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    pub name: Spanned<String>,
    pub title: Option<String>,
    pub population: Spanned<String>,
    pub dimensions: Vec<Spanned<String>>,
    pub measures: Vec<Spanned<RawMeasure>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeasure {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub of: Option<Spanned<String>>,
}
