//! From cell tables to what a release publishes: every value with its flag.
//!
//! [`protect`] applies a policy to all tables of a release together:
//!
//! 1. the primary rules on every count and measure ([`crate::rules`]);
//! 2. counts: secondary suppression across all tables at once (cells that
//!    count the same people share one fate), or rounding, or the cell key
//!    method, as the policy says;
//! 3. sums and means: secondary suppression in every method;
//! 4. a value of a cell whose count is suppressed is suppressed with it;
//! 5. under rounding and the cell key method, a share or a mean is computed
//!    from protected counts only (the published persons where they are its
//!    denominator), so that no ratio of published values gives back an
//!    unprotected count, and a share stays in `[0, 100]`; it is flagged
//!    like its counts (rounded or perturbed), while a sum stays exact;
//! 6. every value is rounded once, here, to the decimals its column
//!    publishes ([`Column::decimals`]); the bundle writes that same value
//!    to CSV and Parquet.
//!
//! The flags keep their reasons ([`Flag`]): the checker report needs them.
//! A released table shows only [`Flag::public`].

use rayon::prelude::*;
use reglink_tabulate::{CellTable, MeasureValues, ShareKeys, Values};

use crate::perturb::cell_key::{Design, PTable};
use crate::perturb::{rounding, salt};
use crate::secondary::audit::{self, FamilyAudit};
use crate::secondary::model::{Model, Scope, TableAtoms, build};
use crate::secondary::{FamilyReport, suppress};
use crate::{Flag, Method, Policy, PrimaryFlags, primary};

/// A cell of a release: a table (in the order given) and a cell of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CellRef {
    /// The table.
    pub table: usize,
    /// The cell, in the table's row-major order.
    pub cell: usize,
}

/// The exact audit of one family ([`crate::secondary::audit`]), with its
/// atoms named as cells of the release. Everything here but whether the
/// audit ran and how many cells it found not protected depends on hidden
/// values (which cells are primary, the width a sum needs), so it is for
/// the output checkers only.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Audit {
    /// The family (`population/persons`, `population/sum:variable`).
    pub family: String,
    /// Primary-suppressed cells (atoms) checked.
    pub checked: usize,
    /// Of them, how many have their exact interval computed (the others are
    /// proven wide enough by a better-informed attacker's interval).
    pub exact: usize,
    /// Cells whose interval is narrower than they need: one cell per atom
    /// (its first table and cell).
    pub under_protected: Vec<CellRef>,
    /// Cells the solver could not decide (counted as not protected).
    pub unresolved: Vec<CellRef>,
    /// The narrowest interval relative to its requirement, and whether it
    /// is exact (else a lower bound).
    pub narrowest: Option<(f64, bool)>,
    /// Linear programs over neighbourhoods.
    pub lp_neighbourhood: u64,
    /// Linear programs over whole components.
    pub lp_exact: u64,
    /// Connected components of suppressed cells with a primary cell.
    pub components: usize,
    /// Suppressed cells in the largest of them.
    pub largest_component: usize,
    /// Seconds the audit of this family took.
    pub seconds: f64,
}

impl Audit {
    /// Cells not shown protected: under-protected or unresolved.
    pub fn not_protected(&self) -> usize {
        self.under_protected.len() + self.unresolved.len()
    }
}

/// One published column: a value and a flag per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name (the measure's name, or `persons`).
    pub name: String,
    /// The measure's kind as in the study file (`persons`, `share`, ...).
    pub kind: String,
    /// The variable it is of.
    pub of: Option<String>,
    /// Value per cell, rounded to [`Column::decimals`]; `None` where
    /// suppressed or where no contributor has a value.
    pub values: Vec<Option<f64>>,
    /// Flag per cell.
    pub flags: Vec<Flag>,
    /// Decimals published.
    pub decimals: usize,
}

/// A table as released.
#[derive(Debug, Clone)]
pub struct ReleasedTable {
    /// The cell table it comes from (dimensions and labels; its counts are
    /// never written out).
    pub name: String,
    /// `persons` and then every measure except a repeated `persons`.
    pub columns: Vec<Column>,
}

