//! Arbetsförmedlingen (AF): registrations as sequences of spells, and the
//! `af` table (one row per spell).
//!
//! A registration starts with a spell as a job seeker (openly unemployed,
//! part-time unemployed, ...), may move into a programme and back, and ends
//! with an exit reason (work, work with subsidy, studies, other, unknown).
//! Intermediate spells end with the `transfer` exit code. Every registration
//! in the file overlaps one of the register years; its spells are all
//! written, also those before or after, so that exits can be followed up.
//! Spells still running at the extraction date are open (no end, no exit
//! reason); a spell running when the person emigrates or dies ends then,
//! with the exit reason "other".
//!
//! Who registers and for how long depends on EB status: long-term recipients
//! have longer spells and reach the guarantee programmes more often;
//! registrants without EB are often insured (a-kassa).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{ArrayBuilder, Date32Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::codelists::{
    Category, Exit, Program, UNKNOWN_CATEGORY, UNKNOWN_CODE_RATE, UNKNOWN_EXIT, UNKNOWN_PROGRAM,
};
use crate::dist::{Draw, sigmoid};
use crate::error::SynthError;
use crate::ids::{IdColumnStats, RawIds, day_of};
use crate::population::Person;

/// Log-odds of registering at AF during the year for a person aged 16-64
/// without EB, before their traits.
const REGISTER_LOG_ODDS: f64 = -2.8;

/// Share of closed spells written with an end before their start.
pub(crate) const BROKEN_SPELL_RATE: f64 = 0.000_5;

/// Which kind of job seeker, for the parameters of their registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// No EB, no unemployment insurance.
    Uninsured,
    /// No EB, insured with an a-kassa.
    Insured,
    /// EB recipient, short-term.
    EbShort,
    /// EB recipient, long-term (10+ months).
    EbLong,
}

/// One AF spell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spell {
    /// First day (days since the epoch).
    pub start: i32,
    /// Last day, `None` while open at the extraction date.
    pub end: Option<i32>,
    pub category: Category,
    pub program: Option<Program>,
    /// `None` while open.
    pub exit: Option<Exit>,
}

impl Spell {
    /// Whether the spell covers `day`.
    pub(crate) fn covers(&self, day: i32) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }

    /// Days of the spell within `from..=to`.
    pub(crate) fn days_within(&self, from: i32, to: i32, horizon: i32) -> i32 {
        let end = self.end.unwrap_or(horizon).min(to);
        (end - self.start.max(from) + 1).max(0)
    }

    /// Unemployment-insurance days count for this category (openly or
    /// part-time unemployed), at this fraction of a full day.
    pub(crate) fn benefit_share(&self) -> f64 {
        match self.category {
            Category::OpenlyUnemployed => 1.0,
            Category::PartTimeUnemployed
            | Category::HourlyEmployed
            | Category::TemporaryEmployed => 0.5,
            _ => 0.0,
        }
    }

    /// Whether being in this spell means not employed.
    pub(crate) fn without_work(&self) -> bool {
        matches!(
            self.category.group(),
            "unemployed" | "programme" | "obstacle"
        )
    }
}

/// Whether a person without EB registers at AF during `year`.
pub(crate) fn registers_without_eb(rng: &mut impl Draw, person: &Person, year: i32) -> bool {
    let age = person.age_in(year);
    if !(16..=64).contains(&age) {
        return false;
    }
    let age_effect = match age {
        16..=17 => -1.5,
        18..=24 => 0.45,
        55..=64 => -0.1,
        _ => 0.0,
    };
    let recent = if person.arrived_within(5, year) {
        0.8
    } else {
        0.0
    };
    rng.chance(sigmoid(
        REGISTER_LOG_ODDS + 0.75 * person.z + age_effect + recent,
    ))
}

/// One planned spell before it is placed in time.
struct Planned {
    category: Category,
    program: Option<Program>,
    days: i32,
}

