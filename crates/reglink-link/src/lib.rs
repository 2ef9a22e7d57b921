//! Linking pseudonymised register extracts for a study.
//!
//! A [`Study`] (read from a TOML study file, see `docs/study-file.md`) names
//! the sources, code lists, populations, derived variables and tables.
//! [`link`] reads each source's Parquet file in parallel, groups every row by
//! pseudonym, applies the duplicate rules, derives the variables per
//! person-year and returns a [`Frame`] (per population, one row per
//! person-year, no pseudonyms) and a [`LinkageReport`] (counts only).
//!
//! ```text
//!  study.toml ──► Study::load ──► Study ─┐
//!  eb.parquet ──┐                        │
//!  af.parquet ──┼─► load (per row group) ┴─► link (per pseudonym bucket) ──► Frame ──► reglink-tabulate
//!  lisa.parquet ┘      typed columns          derive variables            └─► LinkageReport
//! ```
//!
//! Nothing this crate returns carries a pseudonym; the frame never leaves
//! the process, and only the aggregate cell tables built from it are written.
//!
//! ```no_run
//! let study = reglink_link::Study::load("study.toml")?;
//! let linked = reglink_link::link(&study, &reglink_link::NoProgress)?;
//! println!("{} person-years in the first population", linked.frame.populations[0].len);
//! # Ok::<(), reglink_link::LinkError>(())
//! ```
#![deny(missing_docs)]
// Errors end a run and carry the source, file and column they are about;
// their size on the error path does not matter.
#![allow(clippy::result_large_err)]

mod codelist;
mod derive;
mod error;
mod frame;
mod link;
mod load;
mod report;
pub mod study;

use std::collections::BTreeMap;

pub use codelist::CodeList;
pub use error::LinkError;
pub use frame::{
    Column, Frame, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, NO_HOUSEHOLD, PopulationFrame,
};
#[doc(hidden)]
pub use load::col::read_text_cells;
pub use report::{
    LinkageReport, MunicipalityYear, PopulationReport, RejectCount, SourceReport, UnknownCodes,
};
pub use study::Study;

use load::{NO_CODE, SourceData};
use study::{Concept, SourceKind};

/// Where `link` reports progress; the binary draws bars, tests pass [`NoProgress`].
pub trait Progress: Sync {
    /// A stage begins; `total` is its number of steps when known.
    fn stage(&self, name: &str, total: Option<u64>);
    /// Steps done so far in the current stage.
    fn set(&self, done: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: Option<u64>) {}
    fn set(&self, _: u64) {}
    fn finish(&self) {}
}

/// An input of the linkage, for the run's manifest.
#[derive(Debug, Clone)]
pub struct Input {
    /// The source's name.
    pub name: String,
    /// The file.
    pub path: std::path::PathBuf,
    /// BLAKE3 fingerprint of the file.
    pub fingerprint: String,
    /// The key id the file was pseudonymised under.
    pub key_id: String,
}

/// The result of [`link`].
#[derive(Debug)]
pub struct Linked {
    /// The person-years of every population.
    pub frame: Frame,
    /// What happened to every row and person.
    pub report: LinkageReport,
    /// The sources read.
    pub inputs: Vec<Input>,
}

