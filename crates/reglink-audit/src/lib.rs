//! `reglink audit`: checks a release bundle's disclosure rules from the
//! bundle alone, with no microdata, no key and no code of the engine that
//! chose what to suppress.
//!
//! It reads the bundle as docs/release-bundle.md describes it ([`read`]),
//! then checks, per table:
//!
//! - `integrity`: every file against the manifest and, with a public key,
//!   the signature (the same check as `reglink verify`);
//! - `flags`: a value is `..` exactly when its flag is `suppressed`, the
//!   flags are the method's, and their counts are the description's;
//! - `values`: no published count below the threshold (nor a zero, where
//!   zeros are disclosive), rounded counts are multiples of the base,
//!   perturbed counts are a count plus a perturbation of the ptable, shares
//!   lie in [0, 100], no share of 0 % or 100 % under class disclosure;
//! - `shares`: shares of the table's own dimension agree with its counts;
//! - `margins`: every margin whose terms are all published is their sum;
//! - `attacker`: every suppressed count's interval, over every table of its
//!   population, allows what the policy requires ([`attacker`]).
//!
//! Each check of each table ends `pass`, `review` (the bundle alone cannot
//! decide: a person must look) or `fail`, with the reason and the cells.
//! The cells are named by their codes and CSV line, which are public.
//!
//! `reglink run` runs the same audit on every bundle before publishing it
//! ([`BeforeRelease`]): a failure publishes nothing, the outcome per table
//! and check ends the bundle's `summary.md` ([`section`]), and the full
//! report goes to the checker folder.

use std::path::{Path, PathBuf};

pub mod attacker;
pub mod read;
mod values;

use reglink_keys::signing::PublicKey;
use reglink_release::bundle::{self, Signed};

/// A bundle the audit could not read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file is missing or not in the documented format.
    #[error("{}: {what}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the line and column where there is one.
        what: String,
    },
    /// The integrity check could not run.
    #[error(transparent)]
    Verify(#[from] Box<reglink_release::ReleaseError>),
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check holds.
    Pass,
    /// The bundle alone cannot decide it.
    Review,
    /// The check is broken.
    Fail,
}

impl Status {
    /// `pass`, `review` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Review => "review",
            Status::Fail => "fail",
        }
    }
}

/// A cell, by its table, CSV line and codes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    /// The table.
    pub table: String,
    /// The line of the CSV file (the header is line 1); 0 for the table as a whole.
    pub line: usize,
    /// The dimensions not at the total, as `name=code`.
    pub codes: String,
}

impl Cell {
    /// The cell at `row` of `t`.
    pub fn new(t: &read::Table, row: usize) -> Cell {
        let codes = t.identity(row);
        Cell {
            table: t.name.clone(),
            line: row + 2,
            codes: if codes.is_empty() {
                "the grand total".into()
            } else {
                codes
                    .iter()
                    .map(|(d, c)| format!("{d}={c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }
    }

    /// The table as a whole.
    pub fn whole(t: &read::Table) -> Cell {
        Cell {
            table: t.name.clone(),
            line: 0,
            codes: "the whole table".into(),
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{} ({})", self.table, self.codes)
        } else {
            write!(f, "{} line {} ({})", self.table, self.line, self.codes)
        }
    }
}

/// One check of one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// The table, or `bundle` for checks of the whole bundle.
    pub table: String,
    /// Which check.
    pub check: &'static str,
    /// Its outcome: the worst over its cells.
    pub status: Status,
    /// Why, in a sentence.
    pub reason: String,
    /// The cells concerned, each with its own reason and status (only those
    /// that did not pass).
    pub cells: Vec<CellFinding>,
}

/// What one check found for one cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellFinding {
    /// The cell.
    #[serde(flatten)]
    pub cell: Cell,
    /// Its outcome.
    pub status: Status,
    /// Why.
    pub reason: String,
}

impl Finding {
    /// A check that failed at `failed` (passed with `passed` if empty).
    fn of(
        table: String,
        check: &'static str,
        failed: Vec<(Cell, String)>,
        passed: String,
    ) -> Finding {
        let cells: Vec<CellFinding> = failed
            .into_iter()
            .map(|(cell, reason)| CellFinding {
                cell,
                status: Status::Fail,
                reason,
            })
            .collect();
        Finding::from_cells(table, check, cells, passed)
    }

    fn from_cells(
        table: String,
        check: &'static str,
        cells: Vec<CellFinding>,
        passed: String,
    ) -> Finding {
        let status = cells.iter().map(|c| c.status).max().unwrap_or(Status::Pass);
        let reason = match status {
            Status::Pass => passed,
            _ => {
                let fail = cells.iter().filter(|c| c.status == Status::Fail).count();
                let review = cells.len() - fail;
                format!(
                    "{fail} cell(s) fail, {review} to review: {}",
                    cells[0].reason
                )
            }
        };
        Finding {
            table,
            check,
            status,
            reason,
            cells,
        }
    }
}

/// What the audit found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The bundle.
    pub bundle: PathBuf,
    /// `signed by rs-…, signature valid`, `unsigned`, ...
    pub signature: String,
    /// The worst outcome of every check.
    pub status: Status,
    /// Every check of every table.
    pub findings: Vec<Finding>,
    /// Per population: linear programs solved and the largest component of
    /// suppressed counts.
    pub attacker: Vec<AttackerSummary>,
    /// Published cells of the bundle, as `(table, row)`, whose hiding may
    /// settle the counts that failed: those tied to a failing count by an
    /// equation between populations, releases or bandings, and those that
    /// publish a count another table hides. For `reglink run`, which hides
    /// them and protects again; never in the report's files.
    #[serde(skip)]
    pub repair: Vec<(String, usize)>,
}

/// How the attacker check went for one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttackerSummary {
    /// The population.
    pub population: String,
    /// Suppressed counts (cells shared by tables count once).
    pub suppressed: usize,
    /// Linear programs solved.
    pub solves: usize,
    /// The largest connected component of suppressed counts.
    pub largest_component: usize,
}

