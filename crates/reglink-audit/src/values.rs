//! Checks of one table's published values that need no equation system:
//! flags against values, the policy's rules for published values, shares
//! against their parts, and the margins whose terms are all published.

use crate::read::{Method, Policy, Ptable, Table};
use crate::{Cell, Finding};

const EPS: f64 = 1e-6;

/// Collects the cells that break one check of one table.
struct Check<'t> {
    table: &'t Table,
    name: &'static str,
    failed: Vec<(Cell, String)>,
}

impl<'t> Check<'t> {
    fn new(table: &'t Table, name: &'static str) -> Check<'t> {
        Check {
            table,
            name,
            failed: Vec::new(),
        }
    }

    fn fail(&mut self, row: usize, why: String) {
        self.failed.push((Cell::new(self.table, row), why));
    }

    fn finish(self, passed: String) -> Finding {
        Finding::of(self.table.name.clone(), self.name, self.failed, passed)
    }
}

/// Every value check of a table.
pub fn check(t: &Table, policy: &Policy, ptable: Option<&Ptable>) -> Vec<Finding> {
    vec![
        flags(t, policy),
        published(t, policy, ptable),
        shares(t, policy),
        margins(t, policy),
    ]
}

/// A value is `..` exactly when its flag is `suppressed`; the flags are the
/// method's; their counts are the description's.
fn flags(t: &Table, policy: &Policy) -> Finding {
    let mut c = Check::new(t, "flags");
    let counted = match policy.method {
        Method::Suppression => "published",
        Method::Rounding { .. } => "rounded",
        Method::CellKey => "perturbed",
    };
    for col in &t.columns {
        let name = &col.measure.name;
        let mut counts = std::collections::HashMap::<String, u64>::new();
        for row in 0..t.cells() {
            let flag = col.flags[row].as_str();
            *counts.entry(flag.to_string()).or_default() += 1;
            let allowed = match flag {
                "suppressed" | "published" => true,
                f => f == counted,
            };
            if !allowed {
                c.fail(
                    row,
                    format!("`{name}`: the flag `{flag}` is not one of the method's"),
                );
            } else if col.hidden[row] != (flag == "suppressed") {
                c.fail(
                    row,
                    format!("`{name}`: the value and the flag `{flag}` disagree"),
                );
            } else if name == "persons" && flag == "published" && counted != "published" {
                c.fail(
                    row,
                    format!("`{name}`: a count published as it is, under {counted} counts"),
                );
            }
        }
        let stated = t.flag_counts.get(name).cloned().unwrap_or_default();
        let stated: std::collections::HashMap<String, u64> =
            stated.into_iter().filter(|(_, n)| *n > 0).collect();
        if stated != counts {
            c.failed.push((
                Cell::whole(t),
                format!("`{name}`: the flag counts are not the description's"),
            ));
        }
    }
    c.finish("every value agrees with its flag and the description's counts".into())
}

/// The rules a published value must obey by itself.
fn published(t: &Table, policy: &Policy, ptable: Option<&Ptable>) -> Finding {
    let mut c = Check::new(t, "values");
    let threshold = policy.threshold as f64;
    let persons = &t.columns[0];
    for row in 0..t.cells() {
        let Some(v) = persons.values[row] else {
            if !persons.hidden[row] {
                c.fail(
                    row,
                    "`persons`: empty, where a count is always a number".into(),
                );
            }
            continue;
        };
        if v < 0.0 || v.fract() != 0.0 {
            c.fail(row, "`persons`: not a whole count".into());
            continue;
        }
        match policy.method {
            Method::Suppression if v < threshold && (v > 0.0 || policy.zeros_disclosive) => {
                c.fail(
                    row,
                    format!(
                        "`persons`: a count below the threshold {}",
                        policy.threshold
                    ),
                );
            }
            Method::Rounding { base } if v % base as f64 != 0.0 => {
                c.fail(
                    row,
                    format!("`persons`: not a multiple of the rounding base {base}"),
                );
            }
            Method::CellKey if !perturbed(v as u64, ptable) => {
                c.fail(
                    row,
                    "`persons`: no true count plus a perturbation of its row gives it".into(),
                );
            }
            _ => {}
        }
    }
    let suppression = policy.method == Method::Suppression;
    for col in &t.columns[1..] {
        let name = &col.measure.name;
        let own = own_dimension(t, col.measure.of.as_deref());
        for row in 0..t.cells() {
            // A share of the table's own dimension at a category follows
            // its count, empty where the count (of known values) is 0.
            let own_category =
                own.is_some_and(|d| t.positions(row)[d] < t.dimensions[d].categories.len());
            match col.values[row] {
                // Under rounding and the cell key, shares and means are of
                // protected counts and are empty where a denominator became 0.
                None if !col.hidden[row]
                    && policy.zeros_disclosive
                    && suppression
                    && !own_category =>
                {
                    c.fail(
                        row,
                        format!("`{name}`: an empty value (of nobody) published, where zeros are disclosive"),
                    );
                }
                Some(s) if col.measure.kind == "share" && !(0.0..=100.0).contains(&s) => {
                    c.fail(row, format!("`{name}`: a share outside [0, 100]"));
                }
                // Class disclosure applies under suppression. A share shown
                // as 0.0 or 100.0 can be a rounded 0.04 % or 99.96 % when
                // its denominator is 2,000 or more, and that is at most the count.
                Some(s)
                    if col.measure.kind == "share"
                        && policy.class_disclosure
                        && suppression
                        && own.is_none()
                        && (s == 0.0 || s == 100.0)
                        && persons.values[row].is_none_or(|n| n < 2000.0) =>
                {
                    c.fail(
                        row,
                        format!("`{name}`: a share of 0 % or 100 % (class disclosure)"),
                    );
                }
                _ => {}
            }
        }
    }
    c.finish("every published value obeys the policy's rules for it".into())
}

