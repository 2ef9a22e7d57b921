//! The primary rules, one module each with its written specification, and
//! [`primary`], which applies a [`Policy`] to every cell and measure of a
//! cell table.

pub mod class;
pub mod dominance;
pub mod p_percent;
pub mod threshold;

use reglink_tabulate::{CellTable, Values};

use crate::Policy;

/// Why a value is not published (or that it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Published as computed.
    Published,
    /// A zero count, and zeros are disclosive.
    Zero,
    /// Fewer contributors than the threshold.
    Threshold,
    /// A share of 0 % or 100 %.
    Class,
    /// The largest contributions dominate the total.
    Dominance,
    /// The p% rule.
    PPercent,
    /// Too few contributors behind a median.
    Median,
    /// Suppressed to protect other cells (secondary suppression), or
    /// because the cell's count is suppressed.
    Secondary,
    /// Randomly rounded.
    Rounded,
    /// Perturbed by the cell key method.
    Perturbed,
}

impl Flag {
    /// The reason's name, as the checker report gives it. Never written into
    /// a release: a released table shows only [`Flag::public`].
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Published => "published",
            Flag::Zero => "zero",
            Flag::Threshold => "threshold",
            Flag::Class => "class",
            Flag::Dominance => "dominance",
            Flag::PPercent => "p_percent",
            Flag::Median => "median",
            Flag::Secondary => "secondary",
            Flag::Rounded => "rounded",
            Flag::Perturbed => "perturbed",
        }
    }

    /// Whether the value is withheld.
    pub fn suppressed(self) -> bool {
        !matches!(self, Flag::Published | Flag::Rounded | Flag::Perturbed)
    }

    /// Whether the value is withheld by a primary rule (not secondary).
    pub fn primary(self) -> bool {
        self.suppressed() && self != Flag::Secondary
    }

    /// The flag as a released table writes it: every reason for hiding a
    /// value is the same [`PublicFlag::Suppressed`], since the reason would
    /// give the value away (a `zero` cell is 0, a `threshold` cell is below
    /// the threshold, a `secondary` cell is not).
    pub fn public(self) -> PublicFlag {
        match self {
            Flag::Published => PublicFlag::Published,
            Flag::Rounded => PublicFlag::Rounded,
            Flag::Perturbed => PublicFlag::Perturbed,
            _ => PublicFlag::Suppressed,
        }
    }

    /// Every flag, in the order summaries list them.
    pub const ALL: [Flag; 10] = [
        Flag::Published,
        Flag::Rounded,
        Flag::Perturbed,
        Flag::Zero,
        Flag::Threshold,
        Flag::Class,
        Flag::Dominance,
        Flag::PPercent,
        Flag::Median,
        Flag::Secondary,
    ];
}

/// A flag as a release publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicFlag {
    /// Published as computed.
    Published,
    /// Randomly rounded.
    Rounded,
    /// Perturbed by the cell key method.
    Perturbed,
    /// Withheld, for whatever reason.
    Suppressed,
}

impl PublicFlag {
    /// The flag as written in a released table.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicFlag::Published => "published",
            PublicFlag::Rounded => "rounded",
            PublicFlag::Perturbed => "perturbed",
            PublicFlag::Suppressed => "suppressed",
        }
    }

    /// Every public flag, in the order summaries list them.
    pub const ALL: [PublicFlag; 4] = [
        PublicFlag::Published,
        PublicFlag::Rounded,
        PublicFlag::Perturbed,
        PublicFlag::Suppressed,
    ];
}

/// The primary flags of one table: for the `persons` count of every cell,
/// and for every measure of every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryFlags {
    /// Per cell, the flag of its count of persons.
    pub persons: Vec<Flag>,
    /// Per measure (in the table's order), per cell.
    pub measures: Vec<Vec<Flag>>,
}

