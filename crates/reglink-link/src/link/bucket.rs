//! Linking one bucket: its rows sorted by (person, time, file order), the
//! persons walked across the sources in step, the duplicate rules applied,
//! and each person counted for the report and evaluated for every population.

use crate::derive::{Ctx, EbMonth, LinkedPerson, Registration, Spell, Value};
use crate::frame::PopulationFrame;
use crate::frame::{Column, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, NO_HOUSEHOLD};
use crate::load::{NO_NUMBER, SourceData};
use crate::study::{Concept, Population, Study};

use super::{Counts, empty_counts, empty_frames};

/// Links bucket `b`: its population frames and counters.
pub(super) fn link_bucket(
    study: &Study,
    data: &[Option<&SourceData>; 3],
    offsets: &[Option<Vec<usize>>; 3],
    ctx: &Ctx<'_>,
    b: usize,
) -> (Vec<PopulationFrame>, Counts) {
    let sorted = Sorted::new(data, offsets, b);
    let mut frames = empty_frames(study, false);
    let mut counts = empty_counts(study);
    let mut records = Records::default();
    let mut values: Vec<Value> = vec![Value::Missing; study.variables.len()];
    let mut seen: Vec<(u32, i32)> = Vec::new();
    for (pseudonym, rows) in sorted.persons() {
        let attributes = Attributes::of(data, &rows);
        records.collect(data, &rows, ctx, &mut counts);
        let present = rows.map(|r| !r.is_empty());
        let linked = LinkedPerson {
            birth_year: attributes.birth_year,
            sex: attributes.sex,
            eb: &records.eb,
            af: &records.af,
            regs: &records.regs,
            lisa: &records.lisa,
            present,
        };
        count_person(&mut counts, ctx, &linked, present, &mut seen);
        for (pi, pop) in study.populations.iter().enumerate() {
            for (yi, &year) in pop.years.iter().enumerate() {
                let member = ctx.member(pop.source, &linked, year)
                    && evaluate(
                        pop,
                        yi,
                        year,
                        ctx,
                        &linked,
                        &mut values,
                        &mut counts.without_age[pi],
                    );
                if !member {
                    continue;
                }
                counts.population_years[pi][yi] += 1;
                counts.population_members[pi][yi] =
                    counts.population_members[pi][yi].wrapping_add(pseudonym);
                let household = ctx.household(&linked, year).unwrap_or(NO_HOUSEHOLD);
                push_person_year(&mut frames[pi], attributes.record_key, household, &values);
            }
        }
    }
    (frames, counts)
}

/// One bucket's rows of each source, sorted by (person, time, file order).
/// The bucket is one contiguous, cache-sized stretch of every column.
pub(super) struct Sorted {
    /// Per source: the person of each sorted row.
    persons: [Vec<u128>; 3],
    /// Per source: the row index of each sorted row.
    rows: [Vec<u32>; 3],
}

impl Sorted {
    /// Sorts bucket `b` of every loaded source.
    pub(super) fn new(
        data: &[Option<&SourceData>; 3],
        offsets: &[Option<Vec<usize>>; 3],
        b: usize,
    ) -> Sorted {
        let mut sorted = Sorted {
            persons: Default::default(),
            rows: Default::default(),
        };
        for s in 0..3 {
            if let (Some(d), Some(off)) = (data[s], &offsets[s]) {
                let mut keys: Vec<(u128, u64)> = (off[b]..off[b + 1])
                    .map(|i| {
                        // Flipping the sign bit orders negative times first.
                        let t = (d.time[i] as u32) ^ 0x8000_0000;
                        (d.person[i], (u64::from(t) << 32) | i as u64)
                    })
                    .collect();
                keys.sort_unstable();
                sorted.persons[s] = keys.iter().map(|k| k.0).collect();
                sorted.rows[s] = keys.iter().map(|k| k.1 as u32).collect();
            }
        }
        sorted
    }

    /// The persons in pseudonym order, each with their rows of every source.
    pub(super) fn persons(&self) -> Persons<'_> {
        Persons {
            sorted: self,
            pos: [0; 3],
        }
    }
}

/// Walks a sorted bucket's persons, every source in step.
pub(super) struct Persons<'s> {
    sorted: &'s Sorted,
    /// Per source: the first row not yet walked.
    pos: [usize; 3],
}