/// Audits the bundle in `dir`, checking its signature with `public` if given.
pub fn audit(dir: &Path, public: Option<&PublicKey>) -> Result<Report, AuditError> {
    audit_with_ledger(dir, public, None)
}

/// The earlier releases of a ledger that count the same people as the
/// bundle in `dir` (the same inputs, by hash, under the same keys): their
/// tables of the bundle's populations, renamed `#N/TABLE`, and a finding
/// that says which entries were related and which not.
fn earlier_tables(
    dir: &Path,
    ledger: &Path,
    b: &read::Bundle,
) -> Result<(Vec<read::Table>, Finding), AuditError> {
    let verified = reglink_release::ledger::verify(ledger, None, None).map_err(Box::new)?;
    let manifest_path = dir.join(bundle::MANIFEST);
    let manifest: serde_json::Value = std::fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let own = reglink_extract::fingerprint_file(&manifest_path)
        .map(|f| f.as_str().to_string())
        .ok();
    // An earlier population is related too when its age filter nests with
    // one of ours (18-64 and 18-65).
    let definitions: Vec<&serde_json::Value> = b.tables.iter().map(|t| &t.definition).collect();
    let mut tables = Vec::new();
    let mut related = Vec::new();
    let mut unrelated = Vec::new();
    let mut cannot_relate: Vec<String> = Vec::new();
    for e in &verified.entries {
        if e.description["bundle_manifest"].as_str() == own.as_deref() {
            continue; // this very release, already in the ledger
        }
        if e.description["inputs"] != manifest["inputs"] {
            unrelated.push(format!("#{}", e.seq));
            continue;
        }
        let earlier = read::bundle(&e.bundle())?;
        let mut n = 0;
        for mut t in earlier.tables {
            let same_name = b
                .tables
                .iter()
                .find(|o| o.population == t.population)
                .map(|o| &o.definition);
            let relates = |d: &serde_json::Value| {
                attacker::nested(d, &t.definition)
                    || attacker::nested(&t.definition, d)
                    || attacker::period_of(d, &t.definition).is_some()
                    || attacker::period_of(&t.definition, d).is_some()
            };
            let nests = definitions.iter().any(|d| relates(d));
            // Each pair of an earlier population and one of this release's
            // that may count the same people and that the audit cannot relate:
            // even where another of this release's populations relates to
            // the earlier one, what the pair gives away together is not
            // checked, and counting the earlier population again does not
            // settle it either.
            for (o, d) in b.tables.iter().zip(&definitions) {
                if **d != t.definition && overlaps(d, &t.definition) && !relates(d) {
                    cannot_relate.push(format!(
                        "{} and {} of release #{}",
                        o.population, t.population, e.seq
                    ));
                }
            }
            if same_name.is_none() && !nests {
                continue;
            }
            if same_name.is_some_and(|d| *d != t.definition) || same_name.is_none() {
                // Another population under this name: keep them apart.
                t.population = format!("{} (release #{})", t.population, e.seq);
            }
            t.name = format!("#{}/{}", e.seq, t.name);
            tables.push(t);
            n += 1;
        }
        related.push(format!("#{} ({n} tables)", e.seq));
    }
    let mut reason = format!(
        "{} earlier release(s) in the ledger; checked together with this one: {}",
        verified.entries.len(),
        if related.is_empty() {
            "none".to_string()
        } else {
            related.join(", ")
        }
    );
    if !unrelated.is_empty() {
        reason.push_str(&format!(
            "; not related (other inputs or keys, so other people or other cell keys): {}",
            unrelated.join(", ")
        ));
    }
    let mut finding = Finding::from_cells("bundle".into(), "ledger", Vec::new(), reason);
    cannot_relate.sort();
    cannot_relate.dedup();
    if !cannot_relate.is_empty() {
        let allowed = manifest["policy"]["unrelated_populations"] == "allow";
        finding.status = if allowed {
            Status::Review
        } else {
            Status::Fail
        };
        finding.reason.push_str(&format!(
            "; populations of the same register in the same years that cannot be related (a filter other \
             than age, required variables or years, so what they give away together is not checked): {}; {}",
            cannot_relate.join(", "),
            if allowed {
                "allowed by the policy (unrelated_populations = \"allow\")"
            } else {
                "refused by the policy (unrelated_populations = \"refuse\", the default); hint: count only \
                 populations the earlier release counted, or ones inside them by age or required variables, or \
                 check the pair by hand and set unrelated_populations = \"allow\" in the policy"
            }
        ));
    }
    if !verified.problems.is_empty() {
        finding.status = Status::Fail;
        finding.reason = format!(
            "the ledger does not verify: {}",
            verified.problems.join("; ")
        );
    }
    Ok((tables, finding))
}

