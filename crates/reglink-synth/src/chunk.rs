//! One chunk of the population, generated on its own: households of one
//! municipality, their lives over the register years, and their rows in all
//! three registers.
//!
//! A chunk depends only on the seed, the preset and its index: it has its own
//! random stream ([`chunk_rng`]) and its own stretch of identity numbers
//! ([`IdAllocator`]), so chunks can be generated in any order on any thread
//! and concatenated in index order into the same files.

use reglink_pnr::Pnr;

use crate::af::{self, AfRows, Profile, Spell};
use crate::dist::{Draw, chunk_rng};
use crate::eb::{self, EbCase, EbLatent, EbRows};
use crate::error::SynthError;
use crate::ids::{INVALID_RATE, IdAllocator, IdColumnStats, RawIds, day_of, jan_first};
use crate::life::{self, Life};
use crate::lisa::{Earner, LisaRows, YearFacts};
use crate::municipalities::Geography;
use crate::population::{self, Household, Role};
use crate::preset::{Format, Preset};
use crate::report::EbYear;
use crate::writer::Encoded;
use crate::{LAST_YEAR, REFERENCE_YEAR, YEARS, extraction_date};

/// Most persons planned for one chunk.
const CHUNK_PERSONS: u32 = 40_000;
/// Persons immigrating each year after the reference year, per resident.
const NEWCOMER_RATE: f64 = 0.009;
/// Yearly child benefit per child (SEK).
const CHILD_BENEFIT: i64 = 15_000;

/// One chunk of the plan.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkPlan {
    /// Index, also the random stream.
    pub index: u32,
    /// The municipality (index into the geography).
    pub municipality: usize,
    /// Planned residents in the reference year.
    pub persons: u32,
    /// The chunk's stretch of identity numbers, as fractions.
    pub lo: f64,
    pub hi: f64,
}

/// Splits every municipality into chunks of at most [`CHUNK_PERSONS`].
pub(crate) fn plan(geo: &Geography) -> Vec<ChunkPlan> {
    let total: u64 = geo
        .municipalities
        .iter()
        .map(|m| u64::from(m.population))
        .sum();
    let mut chunks = Vec::new();
    let mut before = 0u64;
    for (municipality, m) in geo.municipalities.iter().enumerate() {
        let n = m.population.div_ceil(CHUNK_PERSONS).max(1);
        for k in 0..n {
            let persons = m.population / n + u32::from(k < m.population % n);
            let lo = before as f64 / total as f64;
            before += u64::from(persons);
            let hi = before as f64 / total as f64;
            chunks.push(ChunkPlan {
                index: chunks.len() as u32,
                municipality,
                persons,
                lo,
                hi,
            });
        }
    }
    chunks
}

/// What one register's rows of a chunk add up to.
#[derive(Clone, Debug, Default)]
pub(crate) struct TableSummary {
    pub rows: u64,
    pub persons: u64,
    pub stats: IdColumnStats,
}

/// Everything a chunk contributes to the report.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunkSummary {
    pub persons: u64,
    pub households: u64,
    pub eb: TableSummary,
    pub af: TableSummary,
    pub lisa: TableSummary,
    pub af_broken: u64,
    pub af_open: u64,
    pub eb_years: Vec<EbYear>,
    /// Persons aged 18-64 present in the reference year, and those of them
    /// with an AF spell overlapping it.
    pub adults: u64,
    pub adults_at_af: u64,
    pub crosswalk: Vec<(Pnr, Pnr)>,
}

impl TableSummary {
    fn merge(&mut self, other: &TableSummary) {
        self.rows += other.rows;
        self.persons += other.persons;
        self.stats.merge(&other.stats);
    }
}

impl ChunkSummary {
    /// Adds the summary of the next chunk.
    pub(crate) fn merge(&mut self, other: ChunkSummary) {
        self.persons += other.persons;
        self.households += other.households;
        self.eb.merge(&other.eb);
        self.af.merge(&other.af);
        self.lisa.merge(&other.lisa);
        self.af_broken += other.af_broken;
        self.af_open += other.af_open;
        if self.eb_years.is_empty() {
            self.eb_years = other.eb_years;
        } else {
            for (mine, theirs) in self.eb_years.iter_mut().zip(&other.eb_years) {
                mine.households += theirs.households;
                mine.persons += theirs.persons;
                mine.adult_recipients += theirs.adult_recipients;
                mine.long_term_adults += theirs.long_term_adults;
                mine.adults_at_af += theirs.adults_at_af;
            }
        }
        self.adults += other.adults;
        self.adults_at_af += other.adults_at_af;
        self.crosswalk.extend(other.crosswalk);
    }
}

/// A generated chunk: its three tables, encoded, and its summary.
#[derive(Debug)]
pub(crate) struct ChunkOutput {
    pub eb: Encoded,
    pub af: Encoded,
    pub lisa: Encoded,
    pub summary: ChunkSummary,
}

