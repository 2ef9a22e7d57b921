//! Derived variables: the value of each variable for one person-year.
//!
//! [`Ctx`] holds what every evaluator needs besides the person: the sources,
//! the code maps and the household composition table. [`Ctx::eval`] calls
//! the variable's evaluator, one function per kind, named after it, in the
//! files beside this one grouped by the register they read (`general.rs`:
//! the built-in variables, bands and codes; `eb.rs`, `af.rs`, `lisa.rs`);
//! the table of kinds (`study/kinds.rs`) pairs each kind with its evaluator.
//!
//! Every definition here is written out in `docs/study-file.md`; the tests
//! check the engine against an independent implementation of that page.

/// Binds what a variable's keys resolved to, in an evaluator of its kind
/// (the table of kinds gives each kind its own evaluator).
macro_rules! params {
    ($kind:expr, $pattern:pat) => {
        let $pattern = $kind else {
            unreachable!("the table of kinds pairs each evaluator with its own kind")
        };
    };
}

mod af;
mod eb;
mod general;
mod lisa;

use std::collections::HashMap;

use crate::link::slot;
use crate::load::{
    NO_CODE, OPEN, ROLE_APPLICANT, ROLE_CHILD, ROLE_CO_APPLICANT, SourceData, month_first_day,
    month_of_day,
};
use crate::study::{Concept, Month, SourceKind, Study, TRANSFER_GROUP, VarId, VarKind};

pub(crate) use af::{
    af_entry, af_exit, af_programme, af_registration_days, days_to_programme, programme_days,
};
pub(crate) use eb::{
    at_af_during_eb, eb_amount, eb_entry, eb_months, eb_spell_months, household_type, long_term,
    status_after,
};
pub(crate) use general::{age, band, code, found_in, sex, year};
pub(crate) use lisa::{benefit_group, lisa_value, self_supporting};

/// One EB month of a person (duplicates merged).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EbMonth {
    pub month: Month,
    /// The leading row: the one with the largest amount.
    pub row: u32,
    /// Sum of the month's amounts, [`NO_NUMBER`](crate::load::NO_NUMBER) if none known.
    pub amount: i64,
}

/// One AF spell of a person.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spell {
    pub start: i32,
    pub end: i32,
    pub row: u32,
}

/// A chain of spells joined by transfer exits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    /// Index of the first spell in the person's spells.
    pub first: u32,
    /// Index of the last spell.
    pub last: u32,
}

/// A person with all their rows, in time order.
pub(crate) struct LinkedPerson<'a> {
    pub birth_year: i32,
    pub sex: u8,
    pub eb: &'a [EbMonth],
    pub af: &'a [Spell],
    pub regs: &'a [Registration],
    /// (year, row) of LISA, one per year.
    pub lisa: &'a [(i32, u32)],
    /// Per source kind (in [`crate::link::slot`] order): whether the person
    /// has a used row in it (not rejected, in the study period), as the
    /// linkage report's matches count them.
    pub present: [bool; 3],
}

/// A variable's value for one person-year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    Missing,
    Cat(u32),
    Num(i64),
    Bool(bool),
}

/// One variable for one person-year: what an evaluator is asked.
pub(crate) struct Query<'q> {
    /// The variable.
    pub v: VarId,
    /// Its kind, with what its keys resolved to.
    pub kind: &'q VarKind,
    /// The person.
    pub p: &'q LinkedPerson<'q>,
    /// The year.
    pub year: i32,
    /// The variables computed before it (a band reads its number here).
    pub values: &'q [Value],
}

/// A kind's evaluator: the value of one variable of the kind for one
/// person-year.
pub(crate) type Eval = fn(&Ctx<'_>, &Query<'_>) -> Value;

