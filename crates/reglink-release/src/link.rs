//! The link stage: a study's sources linked and its tables tabulated, in
//! memory ([`link_and_tabulate`]) or written to a folder as `reglink link`
//! does ([`link`]).

use std::path::{Path, PathBuf};

use reglink_extract::{OutputKind, ScratchDir, StagedDir};
use reglink_link::part::{Part, Parts};
use reglink_link::partial::Decoder;
use reglink_link::{LinkError, Linkage, Linked, Progress, Study};
use reglink_tabulate::{CellTable, Tabulation};
use serde_json::json;

use crate::ReleaseError;

/// What `reglink link` writes, and the manifest that proves it wrote it.
pub const OUTPUT: OutputKind = OutputKind {
    command: "reglink link",
    output: "link output",
    manifest: "link.json",
};

/// A study linked and tabulated in memory: what disclosure control starts
/// from.
#[derive(Debug)]
pub struct Tabulated {
    /// The study, loaded and checked.
    pub study: Study,
    /// The linkage: its report and the inputs' fingerprints (the
    /// person-years were tabulated as they came and are never written).
    pub linked: Linkage,
    /// One cell table per table of the study, in the study's order.
    pub tables: Vec<CellTable>,
}

/// What [`link`] wrote.
#[derive(Debug)]
pub struct LinkOutcome {
    /// The linked study and its cell tables.
    pub tabulated: Tabulated,
    /// The folder they were written to.
    pub out: PathBuf,
}

/// The files a study reads, as `(role, path)`: an output may be none of
/// them and contain none of them.
pub fn study_inputs(study: &Study) -> Vec<(String, PathBuf)> {
    let mut inputs = vec![("the study file".to_string(), study.path.clone())];
    for s in &study.sources {
        inputs.push((format!("source `{}`", s.name), s.path.clone()));
    }
    for c in &study.codelists {
        inputs.push((format!("code list `{}`", c.name), c.path.clone()));
    }
    // Set-aside rows hold pseudonyms: never inside an output folder.
    if let Some(scratch) = &study.memory.scratch {
        inputs.push((
            "the scratch folder (--scratch)".to_string(),
            scratch.clone(),
        ));
    }
    inputs
}

/// Tabulates every table of `study` from a linkage whose frames are all in
/// memory, reporting the `tabulating` stage to `progress`.
pub fn tabulate(study: &Study, linked: &Linked, progress: &dyn Progress) -> Vec<CellTable> {
    progress.stage("tabulating", Some(study.tables.len() as u64));
    let mut tables = Vec::with_capacity(study.tables.len());
    for (t, table) in study.tables.iter().enumerate() {
        tables.push(reglink_tabulate::tabulate(
            study,
            &linked.frame.populations[table.population],
            t,
        ));
        progress.set(t as u64 + 1);
    }
    progress.finish();
    tables
}

/// Links a loaded study and tabulates its tables as the person-years come:
/// each group of persons' frames is added to every table and dropped (see
/// [`Tabulation`] for what is kept between groups and why the tables are
/// those of the whole).
pub fn link_and_tabulate(study: Study, progress: &dyn Progress) -> Result<Tabulated, ReleaseError> {
    let mut tabulations: Vec<Tabulation<'_>> = (0..study.tables.len())
        .map(|t| Tabulation::new(&study, t))
        .collect();
    let linked = reglink_link::link_each(&study, progress, &mut |frames| {
        for tabulation in &mut tabulations {
            tabulation.add(&frames[tabulation.population()]);
        }
    })?;
    let tables = finish(tabulations, progress);
    Ok(Tabulated {
        study,
        linked,
        tables,
    })
}

/// The cell tables of `tabulations`, in their order.
fn finish(tabulations: Vec<Tabulation<'_>>, progress: &dyn Progress) -> Vec<CellTable> {
    progress.stage("tabulating", Some(tabulations.len() as u64));
    let mut tables = Vec::with_capacity(tabulations.len());
    for (t, tabulation) in tabulations.into_iter().enumerate() {
        tables.push(tabulation.finish());
        progress.set(t as u64 + 1);
    }
    progress.finish();
    tables
}

/// `reglink link`: loads the study at `study_path`, links and tabulates it
/// (holding as much of the sources in memory at once as `memory` says)
/// into `out` (`cells/`, `linkage-report.json`, `link.json`), replacing an
/// earlier, unchanged `reglink link` output there. `out` is checked before
/// any work; nothing is in place until everything is written.
pub fn link(
    study_path: &Path,
    out: &Path,
    memory: reglink_link::study::Memory,
    engine: Option<&dyn Engine>,
    progress: &dyn Progress,
) -> Result<LinkOutcome, ReleaseError> {
    let mut study = Study::load(study_path)?;
    study.memory = memory;
    let staged = StagedDir::create(out, &OUTPUT, &study_inputs(&study))?;
    let tabulated = link_and_tabulate_on(study, engine, progress)?;
    write_link_output(&staged, out, study_path, &tabulated)?;
    staged.commit()?;
    Ok(LinkOutcome {
        tabulated,
        out: out.to_path_buf(),
    })
}

