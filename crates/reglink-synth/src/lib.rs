//! Synthetic, correlated register extracts for tests, examples and
//! benchmarks: what a statistics agency would hand the linkage engine, with
//! the defects real extracts have.
//!
//! [`generate`] writes, into [`Options::out_dir`]:
//!
//! | file | one row per | columns |
//! |---|---|---|
//! | `eb.{csv,parquet}` | person, household and month with an EB payment, 2023-2025 | `personnr`, `kommun`, `period` (YYYYMM), `hushall_id`, `roll` (`S` applicant, `M` co-applicant, `B` child), `utbetalt` (the household's payment that month, SEK, repeated on each member's row), `forsorjningshinder` (null for children) |
//! | `af.{csv,parquet}` | AF spell (registration or programme) overlapping 2023-2025 | `personnummer`, `kommun`, `sokandekategori`, `program`, `startdatum`, `slutdatum` (null while open), `avslutsorsak` (null while open) |
//! | `lisa.{csv,parquet}` | person aged 16+ present on 31 December, per year 2023-2025 | `PersonNr`, `Ar`, `Kommun`, `Kon` (1 man, 2 woman), `FodelseAr`, `FodelseRegion`, `InvandringsAr`, `Sun2000Niva`, `ForvInk`, `DispInk`, `SyssStatus`, `ArbLosErs` |
//! | `crosswalk.csv` | number change | `old`, `new` (twelve digits; chains `a -> b -> c` occur) |
//! | `codelists/*.csv` | code | `code,label,group` (`kommun.csv`: `code,name,county,county_name,population`) |
//! | `synth.json` | | the [`Report`] |
//!
//! # How the registers hang together
//!
//! ```text
//!   geography (preset) ──> households ──> life: moves, deaths, emigration, newcomers
//!                              │ latent disadvantage z
//!            ┌─────────────────┼──────────────────────┐
//!            v                 v                      v
//!       EB per year ──> AF spells (EB adults ──> LISA per year (earnings, status,
//!   (receipt, months,   register far more often,  benefits follow z and the
//!    long-term, codes)  longer, more guarantees)  EB months and AF days)
//! ```
//!
//! Every person carries a latent disadvantage score, shared within the
//! household and shifted by region of birth and recent immigration. It
//! raises the odds of EB (together with household type, age and a per-
//! municipality factor), of long-term EB, of registering at AF and of long
//! spells there, and lowers education, employment and earnings. EB adults
//! register at AF when their *försörjningshinder* says unemployed, so most
//! adult recipients are at AF at the same time, far above the population
//! share; months on EB or at AF cut the year's earnings in LISA.
//!
//! # Defects, counted in the report
//!
//! Identifiers are written the ways real extracts write them: about 80 %
//! `YYYYMMDDNNNC`, 8 % `YYYYMMDD-NNNC`, 8 % `YYMMDD-NNNC` (`+` for those aged
//! 100 or more at [`extraction_date`]), 2 % `YYMMDDNNNC`, 2 % with
//! surrounding whitespace. About 0.2 % of the identifiers in each register
//! are deliberately invalid (wrong check digit, impossible date, wrong
//! length, a letter, empty, a space as separator): exactly those are
//! rejected by `reglink_pnr::Pnr::parse` at the extraction date, and
//! [`RegisterReport::invalid_ids`] counts them by kind. About 0.01 % of
//! coded values are not in their code list, and about 0.05 % of AF spells
//! end before they start. Some persons hold a samordningsnummer, and about
//! 0.3 % change number; rows dated before the change carry the old number,
//! so linking without `crosswalk.csv` loses them.
//!
//! # Determinism and streaming
//!
//! The population is split into chunks of at most 40,000 planned persons of
//! one municipality. Each chunk draws from its own ChaCha8 stream of the
//! seed and its own stretch of identity numbers, so chunks are generated in
//! parallel (rayon) and written in index order: the same seed gives
//! byte-identical files whatever the number of threads. Only a window of
//! chunks is in memory at a time; every file is written to a temporary file
//! in the output directory and renamed into place when all are complete.
//!
//! # Example
//!
//! ```
//! use reglink_synth::{Format, Options, Preset};
//!
//! let dir = tempfile::tempdir()?;
//! let report = reglink_synth::generate(&Options {
//!     preset: Preset::Tiny,
//!     seed: 7,
//!     format: Format::Csv,
//!     out_dir: dir.path().to_path_buf(),
//! })?;
//! assert!(report.eb.rows > 0 && report.lisa.rows > report.af.rows);
//! assert!(dir.path().join("crosswalk.csv").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod af;
mod chunk;
mod codelists;
mod crosswalk;
mod dist;
mod eb;
mod error;
mod ids;
mod life;
mod lisa;
mod municipalities;
mod population;
mod preset;
mod report;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};

use rayon::prelude::*;
use reglink_pnr::Date;

pub use error::SynthError;
pub use ids::InvalidIdCounts;
pub use preset::{Format, Preset};
pub use report::{CrosswalkReport, EbYear, RegisterReport, Report};