/// Whether two population definitions may count the same people: the same
/// register, a year in common and ages in common. What a definition does
/// not say (a bundle written before definitions were, no age filter) is
/// taken to overlap.
fn overlaps(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    if !a["source"].is_null() && !b["source"].is_null() && a["source"] != b["source"] {
        return false;
    }
    let years = match (a["years"].as_array(), b["years"].as_array()) {
        (Some(x), Some(y)) => x.iter().any(|v| y.contains(v)),
        _ => true,
    };
    let range = |d: &serde_json::Value| Some((d["age"][0].as_i64()?, d["age"][1].as_i64()?));
    let ages = match (range(a), range(b)) {
        (Some((lo, hi)), Some((lo2, hi2))) => lo <= hi2 && lo2 <= hi,
        _ => true,
    };
    years && ages
}

/// [`audit`], with the attacker check run over the union of the bundle and
/// every earlier release in `ledger` that counts the same people: a count
/// hidden in one release and recoverable from another fails as any other.
pub fn audit_with_ledger(
    dir: &Path,
    public: Option<&PublicKey>,
    ledger: Option<&Path>,
) -> Result<Report, AuditError> {
    let verified = bundle::verify(dir, public).map_err(Box::new)?;
    let signature = match &verified.signed {
        Signed::Valid(by) => format!("signed by {by}, signature valid"),
        Signed::Unchecked(by) => {
            format!("claims to be signed by {by}; not checked without --public-key")
        }
        Signed::Invalid => "signature NOT valid".into(),
        Signed::No => "unsigned".into(),
    };
    let mut findings = vec![Finding::from_cells(
        "bundle".into(),
        "integrity",
        Vec::new(),
        format!("every file matches the manifest; {signature}"),
    )];
    if !verified.problems.is_empty() || matches!(verified.signed, Signed::Invalid) {
        findings[0].status = Status::Fail;
        findings[0].reason = verified.problems.join("; ");
    }
    let mut b = read::bundle(dir)?;
    for t in &b.tables {
        if t.policy != b.policy.raw {
            findings.push(Finding::of(
                t.name.clone(),
                "policy",
                vec![(
                    Cell::whole(t),
                    "its description states another policy than the manifest".into(),
                )],
                String::new(),
            ));
        }
        findings.extend(values::check(t, &b.policy, b.ptable.as_ref()));
    }
    if let Some(ledger) = ledger {
        let (earlier, finding) = earlier_tables(dir, ledger, &b)?;
        findings.push(finding);
        b.tables.extend(earlier);
    }
    let (attacker, per_table, repair) = attack(&b);
    findings.extend(per_table);
    findings.sort_by_key(|f| (f.table != "bundle", table_index(&b, &f.table)));
    let status = findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Pass);
    Ok(Report {
        bundle: dir.to_path_buf(),
        signature,
        status,
        findings,
        attacker,
        repair,
    })
}