/// Writes the cell tables, the linkage report and the manifest into the
/// staged folder of `reglink link` for `out`.
fn write_link_output(
    staged: &StagedDir,
    out: &Path,
    study_path: &Path,
    tabulated: &Tabulated,
) -> Result<(), ReleaseError> {
    let Tabulated {
        study,
        linked,
        tables,
    } = tabulated;
    let cells_dir = staged.path().join("cells");
    std::fs::create_dir(&cells_dir).map_err(|source| ReleaseError::CreateDir {
        path: out.join("cells"),
        source,
    })?;
    for cells in tables {
        cells.write(&cells_dir)?;
    }

    let mut report =
        serde_json::to_string_pretty(&linked.report).expect("a linkage report serialises");
    report.push('\n');
    reglink_extract::write_atomic(staged.path().join("linkage-report.json"), report.as_bytes())?;
    let study_fingerprint = reglink_extract::fingerprint_file(study_path)?;
    let manifest = json!({
        "tool": format!("reglink {}", env!("CARGO_PKG_VERSION")),
        "study": study.name,
        "study_file": study_path.display().to_string(),
        "study_file_blake3": study_fingerprint.as_str(),
        "sources": linked.inputs.iter().map(|i| json!({
            "name": i.name,
            "path": i.path.display().to_string(),
            "blake3": i.fingerprint,
            "key_id": i.key_id,
        })).collect::<Vec<_>>(),
        "tables": study.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
    });
    reglink_extract::write_manifest(staged.path(), &OUTPUT, manifest)?;
    Ok(())
}

/// Links the part of the persons in folder `dir` (cut out of the study's
/// sources by a distributed engine, see [`reglink_link::part`]), tabulates
/// it and writes the partial result to `out` (mode 0600), for
/// [`tabulate_parts`] to merge.
pub fn link_part(study_path: &Path, dir: &Path, out: &Path) -> Result<(), ReleaseError> {
    let study = Study::load(study_path)?;
    let mut tabulations: Vec<Tabulation<'_>> = (0..study.tables.len())
        .map(|t| Tabulation::new(&study, t))
        .collect();
    let part = reglink_link::part::link_part(&study, dir, &mut |frames| {
        for tabulation in &mut tabulations {
            tabulation.add(&frames[tabulation.population()]);
        }
    })?;
    let mut e = Part::encoder();
    part.encode(&mut e);
    for tabulation in tabulations {
        tabulation.encode(&mut e);
    }
    // A partial is written into the task's private folder (mode 0600), as a
    // new file: never over one this run did not write.
    if out.exists() {
        return Err(ReleaseError::Engine {
            message: format!("{}: a part's result goes to a new file", out.display()),
        });
    }
    reglink_extract::write_atomic(out, &e.into_bytes())?;
    Ok(())
}

/// Links a study somewhere else than in this process: on a cluster, a
/// part of the persons per task, each part's result written by
/// [`link_part`].
pub trait Engine: std::fmt::Debug {
    /// Links `study` in parts and returns the parts' result files, in a
    /// private folder removed when it is dropped.
    fn link_parts(&self, study: &Study) -> Result<(ScratchDir, Vec<PathBuf>), ReleaseError>;
}

/// [`link_and_tabulate`] on `engine`, or on this machine without one.
pub fn link_and_tabulate_on(
    study: Study,
    engine: Option<&dyn Engine>,
    progress: &dyn Progress,
) -> Result<Tabulated, ReleaseError> {
    let Some(engine) = engine else {
        return link_and_tabulate(study, progress);
    };
    let (folder, parts) = engine.link_parts(&study)?;
    let tabulated = tabulate_parts(study, &parts, progress)?;
    drop(folder);
    Ok(tabulated)
}

/// Merges the results `parts` of the parts of the persons (written by
/// [`link_part`], one per part) into the cell tables and the linkage
/// report: the same as linking the study on one machine.
pub fn tabulate_parts(
    study: Study,
    parts: &[PathBuf],
    progress: &dyn Progress,
) -> Result<Tabulated, ReleaseError> {
    let (inputs, rows) = reglink_link::part::sources_of(&study)?;
    let mut merged = Parts::new(&study)?;
    let mut tabulations: Vec<Tabulation<'_>> = (0..study.tables.len())
        .map(|t| Tabulation::new(&study, t))
        .collect();
    progress.stage("merging the parts", Some(parts.len() as u64));
    for (i, path) in parts.iter().enumerate() {
        let bad = |error| LinkError::Partial {
            path: path.clone(),
            error,
        };
        let bytes = std::fs::read(path).map_err(|source| reglink_extract::ExtractError::Io {
            path: path.clone(),
            source,
        })?;
        let mut d = Decoder::new(&bytes);
        Part::header(&mut d).map_err(bad)?;
        let part = Part::decode(&study, &mut d).map_err(bad)?;
        merged.add(&study, part).map_err(bad)?;
        for (t, tabulation) in tabulations.iter_mut().enumerate() {
            tabulation.merge(Tabulation::decode(&study, t, &mut d).map_err(bad)?);
        }
        d.finish().map_err(bad)?;
        progress.set(i as u64 + 1);
    }
    progress.finish();
    let linked = merged.finish(&study, inputs, &rows)?;
    let tables = finish(tabulations, progress);
    Ok(Tabulated {
        study,
        linked,
        tables,
    })
}
