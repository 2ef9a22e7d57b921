//! The synthetic geography: counties (real two-digit codes and names) and
//! municipalities (synthetic four-digit codes, names and sizes under them).
//!
//! The geography depends only on the [`Preset`], never on the seed, so that
//! `codelists/kommun.csv` is the same for every seed of a preset (apart from
//! the realised population counts).
//!
//! Each municipality also carries two *local factors* that make places differ
//! as in reality: an odds multiplier for EB receipt (some municipalities have
//! twice the rate of others) and a multiplier for the share born abroad.

use rand::seq::SliceRandom;

use crate::dist::{Draw, fixed_rng};
use crate::preset::Preset;

/// A county (*län*): real code and name, and how many municipalities it has
/// in the national preset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct County {
    pub code: &'static str,
    pub name: &'static str,
    municipalities: usize,
}

/// The 21 counties, with the real number of municipalities in each (290 in
/// all).
pub(crate) const COUNTIES: [County; 21] = [
    county("01", "Stockholms län", 26),
    county("03", "Uppsala län", 8),
    county("04", "Södermanlands län", 9),
    county("05", "Östergötlands län", 13),
    county("06", "Jönköpings län", 13),
    county("07", "Kronobergs län", 8),
    county("08", "Kalmar län", 12),
    county("09", "Gotlands län", 1),
    county("10", "Blekinge län", 5),
    county("12", "Skåne län", 33),
    county("13", "Hallands län", 6),
    county("14", "Västra Götalands län", 49),
    county("17", "Värmlands län", 16),
    county("18", "Örebro län", 12),
    county("19", "Västmanlands län", 10),
    county("20", "Dalarnas län", 15),
    county("21", "Gävleborgs län", 10),
    county("22", "Västernorrlands län", 7),
    county("23", "Jämtlands län", 8),
    county("24", "Västerbottens län", 15),
    county("25", "Norrbottens län", 14),
];

const fn county(code: &'static str, name: &'static str, municipalities: usize) -> County {
    County {
        code,
        name,
        municipalities,
    }
}

/// One municipality (*kommun*).
#[derive(Clone, Debug)]
pub(crate) struct Municipality {
    /// Four digits, the county's two first.
    pub code: String,
    /// Synthetic name.
    pub name: String,
    /// Index into [`COUNTIES`].
    pub county: usize,
    /// Planned number of inhabitants during the reference year.
    pub population: u32,
    /// Odds multiplier for a household receiving EB.
    pub eb_factor: f64,
    /// Multiplier for the share of households born abroad.
    pub foreign_factor: f64,
}

/// All municipalities of a preset, with the tables used to pick a destination
/// when a household moves.
#[derive(Debug)]
pub(crate) struct Geography {
    pub municipalities: Vec<Municipality>,
    /// Cumulative populations over all municipalities.
    national_cumulative: Vec<f64>,
    /// Per county: member municipalities and their cumulative populations.
    county_tables: Vec<(Vec<usize>, Vec<f64>)>,
}

/// Target total population of the national preset.
const NATIONAL_POPULATION: f64 = 10_500_000.0;

/// Size by rank for the national preset: `(rank, inhabitants)` anchors,
/// interpolated log-log in between. Heavy-tailed like Sweden: one city near a
/// million, a median near 17,000, the smallest near 2,000.
const SIZE_ANCHORS: [(f64, f64); 13] = [
    (1.0, 1_000_000.0),
    (2.0, 600_000.0),
    (3.0, 360_000.0),
    (4.0, 240_000.0),
    (10.0, 150_000.0),
    (20.0, 100_000.0),
    (50.0, 47_000.0),
    (100.0, 26_000.0),
    (150.0, 16_500.0),
    (200.0, 10_500.0),
    (250.0, 6_200.0),
    (280.0, 3_500.0),
    (290.0, 2_000.0),
];

const NAME_PREFIXES: [&str; 24] = [
    "Ask", "Björk", "Ek", "Gran", "Lind", "Sjö", "Berg", "Å", "Hög", "Norr", "Sö", "Väster",
    "Öster", "Mal", "Fal", "Sand", "Strand", "Mo", "Ro", "Hav", "Al", "Tall", "Lövs", "Bro",
];
const NAME_SUFFIXES: [&str; 15] = [
    "by", "köping", "holm", "sund", "vik", "ås", "berga", "dal", "hamn", "torp", "stad", "fors",
    "näs", "lunda", "å",
];