/// Whether an unemployed person is insured with an a-kassa: more often
/// with less disadvantage, rarely when newly arrived.
pub(crate) fn insured(rng: &mut impl Draw, person: &Person) -> bool {
    let recent = if person.arrived_within(3, crate::REFERENCE_YEAR) {
        -1.5
    } else {
        0.0
    };
    rng.chance(sigmoid(0.9 - 1.0 * person.z + recent))
}

/// The spells of one person for `year`: one registration overlapping the
/// year, sometimes followed by another. `anchor` is the first day of the
/// person's EB, if any; `earliest` the first day the person can register.
pub(crate) fn spells(
    rng: &mut impl Draw,
    profile: Profile,
    person: &Person,
    year: i32,
    anchor: Option<i32>,
    earliest: i32,
    horizon: i32,
) -> Vec<Spell> {
    let year_start = day_of(year, 1, 1);
    let year_end = day_of(year, 12, 31);
    let earliest = earliest.max(day_of(year - 2, 1, 1));
    let newly_arrived = person.arrived_within(3, year)
        && !matches!(person.region.group(), "nordic" | "eu" | "sweden");

    let mut out = Vec::new();
    let mut next_start: Option<i32> = None;
    for _ in 0..3 {
        let plan = plan_registration(
            rng,
            profile,
            person.age_in(year),
            newly_arrived && out.is_empty(),
        );
        let length: i32 = plan.iter().map(|p| p.days).sum();
        let start = match next_start {
            Some(day) => day,
            None => {
                let lo = earliest.max(year_start - length + 1).min(year_end);
                let target = match (profile, anchor) {
                    (Profile::EbLong, Some(a)) => a - rng.exponential(200.0) as i32,
                    (Profile::EbShort, Some(a)) => a + (30.0 + 45.0 * rng.normal()) as i32,
                    _ => rng.int(lo, year_end),
                };
                target.clamp(lo, year_end)
            }
        };
        let mut day = start;
        let mut closed_at = None;
        for (i, p) in plan.iter().enumerate() {
            if day > horizon {
                break;
            }
            let end = day + p.days - 1;
            let last = i + 1 == plan.len();
            let (end, exit) = if end >= horizon {
                (None, None)
            } else if last {
                (Some(end), Some(exit_reason(rng, profile, p.program)))
            } else {
                (Some(end), Some(Exit::Transfer))
            };
            out.push(Spell {
                start: day,
                end,
                category: p.category,
                program: p.program,
                exit,
            });
            match end {
                Some(end) if last => closed_at = Some(end),
                Some(end) => day = end + 1,
                None => break,
            }
        }
        // Re-registration after a closed registration, within the year.
        let again = match profile {
            Profile::Uninsured => 0.12,
            Profile::Insured => 0.15,
            Profile::EbShort => 0.30,
            Profile::EbLong => 0.35,
        };
        match closed_at {
            Some(end) if end + 14 < year_end && rng.chance(again) => {
                let start = end + rng.int(14, 150);
                if start > year_end {
                    break;
                }
                next_start = Some(start);
            }
            _ => break,
        }
    }
    out
}