/// Reads the study's sources and links them.
pub fn link(study: &Study, progress: &dyn Progress) -> Result<Linked, LinkError> {
    let mut loaded: Vec<SourceData> = Vec::new();
    let mut inputs = Vec::new();
    for (id, source) in study.sources.iter().enumerate() {
        progress.stage(&format!("reading {}", source.name), None);
        let data = load::load_source(study, id)?;
        let fingerprint = reglink_extract::fingerprint_file(&source.path).map_err(|error| {
            LinkError::Extract {
                source_name: source.name.clone(),
                error: Box::new(error),
            }
        })?;
        progress.finish();
        inputs.push(Input {
            name: source.name.clone(),
            path: source.path.clone(),
            fingerprint: fingerprint.as_str().to_string(),
            key_id: data.key_id.clone(),
        });
        loaded.push(data);
    }
    load::check_same_key(study, &loaded)?;

    progress.stage("ordering by pseudonym", None);
    let mut offsets: [Option<Vec<usize>>; 3] = [None, None, None];
    for (source, data) in study.sources.iter().zip(loaded.iter_mut()) {
        offsets[link::slot(source.kind)] = Some(link::partition(data));
    }
    let mut by_slot: [Option<&SourceData>; 3] = [None; 3];
    for (source, data) in study.sources.iter().zip(&loaded) {
        by_slot[link::slot(source.kind)] = Some(data);
    }

    progress.finish();
    progress.stage("linking", Some(link::BUCKET_COUNT));
    let ctx = derive::Ctx::new(study, &by_slot);
    let (populations, counts) = link::link(study, &by_slot, &offsets, &ctx, &|n| progress.set(n));
    progress.finish();

    let report = build_report(study, &loaded, &inputs, &counts);
    Ok(Linked {
        frame: Frame { populations },
        report,
        inputs,
    })
}

/// Unknown codes up to this length are listed by value in the report. Real
/// codes are 1-4 characters; a personnummer (10 or more characters) put in a
/// code column by mistake is never listed, only counted.
const MAX_LISTED_CODE: usize = 8;

fn month_name(m: i32) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

