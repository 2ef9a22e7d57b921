//! The study file read with `toml` alone: sources, code lists, variables, populations and tables.

// Test code: the reference is written long-hand on purpose, one spec line after another.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use toml::Table;

use crate::dates::{Date, Month, first_day, last_day, parse_month};

#[derive(Debug)]
pub struct CodeList {
    /// Codes in file order.
    pub codes: Vec<String>,
    /// code -> group, if the list has a group column.
    pub group_of: HashMap<String, String>,
}

impl CodeList {
    /// Distinct groups in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for code in &self.codes {
            if let Some(g) = self.group_of.get(code)
                && !groups.contains(g)
            {
                groups.push(g.clone());
            }
        }
        groups
    }
}

#[derive(Debug)]
pub struct Source {
    pub kind: String,
    pub path: PathBuf,
    /// concept -> the extract's column
    pub columns: HashMap<String, String>,
    /// concept -> the name of its code list
    pub codelists: HashMap<String, String>,
    /// role -> the code in the extract (`applicant`, `co_applicant`, `child`)
    pub roles: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Var {
    Year,
    Sex,
    Age,
    Band {
        of: String,
        bands: Vec<Band>,
    },
    Code {
        source: String,
        column: String,
        codelist: String,
        group_level: bool,
        rollup: bool,
        offset: i32,
    },
    EbMonths,
    LongTerm {
        min_months: i64,
    },
    EbAmount,
    HouseholdType,
    AtAfDuringEb,
    /// A used row in the named source.
    FoundIn {
        source: String,
    },
    AfProgramme {
        groups: Vec<String>,
    },
    BenefitGroup,
    AfExit {
        within_months: i32,
    },
    AfEntry,
    AfRegistrationDays,
    DaysToProgramme {
        groups: Vec<String>,
    },
    ProgrammeDays {
        groups: Vec<String>,
    },
    EbSpellMonths {
        max_gap: i32,
    },
    EbEntry {
        months: i32,
    },
    StatusAfter {
        months: i32,
    },
    LisaValue {
        column: String,
        offset: i32,
    },
    SelfSupporting {
        offset: i32,
        employed: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub low: Option<i64>,
    pub high: Option<i64>,
}

impl Band {
    /// `"18-24"`, `"65+"`, `"-0"`.
    pub fn parse(label: &str) -> Band {
        let (low, high) = if let Some(low) = label.strip_suffix('+') {
            (Some(low.parse().unwrap()), None)
        } else if let Some(high) = label.strip_prefix('-') {
            (None, Some(high.parse().unwrap()))
        } else {
            let (low, high) = label.split_once('-').expect("band a-b");
            (Some(low.parse().unwrap()), Some(high.parse().unwrap()))
        };
        Band {
            label: label.to_string(),
            low,
            high,
        }
    }

    pub fn contains(&self, value: i64) -> bool {
        self.low.is_none_or(|low| value >= low) && self.high.is_none_or(|high| value <= high)
    }
}

#[derive(Debug)]
pub struct Population {
    pub source: String,
    pub years: Vec<i32>,
    pub age: Option<(i64, i64)>,
    pub require: Vec<String>,
}

#[derive(Debug)]
pub struct MeasureSpec {
    pub name: String,
    pub kind: String,
    pub of: Option<String>,
}

#[derive(Debug)]
pub struct TableSpec {
    pub name: String,
    pub population: String,
    pub dimensions: Vec<String>,
    pub measures: Vec<MeasureSpec>,
}

#[derive(Debug)]
pub struct Study {
    /// First and last month.
    pub period: (Month, Month),
    pub codelists: BTreeMap<String, CodeList>,
    pub sources: BTreeMap<String, Source>,
    pub variables: BTreeMap<String, Var>,
    pub populations: BTreeMap<String, Population>,
    pub tables: Vec<TableSpec>,
}

pub fn text(table: &Table, key: &str) -> Option<String> {
    table.get(key).map(|value| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("{key} is not a string"))
            .to_string()
    })
}

fn int(table: &Table, key: &str) -> Option<i64> {
    table.get(key).map(|value| {
        value
            .as_integer()
            .unwrap_or_else(|| panic!("{key} is not an integer"))
    })
}