/// The categories, programmes and durations of one registration.
fn plan_registration(
    rng: &mut impl Draw,
    profile: Profile,
    age: i32,
    newly_arrived: bool,
) -> Vec<Planned> {
    let mut plan = Vec::with_capacity(4);
    let mut unemployed_days = 0;
    if newly_arrived && rng.chance(0.5) {
        plan.push(Planned {
            category: Category::ProgrammeEstablishment,
            program: Some(Program::Establishment),
            days: duration(rng, 540.0, 0.4),
        });
    }
    let (first_weights, median) = match profile {
        Profile::Uninsured => ([0.62, 0.10, 0.06, 0.05, 0.07, 0.10], 75.0),
        Profile::Insured => ([0.70, 0.15, 0.06, 0.06, 0.01, 0.02], 100.0),
        Profile::EbShort => ([0.72, 0.06, 0.07, 0.03, 0.0, 0.12], 130.0),
        Profile::EbLong => ([0.70, 0.03, 0.04, 0.02, 0.0, 0.21], 230.0),
    };
    let first = [
        Category::OpenlyUnemployed,
        Category::PartTimeUnemployed,
        Category::HourlyEmployed,
        Category::TemporaryEmployed,
        Category::JobChanger,
        Category::WithObstacle,
    ][rng.weighted(&first_weights)];
    let days = duration(rng, median, 0.9);
    unemployed_days += days;
    plan.push(Planned {
        category: first,
        program: None,
        days,
    });
    let (to_programme, back_to_search) = match profile {
        Profile::Uninsured => (0.25, 0.45),
        Profile::Insured => (0.30, 0.45),
        Profile::EbShort => (0.40, 0.5),
        Profile::EbLong => (0.62, 0.6),
    };
    // Part-time workers and job changers rarely enter programmes.
    let mut p = if matches!(first.group(), "unemployed" | "obstacle") {
        to_programme
    } else {
        to_programme * 0.3
    };
    while plan.len() < 6 && rng.chance(p) {
        let program = programme(rng, age, unemployed_days);
        let days = programme_duration(rng, program);
        if program.group() == "guarantee" {
            unemployed_days += days;
        }
        plan.push(Planned {
            category: match program.group() {
                "subsidised_employment" => Category::SubsidisedEmployment,
                _ => Category::ProgrammeActivitySupport,
            },
            program: Some(program),
            days,
        });
        if plan.len() >= 6 || !rng.chance(back_to_search) {
            break;
        }
        let days = duration(rng, median * 0.6, 0.8);
        unemployed_days += days;
        plan.push(Planned {
            category: Category::OpenlyUnemployed,
            program: None,
            days,
        });
        p = to_programme * 0.7;
    }
    plan
}

fn duration(rng: &mut impl Draw, median: f64, sigma: f64) -> i32 {
    (rng.lognormal(median, sigma).round() as i32).clamp(5, 1_600)
}

/// A programme for someone aged `age` unemployed `days` so far: the
/// guarantees once unemployment is long (90 days under 25, 420 days from 25).
fn programme(rng: &mut impl Draw, age: i32, days: i32) -> Program {
    let guarantee = if age < 25 { days >= 90 } else { days >= 420 };
    if guarantee && rng.chance(0.8) {
        return if age < 25 {
            Program::YouthGuarantee
        } else {
            Program::JobGuarantee
        };
    }
    let long = if days >= 300 { 0.07 } else { 0.0 };
    let table = [
        (Program::LabourMarketTraining, 0.22),
        (Program::PreparatoryTraining, 0.15),
        (Program::WorkPractice, 0.20),
        (Program::TryOutPlacement, 0.05),
        (Program::NewStartJob, 0.09),
        (Program::WageSubsidy, 0.07),
        (Program::ExtraJob, long),
        (Program::IntroductionJob, 0.04),
        (Program::StartUp, 0.03),
    ];
    let weights: Vec<f64> = table.iter().map(|t| t.1).collect();
    table[rng.weighted(&weights)].0
}

fn programme_duration(rng: &mut impl Draw, program: Program) -> i32 {
    let median = match program {
        Program::JobGuarantee | Program::YouthGuarantee => 320.0,
        Program::LabourMarketTraining => 110.0,
        Program::PreparatoryTraining => 90.0,
        Program::WorkPractice => 80.0,
        Program::TryOutPlacement => 40.0,
        Program::NewStartJob => 280.0,
        Program::WageSubsidy => 400.0,
        Program::ExtraJob => 330.0,
        Program::IntroductionJob => 300.0,
        Program::StartUp => 180.0,
        Program::Establishment => 540.0,
    };
    duration(rng, median, 0.6)
}

