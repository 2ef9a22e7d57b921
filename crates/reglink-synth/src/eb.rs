//! Ekonomiskt bistånd (EB): which households receive it in each register
//! year, in which months, how much, for what *försörjningshinder*, and the
//! `eb` table (one row per person per household per month with a payment).
//!
//! Receipt is decided per household and year from its latent disadvantage,
//! its shape (single parents most), recent immigration, age and the
//! municipality's local factor, through a persistent latent uniform (an
//! AR(1) process), so that recipients tend to stay recipients and a case
//! paid in December usually continues in January. About 40-45 % of adult
//! recipients are *long-term*: EB in at least 10 of the 12 months.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{ArrayBuilder, Int32Builder, Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::codelists::{Hinder, UNKNOWN_CODE_RATE, UNKNOWN_HINDER};
use crate::dist::{Draw, ar1, normal_cdf, sigmoid};
use crate::error::SynthError;
use crate::ids::{IdColumnStats, RawIds, day_of};
use crate::life::Life;
use crate::municipalities::Geography;
use crate::population::{Household, HouseholdKind, Person, Role};

/// Log-odds of EB for a household with average characteristics.
const BASE_LOG_ODDS: f64 = -4.25;
/// Log-odds of a recipient household being long-term, before its traits.
const LONG_TERM_LOG_ODDS: f64 = -1.9;
/// Year-to-year correlation of the latent deciding receipt.
const RECEIPT_PERSISTENCE: f64 = 0.85;
/// Year-to-year correlation of the latent deciding long-term receipt.
const LONG_TERM_PERSISTENCE: f64 = 0.8;
/// Yearly rise of the payments (the national norm follows prices).
const YEARLY_RISE: f64 = 0.04;

/// One household's EB during one year.
#[derive(Clone, Debug)]
pub(crate) struct EbCase {
    /// Bit `m` set: a payment in month `m` (0 = January).
    pub months: u16,
    /// The household's payment per month (0 where no payment).
    pub payments: [i64; 12],
    /// Per adult: the försörjningshinder.
    pub hinder: Vec<AdultHinder>,
    /// Per adult: whether the adult registers at AF during the year.
    pub registers_at_af: Vec<bool>,
}

impl EbCase {
    /// EB in at least 10 of the 12 months (the national definition).
    pub(crate) fn long_term(&self) -> bool {
        self.months.count_ones() >= 10
    }

    /// Whether a payment was made in month `m` (0-based).
    pub(crate) fn paid_in(&self, m: u32) -> bool {
        self.months & (1 << m) != 0
    }

    /// The first month with a payment (0-based).
    pub(crate) fn first_month(&self) -> u32 {
        self.months.trailing_zeros()
    }

    /// The total paid during the year.
    pub(crate) fn total(&self) -> i64 {
        self.payments.iter().sum()
    }
}

/// An adult's försörjningshinder, possibly changing once during the year.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdultHinder {
    first: Hinder,
    /// From this month (0-based) on, the second code.
    switch: Option<(u32, Hinder)>,
}

impl AdultHinder {
    /// The code in month `m`.
    pub(crate) fn in_month(self, m: u32) -> Hinder {
        match self.switch {
            Some((from, second)) if m >= from => second,
            _ => self.first,
        }
    }
}

/// The persistent latents behind a household's EB decisions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EbLatent {
    receipt: f64,
    long_term: f64,
}

impl EbLatent {
    /// Latents for the reference year.
    pub(crate) fn new(rng: &mut impl Draw) -> EbLatent {
        EbLatent {
            receipt: rng.normal(),
            long_term: rng.normal(),
        }
    }

    /// The latents of the following year.
    pub(crate) fn next(self, rng: &mut impl Draw) -> EbLatent {
        EbLatent {
            receipt: ar1(rng, self.receipt, RECEIPT_PERSISTENCE),
            long_term: ar1(rng, self.long_term, LONG_TERM_PERSISTENCE),
        }
    }
}

/// Months (bits) of `year` in which at least one adult of the household is
/// present.
fn present_months(household: &Household, life: &Life, year: i32) -> u16 {
    let mut mask = 0u16;
    for m in 0..12u8 {
        let first = day_of(year, m + 1, 1);
        let last = if m == 11 {
            day_of(year, 12, 31)
        } else {
            day_of(year, m + 2, 1) - 1
        };
        if (0..household.adults().len()).any(|i| life.present_during(i, first, last)) {
            mask |= 1 << m;
        }
    }
    mask
}

