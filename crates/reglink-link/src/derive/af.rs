//! Evaluators of the kinds read from AF spells and registrations:
//! `af_programme`, `af_entry`, `af_exit`, `af_registration_days`,
//! `days_to_programme`, `programme_days`.

use super::{Ctx, Query, Value, add_months};
use crate::load::{NO_CODE, OPEN, month_first_day};
use crate::study::{Concept, VarKind};

/// `af_programme`: a spell with such a programme covers a month of the year.
pub(crate) fn af_programme(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::AfProgramme { codes });
    Value::Bool(
        q.p.af
            .iter()
            .any(|sp| cx.covers_year(sp, q.year) && cx.programme_matches(sp, codes)),
    )
}

/// `af_entry`: a registration starts in the year.
pub(crate) fn af_entry(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    Value::Bool(cx.first_registration_in(q.p, q.year).is_some())
}

/// `af_exit`: how the year's first registration ended within
/// `within_months` of its start: the exit code's group, still registered, or
/// not observed.
pub(crate) fn af_exit(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::AfExit { within_months });
    let Some(reg) = cx.first_registration_in(q.p, q.year) else {
        return Value::Missing;
    };
    let start = q.p.af[reg.first as usize].start;
    let last = q.p.af[reg.last as usize];
    let horizon = add_months(start, *within_months);
    let n_groups = cx.exit_category.len() as u32;
    if last.end != OPEN && last.end <= horizon {
        let code = cx
            .af
            .and_then(|d| d.codes(Concept::Exit))
            .map_or(NO_CODE, |e| e[last.row as usize]);
        let group = match (&cx.exit_group, code) {
            (Some(g), c) if c != NO_CODE => g[c as usize],
            _ => NO_CODE,
        };
        match cx.exit_category.get(&group) {
            Some(&c) => Value::Cat(c),
            None => Value::Missing,
        }
    } else if horizon > cx.period_last_day {
        Value::Cat(n_groups + 1)
    } else {
        Value::Cat(n_groups)
    }
}

/// `af_registration_days`: days of the year's first registration; missing
/// while it is open.
pub(crate) fn af_registration_days(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    let Some(reg) = cx.first_registration_in(q.p, q.year) else {
        return Value::Missing;
    };
    let end = q.p.af[reg.last as usize].end;
    if end == OPEN {
        Value::Missing
    } else {
        Value::Num(i64::from(end - q.p.af[reg.first as usize].start + 1))
    }
}

/// `days_to_programme`: days from the start of the year's first registration
/// to its first spell with such a programme.
pub(crate) fn days_to_programme(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::DaysToProgramme { codes });
    let Some(reg) = cx.first_registration_in(q.p, q.year) else {
        return Value::Missing;
    };
    let start = q.p.af[reg.first as usize].start;
    q.p.af[reg.first as usize..=reg.last as usize]
        .iter()
        .find(|sp| cx.programme_matches(sp, codes))
        .map_or(Value::Missing, |sp| Value::Num(i64::from(sp.start - start)))
}

/// `programme_days`: days of the year covered by spells with such a
/// programme, overlaps counted once.
pub(crate) fn programme_days(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::ProgrammeDays { codes });
    let (from, to) = (
        month_first_day(q.year * 12),
        month_first_day(q.year * 12 + 12) - 1,
    );
    let mut days = 0i64;
    let mut covered_to = i32::MIN; // last day counted so far
    for sp in q.p.af.iter().filter(|sp| cx.programme_matches(sp, codes)) {
        let s = sp.start.max(from).max(covered_to.saturating_add(1));
        let e = cx.clip(sp.end).min(to);
        if e >= s {
            days += i64::from(e - s + 1);
        }
        covered_to = covered_to.max(e);
    }
    Value::Num(days)
}