/// Why a registration ended.
fn exit_reason(rng: &mut impl Draw, profile: Profile, last: Option<Program>) -> Exit {
    if last.is_some_and(|p| p.group() == "subsidised_employment") && rng.chance(0.5) {
        return Exit::WorkWageSubsidy;
    }
    let groups = match profile {
        Profile::Uninsured => [0.50, 0.07, 0.12, 0.17, 0.14],
        Profile::Insured => [0.60, 0.07, 0.07, 0.14, 0.12],
        Profile::EbShort => [0.32, 0.12, 0.11, 0.22, 0.23],
        Profile::EbLong => [0.16, 0.16, 0.09, 0.26, 0.33],
    };
    match rng.weighted(&groups) {
        0 => [Exit::WorkFullTime, Exit::WorkPartTime, Exit::WorkTemporary]
            [rng.weighted(&[0.55, 0.25, 0.2])],
        1 => [Exit::WorkNewStart, Exit::WorkWageSubsidy][rng.weighted(&[0.5, 0.5])],
        2 => Exit::Studies,
        3 => Exit::Other,
        _ => [Exit::ContactLost, Exit::Unknown][rng.weighted(&[0.7, 0.3])],
    }
}

/// The `af` table under construction.
#[derive(Debug)]
pub(crate) struct AfRows {
    personnummer: StringBuilder,
    kommun: StringBuilder,
    sokandekategori: StringBuilder,
    program: StringBuilder,
    startdatum: Date32Builder,
    slutdatum: Date32Builder,
    avslutsorsak: StringBuilder,
    /// Identifier and code statistics of the rows so far.
    pub stats: IdColumnStats,
    /// Spells written with an end before their start.
    pub broken: u64,
    /// Spells written without an end.
    pub open: u64,
}