/// Decides whether `household` receives EB in `year`, and if so its months,
/// payments and codes. `local_factor` is the municipality's EB odds
/// multiplier, `shift` the preset's log-odds shift, `previous` the case of
/// the year before.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assign(
    rng: &mut impl Draw,
    household: &Household,
    life: &Life,
    year: i32,
    latent: EbLatent,
    local_factor: f64,
    shift: f64,
    previous: Option<&EbCase>,
) -> Option<EbCase> {
    let present = present_months(household, life, year);
    if present == 0 {
        return None;
    }
    let head = household.head();
    let head_age = head.age_in(year);
    let recent = head.arrived_within(5, year);
    let logit = BASE_LOG_ODDS
        + 1.35 * household.z
        + match household.kind {
            HouseholdKind::SingleParent => 1.0,
            HouseholdKind::Single if head_age < 30 => 0.45,
            HouseholdKind::Couple => -0.5,
            _ => 0.0,
        }
        + if recent { 0.5 } else { 0.0 }
        + if head_age >= 65 { -2.6 } else { 0.0 }
        + local_factor.ln()
        + shift;
    if normal_cdf(latent.receipt) >= sigmoid(logit) {
        return None;
    }

    // Households that arrive during the year can receive EB only after.
    let earliest = present.trailing_zeros();
    let continuing = earliest == 0 && previous.is_some_and(|c| c.paid_in(11));
    let long_logit = LONG_TERM_LOG_ODDS
        + 0.9 * household.z
        + if recent { 0.5 } else { 0.0 }
        + if household.kind == HouseholdKind::SingleParent {
            0.4
        } else {
            0.0
        }
        + if head_age >= 45 { 0.3 } else { 0.0 };
    let available = 12 - earliest;
    let long_term = available >= 10 && normal_cdf(latent.long_term) < sigmoid(long_logit);
    let months = if long_term {
        let n = [12, 11, 10][rng.weighted(&[0.62, 0.22, 0.16])].min(available);
        if continuing {
            contiguous(earliest, n)
        } else {
            block(rng, earliest, n)
        }
    } else if continuing {
        let n = 1 + rng.weighted(&[0.25, 0.2, 0.15, 0.12, 0.09, 0.07, 0.05, 0.04, 0.03]) as u32;
        contiguous(0, n)
    } else {
        short_months(rng, earliest)
    } & present;
    if months == 0 {
        return None;
    }

    let base = match household.kind {
        HouseholdKind::Single | HouseholdKind::SingleParent => 5_600.0,
        HouseholdKind::Couple | HouseholdKind::CoupleWithChildren => 8_800.0,
    } + 2_300.0 * household.children() as f64;
    let rise = 1.0 + YEARLY_RISE * f64::from(year - crate::REFERENCE_YEAR);
    let need = base * rise * (0.2 * rng.normal()).exp();
    let mut payments = [0i64; 12];
    for (m, payment) in payments.iter_mut().enumerate() {
        let m = m as u32;
        if months & (1 << m) == 0 {
            continue;
        }
        let edge =
            m == 0 || months & (1 << (m - 1)) == 0 || m == 11 || months & (1 << (m + 1)) == 0;
        let partial_p = if edge { 0.35 } else { 0.08 };
        let factor = if rng.chance(partial_p) {
            rng.between(0.3, 0.9)
        } else {
            1.0
        };
        *payment = ((need * factor).round() as i64).max(300);
    }

    let youngest_child = household.members[household.adults().len()..]
        .iter()
        .map(|p| p.age_in(year))
        .min();
    let months_paid = months.count_ones();
    let (hinder, registers_at_af) = household
        .adults()
        .iter()
        .enumerate()
        .map(|(i, adult)| {
            let kept = previous
                .and_then(|c| c.hinder.get(i))
                .filter(|_| rng.chance(0.7))
                .map(|h| AdultHinder {
                    first: h.in_month(11),
                    switch: None,
                });
            let h = kept
                .unwrap_or_else(|| hinder(rng, adult, year, youngest_child, months, months_paid));
            let af = registers(rng, adult, year, h.first);
            (h, af)
        })
        .unzip();
    Some(EbCase {
        months,
        payments,
        hinder,
        registers_at_af,
    })
}

/// `n` consecutive months from `start` (cut at December).
fn contiguous(start: u32, n: u32) -> u16 {
    ((((1u32 << n) - 1) << start) & 0xfff) as u16
}

/// `n` consecutive months starting at or after `earliest`.
fn block(rng: &mut impl Draw, earliest: u32, n: u32) -> u16 {
    let start = rng.int(earliest as i32, (12 - n) as i32) as u32;
    (((1u32 << n) - 1) << start) as u16
}

