//! The disclosure policy: named presets, every parameter overridable.
//!
//! ```toml
//! preset = "acro"          # acro | abs | lenient
//! threshold = 10           # minimum distinct contributors of every released count
//! dominance = [{ n = 2, k = 90.0 }]
//! p_percent = 10.0         # or leave out
//! zeros_disclosive = true
//! class_disclosure = true  # a share of 0 % or 100 % reveals every member's attribute
//! min_median_contributors = 10
//! method = "suppression"   # suppression | rounding | cell_key
//! rounding_base = 5        # with method = "rounding"
//! cell_key_max = 2         # with method = "cell_key": largest perturbation
//! cell_key_variance = 1.0  #   and its variance
//! ptable = "gaussian"      #   the perturbation table: gaussian | entropy | 10_5 | FILE.csv
//! unrelated_populations = "refuse"  # or "allow": see [`Unrelated`]
//!
//! [cost]                   # what secondary suppression minimises
//! model = "value"          # value | cells | log
//! group_weight = 1.0       # times this per dimension at a group
//! total_weight = 1.0       # times this per dimension at its total
//! ```
//!
//! Every method applies the primary rules to magnitudes (sums, means,
//! medians) and protects sums by secondary suppression. The method decides
//! how counts (persons, households, numerators and denominators of shares)
//! are protected: by primary and secondary suppression, by random rounding
//! to a base with margins that add up, or by the cell key method.
//!
//! The `[cost]` table says what hiding one more cell costs, so that
//! secondary suppression hides the cheapest cells that protect the primary
//! ones ([`Cost`]). It applies wherever secondary suppression runs: to every
//! additive value under `method = "suppression"`, and to sums under the
//! other methods, so it is accepted with every method.

use reglink_pnr::withhold_numbers;
use serde::Deserialize;
use toml::Spanned;

use crate::ProtectError;
use crate::perturb::cell_key::{Design, ImportedPtable, PTable};

/// One (n, k) dominance rule: the `n` largest contributions may not exceed
/// `k` percent of the cell total.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Dominance {
    /// How many of the largest contributions.
    pub n: usize,
    /// Percent of the cell total.
    pub k: f64,
}

/// How counts are protected.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Method {
    /// Primary and secondary suppression.
    Suppression,
    /// Random rounding of inner cells to a multiple of `base`; margins are
    /// the sums of the rounded cells.
    Rounding {
        /// The base.
        base: u64,
    },
    /// The cell key method: a perturbation looked up by the cell's key.
    CellKey {
        /// Largest perturbation.
        max: u32,
        /// Variance of the perturbation.
        variance: f64,
        /// The perturbation table's design, which also says how a cell's
        /// key is read ([`crate::perturb::cell_key`]).
        ptable: Design,
    },
}

/// What a release does when an earlier release in its ledger (the same
/// inputs under the same keys) counts a population of the same register in
/// overlapping years that cannot be related to any of its own: not the
/// same definition, not one inside the other by age or required
/// variables, not the same population in fewer years. Such pairs differ by
/// a filter the audit cannot express in cells (say, long-term recipients in
/// one release and recipients registered at AF in the other), so what the
/// two give away together is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unrelated {
    /// The audit over the ledger fails, and `run --ledger` publishes
    /// nothing.
    #[default]
    Refuse,
    /// The release goes ahead; the audit names the pairs for review, and
    /// the manifest's policy says they were allowed.
    Allow,
}

/// What a cell's cost is made of, before the margin weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostModel {
    /// The cell's value: its persons for a count, the absolute sum for a
    /// sum. The least value is hidden (as τ-ARGUS does by default).
    Value,
    /// One per cell: the fewest cells are hidden, whatever their size.
    Cells,
    /// `1 + ln(1 + value)`: between the two, so that large cells are not
    /// shunned as strongly as by their value.
    Log,
}

impl CostModel {
    /// Every model, in the order the docs list them.
    pub const ALL: [CostModel; 3] = [CostModel::Value, CostModel::Cells, CostModel::Log];