impl AfRows {
    /// The table's schema.
    pub(crate) fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("personnummer", DataType::Utf8, false),
            Field::new("kommun", DataType::Utf8, false),
            Field::new("sokandekategori", DataType::Utf8, false),
            Field::new("program", DataType::Utf8, true),
            Field::new("startdatum", DataType::Date32, false),
            Field::new("slutdatum", DataType::Date32, true),
            Field::new("avslutsorsak", DataType::Utf8, true),
        ]))
    }

    pub(crate) fn new() -> AfRows {
        AfRows {
            personnummer: StringBuilder::new(),
            kommun: StringBuilder::new(),
            sokandekategori: StringBuilder::new(),
            program: StringBuilder::new(),
            startdatum: Date32Builder::new(),
            slutdatum: Date32Builder::new(),
            avslutsorsak: StringBuilder::new(),
            stats: IdColumnStats::default(),
            broken: 0,
            open: 0,
        }
    }

    /// Rows appended so far.
    pub(crate) fn len(&self) -> usize {
        self.startdatum.len()
    }

    /// Appends one spell of `person`, registered in `kommun`.
    pub(crate) fn push(
        &mut self,
        rng: &mut impl Draw,
        ids: &RawIds,
        person: &Person,
        spell: &Spell,
        kommun: &str,
    ) {
        let mut unknown = false;
        let (pnr, old) = person.ids.at(spell.start);
        self.stats.old_number_rows += u64::from(old);
        let raw = ids.write(rng, pnr, &mut self.stats);
        self.personnummer.append_value(raw);
        self.kommun.append_value(kommun);
        if rng.chance(UNKNOWN_CODE_RATE) {
            self.stats.unknown("sokandekategori");
            unknown = true;
            self.sokandekategori.append_value(UNKNOWN_CATEGORY);
        } else {
            self.sokandekategori.append_value(spell.category.code());
        }
        match spell.program {
            Some(_) if rng.chance(UNKNOWN_CODE_RATE) => {
                self.stats.unknown("program");
                unknown = true;
                self.program.append_value(UNKNOWN_PROGRAM);
            }
            Some(p) => self.program.append_value(p.code()),
            None => self.program.append_null(),
        }
        self.startdatum.append_value(spell.start);
        match spell.end {
            Some(_) if rng.chance(BROKEN_SPELL_RATE) => {
                self.broken += 1;
                self.slutdatum.append_value(spell.start - rng.int(1, 30));
            }
            Some(end) => self.slutdatum.append_value(end),
            None => {
                self.open += 1;
                self.slutdatum.append_null();
            }
        }
        match spell.exit {
            Some(_) if rng.chance(UNKNOWN_CODE_RATE) => {
                self.stats.unknown("avslutsorsak");
                unknown = true;
                self.avslutsorsak.append_value(UNKNOWN_EXIT);
            }
            Some(exit) => self.avslutsorsak.append_value(exit.code()),
            None => self.avslutsorsak.append_null(),
        }
        if unknown {
            self.stats.unknown_rows += 1;
        }
    }

    /// The rows appended so far as a record batch; the builders start over.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, SynthError> {
        RecordBatch::try_new(
            AfRows::schema(),
            vec![
                Arc::new(self.personnummer.finish()),
                Arc::new(self.kommun.finish()),
                Arc::new(self.sokandekategori.finish()),
                Arc::new(self.program.finish()),
                Arc::new(self.startdatum.finish()),
                Arc::new(self.slutdatum.finish()),
                Arc::new(self.avslutsorsak.finish()),
            ],
        )
        .map_err(|source| SynthError::Arrow {
            table: "af",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;
    use crate::ids::IdAllocator;
    use crate::municipalities::Geography;
    use crate::population::household;
    use crate::preset::Preset;

    fn adults(n: usize) -> Vec<Person> {
        let geo = Geography::for_preset(Preset::Tiny);
        let mut rng = chunk_rng(21, 0);
        let mut alloc = IdAllocator::new(0.0, 1.0);
        let mut out = Vec::new();
        while out.len() < n {
            let hh = household(&mut rng, &mut alloc, &geo.municipalities[0]);
            out.extend(hh.adults().iter().filter(|p| p.age() <= 64).cloned());
        }
        out
    }

    #[test]
    fn registrations_overlap_the_year_and_chain_without_gaps() {
        let horizon = day_of(2026, 6, 30);
        let (from, to) = (day_of(2023, 1, 1), day_of(2023, 12, 31));
        let mut rng = chunk_rng(22, 0);
        for (i, person) in adults(2_000).iter().enumerate() {
            let profile = [
                Profile::Uninsured,
                Profile::Insured,
                Profile::EbShort,
                Profile::EbLong,
            ][i % 4];
            let anchor = (i % 4 >= 2).then_some(day_of(2023, 3, 1));
            let spells = spells(&mut rng, profile, person, 2023, anchor, i32::MIN, horizon);
            assert!(!spells.is_empty());
            // Each registration (spells chained by `transfer`) overlaps 2023.
            for registration in spells.split_inclusive(|s| s.exit != Some(Exit::Transfer)) {
                let first = registration[0];
                let last = registration[registration.len() - 1];
                assert!(first.start <= to);
                assert!(last.end.is_none_or(|end| end >= from));
            }
            for pair in spells.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let end = a.end.expect("only the last spell can be open");
                assert!(b.start > end);
                if a.exit == Some(Exit::Transfer) {
                    assert_eq!(b.start, end + 1);
                }
            }
            for s in &spells {
                assert_eq!(s.end.is_none(), s.exit.is_none());
                if let Some(end) = s.end {
                    assert!(end >= s.start);
                    assert!(end < horizon);
                }
            }
        }
    }

    #[test]
    fn long_term_recipients_reach_the_guarantees_more_often() {
        let horizon = day_of(2026, 6, 30);
        let mut rng = chunk_rng(23, 0);
        let people = adults(4_000);
        let share = |profile, rng: &mut rand_chacha::ChaCha8Rng| {
            let with = people
                .iter()
                .filter(|p| {
                    spells(
                        rng,
                        profile,
                        p,
                        2023,
                        Some(day_of(2023, 1, 1)),
                        i32::MIN,
                        horizon,
                    )
                    .iter()
                    .any(|s| s.program.is_some_and(|p| p.group() == "guarantee"))
                })
                .count();
            with as f64 / people.len() as f64
        };
        let long = share(Profile::EbLong, &mut rng);
        let other = share(Profile::Uninsured, &mut rng);
        assert!(long > 1.5 * other, "long-term {long}, others {other}");
    }
}