use chunk::{ChunkOutput, ChunkSummary};
use municipalities::{COUNTIES, Geography};
use writer::{Encoded, TableWriter, staged_text};

/// The first register year: ages, household shapes and the population are
/// drawn as of 31 December of this year.
pub const REFERENCE_YEAR: i32 = 2023;

/// The last register year.
pub(crate) const LAST_YEAR: i32 = 2025;

/// The register years, in order.
pub(crate) const YEARS: [i32; 3] = [REFERENCE_YEAR, REFERENCE_YEAR + 1, LAST_YEAR];

/// The date the extracts are taken, 2026-06-30: AF spells still running then
/// are open, and it is the reference date that fixes the century of the
/// ten-digit identifier forms (`-` below 100 years of age, `+` from 100).
pub fn extraction_date() -> Date {
    Date::new(2026, 6, 30).unwrap_or_else(|| unreachable!("a valid date"))
}

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size of the synthetic country.
    pub preset: Preset,
    /// Seed of every random draw: the same seed gives the same bytes.
    pub seed: u64,
    /// Format of the three register extracts.
    pub format: Format,
    /// Output directory, created if missing; existing files of the same
    /// names are replaced.
    pub out_dir: PathBuf,
}

/// What [`generate_folder`] (`reglink synth`) writes, and the manifest that
/// proves it, so a later run may replace the folder while it is unchanged.
pub const OUTPUT: reglink_extract::OutputKind = reglink_extract::OutputKind {
    command: "reglink synth",
    output: "synthetic extract folder",
    manifest: "manifest.json",
};

/// Generates the registers into the folder `opts.out_dir` as a whole:
/// written beside it and moved into place only when complete, with a
/// manifest listing every file. An existing folder is replaced only if it is
/// empty or an unchanged earlier output of this function; anything else is
/// refused before any work ([`reglink_extract::StagedDir`]).
///
/// # Errors
///
/// [`SynthError::Folder`] if the folder is refused or cannot be swapped in,
/// and the errors of [`generate`].
pub fn generate_folder(opts: &Options) -> Result<Report, SynthError> {
    let staged = reglink_extract::StagedDir::create(&opts.out_dir, &OUTPUT, &[])?;
    let report = generate(&Options {
        out_dir: staged.path().to_path_buf(),
        ..opts.clone()
    })?;
    reglink_extract::write_manifest(
        staged.path(),
        &OUTPUT,
        serde_json::json!({ "made_by": "reglink synth" }),
    )?;
    staged.commit()?;
    Ok(report)
}

/// File name of the report in the output directory.
const REPORT_FILE: &str = "synth.json";
/// File name of the crosswalk.
const CROSSWALK_FILE: &str = "crosswalk.csv";

/// Generates the registers of `opts.preset` into `opts.out_dir` and returns
/// (and writes as `synth.json`) the report.
///
/// # Errors
///
/// [`SynthError::Io`] if the directory or a file cannot be created or
/// written, [`SynthError::Parquet`] if the Parquet encoder fails. Either way
/// no file of this run is left in the directory.
pub fn generate(opts: &Options) -> Result<Report, SynthError> {
    let out = &opts.out_dir;
    let codelist_dir = out.join("codelists");
    let created = !codelist_dir.exists();
    std::fs::create_dir_all(&codelist_dir).map_err(|e| SynthError::io(&codelist_dir, e))?;
    let result = write_all(opts, &codelist_dir);
    if result.is_err() && created {
        // Leave the directory as it was; `remove_dir` only removes it
        // empty, which it is once the temporary files are gone.
        let _ = std::fs::remove_dir(&codelist_dir);
    }
    result
}

/// [`generate`] once the code-list directory exists.
fn write_all(opts: &Options, codelist_dir: &std::path::Path) -> Result<Report, SynthError> {
    let out = &opts.out_dir;
    let geo = Geography::for_preset(opts.preset);
    let plan = chunk::plan(&geo);

    let ext = opts.format.extension();
    let names = [
        format!("eb.{ext}"),
        format!("af.{ext}"),
        format!("lisa.{ext}"),
    ];
    let writers = [
        TableWriter::create(
            out.join(&names[0]),
            opts.format,
            eb::EbRows::schema(),
            "personnr",
        )?,
        TableWriter::create(
            out.join(&names[1]),
            opts.format,
            af::AfRows::schema(),
            "personnummer",
        )?,
        TableWriter::create(
            out.join(&names[2]),
            opts.format,
            lisa::LisaRows::schema(),
            "PersonNr",
        )?,
    ];
    let (total, tables) = run_chunks(opts, &geo, &plan, writers)?;

    let mut staged = Vec::new();
    let mut codelists = Vec::new();
    let mut lists = codelists::fixed_lists();
    lists.push(codelists::kommun_list(
        &geo.municipalities
            .iter()
            .map(|m| {
                let county = &COUNTIES[m.county];
                (
                    m.code.clone(),
                    m.name.clone(),
                    county.code,
                    county.name,
                    u64::from(m.population),
                )
            })
            .collect::<Vec<_>>(),
    ));
    lists.sort_by_key(|l| l.name);
    for list in lists {
        codelists.push(format!("codelists/{}", list.name));
        staged.push(staged_text(&codelist_dir.join(list.name), &list.text)?);
    }
    staged.push(staged_text(
        &out.join(CROSSWALK_FILE),
        &crosswalk::render(&total.crosswalk),
    )?);

    let report = build_report(opts, &geo, &total, &names, &tables, codelists);
    let [(eb, _), (af, _), (lisa, _)] = tables;
    staged.extend([eb, af, lisa]);
    let mut json = serde_json::to_string_pretty(&report)?;
    json.push('\n');
    staged.push(staged_text(&out.join(REPORT_FILE), &json)?);
    reglink_extract::commit_all(staged)?;
    Ok(report)
}

