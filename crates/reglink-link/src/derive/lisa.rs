//! Evaluators of the kinds read from LISA years: `benefit_group`,
//! `lisa_value`, `self_supporting`.

use super::{Ctx, Query, Value};
use crate::load::{NO_CODE, NO_NUMBER};
use crate::study::{Concept, VarKind};

/// `benefit_group`: `eb` with an EB month in the year, else `a_kassa` with
/// unemployment benefit in LISA, else `other`.
pub(crate) fn benefit_group(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    if !cx.eb_in_year(q.p, q.year).is_empty() {
        return Value::Cat(0);
    }
    let benefit = cx.lisa_row(q.p, q.year).and_then(|r| {
        cx.lisa?
            .numbers(Concept::UnemploymentBenefit)
            .map(|b| b[r as usize])
    });
    match benefit {
        Some(b) if b != NO_NUMBER && b > 0 => Value::Cat(1),
        _ => Value::Cat(2),
    }
}

/// `lisa_value`: the value in LISA for the year plus the offset.
pub(crate) fn lisa_value(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::LisaValue { concept, offset });
    cx.lisa_row(q.p, q.year + offset)
        .and_then(|r| cx.lisa?.numbers(*concept).map(|n| n[r as usize]))
        .filter(|&n| n != NO_NUMBER)
        .map_or(Value::Missing, Value::Num)
}

/// `self_supporting`: employed in LISA for the year plus the offset, with no
/// EB month that year.
pub(crate) fn self_supporting(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::SelfSupporting { offset, employed });
    let Some(row) = cx.lisa_row(q.p, q.year + offset) else {
        return Value::Missing;
    };
    let code = cx
        .lisa
        .and_then(|d| d.codes(Concept::Employment))
        .map_or(NO_CODE, |c| c[row as usize]);
    let listed = match (&cx.employment_map, code) {
        (Some(m), c) if c != NO_CODE => m[c as usize],
        _ => NO_CODE,
    };
    let is_employed = listed != NO_CODE && employed.contains(&listed);
    Value::Bool(is_employed && cx.eb_in_year(q.p, q.year + offset).is_empty())
}
