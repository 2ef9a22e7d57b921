//! Households and the persons in them: ages, sex, region of birth and
//! immigration, education, identity numbers, and a latent *disadvantage*
//! score that the EB, AF and LISA generators all read, which is what makes
//! the three registers correlate as they do in reality.
//!
//! Persons are generated household by household, so that EB households
//! (single adults, couples, with or without children) come out naturally.
//! Ages are as of 31 December of the reference year.

use reglink_pnr::Date;

use crate::REFERENCE_YEAR;
use crate::codelists::{Region, Sun};
use crate::crosswalk::{self, Change, IdHistory};
use crate::dist::Draw;
use crate::ids::{IdAllocator, jan_first};
use crate::municipalities::Municipality;

/// The shape of a household.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HouseholdKind {
    /// One adult.
    Single,
    /// Two adults, no children.
    Couple,
    /// One adult with children.
    SingleParent,
    /// Two adults with children.
    CoupleWithChildren,
}

/// A person's role in the household, as the EB register records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The applicant (`S`).
    Applicant,
    /// The co-applicant, a partner (`M`).
    CoApplicant,
    /// A child (`B`).
    Child,
}

impl Role {
    /// The EB register's `roll` code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Role::Applicant => "S",
            Role::CoApplicant => "M",
            Role::Child => "B",
        }
    }
}

/// One person.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub ids: IdHistory,
    /// Current legal sex (matches the current number).
    pub female: bool,
    pub birth_date: Date,
    pub region: Region,
    /// Year of immigration; `None` for persons born in Sweden.
    pub immigration_year: Option<i32>,
    /// Day of arrival (days since the epoch), `i32::MIN` if born in Sweden.
    pub arrival: i32,
    pub role: Role,
    /// Latent disadvantage: higher means more likely EB, AF, low income.
    pub z: f64,
    pub education: Sun,
}

impl Person {
    /// Age on 31 December of `year`.
    pub(crate) fn age_in(&self, year: i32) -> i32 {
        year - self.birth_date.year()
    }

    /// Age on 31 December of the reference year.
    pub(crate) fn age(&self) -> i32 {
        self.age_in(REFERENCE_YEAR)
    }

    /// Arrived in Sweden at most `years` years before the end of `year`.
    pub(crate) fn arrived_within(&self, years: i32, year: i32) -> bool {
        self.immigration_year.is_some_and(|y| year - y <= years)
    }
}

/// One household.
#[derive(Clone, Debug)]
pub(crate) struct Household {
    pub kind: HouseholdKind,
    /// Adults first (applicant, co-applicant), then children.
    pub members: Vec<Person>,
    /// Household-level latent disadvantage.
    pub z: f64,
}

impl Household {
    /// The adults (applicant and co-applicant).
    pub(crate) fn adults(&self) -> &[Person] {
        let n = self
            .members
            .iter()
            .take_while(|p| p.role != Role::Child)
            .count();
        &self.members[..n]
    }

    /// The number of children.
    pub(crate) fn children(&self) -> usize {
        self.members.len() - self.adults().len()
    }

    /// The applicant.
    pub(crate) fn head(&self) -> &Person {
        &self.members[0]
    }
}

/// Ages of single adults: `(from, to, weight)`.
const SINGLE_AGES: [(i32, i32, f64); 9] = [
    (18, 24, 0.14),
    (25, 34, 0.22),
    (35, 44, 0.11),
    (45, 54, 0.12),
    (55, 64, 0.12),
    (65, 74, 0.11),
    (75, 84, 0.11),
    (85, 96, 0.065),
    (97, 104, 0.006),
];

/// Ages of the first adult of a childless couple.
const COUPLE_AGES: [(i32, i32, f64); 6] = [
    (20, 34, 0.22),
    (35, 54, 0.16),
    (55, 64, 0.19),
    (65, 74, 0.22),
    (75, 84, 0.15),
    (85, 99, 0.06),
];

/// Regions of birth of persons born abroad, with weights.
const FOREIGN_REGIONS: [(Region, f64); 9] = [
    (Region::Nordic, 0.08),
    (Region::Eu, 0.17),
    (Region::EuropeOther, 0.16),
    (Region::Africa, 0.11),
    (Region::Asia, 0.38),
    (Region::NorthAmerica, 0.02),
    (Region::SouthAmerica, 0.05),
    (Region::Oceania, 0.005),
    (Region::Unknown, 0.025),
];

