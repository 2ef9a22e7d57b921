//! Building the linkage report from the loaded sources and the link counters.
//!
//! Warnings come in a fixed order: per source (in the study file's order) its
//! months without rows, municipalities where nobody matches, rejected rows
//! and rounded amounts; then populations with the same members; then empty
//! populations.

use std::collections::BTreeMap;

use super::{LinkageReport, MunicipalityYear, PopulationReport, SourceReport, UnknownCodes};
use crate::Input;
use crate::link::{self, Counts};
use crate::load::{self, LoadStats, NO_CODE, SourceData};
use crate::study::{Concept, Population, Source, SourceKind, Study};

/// Unknown codes up to this length are listed by value in the report. Real
/// codes are 1-4 characters; a personnummer (10 or more characters) put in a
/// code column by mistake is never listed, only counted.
const MAX_LISTED_CODE: usize = 8;

/// A municipality-year with at least this many persons and no match in
/// another source gets a warning.
const WARN_UNMATCHED_PERSONS: u64 = 20;

/// `YYYY-MM` of month index `m`.
fn month_name(m: i32) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// What the linkage report needs of a source's kept rows: counts that add
/// up over groups of persons, so that a source linked a group at a time
/// reports as one loaded whole.
#[derive(Debug, Default)]
pub(crate) struct SourceSummary {
    /// Rows read, rejected and outside the period, over the whole source.
    pub stats: LoadStats,
    /// Rows kept.
    pub rows: u64,
    /// Per code concept, the source's dictionary.
    pub dictionaries: Vec<(Concept, Vec<String>)>,
    /// Per code concept, kept rows per dictionary index.
    pub code_rows: Vec<(Concept, Vec<u64>)>,
    /// Kept rows per month (EB months, AF spell starts) or year (LISA).
    pub by_period: BTreeMap<i32, u64>,
}

impl SourceSummary {
    /// A summary of no rows yet, of a source with these statistics and
    /// dictionaries.
    pub(crate) fn new(stats: LoadStats, dictionaries: Vec<(Concept, Vec<String>)>) -> Self {
        SourceSummary {
            stats,
            code_rows: dictionaries
                .iter()
                .map(|(c, d)| (*c, vec![0; d.len()]))
                .collect(),
            dictionaries,
            ..SourceSummary::default()
        }
    }

    /// A source loaded whole.
    pub(crate) fn of(kind: SourceKind, data: &SourceData) -> Self {
        let mut s = SourceSummary::new(data.stats.clone(), data.dictionaries.clone());
        s.add(kind, data);
        s
    }

    /// Adds the kept rows of `data` (the whole source's dictionaries).
    pub(crate) fn add(&mut self, kind: SourceKind, data: &SourceData) {
        self.rows += data.len() as u64;
        for (concept, rows) in self.code_rows.iter_mut() {
            for &c in data.codes(*concept).unwrap_or(&[]) {
                if c != NO_CODE {
                    rows[c as usize] += 1;
                }
            }
        }
        for &t in &data.time {
            let key = if kind == SourceKind::Af {
                load::month_of_day(t)
            } else {
                t
            };
            *self.by_period.entry(key).or_default() += 1;
        }
    }

    fn dictionary(&self, concept: Concept) -> Option<&[String]> {
        self.dictionaries
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, d)| d.as_slice())
    }
}

/// The linkage report of a run.
pub(crate) fn build_report(
    study: &Study,
    loaded: &[SourceSummary],
    inputs: &[Input],
    counts: &Counts,
) -> LinkageReport {
    let mut report = LinkageReport {
        study: study.name.clone(),
        period: [month_name(study.first_month), month_name(study.last_month)],
        ..LinkageReport::default()
    };
    let slots = Slots::of(study);
    for ((source, data), input) in study.sources.iter().zip(loaded).zip(inputs) {
        let r = source_report(
            study,
            source,
            data,
            input,
            counts,
            &slots,
            &mut report.warnings,
        );
        report.sources.insert(source.name.clone(), r);
    }
    same_members_warnings(study, counts, &mut report.warnings);
    nested_warnings(study, counts, &mut report.warnings);
    unrelated_warnings(study, counts, &mut report.warnings);
    for (pi, pop) in study.populations.iter().enumerate() {
        let mut p = PopulationReport {
            without_age: counts.without_age[pi],
            ..PopulationReport::default()
        };
        for (yi, &y) in pop.years.iter().enumerate() {
            p.person_years.insert(y, counts.population_years[pi][yi]);
        }
        if p.person_years.values().all(|&n| n == 0) {
            report.warnings.push(format!(
                "population {} is empty: its tables have only zero cells",
                pop.name
            ));
        }
        report.populations.insert(pop.name.clone(), p);
    }
    report
}