/// A protected release.
#[derive(Debug, Clone)]
pub struct Release {
    /// Tables in the study's order.
    pub tables: Vec<ReleasedTable>,
    /// Secondary suppression per family.
    pub families: Vec<FamilyReport>,
    /// The exact audit of every family after secondary suppression, in the
    /// order of [`Release::families`].
    pub audits: Vec<Audit>,
    /// Things the data holder must know (a policy that cannot be met, a
    /// cell that could not be protected).
    pub warnings: Vec<String>,
    /// The perturbation table, with the cell key method.
    pub ptable: Option<PTable>,
}

impl Column {
    fn of_measure(
        measure: &reglink_tabulate::MeasureValues,
        (values, flags): (Vec<Option<f64>>, Vec<Flag>),
        decimals: usize,
    ) -> Column {
        Column {
            name: measure.name.clone(),
            kind: measure.kind.to_string(),
            of: measure.of.clone(),
            values: values
                .into_iter()
                .map(|v| v.map(|x| to_decimals(x, decimals)))
                .collect(),
            flags,
            decimals,
        }
    }
}

/// `x` rounded to `decimals` places: the one place a published value is
/// rounded. The full-precision value never leaves: a share at full
/// precision gives away the ratio of its numerator and denominator, and an
/// unrounded mean undoes the rounding or perturbation of its count.
pub fn to_decimals(x: f64, decimals: usize) -> f64 {
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(i32::MAX));
    // `+ 0.0` turns a negative zero into zero.
    (x * scale).round() / scale + 0.0
}

/// The salt of every count of persons: the same people get the same draw.
const PERSONS: &str = "persons";

fn share_value(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| 100.0 * num as f64 / den as f64)
}

/// Under rounding or the cell key: the share of protected counts, its
/// numerator at most its denominator, so it stays in `[0, 100]`.
fn protected_share(num: Option<u64>, den: Option<u64>) -> Option<f64> {
    let den = den.unwrap_or(0);
    share_value(num.unwrap_or(0).min(den), den)
}

/// Protects every table of a release under `policy`.
pub fn protect(tables: &[CellTable], policy: &Policy) -> Release {
    protect_carrying(tables, policy, &[])
}

/// [`protect`], with the counts of persons `carried[t][c]` (cell `c` of
/// table `t`) suppressed whatever the pattern needs: cells an earlier
/// release of the same people hid, so that this release never publishes
/// what an earlier one protected. They are flagged secondary (or primary,
/// if a rule hides them anyway). Missing rows carry nothing. Only under
/// suppression; the other methods protect every count by their noise.
pub fn protect_carrying(tables: &[CellTable], policy: &Policy, carried: &[Vec<bool>]) -> Release {
    protect_observed(tables, policy, carried, &crate::Unobserved)
}

/// [`protect_carrying`], telling `progress` how far secondary suppression
/// and its audit have come (a bar for the data holder's terminal: the
/// number of primary cells is for the checkers' eyes, never the bundle's).
pub fn protect_observed(
    tables: &[CellTable],
    policy: &Policy,
    carried: &[Vec<bool>],
    progress: &dyn crate::Progress,
) -> Release {
    let flags: Vec<PrimaryFlags> = tables.par_iter().map(|t| primary(t, policy)).collect();
    let counts_suppressed = policy.method == Method::Suppression;
    let (model, families) = suppress_secondary(
        tables,
        &flags,
        policy,
        (counts_suppressed, carried),
        progress,
    );
    let ptable = match policy.method {
        Method::CellKey {
            max,
            variance,
            ptable,
        } => Some(match ptable {
            Design::Gaussian => PTable::new(max, variance),
            Design::Entropy => PTable::entropy(max, variance)
                .expect("the policy checked that the entropy design can be built"),
            Design::TenFive => PTable::ten_five(),
            Design::Imported => {
                let file = policy
                    .ptable_file
                    .as_ref()
                    .filter(|f| !f.rows.is_empty())
                    .expect("the perturbation table file is read with the policy");
                PTable::imported(file)
            }
        }),
        _ => None,
    };
    let audits = audit_families(&model, &families, progress);
    let mut warnings = unprotected_warnings(&families);
    warnings.extend(audit_warnings(&audits));
    let protection = Protection {
        policy,
        model: &model,
        ptable: ptable.as_ref(),
        counts_suppressed,
    };
    let mut out = Vec::with_capacity(tables.len());
    for (t, table) in tables.iter().enumerate() {
        let released = TableJob {
            protection: &protection,
            table,
            primary: &flags[t],
            atoms: &model.tables[t],
            cells: table.shape.cells(),
        }
        .release();
        if table.shape.cells() > 0 && released.columns[0].values.iter().all(Option::is_none) {
            // One message whatever the reason: saying that the threshold is
            // above the whole population would tell that the (suppressed)
            // total is below it. The checker report says which it is.
            warnings.push(every_cell_suppressed(&table.name));
        }
        out.push(released);
    }
    Release {
        tables: out,
        families,
        audits,
        warnings,
        ptable,
    }
}

