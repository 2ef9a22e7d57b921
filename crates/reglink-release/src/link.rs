//! The link stage: a study's sources linked and its tables tabulated, in
//! memory ([`link_and_tabulate`]) or written to a folder as `reglink link`
//! does ([`link`]).

use std::path::{Path, PathBuf};

use reglink_extract::{OutputKind, StagedDir};
use reglink_link::{Linkage, Linked, Progress, Study};
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
    progress.stage("tabulating", Some(study.tables.len() as u64));
    let mut tables = Vec::with_capacity(tabulations.len());
    for (t, tabulation) in tabulations.into_iter().enumerate() {
        tables.push(tabulation.finish());
        progress.set(t as u64 + 1);
    }
    progress.finish();
    Ok(Tabulated {
        study,
        linked,
        tables,
    })
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
    progress: &dyn Progress,
) -> Result<LinkOutcome, ReleaseError> {
    let mut study = Study::load(study_path)?;
    study.memory = memory;
    let staged = StagedDir::create(out, &OUTPUT, &study_inputs(&study))?;
    let tabulated = link_and_tabulate(study, progress)?;
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