/// The study's sources by their slot in the per-kind counters.
struct Slots<'a>(Vec<(usize, &'a str)>);

impl<'a> Slots<'a> {
    fn of(study: &'a Study) -> Slots<'a> {
        Slots(
            study
                .sources
                .iter()
                .map(|s| (link::slot(s.kind), s.name.as_str()))
                .collect(),
        )
    }

    /// The sources other than the one in slot `s`: their slot and name.
    fn others(&self, s: usize) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        self.0.iter().copied().filter(move |&(t, _)| t != s)
    }
}

/// The report of one source; its warnings are appended to `warnings`.
fn source_report(
    study: &Study,
    source: &Source,
    data: &SourceSummary,
    input: &Input,
    counts: &Counts,
    slots: &Slots<'_>,
    warnings: &mut Vec<String>,
) -> SourceReport {
    let s = link::slot(source.kind);
    let rejected: u64 = data.stats.rejected.values().map(|r| r.rows).sum();
    let mut r = SourceReport {
        kind: source.kind.name().to_string(),
        path: source.path.display().to_string(),
        fingerprint: input.fingerprint.clone(),
        key_id: input.key_id.clone(),
        rows_read: data.stats.rows_read,
        rows_used: data.rows - counts.duplicates[s],
        rows_rejected: rejected,
        rejected: data.stats.rejected.clone(),
        rows_outside_period: data.stats.outside_period,
        values_rounded: data.stats.rounded,
        duplicates: counts.duplicates[s],
        distinct_persons: counts.persons[s],
        persons_without_birth_date: counts.without_birth[s],
        overlapping_spells: (source.kind == SourceKind::Af).then_some(counts.overlapping_spells),
        unknown_codes: unknown_codes(study, source, data),
        rows_by_period: rows_by_period(study, source, &data.by_period, warnings),
        ..SourceReport::default()
    };
    for (t, name) in slots.others(s) {
        r.matched.insert(name.to_string(), counts.matched[s][t]);
    }
    if let Some(dictionary) = data.dictionary(Concept::Municipality) {
        r.by_municipality_year = municipality_years(source, dictionary, counts, slots, warnings);
    }
    if rejected > 0 {
        warnings.push(format!(
            "source {}: {rejected} rows rejected (see `rejected` in the linkage report)",
            source.name
        ));
    }
    if data.stats.rounded > 0 {
        warnings.push(format!(
            "source {}: {} amounts had a fraction of a krona and were rounded half to even (see `values_rounded` in the linkage report)",
            source.name, data.stats.rounded
        ));
    }
    r
}

/// Per code concept with a code list: used rows whose code is not in the list.
fn unknown_codes(
    study: &Study,
    source: &Source,
    data: &SourceSummary,
) -> BTreeMap<String, UnknownCodes> {
    let mut out = BTreeMap::new();
    for &(concept, list) in &source.codelists {
        let (Some((_, rows_of)), Some(dictionary)) = (
            data.code_rows.iter().find(|(c, _)| *c == concept),
            data.dictionary(concept),
        ) else {
            continue;
        };
        let codelist = &study.codelists[list];
        let per_code: Vec<u64> = dictionary
            .iter()
            .zip(rows_of)
            .map(|(c, &n)| if codelist.find(c).is_some() { 0 } else { n })
            .collect();
        let rows: u64 = per_code.iter().sum();
        if rows == 0 {
            continue;
        }
        let codes = per_code
            .iter()
            .zip(dictionary)
            .filter(|(n, code)| **n > 0 && code.chars().count() <= MAX_LISTED_CODE)
            .map(|(n, code)| (code.clone(), *n))
            .collect();
        let unknown = UnknownCodes {
            codelist: codelist.name.clone(),
            rows,
            codes,
        };
        out.insert(concept.name().to_string(), unknown);
    }
    out
}