/// One to nine months, mostly in one block, sometimes in two with a gap.
fn short_months(rng: &mut impl Draw, earliest: u32) -> u16 {
    let available = 12 - earliest;
    let n = (1 + rng.weighted(&[0.19, 0.15, 0.13, 0.12, 0.10, 0.09, 0.08, 0.07, 0.07]) as u32)
        .min(available.min(9));
    let gap = rng.int(1, 3) as u32;
    if n >= 2 && n + gap <= available && rng.chance(0.2) {
        let first = rng.int(1, n as i32 - 1) as u32;
        let start = rng.int(earliest as i32, (12 - n - gap) as i32) as u32;
        let a = ((1u32 << first) - 1) << start;
        let b = ((1u32 << (n - first)) - 1) << (start + first + gap);
        (a | b) as u16
    } else {
        block(rng, earliest, n)
    }
}

/// The försörjningshinder of an adult recipient.
fn hinder(
    rng: &mut impl Draw,
    adult: &Person,
    year: i32,
    youngest_child: Option<i32>,
    months: u16,
    months_paid: u32,
) -> AdultHinder {
    use Hinder::*;
    let age = adult.age_in(year);
    let first = if age >= 65 {
        [OtherObstacle, InsufficientIncome, SicknessCompensation][rng.weighted(&[0.5, 0.3, 0.2])]
    } else {
        let parental = if adult.female && youngest_child.is_some_and(|a| a <= 1) {
            0.3
        } else {
            0.02
        };
        let newly_arrived =
            adult.arrived_within(5, year) && !matches!(adult.region.group(), "nordic" | "eu");
        let older = if age >= 50 { 0.15 } else { 0.0 };
        // (code, weight)
        let table: &[(Hinder, f64)] = if newly_arrived {
            &[
                (UnemployedWaiting, 0.05),
                (UnemployedInsufficient, 0.05),
                (UnemployedNoBenefit, 0.28),
                (SickCertified, 0.03),
                (IllHealthUncertified, 0.03),
                (SocialObstacles, 0.05),
                (LanguageObstacle, 0.15),
                (SfiStudent, 0.20),
                (NoEstablishmentBenefit, 0.08),
                (InsufficientIncome, 0.04),
            ]
        } else {
            &[
                (UnemployedWaiting, 0.10),
                (UnemployedInsufficient, 0.10),
                (UnemployedNoBenefit, 0.30),
                (SickCertified, 0.09),
                (SicknessCompensation, 0.05),
                (IllHealthUncertified, 0.06),
                (SocialObstacles, 0.14),
                (InsufficientIncome, 0.07),
                (OtherObstacle, 0.04),
            ]
        };
        let mut weights: Vec<f64> = table.iter().map(|(_, w)| *w).collect();
        for (w, (code, _)) in weights.iter_mut().zip(table) {
            if code.group() == "sickness" {
                *w += older / 3.0;
            }
        }
        weights.push(parental);
        let i = rng.weighted(&weights);
        table.get(i).map_or(ParentalLeave, |(code, _)| *code)
    };
    // Waiting for unemployment benefit often turns into "insufficient".
    let switch = if first == UnemployedWaiting && months_paid >= 3 && rng.chance(0.4) {
        let paid: Vec<u32> = (0..12).filter(|m| months & (1 << m) != 0).collect();
        let at = paid[rng.int(1, paid.len() as i32 - 1) as usize];
        Some((at, UnemployedInsufficient))
    } else {
        None
    };
    AdultHinder { first, switch }
}

/// Whether an adult recipient registers at AF during the year: almost all of
/// those unemployed, few of those sick or on parental leave.
fn registers(rng: &mut impl Draw, adult: &Person, year: i32, first: Hinder) -> bool {
    let age = adult.age_in(year);
    if !(18..=64).contains(&age) {
        return false;
    }
    let p = match first.group() {
        "unemployment" => 0.92,
        "language" => 0.55,
        "sickness" => 0.15,
        "social" => 0.25,
        _ => match first {
            Hinder::NoEstablishmentBenefit => 0.8,
            Hinder::InsufficientIncome => 0.35,
            Hinder::ParentalLeave => 0.05,
            _ => 0.2,
        },
    };
    rng.chance(p)
}

