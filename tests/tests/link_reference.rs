//! `reglink link` on the example study, checked cell by cell against a
//! reference computed here.
//!
//! The reference is written from `docs/study-file.md` alone, deliberately
//! row by row and without any of the engine's structure: the study file is
//! read with `toml`, the pseudonymised extracts are read into plain maps
//! keyed by pseudonym, every variable is a direct transcription of its line in
//! the spec's table, and every cell is found by looping over the population's
//! person-years. Dates are stepped one day at a time rather than computed.
//!
//! Readings of the spec where it leaves a choice are marked `SPEC READING`.
//!
//! Mismatch messages name the table, the cell (its dimension values and
//! levels), the column and both values; they never contain a pseudonym or a
//! personnummer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int8Type, Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{pseudonymise, reglink};
use toml::Table;

// ------------------------------------------------------------------ setup

#[test]
fn example_study_cells_match_the_reference_seed_1() {
    check_seed(1);
}

#[test]
fn example_study_cells_match_the_reference_seed_7() {
    check_seed(7);
}

/// synth -> key -> pseudonymise x3 -> link, then the reference and the
/// comparison of every table.
fn check_seed(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed_text = seed.to_string();
    reglink(
        d,
        &[
            "synth", "--preset", "tiny", "--seed", &seed_text, "--format", "csv", "--out", "raw",
        ],
    )
    .success();
    reglink(d, &["key", "new", "--out", "k.key"]).success();
    fs::create_dir(d.join("pseudonymised")).unwrap();
    for (register, id_column) in [
        ("eb", "personnr"),
        ("af", "personnummer"),
        ("lisa", "PersonNr"),
    ] {
        pseudonymise(
            d,
            "k.key",
            &format!("raw/{register}.csv"),
            &format!("pseudonymised/{register}.parquet"),
            &[
                "--id-column",
                id_column,
                "--crosswalk",
                "raw/crosswalk.csv",
                "--derive",
            ],
        )
        .success();
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/studies/example/study.toml");
    fs::copy(&fixture, d.join("study.toml")).unwrap();
    let run = reglink(d, &["link", "study.toml", "--out", "link"]);
    assert_eq!(
        run.code,
        Some(0),
        "seed {seed}: reglink link failed:\n{}",
        run.stderr
    );

    let study = Study::read(&d.join("study.toml"));
    let reference = Reference::load(&study);
    reference.check_data_is_consistent();

    let mut problems = Vec::new();
    let mut sanity = Sanity::default();
    for table in &study.tables {
        let expected = reference.cell_table(table);
        sanity.note(table, &expected);
        let path = d.join("link/cells").join(format!("{}.parquet", table.name));
        assert!(
            d.join("link/cells")
                .join(format!("{}.json", table.name))
                .exists(),
            "seed {seed}: cells/{}.json is missing",
            table.name
        );
        let mut found = Vec::new();
        compare(table, &expected, &path, &mut found);
        if !found.is_empty() {
            // The first few of every table, so that one broken table does
            // not hide the others.
            problems.push(format!(
                "{}: {} differences, the first {}:",
                table.name,
                found.len(),
                found.len().min(8)
            ));
            problems.extend(found.into_iter().take(8).map(|p| format!("  {p}")));
        }
    }
    sanity.assert_not_vacuous(seed);
    assert!(
        problems.is_empty(),
        "seed {seed}: the engine's cell tables differ from the reference:\n{}",
        problems.join("\n")
    );
}

// ------------------------------------------------------------------ dates

/// A calendar date; days are counted by stepping, never by formula.
type Date = (i32, u32, u32);

/// A calendar month as `year * 12 + month - 1`, so that `m + 1` is the next month.
type Month = i32;

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => panic!("month {month}"),
    }
}

fn next_day((y, m, d): Date) -> Date {
    if d < days_in_month(y, m) {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    }
}

/// Number of steps from `a` to `b` (`b >= a`).
fn days_between(a: Date, b: Date) -> i64 {
    assert!(a <= b);
    let mut n = 0;
    let mut day = a;
    while day < b {
        day = next_day(day);
        n += 1;
    }
    n
}

fn parse_date(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// `202402`, `2024-02`.
fn parse_month(text: &str) -> Option<Month> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = digits[..4].parse().ok()?;
    let m: i32 = digits[4..].parse().ok()?;
    if !(1..=12).contains(&m) {
        return None;
    }
    Some(y * 12 + m - 1)
}

fn year_of_month(m: Month) -> i32 {
    m.div_euclid(12)
}

fn first_day(m: Month) -> Date {
    (m.div_euclid(12), (m.rem_euclid(12) + 1) as u32, 1)
}

fn last_day(m: Month) -> Date {
    let (y, mo, _) = first_day(m);
    (y, mo, days_in_month(y, mo))
}

/// The same day of month `months` later. SPEC READING: a day that does not
/// exist in the target month (31 January + 1 month) becomes its last day.
fn add_months((y, m, d): Date, months: i32) -> Date {
    let target = y * 12 + m as i32 - 1 + months;
    let (ty, tm, _) = first_day(target);
    (ty, tm, d.min(days_in_month(ty, tm)))
}

// ------------------------------------------------------------------ the study file

#[derive(Debug)]
struct CodeList {
    /// Codes in file order.
    codes: Vec<String>,
    /// code -> group, if the list has a group column.
    group_of: HashMap<String, String>,
}