/// Used rows per month (EB rows, AF spell starts) or year (LISA); an EB
/// month of the study period without rows gets a warning.
fn rows_by_period(
    study: &Study,
    source: &Source,
    by_period: &BTreeMap<i32, u64>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, u64> {
    if source.kind == SourceKind::Eb {
        for m in study.first_month..=study.last_month {
            if !by_period.contains_key(&m) {
                warnings.push(format!(
                    "source {}: no rows for the month {}",
                    source.name,
                    month_name(m)
                ));
            }
        }
    }
    by_period
        .iter()
        .map(|(&k, &v)| {
            let name = if source.kind == SourceKind::Lisa {
                k.to_string()
            } else {
                month_name(k)
            };
            (name, v)
        })
        .collect()
}

/// Persons per municipality and year, sorted, with their matches in the
/// other sources; a municipality-year where nobody matches gets a warning.
fn municipality_years(
    source: &Source,
    dictionary: &[String],
    counts: &Counts,
    slots: &Slots<'_>,
    warnings: &mut Vec<String>,
) -> Vec<MunicipalityYear> {
    let s = link::slot(source.kind);
    let mut rows: Vec<MunicipalityYear> = counts.by_muni_year[s]
        .iter()
        .map(|(&(m, year), v)| {
            let mut my = MunicipalityYear {
                municipality: dictionary[m as usize].clone(),
                year,
                persons: v[0],
                ..MunicipalityYear::default()
            };
            for (t, name) in slots.others(s) {
                my.matched.insert(name.to_string(), v[1 + t]);
                my.match_rate
                    .insert(name.to_string(), v[1 + t] as f64 / v[0].max(1) as f64);
            }
            my
        })
        .collect();
    rows.sort_by(|a, b| (&a.municipality, a.year).cmp(&(&b.municipality, b.year)));
    for my in &rows {
        for (other, &n) in &my.matched {
            if n == 0 && my.persons >= WARN_UNMATCHED_PERSONS {
                warnings.push(format!(
                    "source {}: none of the {} persons in municipality {} in {} is found in {other}",
                    source.name, my.persons, my.municipality, my.year
                ));
            }
        }
    }
    rows
}

/// Whether population `inner`'s definition keeps only people `outer`'s
/// keeps: the same source, an age range inside `outer`'s (or `outer` without
/// one), and at least `outer`'s required variables.
fn inside(inner: &Population, outer: &Population) -> bool {
    let ages = match (outer.age, inner.age) {
        (None, _) => true,
        (Some((lo, hi)), Some((a, b))) => lo <= a && b <= hi,
        (Some(_), None) => false,
    };
    inner.source == outer.source && ages && outer.require.iter().all(|r| inner.require.contains(r))
}

/// The years populations `pi` and `qi` both have where `keep(yi, yj)`
/// holds (`yi`, `yj`: the year's index in each), as text.
fn shared_years(
    study: &Study,
    (pi, qi): (usize, usize),
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<String> {
    let (pop, other) = (&study.populations[pi], &study.populations[qi]);
    pop.years
        .iter()
        .enumerate()
        .filter_map(|(yi, y)| {
            let yj = other.years.iter().position(|z| z == y)?;
            keep(yi, yj).then(|| y.to_string())
        })
        .collect()
}

/// Whether disclosure control protects `inner` and `outer` together (it
/// reads the same definitions from the cell tables): `inner` inside
/// `outer`, with the same years.
fn protected_together(inner: &Population, outer: &Population) -> bool {
    inside(inner, outer) && inner.years == outer.years
}

/// Two populations of one study where one lies inside the other (18-64
/// and 18-65; a population and a part of it that a `require` keeps): a
/// cell of the wider minus the same cell of the narrower counts the people
/// in between. Disclosure control protects that count where it relates
/// the two ([`protected_together`]); not for populations of different
/// years (a one-year population inside one of two, tabulated by year).
/// One warning per such pair with tables, naming the years they differ in
/// (years with the same members have their own warning).
fn nested_warnings(study: &Study, counts: &Counts, warnings: &mut Vec<String>) {
    let tabled = |p: usize| study.tables.iter().any(|t| t.population == p);
    for (pi, pop) in study.populations.iter().enumerate() {
        for (qi, other) in study.populations.iter().enumerate() {
            if pi == qi
                || !tabled(pi)
                || !tabled(qi)
                || !inside(other, pop)
                || protected_together(other, pop)
            {
                continue;
            }
            // Definitions inside each other both ways are the same population
            // under two names: report that pair once.
            if inside(pop, other) && qi < pi {
                continue;
            }
            let differ = shared_years(study, (pi, qi), |yi, yj| {
                let (n, m) = (
                    counts.population_years[pi][yi],
                    counts.population_years[qi][yj],
                );
                m > 0 && n != m
            });
            if !differ.is_empty() {
                warnings.push(format!(
                    "population {} lies inside {} in {}: a published cell of {} minus the same cell of {} counts the people in between, and disclosure control relates the cells of two such populations only when their years are the same, so it does not protect that difference; publish tables of only one of them by the same dimensions, give both the same years, or make sure the difference is large",
                    other.name,
                    pop.name,
                    differ.join(", "),
                    pop.name,
                    other.name
                ));
            }
        }
    }
}

/// Two populations of one register with members in a common year, ages in
/// common, and neither inside the other nor the other in other years (long-
/// term recipients and recipients registered at AF: another filter): no
/// equation relates their cells, so what their tables give away together
/// is not checked. One warning per such pair with tables (across releases
/// the ledger refuses such a pair unless the policy allows it).
fn unrelated_warnings(study: &Study, counts: &Counts, warnings: &mut Vec<String>) {
    let tabled = |p: usize| study.tables.iter().any(|t| t.population == p);
    for (pi, pop) in study.populations.iter().enumerate() {
        for (qi, other) in study.populations.iter().enumerate().skip(pi + 1) {
            let ages = match (pop.age, other.age) {
                (Some((a, b)), Some((c, d))) => a <= d && c <= b,
                _ => true,
            };
            let period = pop.age == other.age && pop.require == other.require;
            if !tabled(pi)
                || !tabled(qi)
                || pop.source != other.source
                || !ages
                || period
                || inside(pop, other)
                || inside(other, pop)
            {
                continue;
            }
            let both = shared_years(study, (pi, qi), |yi, yj| {
                counts.population_years[pi][yi] > 0 && counts.population_years[qi][yj] > 0
            });
            if !both.is_empty() {
                warnings.push(format!(
                    "populations {} and {} count people of one register in {} and neither lies inside the other (they differ by a filter that is not an age range or a required variable of the other): disclosure control does not relate their cells, so what their tables give away together is not checked; make one inside the other, or keep their years apart",
                    pop.name,
                    other.name,
                    both.join(", ")
                ));
            }
        }
    }
}

/// Two populations with the same members in a year are protected as
/// separate populations: their tables can then reveal each other's
/// suppressed cells. One warning per pair of populations, naming the years,
/// unless one lies inside the other and disclosure control protects them
/// together.
fn same_members_warnings(study: &Study, counts: &Counts, warnings: &mut Vec<String>) {
    for (pi, pop) in study.populations.iter().enumerate() {
        for (qi, other) in study.populations.iter().enumerate().skip(pi + 1) {
            // Protected together, their equal cells are one to the attacker
            // and to disclosure control alike.
            if protected_together(pop, other) || protected_together(other, pop) {
                continue;
            }
            let same = shared_years(study, (pi, qi), |yi, yj| {
                let n = counts.population_years[pi][yi];
                n > 0
                    && n == counts.population_years[qi][yj]
                    && counts.population_members[pi][yi] == counts.population_members[qi][yj]
            });
            if !same.is_empty() {
                warnings.push(format!(
                    "populations {} and {} have the same members in {}: disclosure control protects them as separate populations, so a table of one can reveal cells suppressed in a table of the other (the audit before publication refuses a release where it does); define the population once and use it in both tables, or keep their years apart",
                    pop.name,
                    other.name,
                    same.join(", ")
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population(age: Option<(i64, i64)>, require: &[usize]) -> Population {
        Population {
            name: String::new(),
            source: SourceKind::Eb,
            years: vec![2023],
            age,
            require: require.to_vec(),
            needs: Vec::new(),
        }
    }

    #[test]
    fn a_population_lies_inside_another_by_age_and_by_requirement() {
        let adults = population(Some((18, 64)), &[]);
        let wider = population(Some((18, 65)), &[]);
        let everyone = population(None, &[]);
        let entrants = population(Some((18, 64)), &[7]);
        assert!(inside(&adults, &wider) && !inside(&wider, &adults));
        assert!(inside(&wider, &everyone) && !inside(&everyone, &wider));
        assert!(inside(&entrants, &adults) && !inside(&adults, &entrants));
        assert!(inside(&adults, &adults));
        let mut af = population(Some((18, 64)), &[]);
        af.source = SourceKind::Af;
        assert!(!inside(&af, &wider), "another source is another population");
        let overlapping = population(Some((30, 70)), &[]);
        assert!(!inside(&overlapping, &wider) && !inside(&wider, &overlapping));
    }
}
