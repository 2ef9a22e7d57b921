//! The release bundle: what leaves the data holder.
//!
//! ```text
//! OUT/
//!   manifest.json        tool, policy, study-file hash, input fingerprints, key id,
//!                        cells and suppressed cells per quantity,
//!                        and the BLAKE3 hash of every other file below
//!   summary.md           per table and column: cells by public flag
//!   report.html          the tables for reading: charts, one-way views, the
//!                        policy in words (made from the published files only)
//!   ptable.csv           the perturbation table (cell key method only)
//!   tables/NAME.csv      one row per cell; `..` where suppressed; a flag per value
//!   tables/NAME.parquet  the same values, typed (suppressed values are null),
//!                        and each dimension's level (category, group, total)
//!   tables/NAME.json     dimensions, measures, margin structure, flag counts, the policy
//! ```
//!
//! Nothing in it depends on the time, the machine or the paths of the
//! inputs, so the same inputs give a byte-identical bundle. It holds no
//! row, pseudonym, household id or record key: only published aggregates,
//! their flags and the description of the tables.
//!
//! A flag is one of `published`, `rounded`, `perturbed`, `suppressed`
//! ([`PublicFlag`]): a suppressed value never says why it is
//! suppressed, since the reason gives it away (a cell hidden as a zero is
//! 0, one hidden under the threshold is below it, one hidden to protect
//! another is not). The reasons, cell by cell, are in the checker report
//! ([`crate::checker::checker_report`]), which is written beside the bundle for the data
//! holder's output checkers and never into it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use reglink_protect::release::{Column, Release, ReleasedTable};
use reglink_protect::{Flag, Method, Policy, PublicFlag};
use reglink_tabulate::CellTable;
use serde_json::json;

use reglink_keys::signing::{PublicKey, Signature, SigningKey};

use crate::ReleaseError;
use crate::error::file_error;

/// The manifest's name; it also marks a directory as a reglink release.
pub const MANIFEST: &str = "manifest.json";

/// The signature over the manifest, in a signed bundle.
pub const SIGNATURE: &str = "manifest.json.sig";

/// What the manifest says the folder is (`output`), so that no other
/// command's folder is ever taken for a release.
pub const OUTPUT: &str = "release";

/// One pseudonymised input as the manifest lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Input {
    /// The source's name in the study.
    pub name: String,
    /// BLAKE3 of the file.
    pub blake3: String,
    /// Id of the key it was pseudonymised under (never the key).
    pub key_id: String,
}

/// What the manifest says about where the release comes from.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// `reglink VERSION`.
    pub tool: String,
    /// The study's name.
    pub study: String,
    /// The study file's name (without its directory).
    pub study_file: String,
    /// BLAKE3 of the study file.
    pub study_blake3: String,
    /// The inputs.
    pub inputs: Vec<Input>,
}

/// How a value is written: the number, `..` when suppressed, empty when no
/// contributor has a value.
fn cell_text(v: Option<f64>, flag: Flag, decimals: usize) -> String {
    match v {
        _ if flag.suppressed() => "..".to_string(),
        Some(x) => format!("{x:.decimals$}"),
        None => String::new(),
    }
}

/// The label of a position: the category's label, the group's code, or `Total`.
fn label(table: &CellTable, d: usize, cell: usize) -> String {
    let dim = &table.dimensions[d];
    let p = table.shape.position(cell, d);
    if p < dim.categories.len() {
        dim.labels[p].clone()
    } else if p + 1 == dim.positions() {
        "Total".to_string()
    } else {
        dim.position(p).0.to_string()
    }
}

fn csv(table: &CellTable, released: &ReleasedTable) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = Vec::new();
    for d in &table.dimensions {
        header.push(d.name.clone());
        header.push(format!("{}_label", d.name));
    }
    for c in &released.columns {
        header.push(c.name.clone());
        header.push(format!("{}_flag", c.name));
    }
    w.write_record(&header).expect("writing to memory");
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for cell in 0..table.shape.cells() {
        row.clear();
        for d in 0..table.dimensions.len() {
            let (code, _) = table.dimensions[d].position(table.shape.position(cell, d));
            row.push(code.to_string());
            row.push(label(table, d, cell));
        }
        for c in &released.columns {
            row.push(cell_text(c.values[cell], c.flags[cell], c.decimals));
            row.push(c.flags[cell].public().as_str().to_string());
        }
        w.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 throughout")
}