/// A household with everything that happens to it.
struct Resident {
    household: Household,
    life: Life,
    id: i64,
    eb: Vec<Option<EbCase>>,
}

/// Generates chunk `plan` of `preset` under `seed`.
pub(crate) fn generate(
    seed: u64,
    preset: Preset,
    format: Format,
    geo: &Geography,
    plan: &ChunkPlan,
) -> Result<ChunkOutput, SynthError> {
    let mut rng = chunk_rng(seed, plan.index);
    let rng = &mut rng;
    let households = draw_households(rng, geo, plan);
    let residents = assign_eb(rng, geo, preset, plan, households);
    let ctx = Ctx {
        geo,
        ids: RawIds {
            reference: extraction_date(),
            invalid_rate: INVALID_RATE,
        },
        horizon: extraction_date().days_since_epoch(),
    };
    let mut registers = Registers::new();
    for r in &residents {
        registers.household(rng, &ctx, r);
    }
    registers.finish(format)
}

/// The households of the chunk with their lives: those living in the
/// municipality in the reference year, then the newcomers of each later
/// year.
fn draw_households(
    rng: &mut impl Draw,
    geo: &Geography,
    plan: &ChunkPlan,
) -> Vec<(Household, Life)> {
    let mut alloc = IdAllocator::new(plan.lo, plan.hi);
    let municipality = &geo.municipalities[plan.municipality];
    let mut households = Vec::new();
    let mut persons = 0u32;
    while persons < plan.persons {
        let household = population::household(rng, &mut alloc, municipality);
        persons += household.members.len() as u32;
        let life = life::draw(rng, geo, &household, plan.municipality, i32::MIN);
        households.push((household, life));
    }
    for year in REFERENCE_YEAR + 1..=LAST_YEAR {
        let expected = f64::from(plan.persons) * NEWCOMER_RATE;
        let n = expected.floor() as usize + usize::from(rng.chance(expected.fract()));
        for _ in 0..n {
            let household = population::newcomer(rng, &mut alloc, year);
            let from = household.head().arrival;
            let life = life::draw(rng, geo, &household, plan.municipality, from);
            households.push((household, life));
        }
    }
    households
}

/// Decides each household's EB case year by year (a latent propensity that
/// carries over, the local rate where it lives then) and numbers the
/// households.
fn assign_eb(
    rng: &mut impl Draw,
    geo: &Geography,
    preset: Preset,
    plan: &ChunkPlan,
    households: Vec<(Household, Life)>,
) -> Vec<Resident> {
    let shift = preset.eb_log_odds_shift();
    let id_base = (i64::from(plan.index) + 1) * 10_000_000;
    households
        .into_iter()
        .enumerate()
        .map(|(i, (household, life))| {
            let mut latent = EbLatent::new(rng);
            let mut cases: Vec<Option<EbCase>> = Vec::with_capacity(YEARS.len());
            for (k, year) in YEARS.into_iter().enumerate() {
                if k > 0 {
                    latent = latent.next(rng);
                }
                let place = life.municipality_at(jan_first(year).max(life.from));
                let local = geo.municipalities[place].eb_factor;
                let previous = cases.last().and_then(Option::as_ref);
                let case = eb::assign(rng, &household, &life, year, latent, local, shift, previous);
                cases.push(case);
            }
            Resident {
                household,
                life,
                id: id_base + i as i64 + 1,
                eb: cases,
            }
        })
        .collect()
}

/// What every household of a chunk is written with.
struct Ctx<'a> {
    geo: &'a Geography,
    /// How identity numbers are written (forms, invalid ones).
    ids: RawIds,
    /// The extraction date (days since the epoch): open spells end there.
    horizon: i32,
}

/// The chunk's rows of the three registers as they are written, and what
/// they add up to.
struct Registers {
    eb: EbRows,
    af: AfRows,
    lisa: LisaRows,
    summary: ChunkSummary,
}

impl Registers {
    /// No rows yet; a count per register year.
    fn new() -> Registers {
        Registers {
            eb: EbRows::new(),
            af: AfRows::new(),
            lisa: LisaRows::new(),
            summary: ChunkSummary {
                eb_years: YEARS
                    .map(|year| EbYear {
                        year,
                        ..EbYear::default()
                    })
                    .to_vec(),
                ..ChunkSummary::default()
            },
        }
    }