impl PrimaryFlags {
    /// Cells whose person count is suppressed by a primary rule.
    pub fn suppressed_cells(&self) -> impl Iterator<Item = usize> + '_ {
        self.persons
            .iter()
            .enumerate()
            .filter(|(_, f)| **f != Flag::Published)
            .map(|(c, _)| c)
    }
}

fn count_flag(n: u64, policy: &Policy) -> Flag {
    if n == 0 && policy.zeros_disclosive {
        Flag::Zero
    } else if threshold::breaks(n, policy.threshold) {
        Flag::Threshold
    } else {
        Flag::Published
    }
}

/// The dimension of `table` that is the variable a share counts (the table
/// is by `at_af` and the share is of `at_af`), if any. Within a category of
/// that dimension the share is 0 % or 100 % by construction and its
/// numerator is the cell's own count (or nobody): it says nothing the count
/// does not.
pub(crate) fn share_dimension(table: &CellTable, of: Option<&str>) -> Option<usize> {
    let of = of?;
    table.dimensions.iter().position(|d| d.name == of)
}

/// Whether cell `c` is at a category (not the total) of dimension `d`.
pub(crate) fn at_category(table: &CellTable, c: usize, d: usize) -> bool {
    table.dimensions[d].position(table.shape.position(c, d)).0 != reglink_tabulate::TOTAL
}

/// Applies the policy's primary rules to every cell of `table`.
pub fn primary(table: &CellTable, policy: &Policy) -> PrimaryFlags {
    let cells = table.shape.cells();
    let persons: Vec<Flag> = table
        .persons
        .iter()
        .map(|&n| count_flag(n, policy))
        .collect();
    let measures = table
        .measures
        .iter()
        .map(|m| {
            let own = share_dimension(table, m.of.as_deref())
                .filter(|_| matches!(m.values, Values::Share { .. }));
            (0..cells)
                .map(|c| {
                    // A value about a suppressed group is suppressed with it;
                    // a share of the cell's own category (0 % or 100 % by
                    // construction) goes with the count it repeats.
                    if persons[c] != Flag::Published
                        || own.is_some_and(|d| at_category(table, c, d))
                    {
                        return persons[c];
                    }
                    // A value of nobody (a share whose denominator is 0, a
                    // sum, mean or median without contributors) is written
                    // empty, which says that nobody in the group has the
                    // attribute: where zeros are disclosive it is a zero.
                    let contributors = match &m.values {
                        Values::Count(v) => v[c],
                        Values::Share { den, .. } => den[c],
                        Values::Sum { n, .. } | Values::Median { n, .. } => n[c],
                    };
                    if contributors == 0 && policy.zeros_disclosive {
                        return Flag::Zero;
                    }
                    match &m.values {
                        Values::Count(v) => count_flag(v[c], policy),
                        Values::Share { num, den, .. } => {
                            if threshold::breaks(den[c], policy.threshold)
                                || threshold::breaks(num[c], policy.threshold)
                            {
                                Flag::Threshold
                            } else if policy.class_disclosure && class::breaks(num[c], den[c]) {
                                Flag::Class
                            } else {
                                Flag::Published
                            }
                        }
                        Values::Sum { sum, n, top, .. } => {
                            let k = (n[c] as usize).min(top[c].len());
                            let top = &top[c][..k];
                            if threshold::breaks(n[c], policy.threshold) {
                                Flag::Threshold
                            } else if policy
                                .dominance
                                .iter()
                                .any(|d| dominance::breaks(n[c], sum[c], top, d.n, d.k))
                            {
                                Flag::Dominance
                            } else if policy
                                .p_percent
                                .is_some_and(|p| p_percent::breaks(n[c], sum[c], top, p))
                            {
                                Flag::PPercent
                            } else {
                                Flag::Published
                            }
                        }
                        Values::Median { n, .. } => {
                            if n[c] > 0 && n[c] < policy.min_median_contributors {
                                Flag::Median
                            } else {
                                Flag::Published
                            }
                        }
                    }
                })
                .collect()
        })
        .collect();
    PrimaryFlags { persons, measures }
}
