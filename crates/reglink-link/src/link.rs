//! Linking: group every source's rows by person and walk the persons.
//!
//! Pseudonyms are uniformly random, so their top bits split the persons into
//! [`BUCKETS`] buckets of about equal size with no hashing. A counting pass
//! scatters each source's row indices by bucket; then the buckets are linked
//! in parallel: sort the bucket's rows by (person, time, file order), walk the
//! persons in step across the sources, apply the duplicate rules, and hand
//! each person to the population builders and the report counters. Results
//! are gathered in bucket order, so the output does not depend on threads.
//! One bucket's walk and the duplicate rules are in `bucket.rs`.

mod bucket;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::derive::Ctx;
use crate::frame::{Column, PopulationFrame};
use crate::load::SourceData;
use crate::study::{Categories, SourceKind, Study, VarType};

/// Number of buckets (top bits of the pseudonym).
const BUCKET_BITS: u32 = 10;
const BUCKETS: usize = 1 << BUCKET_BITS;

fn bucket_of(p: u128) -> usize {
    (p >> (128 - BUCKET_BITS)) as usize
}

/// The most groups of buckets bounded-memory linking splits the persons into.
pub(crate) const MAX_GROUPS: usize = BUCKETS;

/// The group of pseudonym `p` among `groups` (a power of two, at most
/// [`MAX_GROUPS`]): a contiguous range of buckets ([`group_buckets`]).
pub(crate) fn group_of(p: u128, groups: usize) -> usize {
    debug_assert!(groups.is_power_of_two() && groups <= MAX_GROUPS);
    bucket_of(p) / (BUCKETS / groups)
}

/// The buckets of group `g` among `groups`.
pub(crate) fn group_buckets(g: usize, groups: usize) -> std::ops::Range<usize> {
    let per = BUCKETS / groups;
    g * per..(g + 1) * per
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
    pub by_muni_year: [HashMap<(u32, i32), [u64; 4]>; 3],
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
    pub(crate) fn merge(&mut self, o: Counts) {
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

/// Links the loaded sources in `buckets` (all of them, or a group's when
/// the sources hold only that group's persons); returns the population
/// frames and the counters. `progress` hears the buckets done, counted
/// from `buckets.start`.
pub(crate) fn link(
    study: &Study,
    data: &[Option<&SourceData>; 3],
    offsets: &[Option<Vec<usize>>; 3],
    ctx: &Ctx<'_>,
    (buckets, progress): (std::ops::Range<usize>, &(dyn Fn(u64) + Sync)),
) -> (Vec<PopulationFrame>, Counts) {
    let done = std::sync::atomic::AtomicU64::new(buckets.start as u64);
    let parts: Vec<(Vec<PopulationFrame>, Counts)> = buckets
        .into_par_iter()
        .map(|b| {
            let out = bucket::link_bucket(study, data, offsets, ctx, b);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n);
            out
        })
        .collect();

    let mut frames = empty_frames(study, true);
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

pub(crate) fn empty_counts(study: &Study) -> Counts {
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

/// Frames with no rows, with the variables' categories if `categories`.
/// Only the final frame carries them; the per-bucket parts would otherwise
/// clone every code list 1024 times.
pub(crate) fn empty_frames(study: &Study, categories: bool) -> Vec<PopulationFrame> {
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
                            categories: if categories {
                                study.categories(pi, v)
                            } else {
                                Categories::default()
                            },
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

pub(crate) fn append_frame(into: &mut PopulationFrame, mut from: PopulationFrame) {
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