    /// Writes the rows of household `r`: its EB rows, then each member's AF
    /// spells and LISA rows.
    fn household(&mut self, rng: &mut impl Draw, ctx: &Ctx<'_>, r: &Resident) {
        let hh = &r.household;
        self.summary.households += 1;
        self.summary.persons += hh.members.len() as u64;
        self.summary
            .crosswalk
            .extend(hh.members.iter().flat_map(|p| p.ids.entries()));
        self.eb_rows(rng, ctx, r);
        for i in 0..hh.members.len() {
            let insured = af::insured(rng, &hh.members[i]);
            let spells = af_spells(rng, r, i, insured, ctx.horizon);
            self.af_rows(rng, ctx, r, i, &spells);
            self.lisa_rows(rng, ctx, r, i, insured, &spells);
        }
    }

    /// The EB rows of household `r`, year by year, and the yearly counts of
    /// recipients.
    fn eb_rows(&mut self, rng: &mut impl Draw, ctx: &Ctx<'_>, r: &Resident) {
        let hh = &r.household;
        let n_adults = hh.adults().len();
        let mut eb_seen = vec![false; hh.members.len()];
        for (k, year) in YEARS.into_iter().enumerate() {
            let Some(case) = &r.eb[k] else { continue };
            let mut months = vec![0u32; hh.members.len()];
            self.eb.push_household(
                rng,
                &ctx.ids,
                ctx.geo,
                hh,
                &r.life,
                case,
                year,
                r.id,
                &mut months,
            );
            let counts = &mut self.summary.eb_years[k];
            counts.households += 1;
            counts.persons += months.iter().filter(|m| **m > 0).count() as u64;
            let adults = &months[..n_adults];
            counts.adult_recipients += adults.iter().filter(|m| **m > 0).count() as u64;
            counts.long_term_adults += adults.iter().filter(|m| **m >= 10).count() as u64;
            for (all, now) in eb_seen.iter_mut().zip(&months) {
                *all |= *now > 0;
            }
        }
        self.summary.eb.persons += eb_seen.iter().filter(|s| **s).count() as u64;
    }

    /// The AF rows of member `i` of `r` (its `spells`), and the counts of
    /// EB adults at AF while paid and of adults at AF in the reference
    /// year.
    fn af_rows(
        &mut self,
        rng: &mut impl Draw,
        ctx: &Ctx<'_>,
        r: &Resident,
        i: usize,
        spells: &[Spell],
    ) {
        let person = &r.household.members[i];
        for spell in spells {
            let place = r.life.municipality_at(spell.start);
            let kommun = &ctx.geo.municipalities[place].code;
            self.af.push(rng, &ctx.ids, person, spell, kommun);
        }
        let summary = &mut self.summary;
        summary.af.persons += u64::from(!spells.is_empty());

        let n_adults = r.household.adults().len();
        for (k, year) in YEARS.into_iter().enumerate() {
            let Some(case) = &r.eb[k] else { continue };
            if i < n_adults
                && recipient_in(r, i, case, year)
                && at_af_while_paid(spells, case, year)
            {
                summary.eb_years[k].adults_at_af += 1;
            }
        }
        let (first, last) = (jan_first(REFERENCE_YEAR), day_of(REFERENCE_YEAR, 12, 31));
        if (18..=64).contains(&person.age()) && r.life.present_during(i, first, last) {
            summary.adults += 1;
            let overlaps = spells
                .iter()
                .any(|s| s.start <= last && s.end.unwrap_or(ctx.horizon) >= first);
            summary.adults_at_af += u64::from(overlaps);
        }
    }

    /// The LISA rows of member `i` of `r`: one per year in which the member
    /// is 16 or older and lives in Sweden on 31 December.
    fn lisa_rows(
        &mut self,
        rng: &mut impl Draw,
        ctx: &Ctx<'_>,
        r: &Resident,
        i: usize,
        insured: bool,
        spells: &[Spell],
    ) {
        let person = &r.household.members[i];
        let earner = Earner::new(rng, insured);
        let mut in_lisa = false;
        for (k, year) in YEARS.into_iter().enumerate() {
            let dec31 = day_of(year, 12, 31);
            if person.age_in(year) < 16 || !r.life.present_on(i, dec31) {
                continue;
            }
            let facts = year_facts(r, i, k, year, spells, ctx.horizon);
            let kommun = &ctx.geo.municipalities[r.life.municipality_at(dec31)].code;
            self.lisa
                .push(rng, &ctx.ids, person, &earner, year, kommun, &facts);
            in_lisa = true;
        }
        self.summary.lisa.persons += u64::from(in_lisa);
    }

    /// The summary's row counts and id statistics, and the three tables
    /// encoded for `format`.
    fn finish(mut self, format: Format) -> Result<ChunkOutput, SynthError> {
        let summary = &mut self.summary;
        summary.eb.rows = self.eb.len() as u64;
        summary.af.rows = self.af.len() as u64;
        summary.lisa.rows = self.lisa.len() as u64;
        summary.af_broken = self.af.broken;
        summary.af_open = self.af.open;
        summary.eb.stats = std::mem::take(&mut self.eb.stats);
        summary.af.stats = std::mem::take(&mut self.af.stats);
        summary.lisa.stats = std::mem::take(&mut self.lisa.stats);
        Ok(ChunkOutput {
            eb: Encoded::new(self.eb.finish()?, format, "eb")?,
            af: Encoded::new(self.af.finish()?, format, "af")?,
            lisa: Encoded::new(self.lisa.finish()?, format, "lisa")?,
            summary: self.summary,
        })
    }
}