/// Everything derivation needs besides the person: the sources, code maps
/// and the household composition table.
pub(crate) struct Ctx<'a> {
    study: &'a Study,
    eb: Option<&'a SourceData>,
    af: Option<&'a SourceData>,
    lisa: Option<&'a SourceData>,
    /// Per variable of kind `code`: dictionary index -> category.
    code_maps: Vec<Option<Vec<u32>>>,
    /// AF programme dictionary index -> code-list index.
    programme_map: Option<Vec<u32>>,
    /// AF exit dictionary index -> code-list group, and whether it is a transfer.
    exit_group: Option<Vec<u32>>,
    transfer: Option<u32>,
    /// af_exit category index of each exit group.
    exit_category: HashMap<u32, u32>,
    /// LISA employment dictionary index -> code-list index.
    employment_map: Option<Vec<u32>>,
    /// (household, month) -> (adults, children).
    households: std::borrow::Cow<'a, Households>,
    period_last_day: i32,
}

/// Per (household, month) of EB: its adults and children.
pub(crate) type Households = HashMap<(u64, Month), (u32, u32)>;

fn map_dictionary(dictionary: &[String], list: &crate::CodeList, group: bool) -> Vec<u32> {
    dictionary
        .iter()
        .map(|code| match list.find(code) {
            Some(i) if group => list.group_of.as_ref().map_or(NO_CODE, |g| g[i as usize]),
            Some(i) => i,
            None => NO_CODE,
        })
        .collect()
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(study: &'a Study, data: &[Option<&'a SourceData>; 3]) -> Ctx<'a> {
        Ctx::with_households(study, data, None)
    }

    /// Whether the study derives a variable from EB households, which then
    /// need every EB row ([`household_table`]), not a group's.
    pub(crate) fn needs_households(study: &Study) -> bool {
        study
            .variables
            .iter()
            .any(|v| matches!(v.kind, VarKind::HouseholdType))
    }

    /// [`Ctx::new`], with the households of all EB rows given when `data`
    /// holds only some persons' rows (a group of pseudonyms, in bounded
    /// memory): a household's members fall in different groups.
    pub(crate) fn with_households(
        study: &'a Study,
        data: &[Option<&'a SourceData>; 3],
        households: Option<&'a Households>,
    ) -> Ctx<'a> {
        let [eb, af, lisa] = *data;
        let by_kind = |k: SourceKind| data[slot(k)];
        let code_maps = study
            .variables
            .iter()
            .map(|v| match &v.kind {
                VarKind::Code {
                    source,
                    concept,
                    codelist,
                    group_level,
                    ..
                } => {
                    let d = by_kind(study.sources[*source].kind)?;
                    Some(map_dictionary(
                        d.dictionary(*concept).unwrap_or(&[]),
                        &study.codelists[*codelist],
                        *group_level,
                    ))
                }
                _ => None,
            })
            .collect();
        let list_map = |d: Option<&SourceData>, kind: SourceKind, concept: Concept, group: bool| {
            let d = d?;
            let source = &study.sources[study.source_of_kind(kind)?];
            let list = source.codelist(concept)?;
            Some(map_dictionary(
                d.dictionary(concept)?,
                &study.codelists[list],
                group,
            ))
        };
        let exit_list = study
            .source_of_kind(SourceKind::Af)
            .and_then(|s| study.sources[s].codelist(Concept::Exit))
            .map(|l| &study.codelists[l]);
        let transfer = exit_list.and_then(|l| l.find_group(TRANSFER_GROUP));
        let mut exit_category = HashMap::new();
        if let Some(list) = exit_list {
            let mut next = 0;
            for (g, name) in list.groups.iter().enumerate() {
                if name != TRANSFER_GROUP {
                    exit_category.insert(g as u32, next);
                    next += 1;
                }
            }
        }
        let households = match (households, eb, Ctx::needs_households(study)) {
            (Some(h), _, _) => std::borrow::Cow::Borrowed(h),
            (None, Some(d), true) => std::borrow::Cow::Owned(household_table(d)),
            _ => std::borrow::Cow::Owned(HashMap::default()),
        };
        Ctx {
            study,
            eb,
            af,
            lisa,
            code_maps,
            programme_map: list_map(af, SourceKind::Af, Concept::Programme, false),
            exit_group: list_map(af, SourceKind::Af, Concept::Exit, true),
            transfer,
            exit_category,
            employment_map: list_map(lisa, SourceKind::Lisa, Concept::Employment, false),
            households,
            period_last_day: month_first_day(study.last_month + 1) - 1,
        }
    }

    /// Chains a person's spells into registrations.
    pub(crate) fn registrations(&self, spells: &[Spell], out: &mut Vec<Registration>) {
        out.clear();
        let (Some(af), Some(groups)) = (self.af, &self.exit_group) else {
            return;
        };
        let exit = af.codes(Concept::Exit);
        let mut i = 0;
        while i < spells.len() {
            let first = i;
            while i + 1 < spells.len() {
                let code = exit.map_or(NO_CODE, |e| e[spells[i].row as usize]);
                let group = if code == NO_CODE {
                    NO_CODE
                } else {
                    groups[code as usize]
                };
                if spells[i].end != OPEN && Some(group) == self.transfer {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Registration {
                first: first as u32,
                last: i as u32,
            });
            i += 1;
        }
    }

    /// The (municipality, year) pairs a person has in source slot `s`.
    pub(crate) fn municipality_years(
        &self,
        s: usize,
        p: &LinkedPerson<'_>,
        out: &mut Vec<(u32, i32)>,
    ) {
        out.clear();
        match s {
            0 => {
                if let Some(m) = self.eb.and_then(|d| d.codes(Concept::Municipality)) {
                    for e in p.eb {
                        let key = (m[e.row as usize], e.month.div_euclid(12));
                        // Months come in order: most repeats are adjacent.
                        if out.last() != Some(&key) {
                            out.push(key);
                        }
                    }
                }
            }
            1 => {
                if let Some(m) = self.af.and_then(|d| d.codes(Concept::Municipality)) {
                    let first_year = self.study.first_month.div_euclid(12);
                    let last_year = self.study.last_month.div_euclid(12);
                    for sp in p.af {
                        let from = month_of_day(sp.start).div_euclid(12).max(first_year);
                        let to = month_of_day(self.clip(sp.end))
                            .div_euclid(12)
                            .min(last_year);
                        out.extend((from..=to).map(|y| (m[sp.row as usize], y)));
                    }
                }
            }
            _ => {
                if let Some(m) = self.lisa.and_then(|d| d.codes(Concept::Municipality)) {
                    out.extend(p.lisa.iter().map(|&(y, row)| (m[row as usize], y)));
                }
            }
        }
        out.retain(|(m, _)| *m != NO_CODE);
    }

    fn clip(&self, end: i32) -> i32 {
        end.min(self.period_last_day)
    }

    fn eb_in_year<'p>(&self, p: &'p LinkedPerson<'_>, year: i32) -> &'p [EbMonth] {
        months_between(p.eb, year * 12, year * 12 + 11)
    }

    fn has_eb_month(&self, p: &LinkedPerson<'_>, m: Month) -> bool {
        p.eb.binary_search_by_key(&m, |e| e.month).is_ok()
    }

    fn covers_month(&self, sp: &Spell, m: Month) -> bool {
        sp.start < month_first_day(m + 1) && self.clip(sp.end) >= month_first_day(m)
    }

    fn covers_year(&self, sp: &Spell, year: i32) -> bool {
        self.covers_month_range(sp, year * 12, year * 12 + 11)
    }

    fn covers_month_range(&self, sp: &Spell, first: Month, last: Month) -> bool {
        sp.start < month_first_day(last + 1) && self.clip(sp.end) >= month_first_day(first)
    }

    fn lisa_row(&self, p: &LinkedPerson<'_>, year: i32) -> Option<u32> {
        p.lisa.iter().find(|(y, _)| *y == year).map(|(_, r)| *r)
    }

    /// Whether the person-year belongs to a population defined by `source`.
    pub(crate) fn member(&self, source: SourceKind, p: &LinkedPerson<'_>, year: i32) -> bool {
        match source {
            SourceKind::Eb => !self.eb_in_year(p, year).is_empty(),
            SourceKind::Af => p.af.iter().any(|sp| self.covers_year(sp, year)),
            SourceKind::Lisa => self.lisa_row(p, year).is_some(),
        }
    }

    /// The household of the person's last EB month in the year.
    pub(crate) fn household(&self, p: &LinkedPerson<'_>, year: i32) -> Option<u64> {
        let d = self.eb?;
        let last = self.eb_in_year(p, year).last()?;
        d.household
            .get(last.row as usize)
            .copied()
            .filter(|&h| h != u64::MAX)
    }

    fn programme_matches(&self, sp: &Spell, codes: &Option<Vec<u32>>) -> bool {
        let Some(programme) = self.af.and_then(|d| d.codes(Concept::Programme)) else {
            return false;
        };
        let code = programme[sp.row as usize];
        if code == NO_CODE {
            return false;
        }
        match codes {
            None => true,
            Some(wanted) => {
                let listed = self
                    .programme_map
                    .as_ref()
                    .map_or(NO_CODE, |m| m[code as usize]);
                listed != NO_CODE && wanted.contains(&listed)
            }
        }
    }

    fn first_registration_in(&self, p: &LinkedPerson<'_>, year: i32) -> Option<Registration> {
        let (from, to) = (
            month_first_day(year * 12),
            month_first_day(year * 12 + 12) - 1,
        );
        p.regs
            .iter()
            .copied()
            .find(|r| (from..=to).contains(&p.af[r.first as usize].start))
    }

    /// Computes variable `v` for the person in `year` with its kind's
    /// evaluator. `values` holds the variables computed before it (bands read
    /// their number from there).
    pub(crate) fn eval(
        &self,
        v: VarId,
        p: &LinkedPerson<'_>,
        year: i32,
        values: &[Value],
    ) -> Value {
        let var = &self.study.variables[v];
        let query = Query {
            v,
            kind: &var.kind,
            p,
            year,
            values,
        };
        (var.eval)(self, &query)
    }
}

