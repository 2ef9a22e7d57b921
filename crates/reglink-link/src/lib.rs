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
                error,
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

    let report = report::build_report(study, &loaded, &inputs, &counts);
    Ok(Linked {
        frame: Frame { populations },
        report,
        inputs,
    })
}