/// Builds the attacker's model of all tables from their primary flags and
/// runs secondary suppression per family (in parallel); returns the model,
/// whose families now mark every suppressed atom, and a report per family.
fn suppress_secondary(
    tables: &[CellTable],
    flags: &[PrimaryFlags],
    policy: &Policy,
    (counts_suppressed, carried): (bool, &[Vec<bool>]),
    progress: &dyn crate::Progress,
) -> (Model, Vec<FamilyReport>) {
    let pairs: Vec<_> = tables.iter().zip(flags).collect();
    let mut model = build(
        &pairs,
        policy,
        Scope {
            counts: counts_suppressed,
            sums: true,
        },
    );
    for (atoms, carried) in model.tables.iter().zip(carried) {
        let Some((f, atoms)) = &atoms.persons else {
            continue;
        };
        let family = &mut model.families[*f];
        for (&a, _) in atoms.iter().zip(carried).filter(|(_, c)| **c) {
            family.suppressed[a as usize] = true;
            family.carried[a as usize] = true;
        }
    }
    let homes = family_homes(&model.tables, model.families.len());
    let primary: u64 = model
        .families
        .iter()
        .map(|f| (0..f.len()).filter(|&a| f.is_primary(a as u32)).count() as u64)
        .sum();
    // Each primary cell is protected once and audited once.
    progress.start(2 * primary);
    let reports = model
        .families
        .par_iter_mut()
        .zip(&homes)
        .map(|(family, homes)| {
            let homes: Vec<(&CellTable, &[u32])> =
                homes.iter().map(|(t, a)| (&tables[*t], *a)).collect();
            suppress(family, &homes, progress)
        })
        .collect();
    (model, reports)
}

/// Each family's home tables: per family, every (table, atom of each cell)
/// where one of the table's columns belongs to it.
fn family_homes(tables: &[TableAtoms], families: usize) -> Vec<Vec<(usize, &[u32])>> {
    (0..families)
        .map(|f| {
            tables
                .iter()
                .enumerate()
                .flat_map(|(t, atoms)| {
                    let own = atoms
                        .measures
                        .iter()
                        .zip(&atoms.borrowed)
                        .filter(|(_, borrowed)| !**borrowed)
                        .filter_map(|(m, _)| m.as_ref());
                    atoms
                        .persons
                        .iter()
                        .chain(own)
                        .filter(move |(g, _)| *g == f)
                        .map(move |(_, a)| (t, a.as_slice()))
                })
                .collect()
        })
        .collect()
}

/// The exact audit of every family of the model, its atoms named by their
/// first table and cell.
fn audit_families(
    model: &Model,
    reports: &[FamilyReport],
    progress: &dyn crate::Progress,
) -> Vec<Audit> {
    let mut home: Vec<Vec<Option<CellRef>>> =
        model.families.iter().map(|f| vec![None; f.len()]).collect();
    for (t, atoms) in model.tables.iter().enumerate() {
        for (f, a) in atoms.persons.iter().chain(atoms.measures.iter().flatten()) {
            for (cell, &x) in a.iter().enumerate() {
                home[*f][x as usize].get_or_insert(CellRef { table: t, cell });
            }
        }
    }
    // A difference of nested populations is named by its outer
    // population's cell, so that a failure there is counted and shown.
    for (f, home) in model.families.iter().zip(&mut home) {
        for a in 0..f.len() as u32 {
            if let Some(o) = f.outer_of(a) {
                home[a as usize] = home[o as usize];
            }
        }
    }
    model
        .families
        .iter()
        .zip(&home)
        .zip(reports)
        .map(|((f, home), report)| {
            let start = std::time::Instant::now();
            let a: FamilyAudit = audit::audit_with(f, &report.hints);
            let seconds = start.elapsed().as_secs_f64();
            progress.advance((0..f.len()).filter(|&x| f.is_primary(x as u32)).count() as u64);
            let cells = |atoms: &[u32]| -> Vec<CellRef> {
                atoms.iter().filter_map(|&x| home[x as usize]).collect()
            };
            Audit {
                family: a.family.clone(),
                checked: a.checked(),
                exact: a
                    .atoms
                    .iter()
                    .filter(|x| matches!(x.bound, audit::Bound::Exact { .. }))
                    .count(),
                under_protected: cells(&a.under_protected),
                unresolved: cells(&a.unresolved),
                narrowest: a.narrowest.map(|n| (n.ratio, n.exact)),
                lp_neighbourhood: a.lp_neighbourhood,
                lp_exact: a.lp_exact,
                components: a.components,
                largest_component: a.largest_component,
                seconds,
            }
        })
        .collect()
}

