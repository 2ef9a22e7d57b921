//! People who change number, and the old -> new crosswalk that undoes it.
//!
//! About 0.3 % of persons change number during the years the extracts cover:
//! mostly a samordningsnummer replaced by a personnummer when an immigrant is
//! registered as resident, sometimes a change of legal sex (new birth number
//! of the other parity). About a tenth of them change twice, so the crosswalk
//! holds chains `a -> b -> c`; consumers must follow an entry's `new` until
//! it is no longer an `old`.
//!
//! Registers use the number that was valid when the row was dated (EB by
//! month, AF by spell start, LISA on 31 December of its year). Linking
//! without the crosswalk therefore visibly splits or loses people.

use reglink_pnr::{Date, Pnr};

use crate::dist::Draw;
use crate::ids::{IdAllocator, Kind, day_of};

/// How a person's number history looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// One personnummer throughout.
    None,
    /// One samordningsnummer throughout.
    Coordination,
    /// samordningsnummer -> personnummer.
    CoordinationReplaced,
    /// personnummer -> personnummer of the other legal sex.
    NewSex,
    /// samordningsnummer -> personnummer -> personnummer of the other sex.
    ReplacedThenNewSex,
    /// samordningsnummer -> samordningsnummer of the other sex ->
    /// personnummer.
    NewSexThenReplaced,
}

/// A person's numbers over time.
#[derive(Clone, Debug)]
pub(crate) struct IdHistory {
    /// The number now (used by LISA).
    pub current: Pnr,
    /// Earlier numbers, oldest first, each with the first day it was no
    /// longer in use.
    pub old: Vec<(Pnr, i32)>,
}

impl IdHistory {
    /// The number in use on `day` (days since the epoch), and whether it is an
    /// old one.
    pub(crate) fn at(&self, day: i32) -> (&Pnr, bool) {
        for (pnr, until) in &self.old {
            if day < *until {
                return (pnr, true);
            }
        }
        (&self.current, false)
    }

    /// The crosswalk entries `(old, new)` of this person, oldest first.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Pnr, Pnr)> + '_ {
        self.old.iter().enumerate().map(|(i, (old, _))| {
            let new = self.old.get(i + 1).map_or(self.current, |(next, _)| *next);
            (*old, new)
        })
    }
}

/// Earliest and latest day a number change happens.
fn change_window() -> (i32, i32) {
    (day_of(2022, 7, 1), day_of(2025, 12, 31))
}

/// Hands out the number history for a person born in `birth_year` whose
/// current legal sex is `female`. `earliest_change` is the first day a change
/// may happen (the immigration date for recent immigrants). Returns the birth
/// date, which is shared by all the person's numbers.
pub(crate) fn assign(
    rng: &mut impl Draw,
    alloc: &mut IdAllocator,
    birth_year: i32,
    female: bool,
    change: Change,
    earliest_change: i32,
) -> (Date, IdHistory) {
    let kind = |female, coordination| Kind {
        female,
        coordination,
    };
    let (from, to) = change_window();
    let first_change = rng.int(from.max(earliest_change), to.max(earliest_change + 30));
    let second_change = first_change + rng.int(90, 540);
    match change {
        Change::None | Change::Coordination => {
            let a = alloc.allocate(
                rng,
                birth_year,
                [kind(female, change == Change::Coordination)],
            );
            (
                a.birth_date,
                IdHistory {
                    current: a.numbers[0],
                    old: Vec::new(),
                },
            )
        }
        Change::CoordinationReplaced | Change::NewSex => {
            let old_kind = if change == Change::NewSex {
                kind(!female, false)
            } else {
                kind(female, true)
            };
            let a = alloc.allocate(rng, birth_year, [old_kind, kind(female, false)]);
            (
                a.birth_date,
                IdHistory {
                    current: a.numbers[1],
                    old: vec![(a.numbers[0], first_change)],
                },
            )
        }
        Change::ReplacedThenNewSex => {
            let a = alloc.allocate(
                rng,
                birth_year,
                [
                    kind(!female, true),
                    kind(!female, false),
                    kind(female, false),
                ],
            );
            (
                a.birth_date,
                IdHistory {
                    current: a.numbers[2],
                    old: vec![(a.numbers[0], first_change), (a.numbers[1], second_change)],
                },
            )
        }
        Change::NewSexThenReplaced => {
            let a = alloc.allocate(
                rng,
                birth_year,
                [kind(!female, true), kind(female, true), kind(female, false)],
            );
            (
                a.birth_date,
                IdHistory {
                    current: a.numbers[2],
                    old: vec![(a.numbers[0], first_change), (a.numbers[1], second_change)],
                },
            )
        }
    }
}

