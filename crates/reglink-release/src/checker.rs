//! The checker report: why each value of a release is suppressed.
//!
//! A released table marks a hidden value only as `suppressed`
//! ([`reglink_protect::PublicFlag`]); the reason (which primary rule, or secondary
//! suppression) would give the value away. The data holder's output checkers
//! still need the reasons to review a release, so [`checker_report`] writes
//! them, cell by cell, into a JSON document that is kept beside the bundle,
//! never in it, and never published:
//!
//! ```text
//! {
//!   "internal": "INTERNAL: ... not for publication ...",
//!   "study", "tool", "policy",
//!   "warnings":  what the bundle's warnings leave out (why a table is wholly
//!                suppressed; how many cells could not be protected),
//!   "reasons":   counts per reason over the whole release,
//!   "secondary_suppression": per quantity: primary and secondary cells, LPs,
//!                the narrowest interval relative to its requirement, cells
//!                left unprotected,
//!   "secondary_suppression_audit": per quantity, the real attacker's
//!                check over the whole release: cells checked, how many
//!                exactly, the cells found under-protected or unresolved,
//!                the narrowest interval relative to its requirement, LPs
//!                and seconds,
//!   "tables": [{ "name", "dimensions", "columns": [{ "name", "reasons",
//!                "suppressed": [{ "cell": { DIMENSION: CODE, ... }, "reason" }] }] }]
//! }
//! ```
//!
//! The report holds no value of any cell: coordinates and reasons only.
//! Beside it, [`write()`] puts the τ-ARGUS input sets of [`crate::tauargus`]
//! into `tauargus/`, which do hold the true value of every cell, so that an
//! auditor can re-check the pattern with τ-ARGUS; the folder as a whole is
//! as confidential as the unprotected cell tables.

use std::path::Path;

use reglink_protect::release::{CellRef, Release};
use reglink_protect::rules::threshold;
use reglink_protect::{Flag, Policy};
use reglink_tabulate::CellTable;
use serde_json::{Map, Value, json};

use crate::ReleaseError;
use crate::bundle::Provenance;

/// The first field of the report, so that nobody mistakes it for part of a
/// release.
pub const INTERNAL: &str = "INTERNAL: for the data holder's output checkers only, not for publication. It says why each value of the release is suppressed, which the release itself does not: a reason gives the value away (a cell hidden as a zero is 0, one hidden under the threshold is below it). Keep it inside the linkage environment, apart from the release bundle.";

/// Counts per reason of `flags`, suppressed ones only, in [`Flag::ALL`] order.
fn reason_counts<'a>(flags: impl Iterator<Item = &'a Flag>) -> Map<String, Value> {
    let mut counts = [0usize; Flag::ALL.len()];
    for f in flags {
        if let Some(i) = Flag::ALL.iter().position(|x| x == f) {
            counts[i] += 1;
        }
    }
    Flag::ALL
        .iter()
        .zip(counts)
        .filter(|(f, n)| f.suppressed() && *n > 0)
        .map(|(f, n)| (f.as_str().to_string(), json!(n)))
        .collect()
}

/// A cell named as the report names cells: its table and coordinates.
fn named_cell(tables: &[CellTable], at: CellRef) -> Value {
    let table = &tables[at.table];
    let coordinates: Map<String, Value> = table
        .dimensions
        .iter()
        .enumerate()
        .map(|(d, dim)| {
            let (code, _) = dim.position(table.shape.position(at.cell, d));
            (dim.name.clone(), json!(code))
        })
        .collect();
    json!({ "table": table.name, "cell": coordinates })
}

/// The exact audit per quantity, its cells named.
fn exact_audit(tables: &[CellTable], release: &Release) -> Value {
    release
        .audits
        .iter()
        .map(|a| {
            let cells = |list: &[CellRef]| -> Vec<Value> {
                list.iter().map(|&c| named_cell(tables, c)).collect()
            };
            json!({
                "family": a.family,
                "checked": a.checked,
                "exact_intervals": a.exact,
                "under_protected": cells(&a.under_protected),
                "unresolved": cells(&a.unresolved),
                "narrowest_ratio": a.narrowest.map(|n| n.0),
                "narrowest_ratio_is_exact": a.narrowest.map(|n| n.1),
                "components": a.components,
                "largest_component": a.largest_component,
                "lp_neighbourhood": a.lp_neighbourhood,
                "lp_exact": a.lp_exact,
                "seconds": a.seconds,
            })
        })
        .collect()
}