    /// Its name in the policy file.
    pub fn name(self) -> &'static str {
        match self {
            CostModel::Value => "value",
            CostModel::Cells => "cells",
            CostModel::Log => "log",
        }
    }
}

/// What suppressing one more cell costs: the model's cost of its value,
/// times `group_weight` for every dimension of the cell at a group (a
/// county) and `total_weight` for every dimension at its total, so that
/// weights above 1 make secondary suppression choose margins last.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cost {
    /// The cost of a cell's value.
    pub model: CostModel,
    /// Factor per dimension at a group; positive and finite.
    pub group_weight: f64,
    /// Factor per dimension at its total; positive and finite.
    pub total_weight: f64,
}

impl Default for Cost {
    /// The cell's value, no margin weights.
    fn default() -> Cost {
        Cost {
            model: CostModel::Value,
            group_weight: 1.0,
            total_weight: 1.0,
        }
    }
}

impl Cost {
    /// The cost of suppressing a cell of `value` (persons, or a sum) with
    /// `groups` dimensions at a group and `totals` at their total. Never
    /// negative; zero for a cell of value 0 under the `value` model.
    pub fn of(&self, value: f64, groups: u32, totals: u32) -> f64 {
        let base = match self.model {
            CostModel::Value => value.abs(),
            CostModel::Cells => 1.0,
            CostModel::Log => 1.0 + value.abs().ln_1p(),
        };
        base * weight(self.group_weight, groups) * weight(self.total_weight, totals)
    }
}

/// `w` to the power `n`.
fn weight(w: f64, n: u32) -> f64 {
    (0..n).fold(1.0, |acc, _| acc * w)
}

impl std::fmt::Display for Cost {
    /// In words, for the release summary: "its value (persons, or the
    /// absolute sum), times 2 per dimension at a group and 10 per dimension
    /// at its total".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.model {
            CostModel::Value => "its value (persons, or the absolute sum)",
            CostModel::Cells => "1 (the fewest cells)",
            CostModel::Log => "1 + ln(1 + its value)",
        })?;
        match (self.group_weight != 1.0, self.total_weight != 1.0) {
            (false, false) => Ok(()),
            (true, false) => write!(f, ", times {} per dimension at a group", self.group_weight),
            (false, true) => write!(
                f,
                ", times {} per dimension at its total",
                self.total_weight
            ),
            (true, true) => write!(
                f,
                ", times {} per dimension at a group and {} per dimension at its total",
                self.group_weight, self.total_weight
            ),
        }
    }
}

/// A checked disclosure policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Policy {
    /// The preset it started from.
    pub preset: String,
    /// Minimum distinct contributors of every released count, numerator,
    /// denominator, mean and median.
    pub threshold: u64,
    /// Dominance rules for magnitude cells.
    pub dominance: Vec<Dominance>,
    /// p% rule: the total minus the two largest contributions must exceed
    /// `p` percent of the largest.
    pub p_percent: Option<f64>,
    /// Whether a zero count is disclosive.
    pub zeros_disclosive: bool,
    /// Whether shares of 0 % or 100 % are suppressed.
    pub class_disclosure: bool,
    /// Minimum contributors behind a median.
    pub min_median_contributors: u64,
    /// How counts are protected.
    pub method: Method,
    /// What secondary suppression minimises.
    pub cost: Cost,
    /// The perturbation table file `ptable` names, under the cell key
    /// method: read by whoever loads the policy file (this crate does no
    /// I/O).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ptable_file: Option<ImportedPtable>,
    /// Populations that an earlier release counts and this one cannot be
    /// related to (see [`Unrelated`]).
    pub unrelated_populations: Unrelated,
}