/// Share of households whose applicant was born abroad, before the local
/// factor.
const FOREIGN_SHARE: f64 = 0.215;

fn band(rng: &mut impl Draw, bands: &[(i32, i32, f64)]) -> i32 {
    let weights: Vec<f64> = bands.iter().map(|b| b.2).collect();
    let (lo, hi, _) = bands[rng.weighted(&weights)];
    rng.int(lo, hi)
}

/// Mean shift of the latent score by region of birth.
fn region_shift(region: Region) -> f64 {
    match region {
        Region::Sweden => 0.0,
        Region::Nordic => 0.15,
        Region::Eu => 0.2,
        Region::EuropeOther => 0.55,
        Region::Africa => 1.0,
        Region::Asia => 0.8,
        Region::NorthAmerica | Region::Oceania => -0.1,
        Region::SouthAmerica => 0.4,
        Region::Unknown => 0.6,
    }
}

fn foreign_region(rng: &mut impl Draw) -> Region {
    let weights: Vec<f64> = FOREIGN_REGIONS.iter().map(|r| r.1).collect();
    FOREIGN_REGIONS[rng.weighted(&weights)].0
}

/// Years since immigration for someone from `region` aged `age`: recent
/// refugee waves for the regions they came from, long-settled migration for
/// the rest.
fn years_in_sweden(rng: &mut impl Draw, region: Region, age: i32) -> i32 {
    let recent_waves = matches!(
        region,
        Region::Africa | Region::Asia | Region::EuropeOther | Region::Unknown
    );
    let (w_new, w_mid, mean_old) = if recent_waves {
        (0.20, 0.40, 12.0)
    } else {
        (0.15, 0.25, 15.0)
    };
    let years = match rng.weighted(&[w_new, w_mid, 1.0 - w_new - w_mid]) {
        0 => rng.int(0, 3),
        1 => rng.int(4, 10),
        _ => 11 + rng.exponential(mean_old) as i32,
    };
    years.min(age)
}

/// Everything about one person except the identity number.
struct Sketch {
    female: bool,
    age: i32,
    region: Region,
    immigration_year: Option<i32>,
    arrival: i32,
    role: Role,
    z: f64,
}

/// Generates one household living in `municipality` during the reference
/// year.
pub(crate) fn household(
    rng: &mut impl Draw,
    alloc: &mut IdAllocator,
    municipality: &Municipality,
) -> Household {
    let kind = [
        HouseholdKind::Single,
        HouseholdKind::Couple,
        HouseholdKind::SingleParent,
        HouseholdKind::CoupleWithChildren,
    ][rng.weighted(&[0.43, 0.345, 0.05, 0.175])];
    let with_children = matches!(
        kind,
        HouseholdKind::SingleParent | HouseholdKind::CoupleWithChildren
    );
    let two_adults = matches!(
        kind,
        HouseholdKind::Couple | HouseholdKind::CoupleWithChildren
    );

    let (head, z) = head(rng, kind, municipality);
    let mut sketches = Vec::with_capacity(6);
    sketches.push(head);
    if two_adults {
        let partner = partner(rng, &mut sketches[0], with_children, z);
        sketches.push(partner);
    }
    if with_children {
        children(rng, kind, z, &mut sketches);
    }

    let members = sketches
        .into_iter()
        .map(|s| person(rng, alloc, s, true))
        .collect();
    Household { kind, members, z }
}

