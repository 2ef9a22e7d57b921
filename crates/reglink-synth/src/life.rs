//! What happens to a household during the register years: where it lives
//! (moves between municipalities), when it arrives (immigrants after the
//! reference year), when it leaves (emigration) and when members die.
//!
//! Every register reads presence and place from the same [`Life`]: EB pays
//! only months in which an adult is present and uses the municipality of
//! the month, AF spells end at departure, LISA lists the persons present on
//! 31 December with their municipality on that day.

use crate::dist::Draw;
use crate::ids::{day_of, jan_first};
use crate::municipalities::Geography;
use crate::population::Household;
use crate::{LAST_YEAR, REFERENCE_YEAR};

/// Never (a day after every register date).
pub(crate) const NEVER: i32 = i32::MAX;

/// A household's presence and places over the register years.
#[derive(Clone, Debug)]
pub(crate) struct Life {
    /// First day present (days since the epoch); `i32::MIN` for households
    /// living in Sweden before the reference year.
    pub from: i32,
    /// `(first day, municipality index)`, sorted by day; the first entry is
    /// the home at `from`.
    pub places: Vec<(i32, usize)>,
    /// First day no longer present (emigration), or [`NEVER`].
    pub until: i32,
    /// Per member: day of death, or [`NEVER`].
    pub deaths: Vec<i32>,
    /// Per member: first day present (the later of `from` and the day the
    /// member arrived in Sweden).
    pub arrivals: Vec<i32>,
}

impl Life {
    /// The municipality the household lives in on `day`.
    pub(crate) fn municipality_at(&self, day: i32) -> usize {
        let i = self.places.partition_point(|(from, _)| *from <= day);
        self.places[i.saturating_sub(1)].1
    }

    /// First day member `i` is no longer present.
    pub(crate) fn departure(&self, i: usize) -> i32 {
        self.until.min(self.deaths[i])
    }

    /// Whether member `i` is present on `day`.
    pub(crate) fn present_on(&self, i: usize, day: i32) -> bool {
        self.arrivals[i] <= day && day < self.departure(i)
    }

    /// Whether member `i` is present on any day of `first..=last`.
    pub(crate) fn present_during(&self, i: usize, first: i32, last: i32) -> bool {
        self.arrivals[i] <= last && first < self.departure(i)
    }
}

/// Annual probability of death at `age`: Gompertz, about 0.7 % at 60,
/// 4.5 % at 80 and 30 % at 100, a little higher with more disadvantage.
fn death_rate(age: i32, z: f64) -> f64 {
    if age < 40 {
        return 0.000_5;
    }
    ((-10.7 + 0.095 * f64::from(age)).exp() * (0.15 * z).exp()).min(0.5)
}

/// Annual probability that a household moves to another municipality, by
/// the age of its head.
fn move_rate(head_age: i32) -> f64 {
    match head_age {
        ..=29 => 0.10,
        30..=44 => 0.05,
        45..=64 => 0.025,
        _ => 0.015,
    }
}

/// Annual probability that a household emigrates: mostly recent immigrants
/// from rich countries moving on or back.
fn emigration_rate(household: &Household, year: i32) -> f64 {
    let head = household.head();
    if !head.arrived_within(5, year) {
        return 0.003;
    }
    match head.region.group() {
        "nordic" | "eu" => 0.06,
        _ if head.region.code() == "07" || head.region.code() == "09" => 0.08,
        _ => 0.012,
    }
}

/// Draws the life of `household`, which lives in municipality `home` from
/// `from` (`i32::MIN` for the households present before the reference year;
/// members who immigrated later are present from their arrival).
pub(crate) fn draw(
    rng: &mut impl Draw,
    geo: &Geography,
    household: &Household,
    home: usize,
    from: i32,
) -> Life {
    let arrivals: Vec<i32> = household
        .members
        .iter()
        .map(|p| from.max(p.arrival))
        .collect();
    let mut places = vec![(from, home)];
    let mut until = NEVER;
    let mut deaths = vec![NEVER; household.members.len()];
    for year in REFERENCE_YEAR..=LAST_YEAR {
        let household_from = arrivals.iter().copied().min().unwrap_or(from);
        let first = jan_first(year).max(household_from);
        let last = day_of(year, 12, 31);
        if first > last || until != NEVER {
            continue;
        }
        let span = last - first;
        for (i, person) in household.members.iter().enumerate() {
            if deaths[i] == NEVER && rng.chance(death_rate(person.age_in(year), person.z)) {
                deaths[i] = first + rng.int(0, span);
            }
        }
        if rng.chance(move_rate(household.head().age_in(year))) {
            let current = places[places.len() - 1].1;
            let to = geo.destination(rng, current);
            // Not on the first day: the arrival day keeps the first home.
            let day = first + rng.int(1.min(span), span);
            if to != current {
                places.push((day, to));
            }
        }
        if rng.chance(emigration_rate(household, year)) {
            until = first + rng.int(1.min(span), span);
        }
    }
    Life {
        from,
        places,
        until,
        deaths,
        arrivals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_looked_up_by_day() {
        let life = Life {
            from: i32::MIN,
            places: vec![(i32::MIN, 0), (100, 2), (200, 1)],
            until: NEVER,
            deaths: vec![150],
            arrivals: vec![i32::MIN],
        };
        assert_eq!(life.municipality_at(-5), 0);
        assert_eq!(life.municipality_at(99), 0);
        assert_eq!(life.municipality_at(100), 2);
        assert_eq!(life.municipality_at(250), 1);
        assert!(life.present_on(0, 149));
        assert!(!life.present_on(0, 150));
        assert!(life.present_during(0, 149, 160));
        assert!(!life.present_during(0, 150, 160));
    }

    #[test]
    fn mortality_rises_with_age() {
        assert!(death_rate(60, 0.0) < 0.01);
        assert!((0.03..0.06).contains(&death_rate(80, 0.0)));
        assert!(death_rate(100, 0.0) > 0.2);
    }
}