impl Policy {
    /// The named presets.
    pub fn preset(name: &str) -> Option<Policy> {
        Some(match name {
            // ACRO's defaults: threshold 10, (2, 90 %) dominance, p% 10, zeros disclosive.
            "acro" => Policy {
                preset: name.into(),
                threshold: 10,
                dominance: vec![Dominance { n: 2, k: 90.0 }],
                p_percent: Some(10.0),
                zeros_disclosive: true,
                class_disclosure: true,
                min_median_contributors: 10,
                method: Method::Suppression,
                cost: Cost::default(),
                ptable_file: None,
                unrelated_populations: Unrelated::Refuse,
            },
            // ABS-like: threshold 10, (1, 50 %) and (2, 67 %).
            "abs" => Policy {
                preset: name.into(),
                threshold: 10,
                dominance: vec![Dominance { n: 1, k: 50.0 }, Dominance { n: 2, k: 67.0 }],
                p_percent: None,
                zeros_disclosive: false,
                class_disclosure: true,
                min_median_contributors: 10,
                method: Method::Suppression,
                cost: Cost::default(),
                ptable_file: None,
                unrelated_populations: Unrelated::Refuse,
            },
            "lenient" => Policy {
                preset: name.into(),
                threshold: 3,
                dominance: Vec::new(),
                p_percent: None,
                zeros_disclosive: false,
                class_disclosure: false,
                min_median_contributors: 3,
                method: Method::Suppression,
                cost: Cost::default(),
                ptable_file: None,
                unrelated_populations: Unrelated::Refuse,
            },
            _ => return None,
        })
    }

    /// Reads a policy file's text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Policy, ProtectError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| ProtectError::PolicySyntax {
            origin: origin.to_string(),
            message: withhold_numbers(e.to_string().trim_end()),
        })?;
        let file = PolicyText { origin, text };
        let mut policy = Policy::preset(raw.preset.get_ref()).ok_or_else(|| {
            file.error(
                raw.preset.span(),
                format!(
                    "unknown preset {:?} (acro, abs or lenient)",
                    raw.preset.get_ref()
                ),
            )
        })?;
        raw.apply_rules(&mut policy, &file)?;
        raw.apply_method(&mut policy, &file)?;
        if let Some(cost) = &raw.cost {
            policy.cost = cost.resolve(&file)?;
        }
        Ok(policy)
    }
}

/// A policy file's name and text, for errors that name the line.
struct PolicyText<'a> {
    origin: &'a str,
    text: &'a str,
}