fn build_report(
    study: &Study,
    loaded: &[SourceData],
    inputs: &[Input],
    counts: &link::Counts,
) -> LinkageReport {
    let mut report = LinkageReport {
        study: study.name.clone(),
        period: [month_name(study.first_month), month_name(study.last_month)],
        ..LinkageReport::default()
    };
    let slot_names: Vec<(usize, &str)> = study
        .sources
        .iter()
        .map(|s| (link::slot(s.kind), s.name.as_str()))
        .collect();
    for ((source, data), input) in study.sources.iter().zip(loaded).zip(inputs) {
        let s = link::slot(source.kind);
        let rejected: u64 = data.stats.rejected.values().map(|r| r.rows).sum();
        let mut r = SourceReport {
            kind: source.kind.name().to_string(),
            path: source.path.display().to_string(),
            fingerprint: input.fingerprint.clone(),
            key_id: input.key_id.clone(),
            rows_read: data.stats.rows_read,
            rows_used: data.len() as u64 - counts.duplicates[s],
            rows_rejected: rejected,
            rejected: data.stats.rejected.clone(),
            rows_outside_period: data.stats.outside_period,
            values_rounded: data.stats.rounded,
            duplicates: counts.duplicates[s],
            distinct_persons: counts.persons[s],
            persons_without_birth_date: counts.without_birth[s],
            overlapping_spells: (source.kind == SourceKind::Af)
                .then_some(counts.overlapping_spells),
            ..SourceReport::default()
        };
        for &(t, name) in &slot_names {
            if t != s {
                r.matched.insert(name.to_string(), counts.matched[s][t]);
            }
        }
        // Codes outside their code lists.
        for &(concept, list) in &source.codelists {
            let (Some(codes), Some(dictionary)) = (data.codes(concept), data.dictionary(concept))
            else {
                continue;
            };
            let codelist = &study.codelists[list];
            let known: Vec<bool> = dictionary
                .iter()
                .map(|c| codelist.find(c).is_some())
                .collect();
            let mut per_code = vec![0u64; dictionary.len()];
            for &c in codes {
                if c != NO_CODE && !known[c as usize] {
                    per_code[c as usize] += 1;
                }
            }
            let rows: u64 = per_code.iter().sum();
            if rows > 0 {
                let mut unknown = UnknownCodes {
                    codelist: codelist.name.clone(),
                    rows,
                    codes: BTreeMap::new(),
                };
                for (i, n) in per_code.iter().enumerate() {
                    if *n > 0 && dictionary[i].chars().count() <= MAX_LISTED_CODE {
                        unknown.codes.insert(dictionary[i].clone(), *n);
                    }
                }
                r.unknown_codes.insert(concept.name().to_string(), unknown);
            }
        }
        // Rows per month (EB rows, AF spell starts) or year (LISA).
        let mut by_period: BTreeMap<i32, u64> = BTreeMap::new();
        for &t in &data.time {
            let key = if source.kind == SourceKind::Af {
                load::month_of_day(t)
            } else {
                t
            };
            *by_period.entry(key).or_default() += 1;
        }
        r.rows_by_period = by_period
            .iter()
            .map(|(&k, &v)| {
                (
                    if source.kind == SourceKind::Lisa {
                        k.to_string()
                    } else {
                        month_name(k)
                    },
                    v,
                )
            })
            .collect();
        if source.kind == SourceKind::Eb {
            for m in study.first_month..=study.last_month {
                if !by_period.contains_key(&m) {
                    report.warnings.push(format!(
                        "source {}: no rows for the month {}",
                        source.name,
                        month_name(m)
                    ));
                }
            }
        }
        // Municipalities and years.
        if let Some(dictionary) = data.dictionary(Concept::Municipality) {
            let mut rows: Vec<MunicipalityYear> = counts.by_muni_year[s]
                .iter()
                .map(|(&(m, year), v)| {
                    let mut my = MunicipalityYear {
                        municipality: dictionary[m as usize].clone(),
                        year,
                        persons: v[0],
                        ..MunicipalityYear::default()
                    };
                    for &(t, name) in &slot_names {
                        if t != s {
                            my.matched.insert(name.to_string(), v[1 + t]);
                            my.match_rate
                                .insert(name.to_string(), v[1 + t] as f64 / v[0].max(1) as f64);
                        }
                    }
                    my
                })
                .collect();
            rows.sort_by(|a, b| (&a.municipality, a.year).cmp(&(&b.municipality, b.year)));
            for my in &rows {
                for (other, &n) in &my.matched {
                    if n == 0 && my.persons >= 20 {
                        report.warnings.push(format!(
                            "source {}: none of the {} persons in municipality {} in {} is found in {other}",
                            source.name, my.persons, my.municipality, my.year
                        ));
                    }
                }
            }
            r.by_municipality_year = rows;
        }
        if rejected > 0 {
            report.warnings.push(format!(
                "source {}: {rejected} rows rejected (see `rejected` in the linkage report)",
                source.name
            ));
        }
        if data.stats.rounded > 0 {
            report.warnings.push(format!(
                "source {}: {} amounts had a fraction of a krona and were rounded half to even (see `values_rounded` in the linkage report)",
                source.name, data.stats.rounded
            ));
        }
        report.sources.insert(source.name.clone(), r);
    }
    // Two populations with the same members in a year are protected as
    // separate populations: their tables can then reveal each other's
    // suppressed cells.
    for (pi, pop) in study.populations.iter().enumerate() {
        for (qi, other) in study.populations.iter().enumerate().skip(pi + 1) {
            let same: Vec<String> = pop
                .years
                .iter()
                .enumerate()
                .filter_map(|(yi, y)| {
                    let yj = other.years.iter().position(|z| z == y)?;
                    let n = counts.population_years[pi][yi];
                    (n > 0
                        && n == counts.population_years[qi][yj]
                        && counts.population_members[pi][yi] == counts.population_members[qi][yj])
                        .then(|| y.to_string())
                })
                .collect();
            if !same.is_empty() {
                report.warnings.push(format!(
                    "populations {} and {} have the same members in {}: disclosure control protects them as separate populations, so a table of one can reveal cells suppressed in a table of the other; define the population once and use it in both tables",
                    pop.name,
                    other.name,
                    same.join(", ")
                ));
            }
        }
    }
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