/// Whether a dimension's codes are written to Parquet as integers: every
/// category code (other than `unknown`) is an integer written the plain way
/// (no sign, no leading zero, so municipality codes such as `0180` stay
/// text), and the dimension has no groups, whose codes are names.
fn integer_codes(dim: &reglink_tabulate::Dimension) -> bool {
    dim.group_of.is_none()
        && dim
            .categories
            .iter()
            .filter(|c| *c != reglink_tabulate::UNKNOWN)
            .all(|c| {
                c.parse::<i64>()
                    .is_ok_and(|v| v >= 0 && v.to_string() == *c)
            })
}

/// What a position of a dimension is, in the `DIM_level` column.
fn level_name(dim: &reglink_tabulate::Dimension, p: usize) -> &'static str {
    if p + 1 == dim.positions() {
        "total"
    } else if p >= dim.categories.len() {
        "group"
    } else if dim.categories[p] == reglink_tabulate::UNKNOWN {
        "unknown"
    } else {
        "category"
    }
}

/// Whether a column's values are written to Parquet as integers: those
/// published without decimals (counts and sums, rounded or perturbed or
/// not), whose values are whole numbers once rounded to their decimals.
fn integer_values(c: &Column) -> bool {
    c.decimals == 0
}

/// The released table as one Arrow batch: per dimension its code (an
/// integer where every category code is one), label and level, then each
/// column's values (integers where every value is whole; null where
/// suppressed) and flags.
fn batch(
    table: &CellTable,
    released: &ReleasedTable,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let cells = table.shape.cells();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (d, dim) in table.dimensions.iter().enumerate() {
        let positions = (0..cells).map(|cell| table.shape.position(cell, d));
        if integer_codes(dim) {
            let codes: Int64Array = positions
                .clone()
                .map(|p| match level_name(dim, p) {
                    "category" => dim.position(p).0.parse::<i64>().ok(),
                    _ => None,
                })
                .collect();
            fields.push(Field::new(&dim.name, DataType::Int64, true));
            arrays.push(Arc::new(codes));
        } else {
            let codes: StringArray = positions.clone().map(|p| Some(dim.position(p).0)).collect();
            fields.push(Field::new(&dim.name, DataType::Utf8, false));
            arrays.push(Arc::new(codes));
        }
        let labels: StringArray = (0..cells).map(|cell| Some(label(table, d, cell))).collect();
        let levels: StringArray = positions.map(|p| Some(level_name(dim, p))).collect();
        fields.push(Field::new(
            format!("{}_label", dim.name),
            DataType::Utf8,
            false,
        ));
        fields.push(Field::new(
            format!("{}_level", dim.name),
            DataType::Utf8,
            false,
        ));
        arrays.push(Arc::new(labels));
        arrays.push(Arc::new(levels));
    }
    for c in &released.columns {
        let shown = |cell: usize| c.values[cell].filter(|_| !c.flags[cell].suppressed());
        if integer_values(c) {
            let values: Int64Array = (0..cells)
                .map(|cell| shown(cell).map(|v| v as i64))
                .collect();
            fields.push(Field::new(&c.name, DataType::Int64, true));
            arrays.push(Arc::new(values));
        } else {
            let values: Float64Array = (0..cells).map(shown).collect();
            fields.push(Field::new(&c.name, DataType::Float64, true));
            arrays.push(Arc::new(values));
        }
        let flags: StringArray = c.flags.iter().map(|f| Some(f.public().as_str())).collect();
        fields.push(Field::new(
            format!("{}_flag", c.name),
            DataType::Utf8,
            false,
        ));
        arrays.push(Arc::new(flags));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

/// Cells of `c` with public flag `f`.
fn public_count(c: &Column, f: PublicFlag) -> usize {
    c.flags.iter().filter(|x| x.public() == f).count()
}

fn flag_counts(columns: &[Column]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for c in columns {
        let mut counts = serde_json::Map::new();
        for f in PublicFlag::ALL {
            let n = public_count(c, f);
            if n > 0 {
                counts.insert(f.as_str().to_string(), json!(n));
            }
        }
        out.insert(c.name.clone(), serde_json::Value::Object(counts));
    }
    serde_json::Value::Object(out)
}

/// What the bundle says about secondary suppression per quantity: cells and
/// suppressed cells, both of which anyone can count in the tables. How many
/// of them a primary rule suppressed is left out (knowing that every
/// suppressed cell of a quantity is primary tells that each is small, which
/// can pin them between their margins), and so are the verification's
/// figures (LPs, narrowest interval), which depend on the hidden values.
///
/// Of the exact audit it says only that it ran over the whole release and
/// how many suppressed cells it did not find protected. The number of cells
/// it checked is the number of primary cells, and the narrowest interval
/// relative to its requirement tells which cells are primary and, for a
/// sum, its largest contribution: both stay in the checker report.
fn public_families(release: &Release) -> serde_json::Value {
    release
        .families
        .iter()
        .map(|r| {
            let audit = release.audits.iter().find(|a| a.family == r.family);
            json!({
                "family": r.family,
                "cells": r.cells,
                "suppressed": r.suppressed(),
                "exact_audit": audit.map(|a| json!({
                    "scope": "every primary-suppressed cell, over all tables of the release",
                    "not_protected": a.not_protected(),
                })),
            })
        })
        .collect()
}

/// Writes one file of the bundle atomically.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    reglink_extract::write_atomic(path, bytes).map_err(file_error(path))?;
    Ok(())
}

/// Writes one table of the bundle as Parquet, atomically.
fn write_parquet(path: &Path, batch: &RecordBatch, tool: &str) -> Result<(), ReleaseError> {
    let file = reglink_extract::AtomicFile::create(path).map_err(file_error(path))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(tool.to_string())
        .build();
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(file_error(path))?;
    writer.write(batch).map_err(file_error(path))?;
    let file = writer.into_inner().map_err(file_error(path))?;
    file.commit().map_err(file_error(path))?;
    Ok(())
}

/// The human-readable summary.
pub fn summary(
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
    provenance: &Provenance,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Release of study {}\n", provenance.study);
    let _ = writeln!(
        s,
        "Made by {} from `{}` under the `{}` policy (threshold {}, method {}).\n",
        provenance.tool,
        provenance.study_file,
        policy.preset,
        policy.threshold,
        match policy.method {
            Method::Suppression => "suppression".to_string(),
            Method::Rounding { base } => format!("rounding to base {base}"),
            Method::CellKey {
                ptable: reglink_protect::perturb::cell_key::Design::TenFive,
                ..
            } =>
                "cell key, ptable 10_5 (counts below 10 to 0, others to multiples of 5)".to_string(),
            Method::CellKey {
                ptable: reglink_protect::perturb::cell_key::Design::Imported,
                ..
            } => format!(
                "cell key, ptable from {}",
                policy
                    .ptable_file
                    .as_ref()
                    .map_or("a file", |f| f.file.as_str())
            ),
            Method::CellKey {
                max,
                variance,
                ptable,
            } => format!(
                "cell key, ptable {}, max {max}, variance {variance}",
                ptable.name()
            ),
        }
    );
    let _ = writeln!(
        s,
        "Secondary suppression prefers to hide the cells of least cost; a cell's cost is {}.\n",
        policy.cost
    );
    let _ = writeln!(
        s,
        "`..` is a suppressed value, whatever the reason (a small count, a dominated sum, or protecting another cell). Flags: `published`, `rounded`, `perturbed`, `suppressed`.\n"
    );
    if !release.warnings.is_empty() {
        let _ = writeln!(s, "## Warnings\n");
        for w in &release.warnings {
            let _ = writeln!(s, "- {w}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Tables\n");
    let mut header = String::from("| table | column | cells |");
    let mut rule = String::from("|---|---|---:|");
    for f in PublicFlag::ALL {
        let _ = write!(header, " {} |", f.as_str());
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for (table, released) in tables.iter().zip(&release.tables) {
        for c in &released.columns {
            let _ = write!(s, "| {} | {} | {} |", table.name, c.name, c.flags.len());
            for f in PublicFlag::ALL {
                let _ = write!(s, " {} |", public_count(c, f));
            }
            let _ = writeln!(s);
        }
    }
    if !release.families.is_empty() {
        let _ = writeln!(s, "\n## Secondary suppression\n");
        let _ = writeln!(
            s,
            "Per additive quantity, across all tables (a cell shared by tables counts once). Every suppressed cell that needed protection was checked with the attacker's linear program before release, and then audited exactly: the attacker's interval over every table of the release at once (shared cells, margins and hierarchy, every other suppressed cell unknown). The last column counts the suppressed cells the audit did not find protected. The narrowest interval relative to its requirement is in the checker report only: it would tell which cells a primary rule suppressed and, for a sum, its largest contribution.\n"
        );
        let _ = writeln!(
            s,
            "| quantity | cells | suppressed | not protected (exact audit) |\n|---|---:|---:|---:|"
        );
        for r in public_families(release).as_array().into_iter().flatten() {
            let audit = &r["exact_audit"]["not_protected"];
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r["family"].as_str().unwrap_or_default(),
                r["cells"],
                r["suppressed"],
                if audit.is_null() {
                    "-".to_string()
                } else {
                    audit.to_string()
                }
            );
        }
    }
    s
}

/// An independent check of a bundle before it is published. `reglink
/// run` hands the staged bundle (every table written, `summary.md` not yet)
/// to one; what it finds becomes a section of `summary.md` and, in full,
/// part of the checker report. The release crate only calls it: the check
/// itself lives elsewhere, so that it shares no code with the engine whose
/// work it checks.
pub trait Auditor: Sync + std::fmt::Debug {
    /// Audits the staged bundle in `dir`, from its files alone.
    fn audit(&self, dir: &Path) -> Result<Audited, String>;
}

/// What an [`Auditor`] found.
#[derive(Debug, Clone)]
pub struct Audited {
    /// The section of `summary.md` (Markdown): per table and check, its
    /// outcome. Only what anyone holding the bundle could work out from it.
    pub section: String,
    /// The full report as text and as JSON, cell by cell, for the checker
    /// report (it does an attacker's work, so it is never published).
    pub text: String,
    /// See [`Audited::text`].
    pub json: String,
    /// The outcome in a line, for the person running the release.
    pub headline: String,
    /// Why the bundle must not be published, when a check failed.
    pub failure: Option<String>,
    /// Published cells, as `(table, row)`, whose hiding may settle what
    /// failed (cells tied to a failing count by an equation with another
    /// population or an earlier release): [`crate::release`] hides them and
    /// protects again.
    pub repair: Vec<(String, usize)>,
}

/// Writes the bundle into the empty directory `dir`; returns the files
/// written, relative to `dir`. With `sign`, the manifest names the signing
/// key's fingerprint and `manifest.json.sig` holds its signature over the
/// manifest, which lists every other file with its hash.
pub fn write(
    dir: &Path,
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
    (provenance, sign): (&Provenance, Option<&SigningKey>),
) -> Result<Vec<PathBuf>, ReleaseError> {
    write_audited(dir, (tables, release), policy, (provenance, sign), None).map(|(files, _)| files)
}

/// [`write()`], with the bundle audited by `auditor` (if given) once its
/// tables are written: the audit runs on the bundle as published, with a
/// provisional unsigned manifest, and its section ends `summary.md`. The
/// final manifest then lists `summary.md` too and is signed. Returns the
/// files written and the audit.
pub fn write_audited(
    dir: &Path,
    (tables, release): (&[CellTable], &Release),
    policy: &Policy,
    (provenance, sign): (&Provenance, Option<&SigningKey>),
    auditor: Option<&dyn Auditor>,
) -> Result<(Vec<PathBuf>, Option<Audited>), ReleaseError> {
    let tables_dir = dir.join("tables");
    std::fs::create_dir_all(&tables_dir).map_err(file_error(&tables_dir))?;
    let mut files: Vec<PathBuf> = Vec::new();
    let policy_json = serde_json::to_value(policy).expect("a policy serialises");
    for (table, released) in tables.iter().zip(&release.tables) {
        let rel = PathBuf::from("tables").join(format!("{}.csv", table.name));
        write_file(&dir.join(&rel), csv(table, released).as_bytes())?;
        files.push(rel);

        let b = batch(table, released).map_err(file_error(&tables_dir))?;
        let rel = PathBuf::from("tables").join(format!("{}.parquet", table.name));
        write_parquet(&dir.join(&rel), &b, &provenance.tool)?;
        files.push(rel);

        // The CSV's columns: the Parquet file's, less each dimension's level.
        let levels: Vec<String> = table
            .dimensions
            .iter()
            .map(|d| format!("{}_level", d.name))
            .collect();
        let columns: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !levels.contains(n))
            .collect();
        let mut meta = table.metadata(&columns);
        let obj = meta.as_object_mut().expect("metadata is an object");
        obj.insert(
            "margins".into(),
            json!("Every group is the sum of its categories and `_T` the sum of the groups (or of the categories without groups), in every dimension. Counts of persons are person-years. Suppressed values are `..` in CSV and null in Parquet."),
        );
        obj.insert("flags".into(), flag_counts(&released.columns));
        obj.insert("policy".into(), policy_json.clone());
        let mut text = serde_json::to_string_pretty(&meta).expect("JSON");
        text.push('\n');
        let rel = PathBuf::from("tables").join(format!("{}.json", table.name));
        write_file(&dir.join(&rel), text.as_bytes())?;
        files.push(rel);
    }
    if let Some(p) = &release.ptable {
        let rel = PathBuf::from("ptable.csv");
        write_file(&dir.join(&rel), p.to_csv().as_bytes())?;
        files.push(rel);
    }
    let manifest = |signer: Option<&SigningKey>| -> Result<String, ReleaseError> {
        // Every file below `dir` with its hash, as every reglink manifest lists them.
        let kind = reglink_extract::OutputKind {
            command: "reglink run",
            output: OUTPUT,
            manifest: MANIFEST,
        };
        let hashes = reglink_extract::file_entries(dir, &kind).map_err(file_error(dir))?;
        let mut manifest = json!({
            "tool": provenance.tool,
            "output": OUTPUT,
            "study": provenance.study,
            "study_file": provenance.study_file,
            "study_file_blake3": provenance.study_blake3,
            "inputs": provenance.inputs,
            "policy": policy_json,
            "tables": tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            "warnings": release.warnings,
            "secondary_suppression": public_families(release),
            "files": hashes,
        });
        if let Some(key) = signer {
            manifest["signing_key"] = json!(key.public().fingerprint().to_string());
        }
        let mut text = serde_json::to_string_pretty(&manifest).expect("JSON");
        text.push('\n');
        write_file(&dir.join(MANIFEST), text.as_bytes())?;
        Ok(text)
    };
    let mut summary_text = summary(tables, release, policy, provenance);
    let audited = match auditor {
        Some(auditor) => {
            manifest(None)?;
            let audited = auditor
                .audit(dir)
                .map_err(|reason| ReleaseError::AuditCouldNotRun { reason })?;
            summary_text.push('\n');
            summary_text.push_str(&audited.section);
            Some(audited)
        }
        None => None,
    };
    let rel = PathBuf::from("summary.md");
    write_file(&dir.join(&rel), summary_text.as_bytes())?;
    files.push(rel);
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    crate::report::write(
        dir,
        &names,
        &crate::report::About {
            study: &provenance.study,
            tool: &provenance.tool,
            policy: &policy_json,
            audit: audited.as_ref().map(|a| a.headline.as_str()),
            warnings: &release.warnings,
        },
    )?;
    files.push(PathBuf::from(crate::report::REPORT));
    files.sort();
    let text = manifest(sign)?;
    files.push(PathBuf::from(MANIFEST));
    if let Some(key) = sign {
        let signature = key.sign_manifest(text.as_bytes());
        write_file(&dir.join(SIGNATURE), signature.to_text().as_bytes())?;
        files.push(PathBuf::from(SIGNATURE));
    }
    Ok((files, audited))
}

/// Whether a bundle is signed, and whether the signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// No `manifest.json.sig`.
    No,
    /// Signed by the key with this fingerprint (as the signature says); not
    /// checked, for want of a public key.
    Unchecked(String),
    /// Signed by the public key given, over this very manifest.
    Valid(String),
    /// A signature that is not valid; the problems say why.
    Invalid,
}

/// What [`verify`] found: the problems (none for a bundle as reglink wrote
/// it) and the signature's state.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Each problem, naming the file.
    pub problems: Vec<String>,
    /// The signature.
    pub signed: Signed,
}