impl PolicyText<'_> {
    /// The error `message` about the value at `span`, on its 1-based line.
    fn error(&self, span: std::ops::Range<usize>, message: String) -> ProtectError {
        ProtectError::Policy {
            origin: self.origin.to_string(),
            line: self.text.as_bytes()[..span.start.min(self.text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
            message: withhold_numbers(&message),
        }
    }
}

impl RawPolicy {
    /// Overrides the preset's primary rules: threshold, dominance, p %,
    /// zeros, class disclosure and the contributors of a median.
    fn apply_rules(&self, policy: &mut Policy, file: &PolicyText<'_>) -> Result<(), ProtectError> {
        if let Some(t) = &self.threshold {
            if *t.get_ref() < 0 {
                return Err(file.error(t.span(), "threshold must not be negative".into()));
            }
            policy.threshold = *t.get_ref() as u64;
        }
        if let Some(rules) = &self.dominance {
            policy.dominance.clear();
            for r in rules {
                let d = r.get_ref();
                if d.n < 1 {
                    return Err(file.error(r.span(), "dominance n must be at least 1".into()));
                }
                if !(d.k > 0.0 && d.k <= 100.0) {
                    return Err(file.error(
                        r.span(),
                        format!("dominance k is a percentage in (0, 100], not {}", d.k),
                    ));
                }
                policy.dominance.push(Dominance {
                    n: d.n as usize,
                    k: d.k,
                });
            }
        }
        if let Some(p) = &self.p_percent {
            if !(*p.get_ref() > 0.0 && *p.get_ref() <= 100.0) {
                return Err(file.error(
                    p.span(),
                    format!("p_percent is a percentage in (0, 100], not {}", p.get_ref()),
                ));
            }
            policy.p_percent = Some(*p.get_ref());
        }
        if let Some(z) = self.zeros_disclosive {
            policy.zeros_disclosive = z;
        }
        if let Some(c) = self.class_disclosure {
            policy.class_disclosure = c;
        }
        if let Some(u) = &self.unrelated_populations {
            policy.unrelated_populations = match u.get_ref().as_str() {
                "refuse" => Unrelated::Refuse,
                "allow" => Unrelated::Allow,
                other => {
                    return Err(file.error(
                        u.span(),
                        format!("unknown unrelated_populations {other:?} (refuse or allow)"),
                    ));
                }
            };
        }
        if let Some(m) = &self.min_median_contributors {
            if *m.get_ref() < 0 {
                return Err(file.error(
                    m.span(),
                    "min_median_contributors must not be negative".into(),
                ));
            }
            policy.min_median_contributors = *m.get_ref() as u64;
        }
        Ok(())
    }

    /// Sets the method that protects counts and overrides its parameters;
    /// a parameter of another method than the one chosen is an error.
    fn apply_method(&self, policy: &mut Policy, file: &PolicyText<'_>) -> Result<(), ProtectError> {
        if let Some(m) = &self.method {
            policy.method = match m.get_ref().as_str() {
                "suppression" => Method::Suppression,
                "rounding" => Method::Rounding { base: 5 },
                "cell_key" => Method::CellKey {
                    max: 2,
                    variance: 1.0,
                    ptable: Design::Gaussian,
                },
                other => {
                    return Err(file.error(
                        m.span(),
                        format!("unknown method {other:?} (suppression, rounding or cell_key)"),
                    ));
                }
            };
        }
        if let Some(b) = &self.rounding_base {
            let Method::Rounding { base } = &mut policy.method else {
                return Err(
                    file.error(b.span(), "rounding_base needs method = \"rounding\"".into())
                );
            };
            if *b.get_ref() < 2 {
                return Err(file.error(b.span(), "rounding_base must be at least 2".into()));
            }
            *base = *b.get_ref() as u64;
        }
        if let Some(m) = &self.cell_key_max {
            let Method::CellKey { max, .. } = &mut policy.method else {
                return Err(file.error(m.span(), "cell_key_max needs method = \"cell_key\"".into()));
            };
            if !(1..=20).contains(m.get_ref()) {
                return Err(file.error(m.span(), "cell_key_max must be between 1 and 20".into()));
            }
            *max = *m.get_ref() as u32;
        }
        if let Some(v) = &self.cell_key_variance {
            let Method::CellKey { variance, .. } = &mut policy.method else {
                return Err(file.error(
                    v.span(),
                    "cell_key_variance needs method = \"cell_key\"".into(),
                ));
            };
            if !(*v.get_ref() > 0.0 && v.get_ref().is_finite()) {
                return Err(file.error(v.span(), "cell_key_variance must be positive".into()));
            }
            *variance = *v.get_ref();
        }
        self.apply_ptable(policy, file)
    }

    /// The `ptable` key: which perturbation table, checked against
    /// `cell_key_max` and `cell_key_variance`.
    fn apply_ptable(&self, policy: &mut Policy, file: &PolicyText<'_>) -> Result<(), ProtectError> {
        let Some(t) = &self.ptable else {
            return Ok(());
        };
        let Method::CellKey {
            max,
            variance,
            ptable,
        } = &mut policy.method
        else {
            return Err(file.error(t.span(), "ptable needs method = \"cell_key\"".into()));
        };
        *ptable = match t.get_ref().as_str() {
            "gaussian" => Design::Gaussian,
            "entropy" => Design::Entropy,
            "10_5" => Design::TenFive,
            path if path.to_ascii_lowercase().ends_with(".csv") => {
                policy.ptable_file = Some(ImportedPtable {
                    file: path.to_string(),
                    rows: Vec::new(),
                });
                Design::Imported
            }
            other => {
                return Err(file.error(
                    t.span(),
                    format!(
                        "unknown ptable {other:?} (gaussian, entropy, 10_5, or a .csv file in the R ptable package's layout)"
                    ),
                ));
            }
        };
        match *ptable {
            Design::Entropy if PTable::entropy(*max, *variance).is_none() => Err(file.error(
                t.span(),
                format!(
                    "ptable = \"entropy\" cannot reach variance {variance} with perturbations of at most {max}: a count of 1 moves down by 1 at most, so cell_key_variance must be below cell_key_max"
                ),
            )),
            Design::TenFive | Design::Imported => {
                let given = self
                    .cell_key_max
                    .as_ref()
                    .map(Spanned::span)
                    .or(self.cell_key_variance.as_ref().map(Spanned::span));
                match given {
                    Some(span) => Err(file.error(
                        span,
                        format!(
                            "cell_key_max and cell_key_variance do not apply to ptable = {:?} (its perturbations are fixed)",
                            t.get_ref()
                        ),
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preset: Spanned<String>,
    threshold: Option<Spanned<i64>>,
    dominance: Option<Vec<Spanned<RawDominance>>>,
    p_percent: Option<Spanned<f64>>,
    zeros_disclosive: Option<bool>,
    class_disclosure: Option<bool>,
    min_median_contributors: Option<Spanned<i64>>,
    method: Option<Spanned<String>>,
    rounding_base: Option<Spanned<i64>>,
    cell_key_max: Option<Spanned<i64>>,
    cell_key_variance: Option<Spanned<f64>>,
    ptable: Option<Spanned<String>>,
    cost: Option<RawCost>,
    unrelated_populations: Option<Spanned<String>>,
}

/// The `[cost]` table; every key optional, the default's value otherwise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCost {
    model: Option<Spanned<String>>,
    group_weight: Option<Spanned<f64>>,
    total_weight: Option<Spanned<f64>>,
}

impl RawCost {
    /// The cost model it describes; an unknown model or a weight that is
    /// not a positive finite number is an error naming its line.
    fn resolve(&self, file: &PolicyText<'_>) -> Result<Cost, ProtectError> {
        let mut cost = Cost::default();
        if let Some(m) = &self.model {
            let name = m.get_ref().as_str();
            cost.model = CostModel::ALL
                .into_iter()
                .find(|model| model.name() == name)
                .ok_or_else(|| {
                    file.error(
                        m.span(),
                        format!("unknown cost model {name:?} (value, cells or log)"),
                    )
                })?;
        }
        for (name, raw, weight) in [
            ("group_weight", &self.group_weight, &mut cost.group_weight),
            ("total_weight", &self.total_weight, &mut cost.total_weight),
        ] {
            if let Some(w) = raw {
                let v = *w.get_ref();
                if !(v > 0.0 && v.is_finite()) {
                    return Err(file.error(
                        w.span(),
                        format!("cost {name} must be a positive finite number"),
                    ));
                }
                *weight = v;
            }
        }
        Ok(cost)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDominance {
    n: i64,
    k: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_carry_the_reference_numbers() {
        let acro = Policy::parse("p.toml", "preset = \"acro\"\n").unwrap();
        assert_eq!(
            (acro.threshold, acro.p_percent, acro.zeros_disclosive),
            (10, Some(10.0), true)
        );
        assert_eq!(acro.dominance, [Dominance { n: 2, k: 90.0 }]);
        let abs = Policy::preset("abs").unwrap();
        assert_eq!(
            abs.dominance,
            [Dominance { n: 1, k: 50.0 }, Dominance { n: 2, k: 67.0 }]
        );
        assert_eq!(Policy::preset("lenient").unwrap().threshold, 3);
    }

    #[test]
    fn every_parameter_can_be_overridden() {
        let p = Policy::parse("p.toml", "preset = \"acro\"\nthreshold = 5\ndominance = [{ n = 3, k = 75.0 }]\nzeros_disclosive = false\n").unwrap();
        assert_eq!(p.threshold, 5);
        assert_eq!(p.dominance, [Dominance { n: 3, k: 75.0 }]);
        assert!(!p.zeros_disclosive);
        assert_eq!(p.p_percent, Some(10.0));
    }

    #[test]
    fn methods_and_their_parameters() {
        let p = Policy::parse(
            "p.toml",
            "preset = \"abs\"\nmethod = \"rounding\"\nrounding_base = 3\n",
        )
        .unwrap();
        assert_eq!(p.method, Method::Rounding { base: 3 });
        let p = Policy::parse(
            "p.toml",
            "preset = \"abs\"\nmethod = \"cell_key\"\ncell_key_max = 3\n",
        )
        .unwrap();
        assert_eq!(
            p.method,
            Method::CellKey {
                max: 3,
                variance: 1.0,
                ptable: Design::Gaussian,
            }
        );
        let e = Policy::parse("p.toml", "preset = \"abs\"\nrounding_base = 3\n").unwrap_err();
        assert!(e.to_string().starts_with("p.toml:2:"), "{e}");
        let e = Policy::parse("p.toml", "preset = \"abs\"\n\nmethod = \"noise\"\n").unwrap_err();
        assert!(e.to_string().starts_with("p.toml:3:"), "{e}");
    }

    #[test]
    fn unrelated_populations_are_refused_unless_the_policy_allows_them() {
        for name in ["acro", "abs", "lenient"] {
            let p = Policy::preset(name).unwrap();
            assert_eq!(p.unrelated_populations, Unrelated::Refuse);
        }
        let p = Policy::parse(
            "p.toml",
            "preset = \"acro\"\nunrelated_populations = \"allow\"\n",
        )
        .unwrap();
        assert_eq!(p.unrelated_populations, Unrelated::Allow);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["unrelated_populations"],
            "allow"
        );
        let e = Policy::parse(
            "p.toml",
            "preset = \"acro\"\n\nunrelated_populations = \"ignore\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("p.toml:3:"), "{e}");
        assert!(e.to_string().contains("refuse or allow"), "{e}");
    }

    #[test]
    fn every_preset_prices_a_cell_by_its_value() {
        for name in ["acro", "abs", "lenient"] {
            assert_eq!(Policy::preset(name).unwrap().cost, Cost::default());
        }
        let c = Cost::default();
        assert_eq!(c.model, CostModel::Value);
        assert_eq!(c.of(37.0, 1, 1), 37.0);
        assert_eq!(c.of(-250.0, 0, 2), 250.0);
    }

    #[test]
    fn a_cost_table_sets_the_model_and_the_margin_weights() {
        let p = Policy::parse(
            "p.toml",
            "preset = \"acro\"\n\n[cost]\nmodel = \"log\"\ngroup_weight = 2\ntotal_weight = 10.0\n",
        )
        .unwrap();
        assert_eq!(
            p.cost,
            Cost {
                model: CostModel::Log,
                group_weight: 2.0,
                total_weight: 10.0
            }
        );
        // The rest of the preset stays.
        assert_eq!(p.threshold, 10);
        let p = Policy::parse(
            "p.toml",
            "preset = \"abs\"\ncost = { total_weight = 3.0 }\n",
        )
        .unwrap();
        assert_eq!((p.cost.model, p.cost.group_weight), (CostModel::Value, 1.0));
        assert_eq!(p.cost.total_weight, 3.0);
        // Sums are secondary-suppressed under every method, so the cost
        // model goes with every method.
        let p = Policy::parse(
            "p.toml",
            "preset = \"abs\"\nmethod = \"rounding\"\n[cost]\nmodel = \"cells\"\n",
        )
        .unwrap();
        assert_eq!(p.cost.model, CostModel::Cells);
    }

    #[test]
    fn the_cost_of_a_cell_under_each_model() {
        let cost = |model| Cost {
            model,
            group_weight: 2.0,
            total_weight: 10.0,
        };
        // A county (group) by sex total: value × 2 × 10.
        assert_eq!(cost(CostModel::Value).of(120.0, 1, 1), 2400.0);
        assert_eq!(cost(CostModel::Value).of(120.0, 0, 0), 120.0);
        assert_eq!(cost(CostModel::Value).of(120.0, 2, 3), 120.0 * 4.0 * 1000.0);
        assert_eq!(cost(CostModel::Cells).of(120.0, 0, 0), 1.0);
        assert_eq!(cost(CostModel::Cells).of(0.0, 1, 2), 200.0);
        assert_eq!(cost(CostModel::Log).of(0.0, 0, 0), 1.0);
        assert!((cost(CostModel::Log).of(120.0, 0, 1) - 10.0 * (1.0 + 121f64.ln())).abs() < 1e-9);
        // A negative sum costs its absolute value.
        assert_eq!(cost(CostModel::Log).of(-120.0, 0, 0), 1.0 + 121f64.ln());
    }

    #[test]
    fn the_cost_reads_in_words() {
        assert_eq!(
            Cost::default().to_string(),
            "its value (persons, or the absolute sum)"
        );
        let c = Cost {
            model: CostModel::Cells,
            group_weight: 2.0,
            total_weight: 10.0,
        };
        assert_eq!(
            c.to_string(),
            "1 (the fewest cells), times 2 per dimension at a group and 10 per dimension at its total"
        );
        let c = Cost {
            model: CostModel::Log,
            group_weight: 1.0,
            total_weight: 1.5,
        };
        assert_eq!(
            c.to_string(),
            "1 + ln(1 + its value), times 1.5 per dimension at its total"
        );
    }

    #[test]
    fn a_nonsensical_cost_names_its_line() {
        let line = |text: &str| match Policy::parse("p.toml", text).unwrap_err() {
            ProtectError::Policy { line, message, .. } => (line, message),
            other => panic!("{other}"),
        };
        let (l, m) = line("preset = \"abs\"\n[cost]\nmodel = \"size\"\n");
        assert_eq!(l, 3);
        assert!(m.contains("value, cells or log"), "{m}");
        for bad in ["0", "-1.5", "nan", "inf", "-inf", "0.0"] {
            let (l, m) = line(&format!(
                "preset = \"abs\"\n[cost]\nmodel = \"cells\"\ngroup_weight = {bad}\n"
            ));
            assert_eq!(l, 4, "{bad}");
            assert!(m.contains("group_weight must be a positive"), "{m}");
            let (l, m) = line(&format!(
                "preset = \"abs\"\n[cost]\n\ntotal_weight = {bad}\n"
            ));
            assert_eq!(l, 4, "{bad}");
            assert!(m.contains("total_weight must be a positive"), "{m}");
        }
        match Policy::parse("p.toml", "preset = \"abs\"\n[cost]\nmodle = \"value\"\n").unwrap_err()
        {
            ProtectError::PolicySyntax { message, .. } => {
                assert!(
                    message.contains("line 3") && message.contains("modle"),
                    "{message}"
                )
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn impossible_parameters_and_unknown_keys_name_the_line() {
        let line = |text: &str| match Policy::parse("p.toml", text).unwrap_err() {
            ProtectError::Policy { line, message, .. } => (line, message),
            other => panic!("{other}"),
        };
        let (l, m) = line("preset = \"abs\"\n\ndominance = [{ n = 2, k = 120.0 }]\n");
        assert_eq!(l, 3);
        assert!(m.contains("(0, 100]"), "{m}");
        let (l, m) = line("preset = \"abs\"\nthreshold = -1\n");
        assert_eq!(l, 2);
        assert!(m.contains("negative"), "{m}");
        let (l, _) = line("preset = \"strict\"\n");
        assert_eq!(l, 1);
        match Policy::parse("p.toml", "preset = \"acro\"\nthreshhold = 10\n").unwrap_err() {
            ProtectError::PolicySyntax { message, .. } => {
                assert!(
                    message.contains("line 2") && message.contains("threshhold"),
                    "{message}"
                )
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_ptable_key_picks_a_design_and_refuses_what_it_cannot_build() {
        let p = Policy::parse(
            "p.toml",
            "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"10_5\"\n",
        )
        .unwrap();
        assert!(matches!(
            p.method,
            Method::CellKey {
                ptable: Design::TenFive,
                ..
            }
        ));
        for (text, line, says) in [
            ("preset = \"abs\"\nptable = \"10_5\"\n", 2, "needs method"),
            (
                "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"ons\"\n",
                3,
                "unknown ptable",
            ),
            (
                "preset = \"abs\"\nmethod = \"cell_key\"\ncell_key_max = 2\ncell_key_variance = 2.0\nptable = \"entropy\"\n",
                5,
                "below cell_key_max",
            ),
            (
                "preset = \"abs\"\nmethod = \"cell_key\"\ncell_key_max = 3\nptable = \"10_5\"\n",
                3,
                "do not apply",
            ),
        ] {
            let e = Policy::parse("p.toml", text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("p.toml:{line}:")), "{text:?}: {e}");
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