fn table_index(b: &read::Bundle, name: &str) -> usize {
    b.tables.iter().position(|t| t.name == name).unwrap_or(0)
}

/// The attacker check, as one finding per table: its suppressed counts
/// that did not pass, and the cells that contradict another table.
/// Also returns the cells whose hiding may settle what failed
/// ([`Report::repair`]).
fn attack(b: &read::Bundle) -> (Vec<AttackerSummary>, Vec<Finding>, Vec<(String, usize)>) {
    if b.policy.method != read::Method::Suppression {
        let findings = b
            .tables
            .iter()
            .map(|t| {
                Finding::of(
                    t.name.clone(),
                    "attacker",
                    Vec::new(),
                    "not applicable: counts are protected by the method's noise, not by suppression".into(),
                )
            })
            .collect();
        return (Vec::new(), findings, Vec::new());
    }
    let populations = attacker::audit(b);
    let mut repair: Vec<(String, usize)> = populations
        .iter()
        .flat_map(|p| p.repair.iter().cloned())
        .collect();
    repair.sort();
    repair.dedup();
    let mut summaries = Vec::new();
    let mut per_table: Vec<Vec<CellFinding>> = vec![Vec::new(); b.tables.len()];
    let mut counted = vec![0usize; b.tables.len()];
    let mut differences: (usize, Vec<CellFinding>) = (0, Vec::new());
    for p in &populations {
        summaries.push(AttackerSummary {
            population: p.name.clone(),
            suppressed: p.atoms.len(),
            solves: p.solves,
            largest_component: p.largest_component,
        });
        for a in &p.atoms {
            for cell in &a.cells {
                // A difference of two populations, which no table shows.
                if !b.tables.iter().any(|t| t.name == cell.table) {
                    differences.0 += 1;
                    if a.status != Status::Pass {
                        differences.1.push(CellFinding {
                            cell: cell.clone(),
                            status: a.status,
                            reason: format!(
                                "a count no table shows, the difference of two populations: {}",
                                a.reason
                            ),
                        });
                    }
                    continue;
                }
                let t = table_index(b, &cell.table);
                counted[t] += 1;
                if a.status != Status::Pass {
                    per_table[t].push(CellFinding {
                        cell: cell.clone(),
                        status: a.status,
                        reason: a.reason.clone(),
                    });
                }
            }
        }
        for (cell, why) in &p.conflicts {
            per_table[table_index(b, &cell.table)].push(CellFinding {
                cell: cell.clone(),
                status: Status::Fail,
                reason: why.clone(),
            });
        }
        for (cell, why) in &p.earlier {
            per_table[table_index(b, &cell.table)].push(CellFinding {
                cell: cell.clone(),
                status: Status::Review,
                reason: format!("{why}: given away before this release"),
            });
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    if differences.0 > 0 {
        findings.push(Finding::from_cells(
            "bundle".into(),
            "differences",
            differences.1,
            format!(
                "all {} differences of nested populations are protected",
                differences.0
            ),
        ));
    }
    let findings = findings
        .into_iter()
        .chain(
            b.tables
                .iter()
                .zip(per_table)
                .zip(counted)
                .map(|((t, cells), n)| {
                    Finding::from_cells(
                        t.name.clone(),
                        "attacker",
                        cells,
                        format!(
                            "all {n} suppressed counts are protected against the attacker's program"
                        ),
                    )
                }),
        )
        .collect();
    (summaries, findings, repair)
}

/// The report as text: one line per check, then the cells that did not
/// pass (at most `limit` per check).
pub fn text(r: &Report, limit: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for f in &r.findings {
        let _ = writeln!(
            out,
            "{:<6} {:<24} {:<10} {}",
            f.status.as_str(),
            f.table,
            f.check,
            f.reason
        );
        for c in f.cells.iter().take(limit) {
            let _ = writeln!(
                out,
                "         {} {}: {}",
                c.status.as_str(),
                c.cell,
                c.reason
            );
        }
        if f.cells.len() > limit {
            let _ = writeln!(
                out,
                "         … and {} more (--json lists every one)",
                f.cells.len() - limit
            );
        }
    }
    for a in &r.attacker {
        let _ = writeln!(
            out,
            "attacker: population {}: {} suppressed counts, largest component {}, {} linear programs",
            a.population, a.suppressed, a.largest_component, a.solves
        );
    }
    let _ = writeln!(out, "{}: {}", r.bundle.display(), r.status.as_str());
    out
}

/// The outcome per table and check as a Markdown section for the bundle's
/// `summary.md`. It says only what anyone holding the bundle can work out
/// by auditing it, and no interval: the statuses and how many cells each
/// check could not pass.
pub fn section(r: &Report) -> String {
    use std::fmt::Write;
    let mut checks: Vec<&'static str> = Vec::new();
    let mut tables: Vec<&str> = Vec::new();
    for f in r.findings.iter().filter(|f| f.table != "bundle") {
        if !checks.contains(&f.check) {
            checks.push(f.check);
        }
        if !tables.contains(&f.table.as_str()) {
            tables.push(&f.table);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "## Audit\n");
    let _ = writeln!(
        out,
        "Before this bundle was published, `reglink audit` checked it from its own files alone, \
         as any auditor can (`reglink audit` on this folder): every published value against the \
         policy, every margin whose terms are published, and what an attacker can work out about \
         each suppressed count from everything the bundle publishes. Overall: **{}**.\n",
        r.status.as_str()
    );
    let _ = writeln!(out, "| table | {} |", checks.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(checks.len()));
    for t in &tables {
        let mut row = format!("| {t} |");
        for c in &checks {
            let cell = match r.findings.iter().find(|f| f.table == *t && f.check == *c) {
                None => "–".to_string(),
                Some(f) if f.status == Status::Pass => "pass".to_string(),
                Some(f) => format!("{} ({} cells)", f.status.as_str(), f.cells.len()),
            };
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(out, "{row}");
    }
    for f in r
        .findings
        .iter()
        .filter(|f| f.table == "bundle" && f.check != "integrity")
    {
        let outcome = match f.status {
            Status::Pass => "pass".to_string(),
            other => format!("{} ({} cells)", other.as_str(), f.cells.len()),
        };
        let what = match f.check {
            "ledger" => "earlier releases checked together with this one",
            "differences" => "counts no table shows: differences of nested populations",
            other => other,
        };
        let _ = writeln!(out, "\n- {what}: {outcome}");
    }
    let _ = writeln!(
        out,
        "\n**review**: the bundle alone cannot settle it (for the attacker check, a suppressed \
         count whose interval the audit's programs could not pin down within their limits); \
         nothing in it was found to break a rule. **fail** would mean a rule broken, and such a \
         bundle is never published. Integrity is checked with `reglink verify`."
    );
    out
}

/// The audit `reglink run` runs on the staged bundle before publishing it
/// (see [`reglink_release::bundle::Auditor`]), with the earlier releases of
/// `ledger` if given.
#[derive(Debug, Default, Clone)]
pub struct BeforeRelease {
    /// The release ledger (`reglink run --ledger`).
    pub ledger: Option<PathBuf>,
}

impl bundle::Auditor for BeforeRelease {
    fn audit(&self, dir: &Path) -> Result<bundle::Audited, String> {
        let mut report =
            // A ledger not yet made holds no earlier release.
            audit_with_ledger(dir, None, self.ledger.as_deref().filter(|l| l.exists()))
                .map_err(|e| e.to_string())?;
        // The staged folder's name is temporary: name the release instead.
        report.bundle = PathBuf::from("the release, before publication");
        let failure = (report.status == Status::Fail).then(|| {
            report
                .findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .map(|f| format!("{} {}: {}", f.table, f.check, f.reason))
                .collect::<Vec<_>>()
                .join("; ")
        });
        let mut json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        json.push('\n');
        let cells = |status: Status| -> usize {
            report
                .findings
                .iter()
                .flat_map(|f| &f.cells)
                .filter(|c| c.status == status)
                .count()
        };
        let headline = match report.status {
            Status::Pass => "pass: every check holds".to_string(),
            Status::Review => format!(
                "review: nothing breaks a rule; {} cell(s) the bundle alone cannot settle",
                cells(Status::Review)
            ),
            Status::Fail => format!("FAIL: {} cell(s) break a rule", cells(Status::Fail)),
        };
        Ok(bundle::Audited {
            headline,
            section: section(&report),
            text: text(&report, usize::MAX),
            json,
            failure,
            repair: report.repair,
        })
    }
}