/// The bundle's warning for every family in which the exact audit could not
/// show every suppressed cell protected. One count, the same as the
/// manifest's audit line: whether a cell was proven under-protected or only
/// not proven protected is for the checker report, since telling the two
/// apart in public would point an attacker at the cells worth attacking.
fn audit_warnings(audits: &[Audit]) -> Vec<String> {
    audits
        .iter()
        .filter(|a| a.not_protected() > 0)
        .map(|a| {
            format!(
                "{}: the exact audit could not show {} suppressed cells protected: the published tables may pin them down more narrowly than the policy requires; the checker report names them and says which were proven too narrow",
                a.family,
                a.not_protected()
            )
        })
        .collect()
}

/// The bundle's warning for every family with cells that could not be
/// protected. How many, and which, is for the checker report: the bundle
/// only says that the family needs its checkers' attention.
fn unprotected_warnings(families: &[FamilyReport]) -> Vec<String> {
    families
        .iter()
        .filter(|r| r.unprotected > 0)
        .map(|r| {
            format!(
                "{}: some suppressed cells could not be given their full protection interval even with everything around them suppressed; the checker report names them",
                r.family
            )
        })
        .collect()
}

/// What protecting each table needs from the release as a whole.
struct Protection<'a> {
    policy: &'a Policy,
    /// The attacker's model, its suppressed atoms decided.
    model: &'a Model,
    /// The perturbation table, with the cell key method.
    ptable: Option<&'a PTable>,
    /// Counts are suppressed (not rounded or perturbed).
    counts_suppressed: bool,
}

/// Values and flags of one column, cell by cell.
type Protected<T> = (Vec<Option<T>>, Vec<Flag>);

/// One table being protected.
struct TableJob<'a> {
    protection: &'a Protection<'a>,
    table: &'a CellTable,
    /// Its primary flags.
    primary: &'a PrimaryFlags,
    /// Its columns' atoms in the model.
    atoms: &'a TableAtoms,
    cells: usize,
}