/// The applicant of a household of `kind` in `municipality`: age, sex (of a
/// single adult; a couple's are set with the partner) and migration
/// background, and the household's latent score `z`, returned beside.
fn head(rng: &mut impl Draw, kind: HouseholdKind, municipality: &Municipality) -> (Sketch, f64) {
    let age = match kind {
        HouseholdKind::Single => band(rng, &SINGLE_AGES),
        HouseholdKind::Couple => band(rng, &COUPLE_AGES),
        _ => 22 + rng.int(0, 17) + rng.int(0, 17),
    };
    let female = match kind {
        HouseholdKind::Single => rng.chance(if age >= 75 { 0.62 } else { 0.5 }),
        HouseholdKind::SingleParent => rng.chance(0.76),
        _ => false, // set with the partner
    };

    // Migration background of the household.
    let foreign_p =
        (FOREIGN_SHARE * municipality.foreign_factor * if age >= 65 { 0.65 } else { 1.0 })
            .min(0.85);
    let region = if rng.chance(foreign_p) {
        foreign_region(rng)
    } else {
        Region::Sweden
    };
    let years = (region != Region::Sweden).then(|| years_in_sweden(rng, region, age));
    let recent = years.is_some_and(|y| y <= 5);
    let z = rng.normal() + region_shift(region) + if recent { 0.45 } else { 0.0 };

    let immigration_year = years.map(|y| REFERENCE_YEAR - y);
    let arrival = immigration_year.map_or(i32::MIN, |y| jan_first(y) + rng.int(0, 364));
    let head = Sketch {
        female,
        age,
        region,
        immigration_year,
        arrival,
        role: Role::Applicant,
        z: 0.75 * z + 0.65 * rng.normal(),
    };
    (head, z)
}

/// The co-applicant beside `head` (whose sex it sets: most couples are a
/// man and a woman); partners of a migrant mostly came with them.
fn partner(rng: &mut impl Draw, head: &mut Sketch, with_children: bool, z: f64) -> Sketch {
    let same_sex = rng.chance(0.03);
    let head_is_female = same_sex && rng.chance(0.5);
    head.female = head_is_female;
    let female = if same_sex { head_is_female } else { true };
    let (lo, hi) = if with_children { (20, 62) } else { (18, 104) };
    let age = (f64::from(head.age) + 3.5 * rng.normal()).round() as i32;
    let age = age.clamp(lo, hi);
    let (region, immigration_year, arrival) = if head.region != Region::Sweden {
        if rng.chance(0.72) {
            let y = (head.immigration_year.unwrap_or(REFERENCE_YEAR) + rng.int(-3, 3))
                .clamp(REFERENCE_YEAR - age, REFERENCE_YEAR);
            let arrival = if y == head.immigration_year.unwrap_or(y) {
                head.arrival
            } else {
                jan_first(y) + rng.int(0, 364)
            };
            (head.region, Some(y), arrival)
        } else {
            (Region::Sweden, None, i32::MIN)
        }
    } else if rng.chance(0.07) {
        let region = foreign_region(rng);
        let y = REFERENCE_YEAR - years_in_sweden(rng, region, age);
        (region, Some(y), jan_first(y) + rng.int(0, 364))
    } else {
        (Region::Sweden, None, i32::MIN)
    };
    Sketch {
        female,
        age,
        region,
        immigration_year,
        arrival,
        role: Role::CoApplicant,
        z: 0.75 * z + 0.65 * rng.normal(),
    }
}

/// Adds the children of a household of `kind` to the `parents`' sketches:
/// at least 19 years younger than the youngest parent, born abroad (and
/// arrived with the family) only if born before the family came.
fn children(rng: &mut impl Draw, kind: HouseholdKind, z: f64, parents: &mut Vec<Sketch>) {
    let count = if kind == HouseholdKind::SingleParent {
        1 + rng.weighted(&[0.56, 0.33, 0.11])
    } else {
        1 + rng.weighted(&[0.43, 0.42, 0.12, 0.03])
    };
    let youngest_parent = parents.iter().map(|s| s.age).min().unwrap_or(0);
    let oldest_child = (youngest_parent - 19).clamp(0, 17);
    // The family arrived with the first parent who came from abroad.
    let family = parents
        .iter()
        .find(|s| s.immigration_year.is_some())
        .map(|s| (s.region, s.immigration_year, s.arrival));
    for _ in 0..count {
        let age = rng.int(0, oldest_child);
        let born = REFERENCE_YEAR - age;
        let (region, immigration_year, arrival) = match family {
            Some((region, Some(y), arrival)) if born < y => (region, Some(y), arrival),
            _ => (Region::Sweden, None, i32::MIN),
        };
        parents.push(Sketch {
            female: rng.chance(0.487),
            age,
            region,
            immigration_year,
            arrival,
            role: Role::Child,
            z,
        });
    }
}