/// The `eb` table under construction.
#[derive(Debug)]
pub(crate) struct EbRows {
    personnr: StringBuilder,
    kommun: StringBuilder,
    period: Int32Builder,
    hushall_id: Int64Builder,
    roll: StringBuilder,
    utbetalt: Int64Builder,
    forsorjningshinder: StringBuilder,
    /// Identifier and code statistics of the rows so far.
    pub stats: IdColumnStats,
}

impl EbRows {
    /// The table's schema.
    pub(crate) fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("personnr", DataType::Utf8, false),
            Field::new("kommun", DataType::Utf8, false),
            Field::new("period", DataType::Int32, false),
            Field::new("hushall_id", DataType::Int64, false),
            Field::new("roll", DataType::Utf8, false),
            Field::new("utbetalt", DataType::Int64, false),
            Field::new("forsorjningshinder", DataType::Utf8, true),
        ]))
    }

    pub(crate) fn new() -> EbRows {
        EbRows {
            personnr: StringBuilder::new(),
            kommun: StringBuilder::new(),
            period: Int32Builder::new(),
            hushall_id: Int64Builder::new(),
            roll: StringBuilder::new(),
            utbetalt: Int64Builder::new(),
            forsorjningshinder: StringBuilder::new(),
            stats: IdColumnStats::default(),
        }
    }

    /// Rows appended so far.
    pub(crate) fn len(&self) -> usize {
        self.period.len()
    }

    /// Appends the rows of one recipient household for `year`: one row per
    /// month with a payment and member present in that month; `months`
    /// counts the rows (months) of each member.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_household(
        &mut self,
        rng: &mut impl Draw,
        ids: &RawIds,
        geo: &Geography,
        household: &Household,
        life: &Life,
        case: &EbCase,
        year: i32,
        household_id: i64,
        months: &mut [u32],
    ) {
        for m in 0..12 {
            if !case.paid_in(m) {
                continue;
            }
            let first = day_of(year, m as u8 + 1, 1);
            let last = if m == 11 {
                day_of(year, 12, 31)
            } else {
                day_of(year, m as u8 + 2, 1) - 1
            };
            let kommun = &geo.municipalities[life.municipality_at(first)].code;
            for (i, person) in household.members.iter().enumerate() {
                if !life.present_during(i, first, last) {
                    continue;
                }
                months[i] += 1;
                let (pnr, old) = person.ids.at(first.max(life.arrivals[i]));
                self.stats.old_number_rows += u64::from(old);
                let raw = ids.write(rng, pnr, &mut self.stats);
                self.personnr.append_value(raw);
                self.kommun.append_value(kommun);
                self.period.append_value(year * 100 + m as i32 + 1);
                self.hushall_id.append_value(household_id);
                self.roll.append_value(person.role.code());
                self.utbetalt.append_value(case.payments[m as usize]);
                match case.hinder.get(i) {
                    Some(_) if person.role != Role::Child && rng.chance(UNKNOWN_CODE_RATE) => {
                        self.stats.unknown("forsorjningshinder");
                        self.stats.unknown_rows += 1;
                        self.forsorjningshinder.append_value(UNKNOWN_HINDER);
                    }
                    Some(h) => self.forsorjningshinder.append_value(h.in_month(m).code()),
                    None => self.forsorjningshinder.append_null(),
                }
            }
        }
    }

    /// The rows appended so far as a record batch; the builders start over.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, SynthError> {
        RecordBatch::try_new(
            EbRows::schema(),
            vec![
                Arc::new(self.personnr.finish()),
                Arc::new(self.kommun.finish()),
                Arc::new(self.period.finish()),
                Arc::new(self.hushall_id.finish()),
                Arc::new(self.roll.finish()),
                Arc::new(self.utbetalt.finish()),
                Arc::new(self.forsorjningshinder.finish()),
            ],
        )
        .map_err(|source| SynthError::Arrow {
            table: "eb",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;

    #[test]
    fn short_spells_have_at_most_nine_months_after_arrival() {
        let mut rng = chunk_rng(1, 0);
        for earliest in [0, 4, 11] {
            for _ in 0..2_000 {
                let months = short_months(&mut rng, earliest);
                assert!((1..=9).contains(&months.count_ones()));
                assert_eq!(months & ((1 << earliest) - 1), 0);
                assert_eq!(months >> 12, 0);
            }
        }
    }

    #[test]
    fn blocks_are_contiguous() {
        let mut rng = chunk_rng(2, 0);
        for n in 1..=12 {
            let months = block(&mut rng, 0, n);
            assert_eq!(months.count_ones(), n);
            let shifted = months >> months.trailing_zeros();
            assert_eq!(shifted & (shifted + 1), 0, "{months:b}");
        }
    }
}
