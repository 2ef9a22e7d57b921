//! Linking: group every source's rows by person and walk the persons.
//!
//! Pseudonyms are uniformly random, so their top bits split the persons into
//! [`BUCKETS`] buckets of about equal size with no hashing. A counting pass
//! scatters each source's row indices by bucket; then the buckets are linked
//! in parallel: sort the bucket's rows by (person, time, file order), walk the
//! persons in step across the sources, apply the duplicate rules, and hand
//! each person to the population builders and the report counters. Results
//! are gathered in bucket order, so the output does not depend on threads.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::derive::{Ctx, EbMonth, LinkedPerson, Registration, Spell, Value};
use crate::frame::{
    Column, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, NO_HOUSEHOLD, PopulationFrame,
};
use crate::load::{NO_NUMBER, SourceData};
use crate::study::{Categories, Concept, SourceKind, Study, VarType};

/// Number of buckets (top bits of the pseudonym).
const BUCKET_BITS: u32 = 10;
const BUCKETS: usize = 1 << BUCKET_BITS;

fn bucket_of(p: u128) -> usize {
    (p >> (128 - BUCKET_BITS)) as usize
}

/// Moves a source's rows into bucket order (file order within a bucket) and
/// returns where each bucket starts.
///
/// Linking a bucket then touches one contiguous stretch of every column,
/// which stays in cache while the bucket's rows are sorted by pseudonym and
/// walked. Reading rows in pseudonym order straight from file-ordered columns
/// would cost a cache miss per column per row. The move writes each column
/// through one cursor per bucket, so writes stream; the columns move in
/// parallel.
pub(crate) fn partition(d: &mut SourceData) -> Vec<usize> {
    let mut counts = vec![0usize; BUCKETS + 1];
    for &p in &d.person {
        counts[bucket_of(p) + 1] += 1;
    }
    for b in 0..BUCKETS {
        counts[b + 1] += counts[b];
    }
    let offsets = counts.clone();
    let mut next = counts;
    let dest: Vec<u32> = d
        .person
        .iter()
        .map(|&p| {
            let b = bucket_of(p);
            next[b] += 1;
            (next[b] - 1) as u32
        })
        .collect();
    d.scatter(&dest);
    offsets
}

/// Per-person counters for the report, summed over buckets.
#[derive(Default, Clone)]
pub(crate) struct Counts {
    /// Per source: distinct persons, duplicates, persons without birth data.
    pub persons: [u64; 3],
    pub duplicates: [u64; 3],
    pub without_birth: [u64; 3],
    /// `matched[a][b]`: persons of source a also in source b.
    pub matched: [[u64; 3]; 3],
    pub overlapping_spells: u64,
    /// Per source: (municipality dictionary index, year) -> [persons, matched per source].
    pub by_muni_year: [HashMap<(u32, i32), [u64; 4], ahash::RandomState>; 3],
    /// Per population: person-years per year index, and left out for lack of age.
    pub population_years: Vec<Vec<u64>>,
    /// Per population and year: the wrapping sum of the members' pseudonyms,
    /// which tells populations with the same members apart from others
    /// (pseudonyms are uniform, so unequal sets collide with chance 2^-128).
    /// Never written anywhere.
    pub population_members: Vec<Vec<u128>>,
    pub without_age: Vec<u64>,
}

impl Counts {
    fn merge(&mut self, o: Counts) {
        for s in 0..3 {
            self.persons[s] += o.persons[s];
            self.duplicates[s] += o.duplicates[s];
            self.without_birth[s] += o.without_birth[s];
            for t in 0..3 {
                self.matched[s][t] += o.matched[s][t];
            }
            for (k, v) in &o.by_muni_year[s] {
                let e = self.by_muni_year[s].entry(*k).or_default();
                for i in 0..4 {
                    e[i] += v[i];
                }
            }
        }
        self.overlapping_spells += o.overlapping_spells;
        for (p, years) in o.population_years.iter().enumerate() {
            for (y, n) in years.iter().enumerate() {
                self.population_years[p][y] += n;
                self.population_members[p][y] =
                    self.population_members[p][y].wrapping_add(o.population_members[p][y]);
            }
            self.without_age[p] += o.without_age[p];
        }
    }
}

/// Index of a source kind in the per-kind arrays.
pub(crate) fn slot(kind: SourceKind) -> usize {
    match kind {
        SourceKind::Eb => 0,
        SourceKind::Af => 1,
        SourceKind::Lisa => 2,
    }
}

