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
pub mod part;
pub mod partial;
mod report;
pub mod study;
#[cfg(test)]
mod testutil;

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

use load::SourceData;
use report::SourceSummary;

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

/// What [`link_each`] returns: everything about the linkage but the
/// person-years, which it handed out a group at a time.
#[derive(Debug)]
pub struct Linkage {
    /// What happened to every row and person.
    pub report: LinkageReport,
    /// The sources read.
    pub inputs: Vec<Input>,
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

/// Reads the study's sources and links them, gathering every person-year
/// in one [`Frame`] (see [`link_each`]).
pub fn link(study: &Study, progress: &dyn Progress) -> Result<Linked, LinkError> {
    let mut frames: Option<Vec<PopulationFrame>> = None;
    let linkage = link_each(study, progress, &mut |part| match frames.as_mut() {
        None => frames = Some(part),
        Some(all) => {
            for (into, from) in all.iter_mut().zip(part) {
                link::append_frame(into, from);
            }
        }
    })?;
    Ok(Linked {
        frame: Frame {
            populations: frames.unwrap_or_default(),
        },
        report: linkage.report,
        inputs: linkage.inputs,
    })
}

/// Reads the study's sources, links them and hands the person-years to
/// `each`, one group of persons at a time (one frame per population, in
/// the study's order); returns the report.
///
/// Sources with more rows in all than [`study::Memory::rows`] are linked
/// in bounded memory: each is read once and its rows set aside on disk by
/// pseudonym group (a private scratch folder in [`study::Memory::scratch`],
/// removed at the end), then the groups are linked one at a time and each
/// group's frames are handed to `each` and dropped. A person's rows of every
/// source are in one group, groups come in bucket order and the counts add
/// up, so the groups' frames together are the frames of linking everything
/// at once, which is what `each` gets (once) when the sources fit.
pub fn link_each(
    study: &Study,
    progress: &dyn Progress,
    each: &mut dyn FnMut(Vec<PopulationFrame>),
) -> Result<Linkage, LinkError> {
    let mut rows = 0u64;
    for id in 0..study.sources.len() {
        rows += load::rows_in(study, id)?;
    }
    let groups = groups_for(rows, study.memory.rows);
    if groups == 1 {
        return link_in_memory(study, progress, each);
    }
    let mut linked = link_in_groups(study, groups, progress, each)?;
    let per_group = rows.div_ceil(groups as u64);
    if per_group > study.memory.rows {
        linked.report.warnings.push(format!(
            "the sources hold {rows} rows: linked in {groups} groups (the most there are) of about {per_group} rows, more than --rows-in-memory {}",
            study.memory.rows
        ));
    }
    Ok(linked)
}

/// The number of groups (a power of two) that keeps about `limit` of
/// `rows` in memory at once.
fn groups_for(rows: u64, limit: u64) -> usize {
    let wanted = rows.div_ceil(limit.max(1)).max(1);
    (wanted.next_power_of_two() as usize).min(link::MAX_GROUPS)
}

/// The input of source `source`, for the manifest.
fn input_of(source: &study::Source, key_id: &str) -> Result<Input, LinkError> {
    let fingerprint =
        reglink_extract::fingerprint_file(&source.path).map_err(|error| LinkError::Extract {
            source_name: source.name.clone(),
            error,
        })?;
    Ok(Input {
        name: source.name.clone(),
        path: source.path.clone(),
        fingerprint: fingerprint.as_str().to_string(),
        key_id: key_id.to_string(),
    })
}

/// Moves each of `loaded` (the study's sources, in its order) into bucket
/// order; returns where each source's buckets start and the sources, both
/// by slot (EB, AF, LISA).
pub(crate) fn partitioned<'a>(
    study: &Study,
    loaded: &'a mut [SourceData],
) -> ([Option<Vec<usize>>; 3], [Option<&'a SourceData>; 3]) {
    let mut offsets: [Option<Vec<usize>>; 3] = [None, None, None];
    for (source, data) in study.sources.iter().zip(loaded.iter_mut()) {
        offsets[link::slot(source.kind)] = Some(link::partition(data));
    }
    let mut by_slot: [Option<&SourceData>; 3] = [None; 3];
    for (source, data) in study.sources.iter().zip(loaded.iter()) {
        by_slot[link::slot(source.kind)] = Some(data);
    }
    (offsets, by_slot)
}

/// Every source loaded whole, linked at once.
fn link_in_memory(
    study: &Study,
    progress: &dyn Progress,
    each: &mut dyn FnMut(Vec<PopulationFrame>),
) -> Result<Linkage, LinkError> {
    let mut loaded: Vec<SourceData> = Vec::new();
    let mut inputs = Vec::new();
    for (id, source) in study.sources.iter().enumerate() {
        progress.stage(&format!("reading {}", source.name), None);
        let data = load::load_source(study, id)?;
        inputs.push(input_of(source, &data.key_id)?);
        progress.finish();
        loaded.push(data);
    }
    let keys: Vec<(&str, &str)> = loaded
        .iter()
        .map(|d| (d.key_id.as_str(), d.pseudonym_study.as_str()))
        .collect();
    load::check_same_key(study, &keys)?;

    progress.stage("ordering by pseudonym", None);
    let (offsets, by_slot) = partitioned(study, &mut loaded);
    progress.finish();
    progress.stage("linking", Some(link::BUCKET_COUNT));
    let ctx = derive::Ctx::new(study, &by_slot);
    let all = 0..link::BUCKET_COUNT as usize;
    let (populations, counts) =
        link::link(study, &by_slot, &offsets, &ctx, (all, &|n| progress.set(n)));
    progress.finish();
    // The household table goes before the frames are used.
    drop(ctx);

    let summaries: Vec<SourceSummary> = study
        .sources
        .iter()
        .zip(&loaded)
        .map(|(s, d)| SourceSummary::of(s.kind, d))
        .collect();
    // The sources go before the frames are used.
    drop(loaded);
    each(populations);
    let report = report::build_report(study, &summaries, &inputs, &counts);
    Ok(Linkage { report, inputs })
}

/// Every source set aside on disk in `groups` groups of persons, then
/// linked a group at a time.
fn link_in_groups(
    study: &Study,
    groups: usize,
    progress: &dyn Progress,
    each: &mut dyn FnMut(Vec<PopulationFrame>),
) -> Result<Linkage, LinkError> {
    let scratch = load::spill::scratch_for(study)?;
    let group_of = move |p: u128| link::group_of(p, groups);
    let mut spilled = Vec::new();
    let mut inputs = Vec::new();
    for (id, source) in study.sources.iter().enumerate() {
        progress.stage(&format!("reading {}", source.name), None);
        let s = load::spill::spill_source(study, id, &scratch, (groups, &group_of))?;
        inputs.push(input_of(source, &s.key_id)?);
        progress.finish();
        spilled.push(s);
    }
    let keys: Vec<(&str, &str)> = spilled
        .iter()
        .map(|s| (s.key_id.as_str(), s.pseudonym_study.as_str()))
        .collect();
    load::check_same_key(study, &keys)?;

    let mut summaries: Vec<SourceSummary> = spilled
        .iter()
        .map(|s| SourceSummary::new(s.stats.clone(), s.dictionaries.clone()))
        .collect();
    // Households span groups: their table is cut by group on disk, each
    // group's holding what its EB rows look up, with whole-register counts.
    let eb = study.source_of_kind(study::SourceKind::Eb);
    let households =
        match eb {
            Some(e) if derive::Ctx::needs_households(study) => Some(
                load::households::household_parts(&spilled[e], &scratch, (groups, &group_of))?,
            ),
            _ => None,
        };

    progress.stage("linking", Some(link::BUCKET_COUNT));
    let mut counts = link::empty_counts(study);
    for g in 0..groups {
        let mut loaded: Vec<SourceData> = Vec::with_capacity(spilled.len());
        for s in &spilled {
            loaded.push(s.group(&scratch, g)?);
        }
        for ((source, data), summary) in study.sources.iter().zip(&loaded).zip(&mut summaries) {
            summary.add(source.kind, data);
        }
        let (offsets, by_slot) = partitioned(study, &mut loaded);
        let table = match &households {
            Some(parts) => Some(parts.table(&scratch, g)?),
            None => None,
        };
        let ctx = derive::Ctx::with_households(study, &by_slot, table.as_ref());
        let buckets = link::group_buckets(g, groups);
        let (part, part_counts) = link::link(
            study,
            &by_slot,
            &offsets,
            &ctx,
            (buckets, &|n| progress.set(n)),
        );
        counts.merge(part_counts);
        drop(ctx);
        drop(table);
        drop(loaded);
        each(part);
    }
    progress.finish();
    drop(scratch);

    let report = report::build_report(study, &summaries, &inputs, &counts);
    Ok(Linkage { report, inputs })
}
