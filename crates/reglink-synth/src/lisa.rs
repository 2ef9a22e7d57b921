//! The LISA-style yearly file: one row per person aged 16 or more present on
//! 31 December, for each register year.
//!
//! Earnings, employment and benefits follow from the same latent
//! disadvantage as EB and AF, and from what actually happened in those
//! registers that year: someone in an AF spell without work in November is
//! not employed then, months on EB or at AF cut the year's earnings, insured
//! job seekers receive unemployment benefit for their days at AF, and EB
//! payments count towards disposable income.
//!
//! The number written is the one the person held on 31 December of the row's
//! year, and `Kon` is the legal sex of that number.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{ArrayBuilder, Int32Builder, Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use reglink_pnr::Sex;

use crate::af::Spell;
use crate::codelists::{Employment, UNKNOWN_CODE_RATE, UNKNOWN_REGION, UNKNOWN_SUN};
use crate::dist::{Draw, sigmoid};
use crate::error::SynthError;
use crate::ids::{IdColumnStats, RawIds, day_of};
use crate::population::Person;

/// Yearly wage growth.
const WAGE_GROWTH: f64 = 0.03;

/// What the other registers say about one person in one year.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct YearFacts {
    /// Months of EB as an adult of the household.
    pub eb_months: u32,
    /// EB paid in November.
    pub eb_november: bool,
    /// The person's share of the household's EB for the year.
    pub eb_amount: i64,
    /// Days in AF spells without work during the year.
    pub af_without_work: i32,
    /// Days counting for unemployment benefit (part-time days count half).
    pub af_benefit_days: f64,
    /// In an AF spell without work on 15 November.
    pub af_november: bool,
    /// The person's share of the child benefit of the household.
    pub child_benefit: i64,
}

impl YearFacts {
    /// Adds what `spells` say about `year`.
    pub(crate) fn add_spells(&mut self, spells: &[Spell], year: i32, horizon: i32) {
        let (first, last) = (day_of(year, 1, 1), day_of(year, 12, 31));
        let november = day_of(year, 11, 15);
        for spell in spells {
            let days = spell.days_within(first, last, horizon);
            if days == 0 {
                continue;
            }
            if spell.without_work() {
                self.af_without_work += days;
                self.af_november |= spell.covers(november);
            }
            self.af_benefit_days += f64::from(days) * spell.benefit_share();
        }
    }
}

/// Wage premium (log scale) of an education level, by its code.
fn education_premium(sun: &str) -> f64 {
    match sun {
        "100" => -0.25,
        "200" => -0.18,
        "310" => -0.08,
        "320" => 0.0,
        "410" => 0.05,
        "520" => 0.1,
        "530" => 0.22,
        "640" => 0.4,
        _ => -0.15,
    }
}

/// Earnings relative to the prime-age level.
fn age_curve(age: i32) -> f64 {
    match age {
        ..=19 => 0.45,
        20..=24 => 0.7,
        25..=29 => 0.85,
        30..=49 => 1.0,
        50..=65 => 1.02,
        _ => 0.8,
    }
}

/// Income tax and fees as a share of earnings: about 20 % on low incomes
/// rising to about 35 %.
fn tax_share(gross: f64) -> f64 {
    0.2 + 0.15 * (gross / 700_000.0).min(1.0)
}

fn hundreds(x: f64) -> i64 {
    (x / 100.0).round() as i64 * 100
}

/// The `lisa` table under construction.
#[derive(Debug)]
pub(crate) struct LisaRows {
    person_nr: StringBuilder,
    ar: Int32Builder,
    kommun: StringBuilder,
    kon: Int32Builder,
    fodelse_ar: Int32Builder,
    fodelse_region: StringBuilder,
    invandrings_ar: Int32Builder,
    sun: StringBuilder,
    forv_ink: Int64Builder,
    disp_ink: Int64Builder,
    syss_status: StringBuilder,
    arb_los_ers: Int64Builder,
    /// Identifier and code statistics of the rows so far.
    pub stats: IdColumnStats,
}