/// Whether `v` is a true count plus one of the perturbations of its row.
fn perturbed(v: u64, ptable: Option<&Ptable>) -> bool {
    let Some(p) = ptable else { return false };
    let most = p
        .rows
        .iter()
        .flat_map(|r| r.1.iter())
        .map(|d| d.unsigned_abs())
        .max();
    let most = most.unwrap_or(0);
    (v.saturating_sub(most)..=v + most).any(|n| p.of(n).iter().any(|&d| n as i64 + d == v as i64))
}

/// The index of the dimension a share is of, if the table has it.
fn own_dimension(t: &Table, of: Option<&str>) -> Option<usize> {
    of.and_then(|of| t.dimensions.iter().position(|d| d.name == of))
}

/// Shares of a variable that is a dimension of the table: 0 at `no`, 100 at
/// `yes`, and at the total at least the `yes` count over the total count
/// (the denominator, those with a known value, is at most the count).
fn shares(t: &Table, policy: &Policy) -> Finding {
    let mut c = Check::new(t, "shares");
    let persons = &t.columns[0].values;
    for col in t.columns.iter().filter(|c| c.measure.kind == "share") {
        let name = &col.measure.name;
        let Some(d) = own_dimension(t, col.measure.of.as_deref()) else {
            continue;
        };
        let dim = &t.dimensions[d];
        let code = |p: usize| dim.codes(&t.total_code)[p].clone();
        for row in 0..t.cells() {
            let Some(s) = col.values[row] else { continue };
            let mut pos = t.positions(row);
            match code(pos[d]).as_str() {
                "no" if s != 0.0 => c.fail(row, format!("`{name}`: not 0 at `{}` = no", dim.name)),
                "yes" if s != 100.0 => {
                    c.fail(row, format!("`{name}`: not 100 at `{}` = yes", dim.name));
                }
                code if code == t.total_code => {
                    let Some(yes) =
                        (0..dim.categories.len()).find(|&q| dim.categories[q].code == "yes")
                    else {
                        continue;
                    };
                    pos[d] = yes;
                    let (Some(y), Some(n)) = (persons[t.row(&pos)], persons[row]) else {
                        continue;
                    };
                    // Under rounding and the cell key the denominator is
                    // protected on its own and may exceed the published total.
                    let bound = policy.method == Method::Suppression
                        && n > 0.0
                        && s < (100.0 * y / n * 10.0).round() / 10.0 - 0.05 - EPS;
                    if bound || (y == 0.0 && s != 0.0) {
                        c.fail(
                            row,
                            format!("`{name}`: does not agree with the published counts"),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    c.finish("every share of the table's own dimension agrees with its counts".into())
}

/// Under suppression and rounding, every margin whose terms are all
/// published is their sum, for the counts and the additive sums.
fn margins(t: &Table, policy: &Policy) -> Finding {
    let mut c = Check::new(t, "margins");
    if policy.method == Method::CellKey {
        return c.finish(
            "not applicable: under the cell key method margins are perturbed on their own".into(),
        );
    }
    let mut checked = 0usize;
    let lines = t.margin_lines();
    for col in t.columns.iter().filter(|c| {
        c.measure.kind == "persons"
            || (c.measure.kind == "sum" && policy.method == Method::Suppression)
    }) {
        for (d, at, parts) in &lines {
            let sum = parts.iter().map(|&r| col.values[r]).sum::<Option<f64>>();
            if let (Some(total), Some(sum)) = (col.values[*at], sum) {
                checked += 1;
                if (total - sum).abs() > EPS * total.abs().max(1.0) {
                    c.fail(
                        *at,
                        format!(
                            "`{}`: not the sum of its parts along `{}` ({sum})",
                            col.measure.name, t.dimensions[*d].name
                        ),
                    );
                }
            }
        }
    }
    c.finish(format!(
        "all {checked} margins whose terms are all published are their sums"
    ))
}