/// A single adult who immigrates in `year`, after the reference year: appears
/// only in the later LISA years.
pub(crate) fn newcomer(rng: &mut impl Draw, alloc: &mut IdAllocator, year: i32) -> Household {
    let age = 18 + rng.int(0, 14) + rng.int(0, 14);
    let region = foreign_region(rng);
    let z = rng.normal() + region_shift(region) + 0.45;
    let sketch = Sketch {
        female: rng.chance(0.45),
        age: age - (year - REFERENCE_YEAR),
        region,
        immigration_year: Some(year),
        arrival: jan_first(year) + rng.int(0, 364),
        role: Role::Applicant,
        z: 0.75 * z + 0.65 * rng.normal(),
    };
    let member = person(rng, alloc, sketch, false);
    Household {
        kind: HouseholdKind::Single,
        members: vec![member],
        z,
    }
}

/// Gives a sketched person a number history and an education; only with
/// `may_change` can the person hold a samordningsnummer or change number.
fn person(rng: &mut impl Draw, alloc: &mut IdAllocator, s: Sketch, may_change: bool) -> Person {
    let years_here = s.immigration_year.map(|y| REFERENCE_YEAR - y);
    let change = if may_change {
        number_change(rng, &s, years_here)
    } else {
        Change::None
    };
    let earliest_change = s.arrival.max(jan_first(2022));
    let (birth_date, ids) = crosswalk::assign(
        rng,
        alloc,
        REFERENCE_YEAR - s.age,
        s.female,
        change,
        earliest_change,
    );
    let education = education(rng, &s, birth_date.year(), years_here);
    Person {
        ids,
        female: s.female,
        birth_date,
        region: s.region,
        immigration_year: s.immigration_year,
        arrival: s.arrival,
        role: s.role,
        z: s.z,
        education,
    }
}

/// Decides whether a person holds a samordningsnummer or changes number.
fn number_change(rng: &mut impl Draw, s: &Sketch, years_here: Option<i32>) -> Change {
    let u = rng.unit();
    let coordination_p = match years_here {
        Some(y) if y <= 2 => 0.15,
        Some(_) => 0.01,
        None => 0.000_5,
    };
    if u < coordination_p {
        return Change::Coordination;
    }
    let u = rng.unit();
    let replaced_p = match years_here {
        Some(y) if y <= 8 => 0.025,
        _ => 0.0,
    };
    if u < replaced_p {
        return match rng.weighted(&[0.88, 0.06, 0.06]) {
            0 => Change::CoordinationReplaced,
            1 => Change::ReplacedThenNewSex,
            _ => Change::NewSexThenReplaced,
        };
    }
    if (16..=65).contains(&s.age) && rng.chance(0.000_6) {
        return Change::NewSex;
    }
    Change::None
}