/// What LISA's year `year` (the `k`-th register year) records of member `i`
/// of `r` besides earnings: AF days from `spells`, EB received, child
/// benefit (adults share both equally).
fn year_facts(
    r: &Resident,
    i: usize,
    k: usize,
    year: i32,
    spells: &[Spell],
    horizon: i32,
) -> YearFacts {
    let hh = &r.household;
    let person = &hh.members[i];
    let n_adults = hh.adults().len();
    let mut facts = YearFacts::default();
    facts.add_spells(spells, year, horizon);
    if let Some(case) = &r.eb[k]
        && person.role != Role::Child
    {
        facts.eb_months = case.months.count_ones();
        facts.eb_november = case.paid_in(10);
        facts.eb_amount = case.total() / n_adults as i64;
    }
    if person.role != Role::Child {
        let children = hh.members[n_adults..]
            .iter()
            .filter(|c| c.age_in(year) < 16)
            .count() as i64;
        facts.child_benefit = CHILD_BENEFIT * children / n_adults as i64;
    }
    facts
}

/// Whether member `i` of `r` has an EB row in `year` under `case`.
fn recipient_in(r: &Resident, i: usize, case: &EbCase, year: i32) -> bool {
    (0..12u8).any(|m| {
        let first = day_of(year, m + 1, 1);
        case.paid_in(u32::from(m)) && r.life.present_during(i, first, month_end(year, m))
    })
}

fn month_end(year: i32, m: u8) -> i32 {
    if m == 11 {
        day_of(year, 12, 31)
    } else {
        day_of(year, m + 2, 1) - 1
    }
}

/// Whether an AF spell overlaps a month of `year` with an EB payment.
fn at_af_while_paid(spells: &[Spell], case: &EbCase, year: i32) -> bool {
    let horizon = extraction_date().days_since_epoch();
    (0..12u8).filter(|m| case.paid_in(u32::from(*m))).any(|m| {
        let (first, last) = (day_of(year, m + 1, 1), month_end(year, m));
        spells
            .iter()
            .any(|s| s.start <= last && s.end.unwrap_or(horizon) >= first)
    })
}

/// The AF spells of member `i` of `r` over all register years, cut at the
/// member's departure.
fn af_spells(
    rng: &mut impl Draw,
    r: &Resident,
    i: usize,
    insured: bool,
    horizon: i32,
) -> Vec<Spell> {
    let person = &r.household.members[i];
    let is_adult = i < r.household.adults().len();
    let mut spells: Vec<Spell> = Vec::new();
    for (k, year) in YEARS.into_iter().enumerate() {
        let (first, last) = (jan_first(year), day_of(year, 12, 31));
        if !(16..=64).contains(&person.age_in(year)) || !r.life.present_during(i, first, last) {
            continue;
        }
        let (profile, anchor) = match &r.eb[k] {
            Some(case) if is_adult => {
                if !case.registers_at_af[i] {
                    continue;
                }
                let profile = if case.long_term() {
                    Profile::EbLong
                } else {
                    Profile::EbShort
                };
                let anchor = day_of(year, case.first_month() as u8 + 1, 1);
                (profile, Some(anchor))
            }
            _ => {
                if !af::registers_without_eb(rng, person, year) {
                    continue;
                }
                let profile = if insured {
                    Profile::Insured
                } else {
                    Profile::Uninsured
                };
                (profile, None)
            }
        };
        // Still registered from an earlier year: nothing new.
        let previous_end = match spells.last() {
            Some(s) => match s.end {
                Some(end) if end < first => Some(end),
                _ => continue,
            },
            None => None,
        };
        let earliest = r.life.arrivals[i].max(previous_end.map_or(i32::MIN, |end| end + 14));
        spells.extend(af::spells(
            rng, profile, person, year, anchor, earliest, horizon,
        ));
    }
    cut_at(&mut spells, r.life.departure(i));
    spells
}

/// Ends the spells at `departure` (the first day no longer present): later
/// spells go, a spell running then ends the day before with exit "other".
fn cut_at(spells: &mut Vec<Spell>, departure: i32) {
    if departure == life::NEVER {
        return;
    }
    spells.retain(|s| s.start < departure);
    if let Some(last) = spells.last_mut()
        && last.end.is_none_or(|end| end >= departure)
    {
        last.end = Some(departure - 1);
        last.exit = Some(crate::codelists::Exit::Other);
    }
}