impl Geography {
    /// The geography of `preset`.
    pub(crate) fn for_preset(preset: Preset) -> Geography {
        let mut rng = fixed_rng(match preset {
            Preset::Tiny => 1,
            Preset::Municipality => 2,
            Preset::National => 3,
        });
        // (county index, population, is the county's largest)
        let layout: Vec<(usize, u32)> = match preset {
            Preset::Tiny => vec![(1, 1_700), (1, 500), (9, 800)],
            Preset::Municipality => vec![(3, 165_000), (3, 11_000), (3, 7_000)],
            Preset::National => national_layout(&mut rng),
        };
        let mut names: Vec<String> = NAME_PREFIXES
            .iter()
            .flat_map(|p| NAME_SUFFIXES.iter().map(move |s| format!("{p}{s}")))
            .collect();
        names.shuffle(&mut rng);

        let mut municipalities = Vec::with_capacity(layout.len());
        for (county_index, members) in group_by_county(&layout) {
            let step = (68 / members.len()).clamp(1, 3);
            // The county's largest municipality gets `80` (as the real
            // county seats 0180, 1280 and 1480 do); the others count up.
            let largest = members
                .iter()
                .copied()
                .max_by_key(|&i| (layout[i].1, std::cmp::Reverse(i)))
                .unwrap_or(0);
            let mut next = 11;
            for &i in &members {
                let suffix = if i == largest {
                    80
                } else {
                    let s = next;
                    next += step;
                    s
                };
                let population = layout[i].1;
                let size_effect = (f64::from(population) / 17_000.0).ln();
                municipalities.push(Municipality {
                    code: format!("{}{suffix:02}", COUNTIES[county_index].code),
                    name: names[municipalities.len() % names.len()].clone(),
                    county: county_index,
                    population,
                    eb_factor: (0.35 * rng.normal() + 0.06 * size_effect)
                        .exp()
                        .clamp(0.45, 2.4),
                    foreign_factor: (0.35 * rng.normal() + 0.12 * size_effect)
                        .exp()
                        .clamp(0.3, 2.6),
                });
            }
        }
        municipalities.sort_by(|a, b| a.code.cmp(&b.code));
        normalise_factors(&mut municipalities);

        let mut national_cumulative = Vec::with_capacity(municipalities.len());
        let mut total = 0.0;
        for m in &municipalities {
            total += f64::from(m.population);
            national_cumulative.push(total);
        }
        let county_tables = (0..COUNTIES.len())
            .map(|c| {
                let members: Vec<usize> = (0..municipalities.len())
                    .filter(|&i| municipalities[i].county == c)
                    .collect();
                let mut total = 0.0;
                let cumulative = members
                    .iter()
                    .map(|&i| {
                        total += f64::from(municipalities[i].population);
                        total
                    })
                    .collect();
                (members, cumulative)
            })
            .collect();
        Geography {
            municipalities,
            national_cumulative,
            county_tables,
        }
    }

    /// Where a household living in municipality `from` moves to: usually
    /// within the county, otherwise anywhere, in proportion to population;
    /// never `from` itself when another municipality exists.
    pub(crate) fn destination(&self, rng: &mut impl Draw, from: usize) -> usize {
        if self.municipalities.len() < 2 {
            return from;
        }
        let (members, cumulative) = &self.county_tables[self.municipalities[from].county];
        for _ in 0..8 {
            let to = if members.len() > 1 && rng.chance(0.6) {
                members[rng.cumulative(cumulative)]
            } else {
                rng.cumulative(&self.national_cumulative)
            };
            if to != from {
                return to;
            }
        }
        (from + 1) % self.municipalities.len()
    }
}

/// County and size of each of the 290 national municipalities, largest first:
/// the three largest seat the three metropolitan counties, the rest are dealt
/// out so that every county ends up with its real number of municipalities.
fn national_layout(rng: &mut impl Draw) -> Vec<(usize, u32)> {
    let raw: Vec<f64> = (1..=290)
        .map(|rank| size_at_rank(f64::from(rank)))
        .collect();
    let scale = NATIONAL_POPULATION / raw.iter().sum::<f64>();
    let mut remaining: Vec<f64> = COUNTIES.iter().map(|c| c.municipalities as f64).collect();
    let metropolitan = [0, 11, 9]; // 01 Stockholm, 14 Västra Götaland, 12 Skåne
    raw.iter()
        .enumerate()
        .map(|(rank, size)| {
            let county = if rank < metropolitan.len() {
                metropolitan[rank]
            } else {
                rng.weighted(&remaining)
            };
            remaining[county] -= 1.0;
            (county, (size * scale).round() as u32)
        })
        .collect()
}