/// A person's traits that stay fixed over the years: drawn once, so that
/// earnings are persistent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Earner {
    /// Log-scale wage level relative to peers.
    wage: f64,
    /// Employment propensity relative to peers.
    attachment: f64,
    /// Insured with an a-kassa.
    insured: bool,
    /// Pension level for the elderly.
    pension: f64,
}

impl Earner {
    pub(crate) fn new(rng: &mut impl Draw, insured: bool) -> Earner {
        Earner {
            wage: 0.3 * rng.normal(),
            attachment: 0.6 * rng.normal(),
            insured,
            pension: rng.lognormal(1.0, 0.35),
        }
    }
}

impl LisaRows {
    /// The table's schema.
    pub(crate) fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("PersonNr", DataType::Utf8, false),
            Field::new("Ar", DataType::Int32, false),
            Field::new("Kommun", DataType::Utf8, false),
            Field::new("Kon", DataType::Int32, false),
            Field::new("FodelseAr", DataType::Int32, false),
            Field::new("FodelseRegion", DataType::Utf8, false),
            Field::new("InvandringsAr", DataType::Int32, true),
            Field::new("Sun2000Niva", DataType::Utf8, false),
            Field::new("ForvInk", DataType::Int64, false),
            Field::new("DispInk", DataType::Int64, false),
            Field::new("SyssStatus", DataType::Utf8, false),
            Field::new("ArbLosErs", DataType::Int64, false),
        ]))
    }

    pub(crate) fn new() -> LisaRows {
        LisaRows {
            person_nr: StringBuilder::new(),
            ar: Int32Builder::new(),
            kommun: StringBuilder::new(),
            kon: Int32Builder::new(),
            fodelse_ar: Int32Builder::new(),
            fodelse_region: StringBuilder::new(),
            invandrings_ar: Int32Builder::new(),
            sun: StringBuilder::new(),
            forv_ink: Int64Builder::new(),
            disp_ink: Int64Builder::new(),
            syss_status: StringBuilder::new(),
            arb_los_ers: Int64Builder::new(),
            stats: IdColumnStats::default(),
        }
    }

    /// Rows appended so far.
    pub(crate) fn len(&self) -> usize {
        self.ar.len()
    }

    /// Appends the row of `person` for `year`, living in `kommun` on 31
    /// December.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        rng: &mut impl Draw,
        ids: &RawIds,
        person: &Person,
        earner: &Earner,
        year: i32,
        kommun: &str,
        facts: &YearFacts,
    ) {
        let age = person.age_in(year);
        let (pnr, old) = person.ids.at(day_of(year, 12, 31));
        self.stats.old_number_rows += u64::from(old);
        let raw = ids.write(rng, pnr, &mut self.stats);
        self.person_nr.append_value(raw);
        self.ar.append_value(year);
        self.kommun.append_value(kommun);
        self.kon.append_value(match pnr.sex() {
            Sex::Male => 1,
            Sex::Female => 2,
        });
        self.fodelse_ar.append_value(person.birth_date.year());
        let mut unknown = false;
        if rng.chance(UNKNOWN_CODE_RATE) {
            self.stats.unknown("FodelseRegion");
            unknown = true;
            self.fodelse_region.append_value(UNKNOWN_REGION);
        } else {
            self.fodelse_region.append_value(person.region.code());
        }
        self.invandrings_ar.append_option(person.immigration_year);
        let sun = person.education.code();
        if rng.chance(UNKNOWN_CODE_RATE) {
            self.stats.unknown("Sun2000Niva");
            unknown = true;
            self.sun.append_value(UNKNOWN_SUN);
        } else {
            self.sun.append_value(sun);
        }
        self.stats.unknown_rows += u64::from(unknown);

        let premium = education_premium(sun);
        let recent = person.arrived_within(3, year);
        let p_employed = match age {
            70.. => 0.04,
            66..=69 => 0.2,
            ..=19 => 0.3,
            _ => sigmoid(
                2.3 - 1.2 * person.z + 2.0 * premium + earner.attachment
                    - if recent { 1.2 } else { 0.0 }
                    - if age >= 60 { 0.6 } else { 0.0 }
                    - if age <= 24 { 0.8 } else { 0.0 },
            ),
        };
        let blocked = facts.af_november || (facts.eb_november && rng.chance(0.85));
        let employed = !blocked && rng.chance(p_employed);
        let away = f64::from(facts.af_without_work) + 30.0 * 0.6 * f64::from(facts.eb_months);
        let work_share = if employed {
            let part_year = if rng.chance(0.25) {
                rng.between(0.6, 1.0)
            } else {
                1.0
            };
            ((1.0 - away / 365.0) * part_year).max(0.1)
        } else if age <= 24 && rng.chance(0.5) {
            rng.between(0.02, 0.3)
        } else if age < 66 && rng.chance(0.3) {
            (rng.between(0.05, 0.6) - away / 730.0).max(0.0)
        } else {
            0.0
        };
        let monthly = 33_000.0
            * (premium + earner.wage - 0.12 * person.z).exp()
            * age_curve(age)
            * if person.female { 0.9 } else { 1.0 }
            * (1.0 + WAGE_GROWTH).powi(year - crate::REFERENCE_YEAR);
        let forv = hundreds(monthly * 12.0 * work_share);

        let benefit = if facts.af_benefit_days > 0.0 {
            let daily = if earner.insured {
                rng.between(700.0, 1_200.0)
            } else if age >= 20 && rng.chance(0.3) {
                510.0
            } else {
                0.0
            };
            hundreds(daily * facts.af_benefit_days * 5.0 / 7.0)
        } else {
            0
        };

        let gross = forv as f64;
        let mut disposable = gross * (1.0 - tax_share(gross)) + 0.75 * benefit as f64;
        if age >= 65 {
            disposable += 0.78 * 210_000.0 * earner.pension * (0.4 * premium).exp();
        } else if !employed && facts.eb_months == 0 && benefit == 0 && age >= 20 && rng.chance(0.6)
        {
            // Sickness or activity compensation, study grants and the like.
            disposable += 0.8 * rng.lognormal(110_000.0, 0.5);
        }
        disposable += (facts.eb_amount + facts.child_benefit) as f64;
        let disp = if rng.chance(0.002) {
            -hundreds(rng.between(1_000.0, 50_000.0))
        } else {
            hundreds(disposable)
        };

        self.forv_ink.append_value(forv);
        self.disp_ink.append_value(disp);
        let status = if employed {
            Employment::Employed
        } else {
            Employment::NotEmployed
        };
        self.syss_status.append_value(status.code());
        self.arb_los_ers.append_value(benefit);
    }

    /// The rows appended so far as a record batch; the builders start over.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, SynthError> {
        RecordBatch::try_new(
            LisaRows::schema(),
            vec![
                Arc::new(self.person_nr.finish()),
                Arc::new(self.ar.finish()),
                Arc::new(self.kommun.finish()),
                Arc::new(self.kon.finish()),
                Arc::new(self.fodelse_ar.finish()),
                Arc::new(self.fodelse_region.finish()),
                Arc::new(self.invandrings_ar.finish()),
                Arc::new(self.sun.finish()),
                Arc::new(self.forv_ink.finish()),
                Arc::new(self.disp_ink.finish()),
                Arc::new(self.syss_status.finish()),
                Arc::new(self.arb_los_ers.finish()),
            ],
        )
        .map_err(|source| SynthError::Arrow {
            table: "lisa",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rises_with_income() {
        assert!(tax_share(100_000.0) < tax_share(500_000.0));
        assert!(tax_share(5_000_000.0) <= 0.35 + 1e-12);
    }

    #[test]
    fn education_pays() {
        assert!(education_premium("100") < education_premium("320"));
        assert!(education_premium("320") < education_premium("640"));
    }
}