impl TableJob<'_> {
    /// The table as released: `persons`, then every measure except a
    /// repeated `persons`.
    fn release(&self) -> ReleasedTable {
        let persons = self.persons();
        let mut columns = vec![Column {
            name: "persons".into(),
            kind: "persons".into(),
            of: None,
            values: persons.0.iter().map(|v| v.map(|x| x as f64)).collect(),
            flags: persons.1.clone(),
            decimals: 0,
        }];
        for (m, measure) in self.table.measures.iter().enumerate() {
            let column = match &measure.values {
                Values::Count(_) if measure.kind == "persons" => continue,
                Values::Count(v) => self.households(m, measure, v, &persons.0),
                Values::Share { num, den, keys } => {
                    self.share(m, measure, (num, den, keys), &persons.0)
                }
                Values::Sum { sum, n, mean, .. } => {
                    self.sum(m, measure, (sum, n, *mean), &persons.0)
                }
                Values::Median { median, .. } => {
                    let (values, flags): Protected<f64> = (0..self.cells)
                        .map(|c| {
                            let f = self.base_flag(m, c, &persons.0, false);
                            ((f == Flag::Published).then_some(median[c]).flatten(), f)
                        })
                        .unzip();
                    Column::of_measure(measure, (values, flags), 1)
                }
            };
            columns.push(column);
        }
        ReleasedTable {
            name: self.table.name.clone(),
            columns,
        }
    }

    /// Whether the atom of cell `c` of a column (`entry`) is suppressed.
    fn suppressed_atom(&self, entry: Option<&(usize, Vec<u32>)>, c: usize) -> bool {
        entry.is_some_and(|(f, a)| self.protection.model.families[*f].suppressed[a[c] as usize])
    }

    /// The flag of a value of measure `m` before its own value is decided:
    /// its primary flag, else secondary if the cell's count is hidden or its
    /// own atom is suppressed.
    fn base_flag(&self, m: usize, c: usize, persons: &[Option<u64>], own_suppressed: bool) -> Flag {
        let primary = self.primary.measures[m][c];
        if primary != Flag::Published {
            primary
        } else if persons[c].is_none() || own_suppressed {
            Flag::Secondary
        } else {
            Flag::Published
        }
    }

    /// A count of persons rounded or perturbed. `keys` are the cell keys of
    /// the people counted; a count of the same people with the same salt
    /// gets the same value in every table.
    fn protect_count(&self, values: &[u64], keys: &[u32], name: &str) -> Protected<u64> {
        let cells = self.cells;
        match self.protection.policy.method {
            Method::Suppression => unreachable!("suppressed counts are read from the model"),
            Method::Rounding { base } => {
                let r = rounding::round(self.table, values, keys, base, salt(name));
                (
                    r.into_iter().map(Some).collect(),
                    vec![Flag::Rounded; cells],
                )
            }
            Method::CellKey { .. } => {
                let p = self.protection.ptable.expect("cell key table");
                let s = salt(name);
                let v = (0..cells)
                    .map(|c| Some(p.perturb(values[c], keys[c], s)))
                    .collect();
                (v, vec![Flag::Perturbed; cells])
            }
        }
    }

    /// The persons column: primary and secondary suppression from the
    /// model, or the method's protected counts.
    fn persons(&self) -> Protected<u64> {
        let table = self.table;
        if !self.protection.counts_suppressed {
            return self.protect_count(&table.persons, &table.record_key_sum, PERSONS);
        }
        (0..self.cells)
            .map(|c| {
                let f = self.primary.persons[c];
                if f != Flag::Published {
                    (None, f)
                } else if self.suppressed_atom(self.atoms.persons.as_ref(), c) {
                    (None, Flag::Secondary)
                } else {
                    (Some(table.persons[c]), Flag::Published)
                }
            })
            .unzip()
    }

    /// Households: not additive, so no secondary pattern of their own;
    /// hidden with the cell's count, or protected like a count.
    fn households(
        &self,
        m: usize,
        measure: &MeasureValues,
        v: &[u64],
        persons: &[Option<u64>],
    ) -> Column {
        let (values, flags): Protected<f64> = if self.protection.counts_suppressed {
            (0..self.cells)
                .map(|c| {
                    let f = self.base_flag(m, c, persons, false);
                    ((f == Flag::Published).then_some(v[c] as f64), f)
                })
                .unzip()
        } else {
            let (vals, flags) = self.protect_count(v, &self.table.record_key_sum, &measure.name);
            (
                vals.into_iter().map(|x| x.map(|x| x as f64)).collect(),
                flags,
            )
        };
        Column::of_measure(measure, (values, flags), 0)
    }

    /// A share in percent: exact where published under suppression, else
    /// computed from protected counts.
    fn share(
        &self,
        m: usize,
        measure: &MeasureValues,
        (num, den, keys): (&[u64], &[u64], &ShareKeys),
        persons: &[Option<u64>],
    ) -> Column {
        let (values, flags): Protected<f64> = if self.protection.counts_suppressed {
            (0..self.cells)
                .map(|c| {
                    let own = self.suppressed_atom(self.atoms.measures[m].as_ref(), c);
                    let f = self.base_flag(m, c, persons, own);
                    (
                        (f == Flag::Published)
                            .then(|| share_value(num[c], den[c]))
                            .flatten(),
                        f,
                    )
                })
                .unzip()
        } else {
            // The numerator and the denominator are counts of persons,
            // protected with their own people's cell keys exactly as a count
            // of the same people is in any other table (so two tables never
            // give two noisy copies of one number); the denominator is the
            // cell's published persons where it is that count. The numerator
            // is capped at the denominator: a share of two protected counts
            // could exceed 100 %.
            let (n, flags) = self.protect_count(num, &keys.num, PERSONS);
            let d = if den == self.table.persons.as_slice() {
                persons.to_vec()
            } else {
                self.protect_count(den, &keys.den, PERSONS).0
            };
            (
                (0..self.cells)
                    .map(|c| protected_share(n[c], d[c]))
                    .collect(),
                flags,
            )
        };
        Column::of_measure(measure, (values, flags), 1)
    }

    /// A sum, exact in every method, or a mean.
    fn sum(
        &self,
        m: usize,
        measure: &MeasureValues,
        (sum, n, mean): (&[i64], &[u64], bool),
        persons: &[Option<u64>],
    ) -> Column {
        let counts_suppressed = self.protection.counts_suppressed;
        // The count a mean divides by. Under suppression it is exact (sum /
        // mean gives it back, but it is at least the threshold wherever the
        // mean is published). Under rounding or the cell key it is a
        // protected count, as a share's: the published persons where every
        // contributor has a value, else protected on its own, so that sum /
        // mean does not undo the method.
        let divisor: Vec<Option<u64>> = if !mean || counts_suppressed {
            n.iter().copied().map(Some).collect()
        } else if n == self.table.persons.as_slice() {
            persons.to_vec()
        } else {
            let quantity = measure.of.as_deref().unwrap_or(&measure.name);
            self.protect_count(n, &self.table.record_key_sum, &format!("{quantity}:n"))
                .0
        };
        // A sum is exact in every method; a mean divided by a rounded or
        // perturbed count says so in its flag.
        let shown = if mean && !counts_suppressed {
            protected_flag(self.protection.policy.method)
        } else {
            Flag::Published
        };
        let (values, flags): Protected<f64> = (0..self.cells)
            .map(|c| {
                let own = self.suppressed_atom(self.atoms.measures[m].as_ref(), c);
                let f = self.base_flag(m, c, persons, own);
                if f != Flag::Published {
                    return (None, f);
                }
                let value = if mean {
                    divisor[c]
                        .filter(|&d| d > 0)
                        .map(|d| sum[c] as f64 / d as f64)
                } else {
                    Some(sum[c] as f64)
                };
                (value, shown)
            })
            .unzip();
        Column::of_measure(measure, (values, flags), usize::from(mean))
    }
}