impl CodeList {
    /// Distinct groups in order of first appearance.
    fn groups(&self) -> Vec<String> {
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
struct Source {
    kind: String,
    path: PathBuf,
    /// concept -> the extract's column
    columns: HashMap<String, String>,
    /// concept -> the name of its code list
    codelists: HashMap<String, String>,
    /// role -> the code in the extract (`applicant`, `co_applicant`, `child`)
    roles: HashMap<String, String>,
}

#[derive(Debug, Clone)]
enum Var {
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
struct Band {
    label: String,
    low: Option<i64>,
    high: Option<i64>,
}

impl Band {
    /// `"18-24"`, `"65+"`, `"-0"`.
    fn parse(label: &str) -> Band {
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

    fn contains(&self, value: i64) -> bool {
        self.low.is_none_or(|low| value >= low) && self.high.is_none_or(|high| value <= high)
    }
}

#[derive(Debug)]
struct Population {
    source: String,
    years: Vec<i32>,
    age: Option<(i64, i64)>,
    require: Vec<String>,
}

#[derive(Debug)]
struct MeasureSpec {
    name: String,
    kind: String,
    of: Option<String>,
}

#[derive(Debug)]
struct TableSpec {
    name: String,
    population: String,
    dimensions: Vec<String>,
    measures: Vec<MeasureSpec>,
}

#[derive(Debug)]
struct Study {
    /// First and last month.
    period: (Month, Month),
    codelists: BTreeMap<String, CodeList>,
    sources: BTreeMap<String, Source>,
    variables: BTreeMap<String, Var>,
    populations: BTreeMap<String, Population>,
    tables: Vec<TableSpec>,
}

fn text(table: &Table, key: &str) -> Option<String> {
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

fn strings(table: &Table, key: &str) -> Option<Vec<String>> {
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
    fn read(path: &Path) -> Study {
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

    fn period_first_day(&self) -> Date {
        first_day(self.period.0)
    }

    fn period_last_day(&self) -> Date {
        last_day(self.period.1)
    }

    /// The one source of `kind`.
    fn source_of_kind(&self, kind: &str) -> &Source {
        let found: Vec<&Source> = self.sources.values().filter(|s| s.kind == kind).collect();
        assert_eq!(found.len(), 1, "the reference expects one {kind} source");
        found[0]
    }

    /// The code list `[sources.NAME.codelists]` gives a concept of the one
    /// source of `kind` (`programme`, `exit`, `employment`).
    fn codelist_of_concept(&self, kind: &str, concept: &str) -> &CodeList {
        let name = &self.source_of_kind(kind).codelists[concept];
        &self.codelists[name]
    }

    fn var(&self, name: &str) -> &Var {
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

// ------------------------------------------------------------------ the extracts

type Pid = [u8; 16];

/// Concept -> value (`None` for an empty field) of one row.
type Concepts = HashMap<String, Option<String>>;

/// One row of a pseudonymised extract.
struct RawRow {
    pid: Pid,
    record_key: u32,
    birth_year: Option<i32>,
    sex: Option<i8>,
    values: Concepts,
}

/// Every row of `source`, in file order, with its text columns renamed to
/// reglink's concepts.
fn read_source(source: &Source) -> Vec<RawRow> {
    let file = fs::File::open(&source.path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        let column =
            |name: &str| {
                batch
                    .column(batch.schema().index_of(name).unwrap_or_else(|_| {
                        panic!("{} has no column {name}", source.path.display())
                    }))
                    .clone()
            };
        let pseudonym = column("pseudonym");
        let pseudonym = pseudonym.as_fixed_size_binary();
        let record_key = column("record_key");
        let record_key = record_key.as_primitive::<UInt32Type>();
        let birth_year = column("birth_year");
        let birth_year = birth_year.as_primitive::<Int32Type>();
        let sex = column("sex");
        let sex = sex.as_primitive::<Int8Type>();
        let concept_columns: Vec<(String, arrow_array::ArrayRef)> = source
            .columns
            .iter()
            .map(|(concept, col)| (concept.clone(), column(col)))
            .collect();
        for i in 0..batch.num_rows() {
            let mut values = HashMap::new();
            for (concept, col) in &concept_columns {
                let strings = col.as_string::<i32>();
                let value = if strings.is_null(i) || strings.value(i).is_empty() {
                    None
                } else {
                    Some(strings.value(i).to_string())
                };
                values.insert(concept.clone(), value);
            }
            rows.push(RawRow {
                pid: pseudonym.value(i).try_into().unwrap(),
                record_key: record_key.value(i),
                birth_year: (!birth_year.is_null(i)).then(|| birth_year.value(i)),
                sex: (!sex.is_null(i)).then(|| sex.value(i)),
                values,
            });
        }
    }
    rows
}

#[derive(Debug, Clone, PartialEq)]
struct Person {
    record_key: u32,
    birth_year: Option<i32>,
    sex: Option<i8>,
}

/// One person-month of EB after merging duplicate rows.
#[derive(Debug, Clone)]
struct EbMonth {
    /// Sum of the amounts of the merged rows.
    amount: i64,
    /// The largest single-row amount, which chose the attributes below.
    largest_row_amount: i64,
    municipality: String,
    household: Option<String>,
    role: Option<String>,
}

#[derive(Debug, Clone)]
struct Spell {
    start: Date,
    end: Option<Date>,
    municipality: Option<String>,
    programme: Option<String>,
    exit: Option<String>,
}

/// A chain of spells linked by `transfer` exits.
#[derive(Debug)]
struct Registration {
    start: Date,
    end: Option<Date>,
    exit: Option<String>,
    spells: Vec<Spell>,
}

struct Reference<'a> {
    study: &'a Study,
    persons: BTreeMap<Pid, Person>,
    /// Persons whose rows disagree on record key, birth year or sex.
    inconsistent_persons: usize,
    eb: HashMap<Pid, BTreeMap<Month, EbMonth>>,
    /// Used spells per person, ordered by start (file order on ties).
    af: HashMap<Pid, Vec<Spell>>,
    /// Used LISA rows per person and year.
    lisa: HashMap<Pid, BTreeMap<i32, Concepts>>,
    /// (household, month) -> the roles of its members' person-months.
    household_roles: HashMap<(String, Month), Vec<Option<String>>>,
}

impl<'a> Reference<'a> {
    fn load(study: &'a Study) -> Reference<'a> {
        let mut reference = Reference {
            study,
            persons: BTreeMap::new(),
            inconsistent_persons: 0,
            eb: HashMap::new(),
            af: HashMap::new(),
            lisa: HashMap::new(),
            household_roles: HashMap::new(),
        };
        let mut inconsistent = HashSet::new();
        for source in study.sources.values() {
            let rows = read_source(source);
            for row in &rows {
                let person = Person {
                    record_key: row.record_key,
                    birth_year: row.birth_year,
                    sex: row.sex,
                };
                match reference.persons.get(&row.pid) {
                    None => {
                        reference.persons.insert(row.pid, person);
                    }
                    Some(known) if *known != person => {
                        inconsistent.insert(row.pid);
                    }
                    Some(_) => {}
                }
            }
            match source.kind.as_str() {
                "eb" => reference.load_eb(&rows),
                "af" => reference.load_af(&rows),
                "lisa" => reference.load_lisa(&rows),
                other => panic!("source kind {other}"),
            }
        }
        reference.inconsistent_persons = inconsistent.len();

        for months in reference.eb.values() {
            for (month, em) in months {
                if let Some(h) = &em.household {
                    reference
                        .household_roles
                        .entry((h.clone(), *month))
                        .or_default()
                        .push(em.role.clone());
                }
            }
        }
        reference
    }

    fn load_eb(&mut self, rows: &[RawRow]) {
        let (first, last) = self.study.period;
        for row in rows {
            let value = |concept: &str| row.values.get(concept).cloned().flatten();
            // Rejected: a missing or unreadable required value or amount.
            let Some(month) = value("month").as_deref().and_then(parse_month) else {
                continue;
            };
            let Some(municipality) = value("municipality") else {
                continue;
            };
            // SPEC READING: an empty amount counts as 0 (not in the data).
            let amount = match value("amount") {
                None => 0,
                Some(text) => match text.parse::<i64>() {
                    Ok(a) => a,
                    Err(_) => continue,
                },
            };
            // Outside the period.
            if month < first || month > last {
                continue;
            }
            let months = self.eb.entry(row.pid).or_default();
            match months.get_mut(&month) {
                None => {
                    months.insert(
                        month,
                        EbMonth {
                            amount,
                            largest_row_amount: amount,
                            municipality,
                            household: value("household"),
                            role: value("role"),
                        },
                    );
                }
                Some(existing) => {
                    // A duplicate: amounts add up; the attributes are those
                    // of the row with the largest amount, the first on ties.
                    existing.amount += amount;
                    if amount > existing.largest_row_amount {
                        existing.largest_row_amount = amount;
                        existing.municipality = municipality;
                        existing.household = value("household");
                        existing.role = value("role");
                    }
                }
            }
        }
    }

    fn load_af(&mut self, rows: &[RawRow]) {
        let period_first = self.study.period_first_day();
        let period_last = self.study.period_last_day();
        let mut seen = HashSet::new();
        for row in rows {
            let value = |concept: &str| row.values.get(concept).cloned().flatten();
            let Some(start) = value("start").as_deref().and_then(parse_date) else {
                continue;
            };
            let end = match value("end") {
                None => None,
                Some(text) => match parse_date(&text) {
                    Some(end) => Some(end),
                    None => continue,
                },
            };
            if end.is_some_and(|end| end < start) {
                continue;
            }
            // Entirely outside the period (an open spell runs to its end).
            if end.unwrap_or(period_last) < period_first || start > period_last {
                continue;
            }
            // Identical in person, start, end, category and programme.
            let identity = (row.pid, start, end, value("category"), value("programme"));
            if !seen.insert(identity) {
                continue;
            }
            self.af.entry(row.pid).or_default().push(Spell {
                start,
                end,
                municipality: value("municipality"),
                programme: value("programme"),
                exit: value("exit"),
            });
        }
        for spells in self.af.values_mut() {
            spells.sort_by_key(|s| s.start); // stable: file order on ties
        }
    }

    fn load_lisa(&mut self, rows: &[RawRow]) {
        let first_year = year_of_month(self.study.period.0);
        let last_year = year_of_month(self.study.period.1);
        for row in rows {
            let Some(year) = row
                .values
                .get("year")
                .cloned()
                .flatten()
                .and_then(|y| y.parse::<i32>().ok())
            else {
                continue;
            };
            if year < first_year || year > last_year {
                continue;
            }
            let years = self.lisa.entry(row.pid).or_default();
            years.entry(year).or_insert_with(|| row.values.clone());
        }
    }

    fn check_data_is_consistent(&self) {
        assert_eq!(
            self.inconsistent_persons, 0,
            "persons whose rows disagree on record_key, birth_year or sex: the spec says these \
             are used 'from whichever source has them', which does not say which wins"
        );
        assert!(!self.eb.is_empty() && !self.af.is_empty() && !self.lisa.is_empty());
    }

    // -------------------------------------------------------------- helpers on one person

    fn eb_months(&self, p: &Pid) -> Vec<(Month, &EbMonth)> {
        match self.eb.get(p) {
            None => Vec::new(),
            Some(months) => months.iter().map(|(m, e)| (*m, e)).collect(),
        }
    }

    fn has_eb_month(&self, p: &Pid, month: Month) -> bool {
        self.eb.get(p).is_some_and(|m| m.contains_key(&month))
    }

    fn eb_months_in_year(&self, p: &Pid, y: i32) -> Vec<(Month, &EbMonth)> {
        self.eb_months(p)
            .into_iter()
            .filter(|(m, _)| year_of_month(*m) == y)
            .collect()
    }

    fn spells(&self, p: &Pid) -> Vec<Spell> {
        self.af.get(p).cloned().unwrap_or_default()
    }

    /// The last day a spell runs: its end, or the period's last day if open.
    fn effective_end(&self, spell: &Spell) -> Date {
        spell.end.unwrap_or(self.study.period_last_day())
    }

    fn covers_month(&self, spell: &Spell, month: Month) -> bool {
        spell.start <= last_day(month) && self.effective_end(spell) >= first_day(month)
    }

    fn covers_a_month_of_year(&self, spell: &Spell, y: i32) -> bool {
        (0..12).any(|k| self.covers_month(spell, y * 12 + k))
    }

    fn lisa_row(&self, p: &Pid, year: i32) -> Option<&Concepts> {
        self.lisa.get(p).and_then(|years| years.get(&year))
    }

    fn lisa_value(&self, p: &Pid, year: i32, concept: &str) -> Option<String> {
        self.lisa_row(p, year)
            .and_then(|row| row.get(concept).cloned().flatten())
    }

    fn programme_matches(&self, spell: &Spell, groups: &[String]) -> bool {
        let Some(code) = &spell.programme else {
            return false;
        };
        if groups.is_empty() {
            return true;
        }
        let list = self.study.codelist_of_concept("af", "programme");
        list.group_of.get(code).is_some_and(|g| groups.contains(g))
    }

    fn exit_group(&self, exit: Option<&String>) -> Option<String> {
        let list = self.study.codelist_of_concept("af", "exit");
        exit.and_then(|code| list.group_of.get(code).cloned())
    }

    /// The person's registrations: chains of spells (by start) in which every
    /// spell but the last ended with a `transfer` exit.
    fn registrations(&self, p: &Pid) -> Vec<Registration> {
        let mut registrations: Vec<Registration> = Vec::new();
        let mut previous_was_transfer = false;
        for spell in self.spells(p) {
            if previous_was_transfer {
                let current = registrations.last_mut().unwrap();
                current.end = spell.end;
                current.exit = spell.exit.clone();
                current.spells.push(spell.clone());
            } else {
                registrations.push(Registration {
                    start: spell.start,
                    end: spell.end,
                    exit: spell.exit.clone(),
                    spells: vec![spell.clone()],
                });
            }
            previous_was_transfer = spell.end.is_some()
                && self.exit_group(spell.exit.as_ref()).as_deref() == Some("transfer");
        }
        registrations
    }

    fn first_registration_starting_in(&self, p: &Pid, y: i32) -> Option<Registration> {
        self.registrations(p).into_iter().find(|r| r.start.0 == y)
    }

    // -------------------------------------------------------------- variables

    /// The value of variable `name` for person-year (p, y).
    fn value(&self, name: &str, p: &Pid, y: i32) -> Val {
        let person = &self.persons[p];
        match self.study.var(name).clone() {
            Var::Year => Val::Cat(Some(y.to_string())),
            Var::Sex => Val::Cat(match person.sex {
                Some(1) => Some("men".to_string()),
                Some(2) => Some("women".to_string()),
                _ => None,
            }),
            Var::Age => Val::Num(person.birth_year.map(|b| i64::from(y - b))),
            Var::Band { of, bands } => {
                let Val::Num(value) = self.value(&of, p, y) else {
                    panic!("band of a non-number {of}");
                };
                Val::Cat(value.and_then(|v| {
                    bands
                        .iter()
                        .find(|b| b.contains(v))
                        .map(|b| b.label.clone())
                }))
            }
            Var::Code {
                source,
                column,
                codelist,
                group_level,
                offset,
                ..
            } => {
                let kind = self.study.sources[&source].kind.clone();
                let code: Option<String> = match kind.as_str() {
                    // The code of p's last EB month in Y.
                    "eb" => {
                        let months = self.eb_months_in_year(p, y);
                        months.last().and_then(|(_, em)| match column.as_str() {
                            "municipality" => Some(em.municipality.clone()),
                            "household" => em.household.clone(),
                            "role" => em.role.clone(),
                            other => panic!("EB code column {other} not in the reference"),
                        })
                    }
                    // SPEC READING: p's last spell covering a month of Y is
                    // the one with the latest start (file order on ties).
                    "af" => {
                        let spells = self.spells(p);
                        let last = spells.iter().rfind(|s| self.covers_a_month_of_year(s, y));
                        last.and_then(|s| match column.as_str() {
                            "municipality" => s.municipality.clone(),
                            "programme" => s.programme.clone(),
                            "exit" => s.exit.clone(),
                            other => panic!("AF code column {other} not in the reference"),
                        })
                    }
                    // The row for Y + offset.
                    "lisa" => self.lisa_value(p, y + offset, &column),
                    other => panic!("source kind {other}"),
                };
                let list = &self.study.codelists[&codelist];
                // A code not in its code list is the category `unknown`.
                let code = code.filter(|c| list.codes.contains(c));
                if group_level {
                    Val::Cat(code.and_then(|c| list.group_of.get(&c).cloned()))
                } else {
                    Val::Cat(code)
                }
            }
            Var::EbMonths => Val::Num(Some(self.eb_months_in_year(p, y).len() as i64)),
            Var::LongTerm { min_months } => Val::Bool(Some(
                self.eb_months_in_year(p, y).len() as i64 >= min_months,
            )),
            Var::EbAmount => {
                let months = self.eb_months_in_year(p, y);
                // SPEC READING: no EB month in Y -> missing (not 0); never
                // used by the example, whose eb_amount is only tabulated for
                // EB populations.
                if months.is_empty() {
                    Val::Num(None)
                } else {
                    Val::Num(Some(months.iter().map(|(_, em)| em.amount).sum()))
                }
            }
            Var::HouseholdType => Val::Cat(self.household_type(p, y)),
            Var::AtAfDuringEb => {
                let spells = self.spells(p);
                let covered = self
                    .eb_months_in_year(p, y)
                    .iter()
                    .any(|(m, _)| spells.iter().any(|s| self.covers_month(s, *m)));
                Val::Bool(Some(covered))
            }
            Var::AfProgramme { groups } => {
                let any = self.spells(p).iter().any(|s| {
                    self.programme_matches(s, &groups) && self.covers_a_month_of_year(s, y)
                });
                Val::Bool(Some(any))
            }
            Var::BenefitGroup => {
                let group = if !self.eb_months_in_year(p, y).is_empty() {
                    "eb"
                } else if self
                    .lisa_value(p, y, "unemployment_benefit")
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > 0)
                {
                    "a_kassa"
                } else {
                    "other"
                };
                Val::Cat(Some(group.to_string()))
            }
            Var::AfExit { within_months } => {
                let Some(reg) = self.first_registration_starting_in(p, y) else {
                    return Val::Cat(None);
                };
                let day = add_months(reg.start, within_months);
                let category = if reg.end.is_some_and(|end| end <= day) {
                    // The exit code's group; an exit code missing or not in
                    // the code list is `unknown`.
                    self.exit_group(reg.exit.as_ref())
                } else if day > self.study.period_last_day() {
                    Some("not_observed".to_string())
                } else {
                    Some("still_registered".to_string())
                };
                Val::Cat(category)
            }
            Var::AfEntry => Val::Bool(Some(self.first_registration_starting_in(p, y).is_some())),
            Var::AfRegistrationDays => {
                let days = self
                    .first_registration_starting_in(p, y)
                    .and_then(|r| r.end.map(|end| days_between(r.start, end) + 1));
                Val::Num(days)
            }
            Var::DaysToProgramme { groups } => {
                let days = self.first_registration_starting_in(p, y).and_then(|r| {
                    r.spells
                        .iter()
                        .find(|s| self.programme_matches(s, &groups))
                        .map(|s| days_between(r.start, s.start))
                });
                Val::Num(days)
            }
            Var::ProgrammeDays { groups } => {
                let spells: Vec<Spell> = self
                    .spells(p)
                    .into_iter()
                    .filter(|s| self.programme_matches(s, &groups))
                    .collect();
                let mut days = 0;
                let mut day = (y, 1, 1);
                while day.0 == y {
                    if spells
                        .iter()
                        .any(|s| s.start <= day && day <= self.effective_end(s))
                    {
                        days += 1;
                    }
                    day = next_day(day);
                }
                Val::Num(Some(days))
            }
            Var::EbSpellMonths { max_gap } => {
                let Some((first_month, _)) = self.eb_months_in_year(p, y).first().copied() else {
                    return Val::Num(None);
                };
                let (lo, hi) = self.study.period;
                // Walk backwards and forwards while a payment is found within
                // max_gap + 1 months.
                let mut run_first = first_month;
                'back: loop {
                    for step in 1..=max_gap + 1 {
                        let m = run_first - step;
                        if m >= lo && self.has_eb_month(p, m) {
                            run_first = m;
                            continue 'back;
                        }
                    }
                    break;
                }
                let mut run_last = first_month;
                'forward: loop {
                    for step in 1..=max_gap + 1 {
                        let m = run_last + step;
                        if m <= hi && self.has_eb_month(p, m) {
                            run_last = m;
                            continue 'forward;
                        }
                    }
                    break;
                }
                Val::Num(Some(i64::from(run_last - run_first + 1)))
            }
            Var::EbEntry { months } => {
                let Some((first_month, _)) = self.eb_months_in_year(p, y).first().copied() else {
                    return Val::Bool(Some(false));
                };
                let inside = first_month - months >= self.study.period.0;
                let none_before = (1..=months).all(|k| !self.has_eb_month(p, first_month - k));
                // SPEC READING: when the months before lie outside the period
                // the value is `no` (not missing).
                Val::Bool(Some(inside && none_before))
            }
            Var::StatusAfter { months } => {
                let Some((first_month, _)) = self.eb_months_in_year(p, y).first().copied() else {
                    return Val::Cat(None);
                };
                let m = first_month + months;
                let status = if m > self.study.period.1 {
                    "not_observed"
                } else if self.has_eb_month(p, m) {
                    "on_eb"
                } else if self.spells(p).iter().any(|s| self.covers_month(s, m)) {
                    "at_af"
                } else {
                    "neither"
                };
                Val::Cat(Some(status.to_string()))
            }
            Var::LisaValue { column, offset } => Val::Num(
                self.lisa_value(p, y + offset, &column)
                    .and_then(|v| v.parse::<i64>().ok()),
            ),
            Var::SelfSupporting { offset, employed } => {
                let year = y + offset;
                if self.lisa_row(p, year).is_none() {
                    return Val::Bool(None);
                }
                let list = self.study.codelist_of_concept("lisa", "employment");
                // SPEC READING: an empty or unknown employment code is "not in
                // employed" (`no`), not missing.
                let is_employed = self
                    .lisa_value(p, year, "employment")
                    .and_then(|code| list.group_of.get(&code).cloned())
                    .is_some_and(|g| employed.contains(&g));
                let no_eb = self.eb_months_in_year(p, year).is_empty();
                Val::Bool(Some(is_employed && no_eb))
            }
        }
    }

    /// In the household of p's last EB month in Y, that month: single/couple
    /// (1 or 2+ applicants and co-applicants) x no_children/with_children.
    fn household_type(&self, p: &Pid, y: i32) -> Option<String> {
        let months = self.eb_months_in_year(p, y);
        let (month, em) = months.last()?;
        let household = em.household.clone()?;
        let roles = &self.study.source_of_kind("eb").roles;
        let members = &self.household_roles[&(household, *month)];
        let adults = members
            .iter()
            .filter(|r| {
                r.as_ref() == Some(&roles["applicant"])
                    || r.as_ref() == Some(&roles["co_applicant"])
            })
            .count();
        let children = members.iter().any(|r| r.as_ref() == Some(&roles["child"]));
        // SPEC READING: a household-month without an applicant or
        // co-applicant has no household type (`unknown`).
        let size = match adults {
            0 => return None,
            1 => "single",
            _ => "couple",
        };
        let kids = if children {
            "with_children"
        } else {
            "no_children"
        };
        Some(format!("{size}_{kids}"))
    }

    /// The household of p's last EB month in Y.
    fn household(&self, p: &Pid, y: i32) -> Option<String> {
        self.eb_months_in_year(p, y)
            .last()
            .and_then(|(_, em)| em.household.clone())
    }

    // -------------------------------------------------------------- populations

    fn population(&self, name: &str) -> Vec<(Pid, i32)> {
        let population = &self.study.populations[name];
        let kind = &self.study.sources[&population.source].kind;
        let mut person_years = Vec::new();
        for p in self.persons.keys() {
            for &y in &population.years {
                let in_source = match kind.as_str() {
                    "eb" => !self.eb_months_in_year(p, y).is_empty(),
                    "af" => self
                        .spells(p)
                        .iter()
                        .any(|s| self.covers_a_month_of_year(s, y)),
                    "lisa" => self.lisa_row(p, y).is_some(),
                    other => panic!("source kind {other}"),
                };
                if !in_source {
                    continue;
                }
                if let Some((low, high)) = population.age {
                    let Val::Num(Some(age)) = self.value("age", p, y) else {
                        continue;
                    };
                    if age < low || age > high {
                        continue;
                    }
                }
                if !population
                    .require
                    .iter()
                    .all(|r| self.value(r, p, y) == Val::Bool(Some(true)))
                {
                    continue;
                }
                person_years.push((*p, y));
            }
        }
        person_years
    }

    // -------------------------------------------------------------- dimensions

    /// The dimension `name` of a table over `population` (its years given).
    fn dimension(&self, name: &str, years: &[i32], population: &[(Pid, i32)]) -> Dimension {
        let var = self.study.var(name);
        let bool_categories = || vec!["no".to_string(), "yes".to_string()];
        let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut dimension = Dimension {
            name: name.to_string(),
            categories: Vec::new(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            order_is_specified: true,
        };
        dimension.categories = match var {
            // SPEC READING: the categories of `year` are the population's
            // years, of `sex` men and women; the spec does not list them.
            Var::Year => {
                dimension.order_is_specified = false;
                years.iter().map(|y| y.to_string()).collect()
            }
            Var::Sex => {
                dimension.order_is_specified = false;
                owned(&["men", "women"])
            }
            Var::Band { bands, .. } => bands.iter().map(|b| b.label.clone()).collect(),
            Var::Code {
                codelist,
                group_level,
                rollup,
                ..
            } => {
                let list = &self.study.codelists[codelist];
                if *rollup {
                    assert!(!group_level, "rollup of a group-level code");
                    dimension.groups = list.groups();
                    dimension.group_of = list.group_of.clone();
                }
                if *group_level {
                    list.groups()
                } else {
                    list.codes.clone()
                }
            }
            Var::LongTerm { .. }
            | Var::AtAfDuringEb
            | Var::AfProgramme { .. }
            | Var::AfEntry
            | Var::EbEntry { .. }
            | Var::SelfSupporting { .. } => bool_categories(),
            // SPEC READING: fixed-value categories in the order the spec
            // names them; all of them are categories even when empty.
            Var::HouseholdType => {
                dimension.order_is_specified = false;
                owned(&[
                    "single_no_children",
                    "single_with_children",
                    "couple_no_children",
                    "couple_with_children",
                ])
            }
            Var::BenefitGroup => {
                dimension.order_is_specified = false;
                owned(&["eb", "a_kassa", "other"])
            }
            // The spec: every group of the exit code list but `transfer`
            // (a registration ending with a transfer is `unknown`).
            Var::AfExit { .. } => {
                dimension.order_is_specified = false;
                let mut c = self.study.codelist_of_concept("af", "exit").groups();
                c.retain(|g| g != "transfer");
                c.extend(owned(&["still_registered", "not_observed"]));
                c
            }
            Var::StatusAfter { .. } => {
                dimension.order_is_specified = false;
                owned(&["on_eb", "at_af", "neither", "not_observed"])
            }
            other => panic!("{name} ({other:?}) is not a category or bool variable"),
        };
        // Plus `unknown` if any person-year has it: once, even when a code
        // list has a category of that name; under a rollup it is in the group
        // `unknown` (the spec).
        let has_unknown = population
            .iter()
            .any(|(p, y)| self.category(name, p, *y) == UNKNOWN);
        if has_unknown && !dimension.categories.iter().any(|c| c == UNKNOWN) {
            dimension.categories.push(UNKNOWN.to_string());
            if !dimension.groups.is_empty() && !dimension.groups.iter().any(|g| g == UNKNOWN) {
                dimension.groups.push(UNKNOWN.to_string());
            }
        }
        dimension
    }

    /// The category of a category or bool variable, `unknown` if missing.
    fn category(&self, name: &str, p: &Pid, y: i32) -> String {
        match self.value(name, p, y) {
            Val::Cat(Some(c)) => c,
            Val::Bool(Some(false)) => "no".to_string(),
            Val::Bool(Some(true)) => "yes".to_string(),
            Val::Cat(None) | Val::Bool(None) => UNKNOWN.to_string(),
            Val::Num(_) => panic!("{name} is a number, not a dimension"),
        }
    }

    // -------------------------------------------------------------- tables

    fn cell_table(&self, table: &TableSpec) -> ExpectedTable {
        let population = self.population(&table.population);
        let years = &self.study.populations[&table.population].years;
        let dimensions: Vec<Dimension> = table
            .dimensions
            .iter()
            .map(|d| self.dimension(d, years, &population))
            .collect();

        // Every combination of levels, each starting with no contributors.
        let mut contributors: BTreeMap<CellKey, Vec<usize>> = BTreeMap::new();
        let mut keys: Vec<CellKey> = vec![Vec::new()];
        for dim in &dimensions {
            let mut longer = Vec::new();
            for key in &keys {
                for level in dim.levels() {
                    let mut k = key.clone();
                    k.push(level);
                    longer.push(k);
                }
            }
            keys = longer;
        }
        for key in &keys {
            contributors.insert(key.clone(), Vec::new());
        }

        // Each person-year contributes to its category, its group (rollup)
        // and the total of every dimension, in every combination.
        for (index, (p, y)) in population.iter().enumerate() {
            let mut cells: Vec<CellKey> = vec![Vec::new()];
            for dim in &dimensions {
                let category = self.category(&dim.name, p, *y);
                let mut options = vec![(category.clone(), 0u8)];
                if !dim.groups.is_empty() {
                    // The spec: a category without a group (`unknown`) is in
                    // the group `unknown`, so groups add up to the total.
                    match dim.group_of.get(&category) {
                        Some(group) => options.push((group.clone(), 1)),
                        None => options.push((UNKNOWN.to_string(), 1)),
                    }
                }
                options.push((TOTAL.to_string(), dim.total_level()));
                let mut longer = Vec::new();
                for cell in &cells {
                    for option in &options {
                        let mut c = cell.clone();
                        c.push(option.clone());
                        longer.push(c);
                    }
                }
                cells = longer;
            }
            for cell in cells {
                contributors
                    .get_mut(&cell)
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: cell {} is not a level combination",
                            table.name,
                            show_key(&dimensions, &cell)
                        )
                    })
                    .push(index);
            }
        }

        let mut cells = BTreeMap::new();
        for (key, members) in &contributors {
            let mut columns: BTreeMap<String, V> = BTreeMap::new();
            columns.insert("persons".to_string(), V::U64(members.len() as u64));
            let mut key_sum: u32 = 0;
            for &i in members {
                key_sum = key_sum.wrapping_add(self.persons[&population[i].0].record_key);
            }
            columns.insert("record_key_sum".to_string(), V::U32(key_sum));
            // SPEC READING: a measure whose column name is already taken
            // (`{ name = "persons", kind = "persons" }`) is that one column.
            for measure in &table.measures {
                let py = |i: usize| (&population[i].0, population[i].1);
                match measure.kind.as_str() {
                    "persons" => {
                        columns.insert(measure.name.clone(), V::U64(members.len() as u64));
                    }
                    "households" => {
                        // SPEC READING: distinct household ids (over the
                        // cell's years together, not household-years).
                        let mut households = BTreeSet::new();
                        for &i in members {
                            let (p, y) = py(i);
                            if let Some(h) = self.household(p, y) {
                                households.insert(h);
                            }
                        }
                        columns.insert(measure.name.clone(), V::U64(households.len() as u64));
                    }
                    "share" => {
                        let of = measure.of.as_deref().unwrap();
                        let (mut num, mut den) = (0u64, 0u64);
                        for &i in members {
                            let (p, y) = py(i);
                            match self.value(of, p, y) {
                                Val::Bool(Some(true)) => {
                                    num += 1;
                                    den += 1;
                                }
                                Val::Bool(Some(false)) => den += 1,
                                Val::Bool(None) => {}
                                other => panic!("share of non-bool {of}: {other:?}"),
                            }
                        }
                        columns.insert(format!("{}_num", measure.name), V::U64(num));
                        columns.insert(format!("{}_den", measure.name), V::U64(den));
                    }
                    "sum" | "mean" | "median" => {
                        let of = measure.of.as_deref().unwrap();
                        let mut values: Vec<i64> = Vec::new();
                        for &i in members {
                            let (p, y) = py(i);
                            match self.value(of, p, y) {
                                Val::Num(Some(v)) => values.push(v),
                                Val::Num(None) => {}
                                other => panic!("{} of non-number {of}: {other:?}", measure.kind),
                            }
                        }
                        let n = values.len();
                        columns.insert(format!("{}_n", measure.name), V::U64(n as u64));
                        if measure.kind == "median" {
                            let mut sorted = values.clone();
                            sorted.sort();
                            let median = if n == 0 {
                                None
                            } else if n % 2 == 1 {
                                Some(sorted[n / 2] as f64)
                            } else {
                                Some((sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0)
                            };
                            columns.insert(format!("{}_median", measure.name), V::F64(median));
                        } else {
                            let sum: i64 = values.iter().sum();
                            columns.insert(format!("{}_sum", measure.name), V::I64(sum));
                            if measure.kind == "mean" {
                                let mean = (n > 0).then(|| sum as f64 / n as f64);
                                columns.insert(format!("{}_mean", measure.name), V::F64(mean));
                            }
                            // The up to 3 largest by absolute value, largest first.
                            let mut by_size = values.clone();
                            by_size.sort_by_key(|v| std::cmp::Reverse(v.unsigned_abs()));
                            by_size.truncate(3);
                            columns.insert(format!("{}_top", measure.name), V::List(by_size));
                        }
                    }
                    other => panic!("measure kind {other}"),
                }
            }
            cells.insert(key.clone(), columns);
        }
        ExpectedTable {
            dimensions,
            cells,
            population_size: population.len(),
        }
    }
}

const UNKNOWN: &str = "unknown";
const TOTAL: &str = "_T";

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Cat(Option<String>),
    Bool(Option<bool>),
    Num(Option<i64>),
}

#[derive(Debug)]
struct Dimension {
    name: String,
    categories: Vec<String>,
    /// Empty unless the variable has `rollup = true`.
    groups: Vec<String>,
    group_of: HashMap<String, String>,
    /// Whether the spec fixes the order of the categories.
    order_is_specified: bool,
}

impl Dimension {
    fn total_level(&self) -> u8 {
        if self.groups.is_empty() { 1 } else { 2 }
    }

    /// Categories, then groups, then the total, with their level numbers.
    fn levels(&self) -> Vec<(String, u8)> {
        let mut levels: Vec<(String, u8)> =
            self.categories.iter().map(|c| (c.clone(), 0)).collect();
        levels.extend(self.groups.iter().map(|g| (g.clone(), 1)));
        levels.push((TOTAL.to_string(), self.total_level()));
        levels
    }
}

/// A cell: (value, level) of every dimension in table order.
type CellKey = Vec<(String, u8)>;

/// Column name -> value of one cell.
type CellValues = BTreeMap<String, V>;

struct ExpectedTable {
    dimensions: Vec<Dimension>,
    cells: BTreeMap<CellKey, CellValues>,
    population_size: usize,
}

fn show_key(dimensions: &[Dimension], key: &CellKey) -> String {
    dimensions
        .iter()
        .zip(key)
        .map(|(d, (value, level))| format!("{}={value}/{level}", d.name))
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------ cell values

#[derive(Debug, Clone)]
enum V {
    U64(u64),
    U32(u32),
    I64(i64),
    F64(Option<f64>),
    List(Vec<i64>),
    /// A null where the spec has no null.
    Null,
}

impl V {
    fn matches(&self, other: &V) -> bool {
        match (self, other) {
            (V::U64(a), V::U64(b)) => a == b,
            (V::U32(a), V::U32(b)) => a == b,
            (V::I64(a), V::I64(b)) => a == b,
            (V::F64(None), V::F64(None)) => true,
            (V::F64(Some(a)), V::F64(Some(b))) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            (V::List(a), V::List(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V::U64(v) => write!(f, "{v}"),
            V::U32(v) => write!(f, "{v}"),
            V::I64(v) => write!(f, "{v}"),
            V::F64(Some(v)) => write!(f, "{v}"),
            V::F64(None) | V::Null => write!(f, "null"),
            V::List(v) => write!(f, "{v:?}"),
        }
    }
}

/// The Arrow type the spec gives a column of `expected`.
fn spec_type(expected: &V) -> &'static str {
    match expected {
        V::U64(_) => "UInt64",
        V::U32(_) => "UInt32",
        V::I64(_) => "Int64",
        V::F64(_) => "Float64",
        V::List(_) => "List(Int64)",
        V::Null => "?",
    }
}

fn type_matches(data_type: &DataType, spec: &str) -> bool {
    match (data_type, spec) {
        (DataType::UInt64, "UInt64")
        | (DataType::UInt32, "UInt32")
        | (DataType::UInt8, "UInt8")
        | (DataType::Int64, "Int64")
        | (DataType::Float64, "Float64")
        | (DataType::Utf8, "Utf8") => true,
        (DataType::List(field), "List(Int64)") => *field.data_type() == DataType::Int64,
        _ => false,
    }
}

fn read_value(column: &dyn Array, row: usize) -> V {
    if column.is_null(row) {
        return match column.data_type() {
            DataType::Float64 => V::F64(None),
            _ => V::Null,
        };
    }
    match column.data_type() {
        DataType::UInt64 => V::U64(column.as_primitive::<UInt64Type>().value(row)),
        DataType::UInt32 => V::U32(column.as_primitive::<UInt32Type>().value(row)),
        DataType::Int64 => V::I64(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => V::F64(Some(column.as_primitive::<Float64Type>().value(row))),
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(row);
            V::List(items.as_primitive::<Int64Type>().values().to_vec())
        }
        other => panic!("unexpected column type {other:?}"),
    }
}

// ------------------------------------------------------------------ comparison

fn compare(table: &TableSpec, expected: &ExpectedTable, path: &Path, problems: &mut Vec<String>) {
    let name = &table.name;
    let Ok(file) = fs::File::open(path) else {
        problems.push(format!("{name}: {} is missing", path.display()));
        return;
    };
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let Some(first) = batches.first() else {
        problems.push(format!("{name}: the cell table has no rows"));
        return;
    };
    let schema = first.schema();

    // The schema the spec gives: dimensions, levels, persons, record_key_sum
    // and every measure column, with their types.
    let some_cell = expected.cells.values().next().unwrap();
    let mut wanted: Vec<(String, &'static str)> = Vec::new();
    for dim in &table.dimensions {
        wanted.push((dim.clone(), "Utf8"));
        wanted.push((format!("{dim}_level"), "UInt8"));
    }
    for (column, value) in some_cell {
        wanted.push((column.clone(), spec_type(value)));
    }
    let mut schema_ok = true;
    for (column, spec) in &wanted {
        match schema.field_with_name(column) {
            Err(_) => {
                problems.push(format!("{name}: column {column} is missing"));
                schema_ok = false;
            }
            Ok(field) if !type_matches(field.data_type(), spec) => {
                problems.push(format!(
                    "{name}: column {column} is {:?}, the spec says {spec}",
                    field.data_type()
                ));
                schema_ok = false;
            }
            Ok(_) => {}
        }
    }
    let mut seen_columns = HashSet::new();
    for field in schema.fields() {
        if !seen_columns.insert(field.name()) {
            problems.push(format!(
                "{name}: column {} appears more than once",
                field.name()
            ));
        }
        if !wanted.iter().any(|(c, _)| c == field.name()) {
            problems.push(format!(
                "{name}: column {} is not in the spec",
                field.name()
            ));
        }
    }
    if !schema_ok {
        return;
    }

    // The engine's cells, in file order.
    let mut rows: Vec<(CellKey, CellValues)> = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let mut key = Vec::new();
            for dim in &table.dimensions {
                let values = batch.column_by_name(dim).unwrap().as_string::<i32>();
                let levels = batch
                    .column_by_name(&format!("{dim}_level"))
                    .unwrap()
                    .as_primitive::<UInt8Type>();
                key.push((values.value(row).to_string(), levels.value(row)));
            }
            let mut values = BTreeMap::new();
            for column in some_cell.keys() {
                let array = batch.column_by_name(column).unwrap();
                values.insert(column.clone(), read_value(array.as_ref(), row));
            }
            rows.push((key, values));
        }
    }

    // Same set of cells.
    let mut copies: BTreeMap<CellKey, Vec<&CellValues>> = BTreeMap::new();
    for (key, values) in &rows {
        copies.entry(key.clone()).or_default().push(values);
    }
    let mut got: BTreeMap<CellKey, CellValues> = BTreeMap::new();
    let mut duplicated: BTreeSet<CellKey> = BTreeSet::new();
    for (key, list) in copies {
        if list.len() == 1 {
            got.insert(key, list[0].clone());
            continue;
        }
        // The values of a duplicated cell are not comparable; say whether
        // the copies' persons add up to the reference's.
        let persons: u64 = list
            .iter()
            .map(|v| match v["persons"] {
                V::U64(n) => n,
                _ => 0,
            })
            .sum();
        let reference = expected
            .cells
            .get(&key)
            .map_or("none".to_string(), |v| v["persons"].to_string());
        problems.push(format!(
            "{name}: cell {} appears {} times (persons together {persons}, reference {reference})",
            show_key(&expected.dimensions, &key),
            list.len()
        ));
        duplicated.insert(key);
    }
    for key in expected.cells.keys() {
        if !got.contains_key(key) && !duplicated.contains(key) {
            problems.push(format!(
                "{name}: cell {} is missing",
                show_key(&expected.dimensions, key)
            ));
        }
    }
    for (key, values) in &got {
        if !expected.cells.contains_key(key) {
            problems.push(format!(
                "{name}: cell {} is not expected (persons {})",
                show_key(&expected.dimensions, key),
                values["persons"]
            ));
        }
    }

    // Every value of every cell.
    for (key, want) in &expected.cells {
        let Some(have) = got.get(key) else { continue };
        for (column, w) in want {
            let h = &have[column];
            if !w.matches(h) {
                problems.push(format!(
                    "{name}: cell {}: {column}: expected {w}, got {h}",
                    show_key(&expected.dimensions, key)
                ));
            }
        }
    }

    // Row-major order: the rows are the product of each dimension's levels,
    // the last dimension varying fastest, each dimension's levels being
    // categories, then groups, then `_T`.
    let mut engine_levels: Vec<Vec<(String, u8)>> = vec![Vec::new(); table.dimensions.len()];
    for (key, _) in &rows {
        for (d, level) in key.iter().enumerate() {
            if !engine_levels[d].contains(level) {
                engine_levels[d].push(level.clone());
            }
        }
    }
    let product: usize = engine_levels.iter().map(Vec::len).product();
    let mut row_major = product == rows.len();
    if row_major {
        for (i, (key, _)) in rows.iter().enumerate() {
            let mut rest = i;
            for d in (0..engine_levels.len()).rev() {
                let n = engine_levels[d].len();
                if key[d] != engine_levels[d][rest % n] {
                    row_major = false;
                }
                rest /= n;
            }
        }
    }
    if !row_major {
        problems.push(format!("{name}: the rows are not in row-major order"));
    }
    for (d, dim) in expected.dimensions.iter().enumerate() {
        let levels: Vec<u8> = engine_levels[d].iter().map(|(_, l)| *l).collect();
        if !levels.is_sorted() {
            problems.push(format!(
                "{name}: dimension {}: levels are not categories, groups, total in that order: {levels:?}",
                dim.name
            ));
        }
        // Where the spec fixes the order (code lists, bands, no/yes), the
        // known categories come in that order.
        let known = |list: &[(String, u8)]| -> Vec<String> {
            list.iter()
                .filter(|(v, l)| *l == 0 && v != UNKNOWN)
                .map(|(v, _)| v.clone())
                .collect()
        };
        let engine_order = known(&engine_levels[d]);
        let reference_order = known(&dim.levels());
        if dim.order_is_specified && engine_order != reference_order {
            problems.push(format!(
                "{name}: dimension {}: categories in order {engine_order:?}, the spec gives {reference_order:?}",
                dim.name
            ));
        }
    }
}

// ------------------------------------------------------------------ sanity

/// Facts that make sure the comparison is not vacuous.
#[derive(Default)]
struct Sanity {
    tables: usize,
    t1_total_persons: u64,
    share_numerators: u64,
    group_cells_with_persons: usize,
    non_null_medians: usize,
    empty_populations: Vec<String>,
}

impl Sanity {
    fn note(&mut self, table: &TableSpec, expected: &ExpectedTable) {
        self.tables += 1;
        if expected.population_size == 0 {
            self.empty_populations.push(table.name.clone());
        }
        let total: CellKey = expected
            .dimensions
            .iter()
            .map(|d| (TOTAL.to_string(), d.total_level()))
            .collect();
        let grand_total = &expected.cells[&total];
        if table.name == "t1_overlap"
            && let V::U64(n) = grand_total["persons"]
        {
            self.t1_total_persons = n;
        }
        for (column, value) in grand_total {
            if column.ends_with("_num")
                && let V::U64(n) = value
            {
                self.share_numerators += n;
            }
        }
        for (key, values) in &expected.cells {
            let has_persons = matches!(values["persons"], V::U64(n) if n > 0);
            let is_group_cell = key
                .iter()
                .zip(&expected.dimensions)
                .any(|((_, level), d)| *level == 1 && !d.groups.is_empty());
            if has_persons && is_group_cell {
                self.group_cells_with_persons += 1;
            }
            self.non_null_medians += values
                .iter()
                .filter(|(c, v)| c.ends_with("_median") && matches!(v, V::F64(Some(_))))
                .count();
        }
    }

    fn assert_not_vacuous(&self, seed: u64) {
        assert!(
            self.tables >= 10,
            "seed {seed}: only {} tables",
            self.tables
        );
        assert!(
            self.empty_populations.is_empty(),
            "seed {seed}: empty populations for {:?}",
            self.empty_populations
        );
        assert!(
            self.t1_total_persons > 50,
            "seed {seed}: t1_overlap has {} persons",
            self.t1_total_persons
        );
        assert!(self.share_numerators > 0, "seed {seed}: no share numerator");
        assert!(
            self.group_cells_with_persons > 0,
            "seed {seed}: no county cell"
        );
        assert!(self.non_null_medians > 0, "seed {seed}: no median");
    }
}