/// The checker report of `release` (made from `tables` under `policy`), as
/// pretty-printed JSON. See the module documentation for its layout.
pub fn checker_report(
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
    provenance: &Provenance,
) -> String {
    let mut warnings = Vec::new();
    for (table, released) in tables.iter().zip(&release.tables) {
        let persons = &released.columns[0];
        if !persons.flags.is_empty() && persons.flags.iter().all(|f| f.suppressed()) {
            let largest = table.persons.iter().copied().max().unwrap_or(0);
            warnings.push(if threshold::breaks(largest, policy.threshold) {
                format!(
                    "{}: every cell is suppressed: the policy cannot be met, its threshold of {} is above the whole population of the table",
                    table.name, policy.threshold
                )
            } else {
                format!(
                    "{}: every cell is suppressed: protecting its small cells took every other cell too",
                    table.name
                )
            });
        }
    }
    for r in release.families.iter().filter(|r| r.unprotected > 0) {
        warnings.push(format!(
            "{}: {} primary-suppressed cells could not be given their full protection interval even with everything around them suppressed",
            r.family, r.unprotected
        ));
    }

    for a in release.audits.iter().filter(|a| a.not_protected() > 0) {
        warnings.push(format!(
            "{}: the exact audit found {} primary-suppressed cells under-protected and could not decide {}; `secondary_suppression_audit` names them",
            a.family,
            a.under_protected.len(),
            a.unresolved.len()
        ));
    }

    let all_flags = release
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().flat_map(|c| c.flags.iter()));
    let mut out_tables = Vec::with_capacity(tables.len());
    for (table, released) in tables.iter().zip(&release.tables) {
        let columns: Vec<Value> = released
            .columns
            .iter()
            .map(|c| {
                let suppressed: Vec<Value> = c
                    .flags
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.suppressed())
                    .map(|(cell, f)| {
                        let coordinates: Map<String, Value> = table
                            .dimensions
                            .iter()
                            .enumerate()
                            .map(|(d, dim)| {
                                let (code, _) = dim.position(table.shape.position(cell, d));
                                (dim.name.clone(), json!(code))
                            })
                            .collect();
                        json!({ "cell": coordinates, "reason": f.as_str() })
                    })
                    .collect();
                json!({
                    "name": c.name,
                    "reasons": reason_counts(c.flags.iter()),
                    "suppressed": suppressed,
                })
            })
            .collect();
        out_tables.push(json!({
            "name": table.name,
            "dimensions": table.dimensions.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            "columns": columns,
        }));
    }
    let report = json!({
        "internal": INTERNAL,
        "study": provenance.study,
        "tool": provenance.tool,
        "policy": policy,
        "warnings": warnings,
        "reasons": reason_counts(all_flags),
        "secondary_suppression": release.families,
        "secondary_suppression_audit": exact_audit(tables, release),
        "tables": out_tables,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("JSON");
    text.push('\n');
    text
}

/// Writes the checker report into the empty directory `dir`: the report,
/// the τ-ARGUS input sets in `tauargus/` ([`crate::tauargus::write`]), then
/// the manifest, which lists them all and says they are internal.
pub fn write(
    dir: &Path,
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
    provenance: &Provenance,
) -> Result<(), ReleaseError> {
    let text = checker_report(tables, release, policy, provenance);
    reglink_extract::write_atomic(dir.join("checker-report.json"), text.as_bytes())?;
    crate::tauargus::write(&dir.join(crate::tauargus::FOLDER), tables, release, policy)?;
    reglink_extract::write_manifest(
        dir,
        &crate::run::CHECKER_OUTPUT,
        json!({
            "tool": provenance.tool,
            "study": provenance.study,
            "contents": "INTERNAL: why each cell of the release beside this folder is suppressed, and in tauargus/ the true value of every cell with the suppression pattern, for re-checking it with τ-ARGUS. For the data holder's output checkers only; never publish it.",
        }),
    )?;
    Ok(())
}