/// Links the loaded sources; returns the population frames and the counters.
pub(crate) fn link(
    study: &Study,
    data: &[Option<&SourceData>; 3],
    offsets: &[Option<Vec<usize>>; 3],
    ctx: &Ctx<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<PopulationFrame>, Counts) {
    let done = std::sync::atomic::AtomicU64::new(0);
    let parts: Vec<(Vec<PopulationFrame>, Counts)> = (0..BUCKETS)
        .into_par_iter()
        .map(|b| {
            let out = link_bucket(study, data, offsets, ctx, b);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n);
            out
        })
        .collect();

    let mut frames = empty_frames(study, Some(ctx));
    let mut counts = empty_counts(study);
    for (part_frames, part_counts) in parts {
        for (f, p) in frames.iter_mut().zip(part_frames) {
            append_frame(f, p);
        }
        counts.merge(part_counts);
    }
    (frames, counts)
}

pub(crate) const BUCKET_COUNT: u64 = BUCKETS as u64;

fn empty_counts(study: &Study) -> Counts {
    Counts {
        population_years: study
            .populations
            .iter()
            .map(|p| vec![0; p.years.len()])
            .collect(),
        population_members: study
            .populations
            .iter()
            .map(|p| vec![0; p.years.len()])
            .collect(),
        without_age: vec![0; study.populations.len()],
        ..Counts::default()
    }
}

/// Frames with no rows. Only the final frame carries the categories; the
/// per-bucket parts would otherwise clone every code list 1024 times.
fn empty_frames(study: &Study, ctx: Option<&Ctx<'_>>) -> Vec<PopulationFrame> {
    study
        .populations
        .iter()
        .enumerate()
        .map(|(pi, p)| PopulationFrame {
            len: 0,
            record_key: Vec::new(),
            household: Vec::new(),
            columns: p
                .needs
                .iter()
                .map(|&v| {
                    let var = &study.variables[v];
                    let column = match var.ty {
                        VarType::Category => Column::Category {
                            values: Vec::new(),
                            categories: ctx.map(|c| c.categories(pi, v)).unwrap_or_default(),
                        },
                        VarType::Number => Column::Number(Vec::new()),
                        VarType::Bool => Column::Bool(Vec::new()),
                    };
                    (v, column)
                })
                .collect(),
        })
        .collect()
}

fn append_frame(into: &mut PopulationFrame, mut from: PopulationFrame) {
    into.len += from.len;
    into.record_key.append(&mut from.record_key);
    into.household.append(&mut from.household);
    for ((_, a), (_, b)) in into.columns.iter_mut().zip(from.columns) {
        match (a, b) {
            (Column::Category { values: a, .. }, Column::Category { values: mut b, .. }) => {
                a.append(&mut b)
            }
            (Column::Number(a), Column::Number(mut b)) => a.append(&mut b),
            (Column::Bool(a), Column::Bool(mut b)) => a.append(&mut b),
            _ => unreachable!("same layout"),
        }
    }
}