/// Renders `crosswalk.csv`: header `old,new`, both in the twelve-digit form.
pub(crate) fn render(entries: &[(Pnr, Pnr)]) -> String {
    let mut out = String::with_capacity(16 + entries.len() * 26);
    out.push_str("old,new\n");
    for (old, new) in entries {
        out.push_str(ascii(old.normalised()));
        out.push(',');
        out.push_str(ascii(new.normalised()));
        out.push('\n');
    }
    out
}

fn ascii(digits: &[u8; 12]) -> &str {
    std::str::from_utf8(digits).unwrap_or_else(|_| unreachable!("ASCII digits"))
}

/// What is wrong with a crosswalk, if anything.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// One old number mapped to two different new numbers (entry index).
    Conflict(usize),
    /// Following `new` from this entry comes back to where it started.
    Cycle(usize),
    /// An entry mapping a number to itself (entry index).
    SelfLoop(usize),
}

/// Checks that the crosswalk maps each old number once, never to itself,
/// and has no cycles.
#[cfg(test)]
pub(crate) fn check(entries: &[(String, String)]) -> Result<(), Problem> {
    use std::collections::{HashMap, HashSet};

    let mut map: HashMap<&str, &str> = HashMap::with_capacity(entries.len());
    for (i, (old, new)) in entries.iter().enumerate() {
        if old == new {
            return Err(Problem::SelfLoop(i));
        }
        if map.insert(old, new).is_some_and(|prev| prev != new) {
            return Err(Problem::Conflict(i));
        }
    }
    for (i, (old, _)) in entries.iter().enumerate() {
        let mut seen = HashSet::new();
        let mut at = old.as_str();
        while let Some(next) = map.get(at) {
            if !seen.insert(at) {
                return Err(Problem::Cycle(i));
            }
            at = next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::chunk_rng;
    use reglink_pnr::Sex;

    #[test]
    fn histories_switch_number_on_the_change_day() {
        let mut rng = chunk_rng(1, 0);
        let mut alloc = IdAllocator::new(0.0, 1.0);
        let (born, history) = assign(
            &mut rng,
            &mut alloc,
            1985,
            true,
            Change::ReplacedThenNewSex,
            0,
        );
        assert_eq!(history.old.len(), 2);
        let (first, second) = (history.old[0], history.old[1]);
        assert!(first.0.is_coordination());
        assert_eq!(first.0.sex(), Sex::Male);
        assert_eq!(second.0.sex(), Sex::Male);
        assert!(!second.0.is_coordination());
        assert_eq!(history.current.sex(), Sex::Female);
        for pnr in [first.0, second.0, history.current] {
            assert_eq!(pnr.birth_date(), born);
        }
        assert_eq!(history.at(first.1 - 1), (&first.0, true));
        assert_eq!(history.at(first.1), (&second.0, true));
        assert_eq!(history.at(second.1), (&history.current, false));
        let entries: Vec<_> = history.entries().collect();
        assert_eq!(entries, [(first.0, second.0), (second.0, history.current)]);
    }

    #[test]
    fn changes_wait_for_the_earliest_day() {
        let mut rng = chunk_rng(2, 0);
        let mut alloc = IdAllocator::new(0.0, 1.0);
        let earliest = day_of(2024, 3, 1);
        for _ in 0..200 {
            let (_, history) = assign(
                &mut rng,
                &mut alloc,
                1990,
                false,
                Change::CoordinationReplaced,
                earliest,
            );
            assert!(history.old[0].1 >= earliest);
        }
    }

    #[test]
    fn check_finds_conflicts_and_cycles() {
        let e = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(check(&[e("a", "b"), e("b", "c")]), Ok(()));
        assert_eq!(
            check(&[e("a", "b"), e("a", "c")]),
            Err(Problem::Conflict(1))
        );
        assert_eq!(
            check(&[e("a", "b"), e("b", "c"), e("c", "a")]),
            Err(Problem::Cycle(0))
        );
        assert_eq!(check(&[e("a", "a")]), Err(Problem::SelfLoop(0)));
    }
}