impl<'s> Iterator for Persons<'s> {
    type Item = (u128, [&'s [u32]; 3]);

    fn next(&mut self) -> Option<Self::Item> {
        let persons = &self.sorted.persons;
        // The next person: the smallest pseudonym at the head of any source.
        let person = (0..3).filter_map(|s| persons[s].get(self.pos[s])).min()?;
        let mut rows: [&'s [u32]; 3] = [&[], &[], &[]];
        for s in 0..3 {
            let start = self.pos[s];
            let len = persons[s][start..]
                .iter()
                .take_while(|&p| p == person)
                .count();
            rows[s] = &self.sorted.rows[s][start..start + len];
            self.pos[s] = start + len;
        }
        Some((*person, rows))
    }
}

/// A person's attributes: the record key of the last source that has the
/// person, birth year and sex of the first source with derived birth data.
struct Attributes {
    birth_year: i32,
    sex: u8,
    record_key: u32,
}

impl Attributes {
    fn of(data: &[Option<&SourceData>; 3], rows: &[&[u32]; 3]) -> Attributes {
        let mut a = Attributes {
            birth_year: 0,
            sex: 0,
            record_key: 0,
        };
        for s in 0..3 {
            if let (Some(d), Some(&i)) = (data[s], rows[s].first()) {
                a.record_key = d.record_key[i as usize];
                if d.has_birth && a.birth_year == 0 {
                    a.birth_year = d.birth_year[i as usize];
                    a.sex = d.sex[i as usize];
                }
            }
        }
        a
    }
}

/// A person's records after the duplicate rules; the buffers are reused
/// from person to person.
#[derive(Default)]
pub(super) struct Records {
    pub eb: Vec<EbMonth>,
    pub af: Vec<Spell>,
    pub regs: Vec<Registration>,
    /// (year, row) of LISA, one per year.
    pub lisa: Vec<(i32, u32)>,
}

impl Records {
    /// Collects the person's `rows` of every source, counting duplicates and
    /// overlapping AF spells.
    pub(super) fn collect(
        &mut self,
        data: &[Option<&SourceData>; 3],
        rows: &[&[u32]; 3],
        ctx: &Ctx<'_>,
        counts: &mut Counts,
    ) {
        self.eb.clear();
        if let Some(d) = data[0] {
            counts.duplicates[0] += eb_months(d, rows[0], &mut self.eb);
        }
        self.af.clear();
        if let Some(d) = data[1] {
            counts.duplicates[1] += af_spells(d, rows[1], &mut self.af);
            counts.overlapping_spells += overlapping(&self.af);
        }
        ctx.registrations(&self.af, &mut self.regs);
        self.lisa.clear();
        if let Some(d) = data[2] {
            counts.duplicates[2] += lisa_years(d, rows[2], &mut self.lisa);
        }
    }
}

/// EB: one entry per month. Of a month's rows the one with the largest
/// amount leads (the first in file order among equals, and any row with an
/// amount over one without); the known amounts add up. Returns how many rows
/// were merged into another.
pub(super) fn eb_months(d: &SourceData, rows: &[u32], eb: &mut Vec<EbMonth>) -> u64 {
    let amount = d.numbers(Concept::Amount);
    let amount_of = |i: usize| amount.map_or(NO_NUMBER, |a| a[i]);
    let mut duplicates = 0;
    for &i in rows {
        let i = i as usize;
        let a = amount_of(i);
        match eb.last_mut() {
            Some(last) if last.month == d.time[i] => {
                duplicates += 1;
                if a != NO_NUMBER {
                    let lead = amount_of(last.row as usize);
                    if lead == NO_NUMBER || a > lead {
                        last.row = i as u32;
                    }
                    last.amount = if last.amount == NO_NUMBER {
                        a
                    } else {
                        last.amount + a
                    };
                }
            }
            _ => eb.push(EbMonth {
                month: d.time[i],
                row: i as u32,
                amount: a,
            }),
        }
    }
    duplicates
}

/// AF: a spell identical to an earlier one (start, end, programme and
/// category) counts once. Returns how many rows were dropped as duplicates.
pub(super) fn af_spells(d: &SourceData, rows: &[u32], af: &mut Vec<Spell>) -> u64 {
    let programme = d.codes(Concept::Programme);
    let category = d.codes(Concept::Category);
    let mut duplicates = 0;
    for &i in rows {
        let i = i as usize;
        let same = |j: usize| {
            d.time[j] == d.time[i]
                && d.end[j] == d.end[i]
                && programme.is_none_or(|p| p[j] == p[i])
                && category.is_none_or(|c| c[j] == c[i])
        };
        // Rows are in start order: only spells of the same start can be identical.
        if af
            .iter()
            .rev()
            .take_while(|s| d.time[s.row as usize] == d.time[i])
            .any(|s| same(s.row as usize))
        {
            duplicates += 1;
            continue;
        }
        af.push(Spell {
            start: d.time[i],
            end: d.end[i],
            row: i as u32,
        });
    }
    duplicates
}

/// Consecutive spells of which the later starts before the earlier ends.
fn overlapping(af: &[Spell]) -> u64 {
    af.windows(2).filter(|w| w[1].start <= w[0].end).count() as u64
}

/// LISA: the first row of each year. Returns how many later rows were dropped.
pub(super) fn lisa_years(d: &SourceData, rows: &[u32], lisa: &mut Vec<(i32, u32)>) -> u64 {
    let mut duplicates = 0;
    for &i in rows {
        let y = d.time[i as usize];
        if lisa.last().is_some_and(|(ly, _)| *ly == y) {
            duplicates += 1;
        } else {
            lisa.push((y, i));
        }
    }
    duplicates
}

/// Counts the person for the linkage report: per source that has them,
/// distinct persons, persons without birth data, matches with every source,
/// and persons per municipality and year.
fn count_person(
    counts: &mut Counts,
    ctx: &Ctx<'_>,
    linked: &LinkedPerson<'_>,
    present: [bool; 3],
    seen: &mut Vec<(u32, i32)>,
) {
    for s in 0..3 {
        if !present[s] {
            continue;
        }
        counts.persons[s] += 1;
        if linked.birth_year == 0 {
            counts.without_birth[s] += 1;
        }
        for (t, &there) in present.iter().enumerate() {
            if there {
                counts.matched[s][t] += 1;
            }
        }
        ctx.municipality_years(s, linked, seen);
        seen.sort_unstable();
        seen.dedup();
        for &key in seen.iter() {
            let e = counts.by_muni_year[s].entry(key).or_default();
            e[0] += 1;
            for t in 0..3 {
                if present[t] {
                    e[1 + t] += 1;
                }
            }
        }
    }
}

/// Evaluates the variables population `pop` needs for the person in `year`
/// (its `yi`-th year) into `values`; returns whether the person-year passes
/// the age bounds and requirements. A person-year without an age is counted
/// in `without_age`.
fn evaluate(
    pop: &Population,
    yi: usize,
    year: i32,
    ctx: &Ctx<'_>,
    linked: &LinkedPerson<'_>,
    values: &mut [Value],
    without_age: &mut u64,
) -> bool {
    values.fill(Value::Missing);
    for &v in &pop.needs {
        values[v] = if v == 0 {
            Value::Cat(yi as u32)
        } else {
            ctx.eval(v, linked, year, values)
        };
    }
    if let Some((lo, hi)) = pop.age {
        match values[2] {
            Value::Num(age) if age >= lo && age <= hi => {}
            Value::Num(_) => return false,
            _ => {
                *without_age += 1;
                return false;
            }
        }
    }
    pop.require
        .iter()
        .all(|&r| matches!(values[r], Value::Bool(true)))
}

/// Appends one person-year with its values to a population frame.
fn push_person_year(f: &mut PopulationFrame, record_key: u32, household: u64, values: &[Value]) {
    f.len += 1;
    f.record_key.push(record_key);
    f.household.push(household);
    for (v, column) in f.columns.iter_mut() {
        let value = values[*v];
        match column {
            Column::Category { values, .. } => values.push(match value {
                Value::Cat(c) => c,
                _ => MISSING_CATEGORY,
            }),
            Column::Number(values) => values.push(match value {
                Value::Num(n) => n,
                _ => MISSING_NUMBER,
            }),
            Column::Bool(values) => values.push(match value {
                Value::Bool(b) => u8::from(b),
                _ => MISSING_BOOL,
            }),
        }
    }
}