fn link_bucket(
    study: &Study,
    data: &[Option<&SourceData>; 3],
    offsets: &[Option<Vec<usize>>; 3],
    ctx: &Ctx<'_>,
    b: usize,
) -> (Vec<PopulationFrame>, Counts) {
    // This bucket's rows of each source, sorted by (person, time, file order).
    // The bucket is one contiguous, cache-sized stretch of every column.
    let mut persons: Vec<Vec<u128>> = vec![Vec::new(); 3];
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); 3];
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
            persons[s] = keys.iter().map(|k| k.0).collect();
            rows[s] = keys.iter().map(|k| k.1 as u32).collect();
        }
    }
    let mut frames = empty_frames(study, None);
    let mut counts = empty_counts(study);
    let mut pos = [0usize; 3];
    let mut eb: Vec<EbMonth> = Vec::new();
    let mut af: Vec<Spell> = Vec::new();
    let mut regs: Vec<Registration> = Vec::new();
    let mut lisa: Vec<(i32, u32)> = Vec::new();
    let mut values: Vec<Value> = vec![Value::Missing; study.variables.len()];
    let mut seen: Vec<(u32, i32)> = Vec::new();
    loop {
        // The next person: the smallest pseudonym at the head of any source.
        let mut next: Option<u128> = None;
        for s in 0..3 {
            if let Some(&p) = persons[s].get(pos[s]) {
                next = Some(next.map_or(p, |n: u128| n.min(p)));
            }
        }
        let Some(person) = next else { break };
        let mut slices: [&[u32]; 3] = [&[], &[], &[]];
        for s in 0..3 {
            let start = pos[s];
            let mut end = start;
            while end < persons[s].len() && persons[s][end] == person {
                end += 1;
            }
            slices[s] = &rows[s][start..end];
            pos[s] = end;
        }
        let present: [bool; 3] = [
            !slices[0].is_empty(),
            !slices[1].is_empty(),
            !slices[2].is_empty(),
        ];

        // Person attributes: the first source with derived birth data.
        let (mut birth_year, mut sex, mut record_key) = (0i32, 0u8, 0u32);
        for s in 0..3 {
            if let (Some(d), Some(&i)) = (data[s], slices[s].first()) {
                record_key = d.record_key[i as usize];
                if d.has_birth && birth_year == 0 {
                    birth_year = d.birth_year[i as usize];
                    sex = d.sex[i as usize];
                }
            }
        }

        // EB: one entry per month; the row with the largest amount leads.
        eb.clear();
        if let Some(d) = data[0] {
            let amount = d.numbers(Concept::Amount);
            for &i in slices[0] {
                let i = i as usize;
                let a = amount.map_or(NO_NUMBER, |a| a[i]);
                match eb.last_mut() {
                    Some(last) if last.month == d.time[i] => {
                        counts.duplicates[0] += 1;
                        if a != NO_NUMBER {
                            let lead_amount = amount.map_or(NO_NUMBER, |am| am[last.row as usize]);
                            if lead_amount == NO_NUMBER || a > lead_amount {
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
        }
        // AF: identical spells count once; registrations chain on transfers.
        af.clear();
        if let Some(d) = data[1] {
            let programme = d.codes(Concept::Programme);
            let category = d.codes(Concept::Category);
            for &i in slices[1] {
                let i = i as usize;
                let same = |j: usize| {
                    d.time[j] == d.time[i]
                        && d.end[j] == d.end[i]
                        && programme.is_none_or(|p| p[j] == p[i])
                        && category.is_none_or(|c| c[j] == c[i])
                };
                if af
                    .iter()
                    .rev()
                    .take_while(|s| d.time[s.row as usize] == d.time[i])
                    .any(|s| same(s.row as usize))
                {
                    counts.duplicates[1] += 1;
                    continue;
                }
                af.push(Spell {
                    start: d.time[i],
                    end: d.end[i],
                    row: i as u32,
                });
            }
            for w in af.windows(2) {
                if w[1].start <= w[0].end {
                    counts.overlapping_spells += 1;
                }
            }
        }
        ctx.registrations(&af, &mut regs);
        // LISA: the first row of each year.
        lisa.clear();
        if let Some(d) = data[2] {
            for &i in slices[2] {
                let y = d.time[i as usize];
                if lisa.last().is_some_and(|(ly, _)| *ly == y) {
                    counts.duplicates[2] += 1;
                } else {
                    lisa.push((y, i));
                }
            }
        }

        let linked = LinkedPerson {
            birth_year,
            sex,
            eb: &eb,
            af: &af,
            regs: &regs,
            lisa: &lisa,
        };

        // Report counters.
        for s in 0..3 {
            if !present[s] {
                continue;
            }
            counts.persons[s] += 1;
            if birth_year == 0 {
                counts.without_birth[s] += 1;
            }
            for (t, &there) in present.iter().enumerate() {
                if there {
                    counts.matched[s][t] += 1;
                }
            }
            ctx.municipality_years(s, &linked, &mut seen);
            seen.sort_unstable();
            seen.dedup();
            for &key in &seen {
                let e = counts.by_muni_year[s].entry(key).or_default();
                e[0] += 1;
                for t in 0..3 {
                    if present[t] {
                        e[1 + t] += 1;
                    }
                }
            }
        }

        // Populations.
        for (pi, pop) in study.populations.iter().enumerate() {
            for (yi, &year) in pop.years.iter().enumerate() {
                if !ctx.member(pop.source, &linked, year) {
                    continue;
                }
                for v in values.iter_mut() {
                    *v = Value::Missing;
                }
                let mut keep = true;
                for &v in &pop.needs {
                    values[v] = if v == 0 {
                        Value::Cat(yi as u32)
                    } else {
                        ctx.eval(v, &linked, year, &values)
                    };
                }
                if let Some((lo, hi)) = pop.age {
                    match values[2] {
                        Value::Num(age) if age >= lo && age <= hi => {}
                        Value::Num(_) => keep = false,
                        _ => {
                            keep = false;
                            counts.without_age[pi] += 1;
                        }
                    }
                }
                for &r in &pop.require {
                    if !matches!(values[r], Value::Bool(true)) {
                        keep = false;
                    }
                }
                if !keep {
                    continue;
                }
                counts.population_years[pi][yi] += 1;
                counts.population_members[pi][yi] =
                    counts.population_members[pi][yi].wrapping_add(person);
                let f = &mut frames[pi];
                f.len += 1;
                f.record_key.push(record_key);
                f.household
                    .push(ctx.household(&linked, year).unwrap_or(NO_HOUSEHOLD));
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
        }
    }
    (frames, counts)
}

/// Categories of `year` in a population: its years.
pub(crate) fn year_categories(years: &[i32]) -> Categories {
    let codes: Vec<String> = years.iter().map(|y| y.to_string()).collect();
    Categories {
        labels: codes.clone(),
        codes,
        group_of: None,
        groups: Vec::new(),
    }
}