/// The EB months of `eb` (sorted) in `first..=last`.
fn months_between(eb: &[EbMonth], first: Month, last: Month) -> &[EbMonth] {
    let lo = eb.partition_point(|e| e.month < first);
    let hi = eb.partition_point(|e| e.month <= last);
    &eb[lo..hi.max(lo)]
}

/// The day `months` months after `day`, on the same day of the month (or the
/// month's last day when it is shorter).
pub(crate) fn add_months(day: i32, months: i32) -> i32 {
    let d = reglink_pnr::Date::from_days_since_epoch(day);
    let m = d.month_index() + months;
    let (y, mo) = (m.div_euclid(12), (m.rem_euclid(12) + 1) as u8);
    let mut dd = d.day();
    loop {
        if let Some(date) = reglink_pnr::Date::new(y, mo, dd) {
            return date.days_since_epoch();
        }
        dd -= 1;
    }
}

/// One EB row's part in its household's composition: (household, month,
/// person, role).
pub(crate) type Member = (u64, Month, u128, u8);

/// Adults and children per (household, month) of the EB rows in `eb`, each
/// person counted once per month.
pub(crate) fn household_table(eb: &SourceData) -> Households {
    let mut rows: Vec<Member> = (0..eb.len())
        .filter(|&i| eb.household[i] != u64::MAX)
        .map(|i| {
            (
                eb.household[i],
                eb.time[i],
                eb.person[i],
                eb.role.get(i).copied().unwrap_or(u8::MAX),
            )
        })
        .collect();
    compositions(&mut rows)
}

/// Adults (applicants and co-applicants) and children per (household,
/// month) of `members`, which it sorts and rids of a person's second row in
/// the same household and month. Every member of a household must be in
/// `members` for its counts to be whole.
pub(crate) fn compositions(members: &mut Vec<Member>) -> Households {
    members.sort_unstable();
    members.dedup_by_key(|r| (r.0, r.1, r.2));
    let mut table: Households = HashMap::default();
    for &(h, m, _, role) in members.iter() {
        let e = table.entry((h, m)).or_default();
        match role {
            ROLE_APPLICANT | ROLE_CO_APPLICANT => e.0 += 1,
            ROLE_CHILD => e.1 += 1,
            _ => {}
        }
    }
    table
}

#[cfg(test)]
mod tests;