/// Checks a bundle against its manifest: every listed file exists with its
/// hash, no other file is there, the manifest agrees with the tables'
/// descriptions (the same tables, the same policy), and, with `public`, the
/// manifest carries that key's valid signature.
pub fn verify(dir: &Path, public: Option<&PublicKey>) -> Result<Verified, ReleaseError> {
    let path = dir.join(MANIFEST);
    let bytes = std::fs::read(&path).map_err(file_error(&path))?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).map_err(file_error(&path))?;
    let mut problems = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    for f in manifest["files"].as_array().into_iter().flatten() {
        let rel = f["path"].as_str().unwrap_or_default();
        if !plain_relative(rel) || !listed.insert(rel.to_string()) {
            problems.push(format!(
                "{MANIFEST}: lists {rel:?}, which is not a plain path inside the bundle or is listed twice"
            ));
            continue;
        }
        let file = dir.join(rel);
        if !std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            problems.push(format!(
                "{rel}: listed in the manifest but missing or not a regular file"
            ));
            continue;
        }
        match reglink_extract::fingerprint_file(&file) {
            Ok(fp) if Some(fp.as_str()) == f["blake3"].as_str() => {}
            Ok(_) => problems.push(format!("{rel}: its BLAKE3 hash differs from the manifest")),
            Err(_) => problems.push(format!("{rel}: listed in the manifest but missing")),
        }
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(file_error(&d))? {
            let entry = entry.map_err(file_error(&d))?;
            let p = entry.path();
            let kind = entry.file_type().map_err(file_error(&p))?;
            let rel = p
                .strip_prefix(dir)
                .expect("below the bundle")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if kind.is_dir() {
                stack.push(p);
                continue;
            }
            if !kind.is_file() || !plain_relative(&rel) {
                problems.push(format!(
                    "{rel:?}: not a regular file with a plain name; reglink writes none"
                ));
                continue;
            }
            if rel != MANIFEST && rel != SIGNATURE && !listed.contains(&rel) {
                problems.push(format!("{rel}: not listed in the manifest"));
            }
        }
    }
    problems.extend(contradictions(dir, &manifest));
    let signed = check_signature(dir, (&bytes, &manifest), public, &mut problems);
    problems.sort();
    Ok(Verified { problems, signed })
}