pub fn strings(table: &Table, key: &str) -> Option<Vec<String>> {
    table.get(key).map(|value| {
        value
            .as_array()
            .unwrap_or_else(|| panic!("{key} is not an array"))
            .iter()
            .map(|v| v.as_str().expect("array of strings").to_string())
            .collect()
    })
}

fn sub_table<'a>(table: &'a Table, key: &str) -> &'a Table {
    table
        .get(key)
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("{key} is not a table"))
}

/// Key -> string value of a table of strings (`columns`, `codelists`, `roles`).
fn string_map(table: &Table, key: &str) -> HashMap<String, String> {
    match table.get(key) {
        None => HashMap::new(),
        Some(_) => sub_table(table, key)
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
    }
}

impl Study {
    pub fn read(path: &Path) -> Study {
        let dir = path.parent().unwrap();
        let root: Table = fs::read_to_string(path).unwrap().parse().unwrap();

        let study = sub_table(&root, "study");
        let period = strings(study, "period").unwrap();
        let period = (
            parse_month(&period[0]).unwrap(),
            parse_month(&period[1]).unwrap(),
        );

        let mut codelists = BTreeMap::new();
        let lists = sub_table(&root, "codelists");
        for name in lists.keys() {
            let t = sub_table(lists, name);
            let list_path = dir.join(text(t, "path").unwrap());
            let code_col = text(t, "code").unwrap_or_else(|| "code".to_string());
            let group_col = text(t, "group");
            codelists.insert(
                name.clone(),
                read_codelist(&list_path, &code_col, group_col.as_deref()),
            );
        }

        let mut sources = BTreeMap::new();
        let source_tables = sub_table(&root, "sources");
        for name in source_tables.keys() {
            let t = sub_table(source_tables, name);
            let mut roles: HashMap<String, String> =
                [("applicant", "S"), ("co_applicant", "M"), ("child", "B")]
                    .into_iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect();
            roles.extend(string_map(t, "roles"));
            sources.insert(
                name.clone(),
                Source {
                    kind: text(t, "kind").unwrap(),
                    path: dir.join(text(t, "path").unwrap()),
                    columns: string_map(t, "columns"),
                    codelists: string_map(t, "codelists"),
                    roles,
                },
            );
        }

        let mut variables = BTreeMap::new();
        variables.insert("year".to_string(), Var::Year);
        variables.insert("sex".to_string(), Var::Sex);
        variables.insert("age".to_string(), Var::Age);
        let variable_tables = sub_table(&root, "variables");
        for name in variable_tables.keys() {
            let t = sub_table(variable_tables, name);
            let kind = text(t, "kind").unwrap();
            let groups = || strings(t, "groups").unwrap_or_default();
            let offset = || int(t, "offset").unwrap_or(0) as i32;
            let var = match kind.as_str() {
                "band" => Var::Band {
                    of: text(t, "of").unwrap(),
                    bands: strings(t, "bands")
                        .unwrap()
                        .iter()
                        .map(|b| Band::parse(b))
                        .collect(),
                },
                "code" => Var::Code {
                    source: text(t, "source").unwrap(),
                    column: text(t, "column").unwrap(),
                    // Defaults to the list of the source's column.
                    codelist: text(t, "codelist").unwrap_or_else(|| {
                        let source = text(t, "source").unwrap();
                        let column = text(t, "column").unwrap();
                        sources[&source].codelists[&column].clone()
                    }),
                    group_level: match text(t, "level").as_deref() {
                        None | Some("code") => false,
                        Some("group") => true,
                        Some(other) => panic!("level {other}"),
                    },
                    rollup: t
                        .get("rollup")
                        .and_then(toml::Value::as_bool)
                        .unwrap_or(false),
                    offset: offset(),
                },
                "eb_months" => Var::EbMonths,
                "long_term" => Var::LongTerm {
                    min_months: int(t, "min_months").unwrap_or(10),
                },
                "eb_amount" => Var::EbAmount,
                "household_type" => Var::HouseholdType,
                "at_af_during_eb" => Var::AtAfDuringEb,
                "found_in" => Var::FoundIn {
                    source: text(t, "source").unwrap(),
                },
                "af_programme" => Var::AfProgramme { groups: groups() },
                "benefit_group" => Var::BenefitGroup,
                "af_exit" => Var::AfExit {
                    within_months: int(t, "within_months").unwrap() as i32,
                },
                "af_entry" => Var::AfEntry,
                "af_registration_days" => Var::AfRegistrationDays,
                "days_to_programme" => Var::DaysToProgramme { groups: groups() },
                "programme_days" => Var::ProgrammeDays { groups: groups() },
                "eb_spell_months" => Var::EbSpellMonths {
                    max_gap: int(t, "max_gap").unwrap_or(2) as i32,
                },
                "eb_entry" => Var::EbEntry {
                    months: int(t, "months").unwrap_or(6) as i32,
                },
                "status_after" => Var::StatusAfter {
                    months: int(t, "months").unwrap() as i32,
                },
                "lisa_value" => Var::LisaValue {
                    column: text(t, "column").unwrap(),
                    offset: offset(),
                },
                "self_supporting" => Var::SelfSupporting {
                    offset: offset(),
                    employed: strings(t, "employed")
                        .unwrap_or_else(|| vec!["employed".to_string()]),
                },
                other => panic!("variable kind {other} is not in the reference"),
            };
            variables.insert(name.clone(), var);
        }

        let mut populations = BTreeMap::new();
        let population_tables = sub_table(&root, "populations");
        for name in population_tables.keys() {
            let t = sub_table(population_tables, name);
            let years = t
                .get("years")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_integer().unwrap() as i32)
                .collect();
            let age = t.get("age").map(|a| {
                let a = a.as_array().unwrap();
                (
                    a.first().unwrap().as_integer().unwrap(),
                    a.get(1).unwrap().as_integer().unwrap(),
                )
            });
            populations.insert(
                name.clone(),
                Population {
                    source: text(t, "source").unwrap(),
                    years,
                    age,
                    require: strings(t, "require").unwrap_or_default(),
                },
            );
        }