/// A finished table: its staged file and rows written.
type Finished = (reglink_extract::AtomicFile, u64);

/// Generates the chunks in parallel windows and streams them, in order, to
/// one writer thread per table.
fn run_chunks(
    opts: &Options,
    geo: &Geography,
    plan: &[chunk::ChunkPlan],
    writers: [TableWriter; 3],
) -> Result<(ChunkSummary, [Finished; 3]), SynthError> {
    let window = 4 * rayon::current_num_threads().max(1);
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(3);
        let mut handles = Vec::with_capacity(3);
        for writer in writers {
            let (tx, rx) = sync_channel::<(u64, Encoded)>(window);
            senders.push(tx);
            handles.push(scope.spawn(move || drain(writer, rx)));
        }
        let mut total = ChunkSummary::default();
        let mut failed = None;
        'windows: for chunks in plan.chunks(window) {
            let outputs: Vec<Result<ChunkOutput, SynthError>> = chunks
                .par_iter()
                .map(|p| chunk::generate(opts.seed, opts.preset, opts.format, geo, p))
                .collect();
            for output in outputs {
                let output = match output {
                    Ok(output) => output,
                    Err(e) => {
                        failed = Some(e);
                        break 'windows;
                    }
                };
                let s = &output.summary;
                let parts = [
                    (s.eb.rows, output.eb),
                    (s.af.rows, output.af),
                    (s.lisa.rows, output.lisa),
                ];
                for (tx, part) in senders.iter().zip(parts) {
                    if tx.send(part).is_err() {
                        // The writer stopped on an error, reported below.
                        break 'windows;
                    }
                }
                total.merge(output.summary);
            }
        }
        drop(senders);
        let mut finished = Vec::with_capacity(3);
        for (handle, table) in handles.into_iter().zip(["eb", "af", "lisa"]) {
            let result = handle.join().map_err(|_| SynthError::Panicked { table })?;
            finished.push(result?);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let finished: [Finished; 3] = finished
            .try_into()
            .unwrap_or_else(|_| unreachable!("three tables"));
        Ok((total, finished))
    })
}

/// Writes every chunk received, then finishes the file.
fn drain(mut writer: TableWriter, rx: Receiver<(u64, Encoded)>) -> Result<Finished, SynthError> {
    for (rows, encoded) in rx {
        writer.write(rows, encoded)?;
    }
    writer.finish()
}

fn build_report(
    opts: &Options,
    geo: &Geography,
    total: &ChunkSummary,
    names: &[String; 3],
    tables: &[Finished; 3],
    codelists: Vec<String>,
) -> Report {
    use report::share;
    let register = |i: usize, t: &chunk::TableSummary| {
        debug_assert_eq!(tables[i].1, t.rows);
        RegisterReport::new(names[i].clone(), t.rows, t.persons, &t.stats)
    };
    let reference = &total.eb_years[0];
    let olds: std::collections::HashSet<&reglink_pnr::Pnr> =
        total.crosswalk.iter().map(|(old, _)| old).collect();
    let chained = total
        .crosswalk
        .iter()
        .filter(|(_, new)| olds.contains(new))
        .count() as u64;
    let counties: std::collections::BTreeSet<usize> =
        geo.municipalities.iter().map(|m| m.county).collect();
    Report {
        preset: opts.preset,
        seed: opts.seed,
        format: opts.format,
        first_year: REFERENCE_YEAR,
        last_year: LAST_YEAR,
        extraction_date: extraction_date().to_string(),
        persons: total.persons,
        households: total.households,
        municipalities: geo.municipalities.len() as u64,
        counties: counties.len() as u64,
        eb: register(0, &total.eb),
        af: register(1, &total.af),
        lisa: register(2, &total.lisa),
        af_broken_spells: total.af_broken,
        af_open_spells: total.af_open,
        eb_years: total.eb_years.clone(),
        eb_adult_recipients: reference.adult_recipients,
        eb_long_term_share: share(reference.long_term_adults, reference.adult_recipients),
        eb_adults_at_af_share: share(reference.adults_at_af, reference.adult_recipients),
        population_at_af_share: share(total.adults_at_af, total.adults),
        crosswalk: CrosswalkReport {
            file: CROSSWALK_FILE.to_owned(),
            entries: total.crosswalk.len() as u64,
            chained,
        },
        codelists,
        report_file: REPORT_FILE.to_owned(),
    }
}