/// Whether `rel` is a plain relative path as the manifest lists them:
/// `/`-separated names, none empty, `.` or `..`, and no `\\` or `:`.
fn plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', ':'])
        })
}

/// Where the manifest and the tables' descriptions disagree: the tables it
/// names against the descriptions present, its policy against each
/// description's, and each description against its CSV. Only regular files
/// are read (a pipe or a link is reported by the walk, never opened).
fn contradictions(dir: &Path, manifest: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let named: std::collections::BTreeSet<&str> = manifest["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .collect();
    let described: std::collections::BTreeSet<String> = std::fs::read_dir(dir.join("tables"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|k| k.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    for t in &named {
        if !described.contains(*t) {
            problems.push(format!(
                "{MANIFEST}: names table {t}, which has no tables/{t}.json"
            ));
        }
    }
    for t in &described {
        if !named.contains(t.as_str()) {
            problems.push(format!(
                "tables/{t}.json: a table the manifest does not name"
            ));
            continue;
        }
        let path = dir.join("tables").join(format!("{t}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(d) if d["policy"] != manifest["policy"] => problems.push(format!(
                "tables/{t}.json: its policy differs from the manifest's"
            )),
            Ok(d) if d["name"].as_str() != Some(t.as_str()) => {
                problems.push(format!("tables/{t}.json: describes another table"));
            }
            Ok(d) => problems.extend(csv_contradictions(dir, t, &d)),
            Err(_) => problems.push(format!("tables/{t}.json: not a table description")),
        }
    }
    problems
}

/// Where `tables/NAME.csv` disagrees with its description `d`: other
/// columns, another number of rows, other counts of each flag.
fn csv_contradictions(dir: &Path, name: &str, d: &serde_json::Value) -> Vec<String> {
    let rel = format!("tables/{name}.csv");
    if !std::fs::symlink_metadata(dir.join(&rel)).is_ok_and(|m| m.is_file()) {
        return Vec::new(); // missing or not a file: reported with the hashes
    }
    let Ok(mut reader) = csv::Reader::from_path(dir.join(&rel)) else {
        return Vec::new(); // missing: reported with the hashes
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(_) => return vec![format!("{rel}: not a CSV file")],
    };
    let columns: Vec<&str> = d["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
        .collect();
    if header != columns {
        return vec![format!("{rel}: its columns differ from tables/{name}.json")];
    }
    // Per `NAME_flag` column, the count of each flag.
    let flag_columns: Vec<(usize, &str)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, h.strip_suffix("_flag")?)))
        .filter(|(_, v)| d["flags"].get(*v).is_some())
        .collect();
    let mut counts: Vec<std::collections::BTreeMap<String, u64>> =
        vec![Default::default(); flag_columns.len()];
    let mut rows = 0u64;
    for record in reader.records() {
        let Ok(record) = record else {
            return vec![format!("{rel}: row {}: not a CSV row", rows + 2)];
        };
        rows += 1;
        for (k, &(i, _)) in flag_columns.iter().enumerate() {
            *counts[k]
                .entry(record.get(i).unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    let mut problems = Vec::new();
    if d["cells"].as_u64() != Some(rows) {
        problems.push(format!(
            "{rel}: {rows} rows, but tables/{name}.json says {} cells",
            d["cells"]
        ));
    }
    for ((_, value), counted) in flag_columns.iter().zip(&counts) {
        let described: std::collections::BTreeMap<String, u64> = d["flags"][*value]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or_default()))
            .filter(|(_, v)| *v > 0)
            .collect();
        if &described != counted {
            problems.push(format!(
                "{rel}: the flags of `{value}` differ from the counts in tables/{name}.json"
            ));
        }
    }
    problems
}

/// The signature's state; problems for a missing, malformed or wrong one.
fn check_signature(
    dir: &Path,
    (bytes, manifest): (&[u8], &serde_json::Value),
    public: Option<&PublicKey>,
    problems: &mut Vec<String>,
) -> Signed {
    let named = manifest["signing_key"].as_str();
    let Ok(text) = std::fs::read_to_string(dir.join(SIGNATURE)) else {
        if let Some(key) = named {
            problems.push(format!(
                "{SIGNATURE}: missing, though the manifest says the bundle was signed by {key}"
            ));
        } else if let Some(p) = public {
            problems.push(format!(
                "{SIGNATURE}: the bundle is unsigned, so it cannot be shown to come from {}",
                p.fingerprint()
            ));
        }
        return Signed::No;
    };
    let Some(signature) = Signature::parse(&text) else {
        problems.push(format!("{SIGNATURE}: not a reglink signature"));
        return Signed::Invalid;
    };
    if named != Some(signature.signer.as_str()) {
        problems.push(format!(
            "{SIGNATURE}: signed by {}, but the manifest names {}",
            signature.signer,
            named.unwrap_or("no signing key")
        ));
        return Signed::Invalid;
    }
    let Some(public) = public else {
        return Signed::Unchecked(signature.signer);
    };
    if signature.signer != public.fingerprint().to_string() {
        problems.push(format!(
            "{SIGNATURE}: signed by {}, not by the key given ({})",
            signature.signer,
            public.fingerprint()
        ));
        return Signed::Invalid;
    }
    if !public.verify(bytes, &signature) {
        problems.push(format!(
            "{SIGNATURE}: does not match {MANIFEST}: the manifest was changed after it was signed, or the signature was made by another key"
        ));
        return Signed::Invalid;
    }
    Signed::Valid(signature.signer)
}