/// The flag of a value computed from counts protected by `method`.
fn protected_flag(method: Method) -> Flag {
    match method {
        Method::Suppression => Flag::Published,
        Method::Rounding { .. } => Flag::Rounded,
        Method::CellKey { .. } => Flag::Perturbed,
    }
}

/// The warning for a table whose every cell is suppressed, the same whatever
/// the reason.
pub fn every_cell_suppressed(table: &str) -> String {
    format!(
        "{table}: every cell is suppressed: either the policy cannot be met for it (its threshold may be above the whole population of the table) or protecting its small cells took every other cell too"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_warning_gives_one_count_whatever_the_cells_failed_on() {
        let cell = |cell| CellRef { table: 0, cell };
        let audit = |under: Vec<CellRef>, unresolved: Vec<CellRef>| Audit {
            family: "p/persons".into(),
            checked: 9,
            exact: 9,
            under_protected: under,
            unresolved,
            narrowest: None,
            lp_neighbourhood: 0,
            lp_exact: 0,
            components: 1,
            largest_component: 9,
            seconds: 0.0,
        };
        // Two proven too narrow and one undecided, or three undecided: the
        // same warning, so the bundle does not say which cells are weakest.
        let mixed = audit_warnings(&[audit(vec![cell(1), cell(2)], vec![cell(3)])]);
        let undecided = audit_warnings(&[audit(Vec::new(), vec![cell(1), cell(2), cell(3)])]);
        assert_eq!(mixed, undecided);
        assert_eq!(mixed.len(), 1);
        assert!(
            mixed[0].contains("could not show 3 suppressed cells protected"),
            "{mixed:?}"
        );
        assert!(audit_warnings(&[audit(Vec::new(), Vec::new())]).is_empty());
    }
}