        let mut tables = Vec::new();
        for t in root.get("tables").unwrap().as_array().unwrap() {
            let t = t.as_table().unwrap();
            let measures = t
                .get("measures")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let m = m.as_table().unwrap();
                    MeasureSpec {
                        name: text(m, "name").unwrap(),
                        kind: text(m, "kind").unwrap(),
                        of: text(m, "of"),
                    }
                })
                .collect();
            tables.push(TableSpec {
                name: text(t, "name").unwrap(),
                population: text(t, "population").unwrap(),
                dimensions: strings(t, "dimensions").unwrap(),
                measures,
            });
        }

        Study {
            period,
            codelists,
            sources,
            variables,
            populations,
            tables,
        }
    }

    pub fn period_first_day(&self) -> Date {
        first_day(self.period.0)
    }

    pub fn period_last_day(&self) -> Date {
        last_day(self.period.1)
    }

    /// The one source of `kind`.
    pub fn source_of_kind(&self, kind: &str) -> &Source {
        let found: Vec<&Source> = self.sources.values().filter(|s| s.kind == kind).collect();
        assert_eq!(found.len(), 1, "the reference expects one {kind} source");
        found[0]
    }

    /// The code list `[sources.NAME.codelists]` gives a concept of the one
    /// source of `kind` (`programme`, `exit`, `employment`).
    pub fn codelist_of_concept(&self, kind: &str, concept: &str) -> &CodeList {
        let name = &self.source_of_kind(kind).codelists[concept];
        &self.codelists[name]
    }

    pub fn var(&self, name: &str) -> &Var {
        self.variables
            .get(name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }
}

fn read_codelist(path: &Path, code_col: &str, group_col: Option<&str>) -> CodeList {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let index = |name: &str| headers.iter().position(|h| h == name);
    let code_i = index(code_col).expect("code column");
    let group_i = match group_col {
        Some(g) => Some(index(g).expect("group column")),
        None => index("group"),
    };
    let mut list = CodeList {
        codes: Vec::new(),
        group_of: HashMap::new(),
    };
    for record in reader.records() {
        let record = record.unwrap();
        let code = record[code_i].to_string();
        if let Some(g) = group_i {
            list.group_of.insert(code.clone(), record[g].to_string());
        }
        list.codes.push(code);
    }
    list
}
