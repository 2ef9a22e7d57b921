//! The pseudonymised extracts read into plain maps keyed by pseudonym, and the
//! reference itself: every variable and every cell computed person-year by person-year.

// Test code: the reference is written long-hand on purpose, one spec line after another.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::dates::{
    Date, Month, add_months, days_between, first_day, last_day, next_day, parse_date, parse_month,
    year_of_month,
};
use crate::study::{Source, Study, TableSpec, Var};
use crate::values::V;

pub type Pid = [u8; 16];

/// Concept -> value (`None` for an empty field) of one row.
pub type Concepts = HashMap<String, Option<String>>;

/// One row of a pseudonymised extract.
pub struct RawRow {
    pub pid: Pid,
    pub record_key: u32,
    pub birth_year: Option<i32>,
    pub sex: Option<i8>,
    pub values: Concepts,
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
pub struct Person {
    pub record_key: u32,
    pub birth_year: Option<i32>,
    pub sex: Option<i8>,
}

/// One person-month of EB after merging duplicate rows.
#[derive(Debug, Clone)]
pub struct EbMonth {
    /// Sum of the amounts of the merged rows.
    pub amount: i64,
    /// The largest single-row amount, which chose the attributes below.
    pub largest_row_amount: i64,
    pub municipality: String,
    pub household: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Spell {
    pub start: Date,
    pub end: Option<Date>,
    pub municipality: Option<String>,
    pub programme: Option<String>,
    pub exit: Option<String>,
}

/// A chain of spells linked by `transfer` exits.
#[derive(Debug)]
pub struct Registration {
    pub start: Date,
    pub end: Option<Date>,
    pub exit: Option<String>,
    pub spells: Vec<Spell>,
}

pub struct Reference<'a> {
    pub study: &'a Study,
    pub persons: BTreeMap<Pid, Person>,
    /// Persons whose rows disagree on record key, birth year or sex.
    pub inconsistent_persons: usize,
    pub eb: HashMap<Pid, BTreeMap<Month, EbMonth>>,
    /// Used spells per person, ordered by start (file order on ties).
    pub af: HashMap<Pid, Vec<Spell>>,
    /// Used LISA rows per person and year.
    pub lisa: HashMap<Pid, BTreeMap<i32, Concepts>>,
    /// (household, month) -> the roles of its members' person-months.
    pub household_roles: HashMap<(String, Month), Vec<Option<String>>>,
}

impl<'a> Reference<'a> {
    pub fn load(study: &'a Study) -> Reference<'a> {
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

    pub fn check_data_is_consistent(&self) {
        assert_eq!(
            self.inconsistent_persons, 0,
            "persons whose rows disagree on record_key, birth_year or sex: the spec says these \
             are used 'from whichever source has them', which does not say which wins"
        );
        assert!(!self.eb.is_empty() && !self.af.is_empty() && !self.lisa.is_empty());
    }

    // -------------------------------------------------------------- helpers on one person

    pub fn eb_months(&self, p: &Pid) -> Vec<(Month, &EbMonth)> {
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

    pub fn lisa_value(&self, p: &Pid, year: i32, concept: &str) -> Option<String> {
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
    pub fn value(&self, name: &str, p: &Pid, y: i32) -> Val {
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
            Var::FoundIn { source } => {
                Val::Bool(Some(match self.study.sources[&source].kind.as_str() {
                    "eb" => self.eb.contains_key(p),
                    "af" => self.af.contains_key(p),
                    "lisa" => self.lisa.contains_key(p),
                    other => panic!("source kind {other}"),
                }))
            }
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
    pub fn household_type(&self, p: &Pid, y: i32) -> Option<String> {
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

    pub fn population(&self, name: &str) -> Vec<(Pid, i32)> {
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
    pub fn dimension(&self, name: &str, years: &[i32], population: &[(Pid, i32)]) -> Dimension {
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
            | Var::FoundIn { .. }
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

    pub fn cell_table(&self, table: &TableSpec) -> ExpectedTable {
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

pub const UNKNOWN: &str = "unknown";
pub const TOTAL: &str = "_T";

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Cat(Option<String>),
    Bool(Option<bool>),
    Num(Option<i64>),
}

#[derive(Debug)]
pub struct Dimension {
    pub name: String,
    pub categories: Vec<String>,
    /// Empty unless the variable has `rollup = true`.
    pub groups: Vec<String>,
    pub group_of: HashMap<String, String>,
    /// Whether the spec fixes the order of the categories.
    pub order_is_specified: bool,
}

impl Dimension {
    pub fn total_level(&self) -> u8 {
        if self.groups.is_empty() { 1 } else { 2 }
    }

    /// Categories, then groups, then the total, with their level numbers.
    pub fn levels(&self) -> Vec<(String, u8)> {
        let mut levels: Vec<(String, u8)> =
            self.categories.iter().map(|c| (c.clone(), 0)).collect();
        levels.extend(self.groups.iter().map(|g| (g.clone(), 1)));
        levels.push((TOTAL.to_string(), self.total_level()));
        levels
    }
}

/// A cell: (value, level) of every dimension in table order.
pub type CellKey = Vec<(String, u8)>;

/// Column name -> value of one cell.
pub type CellValues = BTreeMap<String, V>;

pub struct ExpectedTable {
    pub dimensions: Vec<Dimension>,
    pub cells: BTreeMap<CellKey, CellValues>,
    pub population_size: usize,
}

pub fn show_key(dimensions: &[Dimension], key: &CellKey) -> String {
    dimensions
        .iter()
        .zip(key)
        .map(|(d, (value, level))| format!("{}={value}/{level}", d.name))
        .collect::<Vec<_>>()
        .join(" ")
}