/// Highest education for persons aged 16 or more (children get a
/// placeholder that is never written).
fn education(rng: &mut impl Draw, s: &Sketch, birth_year: i32, years_here: Option<i32>) -> Sun {
    if s.age < 16 {
        return Sun::Primary;
    }
    if s.age <= 17 {
        return if rng.chance(0.9) {
            Sun::Primary
        } else {
            Sun::PrimaryShort
        };
    }
    let missing_p = match years_here {
        Some(y) if y <= 3 => 0.4,
        Some(_) if s.region == Region::Unknown => 0.2,
        Some(_) => 0.03,
        None => 0.002,
    };
    if rng.chance(missing_p) {
        return Sun::Missing;
    }
    let cohort = if birth_year < 1950 {
        -0.7
    } else if birth_year < 1965 {
        -0.35
    } else {
        0.0
    };
    let e = -0.85 * s.z + 0.7 * rng.normal() + cohort;
    let level = [
        (-1.9, Sun::PrimaryShort),
        (-1.2, Sun::Primary),
        (-0.45, Sun::SecondaryShort),
        (0.3, Sun::Secondary),
        (0.6, Sun::PostSecondaryShort),
        (0.9, Sun::PostSecondary2),
        (1.95, Sun::PostSecondary3),
    ]
    .iter()
    .find(|(threshold, _)| e < *threshold)
    .map_or(Sun::Doctoral, |(_, level)| *level);
    // Too young to have finished a degree.
    if s.age <= 21
        && !matches!(
            level,
            Sun::PrimaryShort | Sun::Primary | Sun::SecondaryShort
        )
    {
        Sun::Secondary
    } else {
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;
    use crate::municipalities::Geography;
    use crate::preset::Preset;
    use reglink_pnr::Sex;

    fn sample(n: usize) -> Vec<Household> {
        let geo = Geography::for_preset(Preset::Tiny);
        let mut rng = chunk_rng(11, 0);
        let mut alloc = IdAllocator::new(0.0, 1.0);
        (0..n)
            .map(|_| household(&mut rng, &mut alloc, &geo.municipalities[0]))
            .collect()
    }

    #[test]
    fn sex_and_birth_year_live_in_the_number() {
        for hh in sample(2_000) {
            for p in &hh.members {
                let sex = if p.female { Sex::Female } else { Sex::Male };
                assert_eq!(p.ids.current.sex(), sex);
                assert_eq!(p.ids.current.birth_date(), p.birth_date);
            }
        }
    }

    #[test]
    fn population_shape_is_plausible() {
        let households = sample(20_000);
        let persons: Vec<&Person> = households.iter().flat_map(|h| &h.members).collect();
        let n = persons.len() as f64;
        let children = persons.iter().filter(|p| p.age() < 18).count() as f64 / n;
        let elderly = persons.iter().filter(|p| p.age() >= 65).count() as f64 / n;
        let abroad = persons
            .iter()
            .filter(|p| p.region != Region::Sweden)
            .count() as f64
            / n;
        let coordination = persons
            .iter()
            .filter(|p| p.ids.current.is_coordination())
            .count() as f64
            / n;
        let changed = persons.iter().filter(|p| !p.ids.old.is_empty()).count() as f64 / n;
        assert!((0.17..0.28).contains(&children), "children {children}");
        assert!((0.15..0.26).contains(&elderly), "elderly {elderly}");
        assert!((0.13..0.27).contains(&abroad), "born abroad {abroad}");
        assert!(
            (0.003..0.012).contains(&coordination),
            "coordination {coordination}"
        );
        assert!(
            (0.001..0.006).contains(&changed),
            "changed number {changed}"
        );
        let size = n / households.len() as f64;
        assert!((1.8..2.4).contains(&size), "household size {size}");
    }

    #[test]
    fn partners_are_mostly_a_man_and_a_woman_and_migrants_mostly_come_together() {
        let mut rng = chunk_rng(5, 0);
        let (mut same_sex, mut together, mut migrants) = (0, 0, 0);
        let n = 10_000;
        for _ in 0..n {
            let mut head = Sketch {
                female: true,
                age: 40,
                region: Region::Asia,
                immigration_year: Some(2015),
                arrival: jan_first(2015) + 100,
                role: Role::Applicant,
                z: 0.0,
            };
            let partner = partner(&mut rng, &mut head, true, 0.0);
            assert_eq!(partner.role, Role::CoApplicant);
            assert!((20..=62).contains(&partner.age));
            if head.female == partner.female {
                same_sex += 1;
            } else {
                assert!(!head.female, "the head of a mixed couple is the man");
            }
            if partner.region == Region::Asia {
                migrants += 1;
                together += usize::from(partner.arrival == head.arrival);
            }
        }
        assert!(
            (150..450).contains(&same_sex),
            "same-sex couples {same_sex}"
        );
        assert!(
            (6_800..7_600).contains(&migrants),
            "migrant partners {migrants}"
        );
        assert!(
            together > 0 && together < migrants,
            "arrived together {together}"
        );
    }

    #[test]
    fn children_are_younger_than_their_parents_and_immigrated_with_them() {
        for hh in sample(3_000) {
            let youngest_adult = hh.adults().iter().map(Person::age).min().unwrap();
            for child in &hh.members[hh.adults().len()..] {
                assert!(child.age() <= 17);
                assert!(youngest_adult - child.age() >= 18);
                if let Some(y) = child.immigration_year {
                    assert!(y >= child.birth_date.year());
                }
            }
        }
    }
}