fn size_at_rank(rank: f64) -> f64 {
    for pair in SIZE_ANCHORS.windows(2) {
        let ((r0, s0), (r1, s1)) = (pair[0], pair[1]);
        if rank <= r1 {
            let t = (rank.ln() - r0.ln()) / (r1.ln() - r0.ln());
            return (s0.ln() + t * (s1.ln() - s0.ln())).exp();
        }
    }
    SIZE_ANCHORS[SIZE_ANCHORS.len() - 1].1
}

/// Indices of `layout` grouped by county, counties in code order.
fn group_by_county(layout: &[(usize, u32)]) -> Vec<(usize, Vec<usize>)> {
    (0..COUNTIES.len())
        .map(|c| {
            let members = (0..layout.len()).filter(|&i| layout[i].0 == c).collect();
            (c, members)
        })
        .filter(|(_, members): &(usize, Vec<usize>)| !members.is_empty())
        .collect()
}

/// Scales both factors to a population-weighted mean of one, so that the
/// national EB and foreign-born shares do not depend on the local draws.
fn normalise_factors(municipalities: &mut [Municipality]) {
    let total: f64 = municipalities.iter().map(|m| f64::from(m.population)).sum();
    let mean = |f: fn(&Municipality) -> f64| {
        municipalities
            .iter()
            .map(|m| f(m) * f64::from(m.population))
            .sum::<f64>()
            / total
    };
    let eb = mean(|m| m.eb_factor);
    let foreign = mean(|m| m.foreign_factor);
    for m in municipalities {
        m.eb_factor /= eb;
        m.foreign_factor /= foreign;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;
    use std::collections::HashSet;

    #[test]
    fn national_has_290_municipalities_in_21_counties() {
        let geo = Geography::for_preset(Preset::National);
        assert_eq!(geo.municipalities.len(), 290);
        let counties: HashSet<usize> = geo.municipalities.iter().map(|m| m.county).collect();
        assert_eq!(counties.len(), 21);
        for (i, county) in COUNTIES.iter().enumerate() {
            let n = geo.municipalities.iter().filter(|m| m.county == i).count();
            assert_eq!(n, county.municipalities, "county {}", county.code);
        }
        let total: u64 = geo
            .municipalities
            .iter()
            .map(|m| u64::from(m.population))
            .sum();
        assert!((10_400_000..=10_600_000).contains(&total), "total {total}");
        let largest = geo.municipalities.iter().map(|m| m.population).max();
        let smallest = geo.municipalities.iter().map(|m| m.population).min();
        assert!(largest.unwrap() > 900_000);
        assert!(smallest.unwrap() < 3_000);
    }

    #[test]
    fn codes_and_names_are_unique_and_nest_in_their_county() {
        for preset in [Preset::Tiny, Preset::Municipality, Preset::National] {
            let geo = Geography::for_preset(preset);
            let codes: HashSet<&str> = geo.municipalities.iter().map(|m| m.code.as_str()).collect();
            let names: HashSet<&str> = geo.municipalities.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(codes.len(), geo.municipalities.len());
            assert_eq!(names.len(), geo.municipalities.len());
            for m in &geo.municipalities {
                assert_eq!(m.code.len(), 4);
                assert!(m.code.starts_with(COUNTIES[m.county].code));
            }
        }
    }

    #[test]
    fn eb_factors_differ_between_municipalities() {
        let geo = Geography::for_preset(Preset::National);
        let (lo, hi) = geo
            .municipalities
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), m| {
                (lo.min(m.eb_factor), hi.max(m.eb_factor))
            });
        assert!(hi / lo > 2.0, "range {lo}..{hi}");
    }

    #[test]
    fn moves_go_elsewhere() {
        let geo = Geography::for_preset(Preset::Tiny);
        let mut rng = chunk_rng(5, 0);
        for _ in 0..100 {
            assert_ne!(geo.destination(&mut rng, 0), 0);
        }
    }
}
