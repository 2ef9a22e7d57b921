//! Evaluators of the kinds read from EB months: `eb_months`, `long_term`,
//! `eb_amount`, `household_type`, `eb_spell_months`, `eb_entry`, and of those
//! that set EB months against AF spells: `at_af_during_eb`, `status_after`.

use super::{Ctx, Query, Value, months_between};
use crate::load::NO_NUMBER;
use crate::study::VarKind;

/// `eb_months`: months of the year with an EB payment.
pub(crate) fn eb_months(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    Value::Num(cx.eb_in_year(q.p, q.year).len() as i64)
}

/// `long_term`: at least `min_months` EB months in the year.
pub(crate) fn long_term(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::LongTerm { min_months });
    Value::Bool(cx.eb_in_year(q.p, q.year).len() >= *min_months as usize)
}

/// `eb_amount`: the year's EB amounts (unknown ones add 0); missing without
/// an EB month.
pub(crate) fn eb_amount(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    let months = cx.eb_in_year(q.p, q.year);
    if months.is_empty() {
        return Value::Missing;
    }
    Value::Num(
        months
            .iter()
            .filter(|e| e.amount != NO_NUMBER)
            .map(|e| e.amount)
            .sum(),
    )
}

/// `household_type`: single or couple, without or with children, in the
/// household of the year's last EB month, that month.
pub(crate) fn household_type(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    let Some(last) = cx.eb_in_year(q.p, q.year).last() else {
        return Value::Missing;
    };
    let Some(h) = cx.household(q.p, q.year) else {
        return Value::Missing;
    };
    match cx.households.get(&(h, last.month)) {
        Some(&(adults, children)) if adults > 0 => {
            Value::Cat(2 * u32::from(adults >= 2) + u32::from(children > 0))
        }
        _ => Value::Missing,
    }
}

/// `eb_spell_months`: the run of EB months around the year's first, gaps of
/// up to `max_gap` months not breaking it.
pub(crate) fn eb_spell_months(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::EbSpellMonths { max_gap });
    let eb = q.p.eb;
    let Some(first) = cx.eb_in_year(q.p, q.year).first() else {
        return Value::Missing;
    };
    let i = eb
        .iter()
        .position(|e| e.month == first.month)
        .unwrap_or_else(|| unreachable!());
    let (mut lo, mut hi) = (i, i);
    while lo > 0 && eb[lo].month - eb[lo - 1].month <= max_gap + 1 {
        lo -= 1;
    }
    while hi + 1 < eb.len() && eb[hi + 1].month - eb[hi].month <= max_gap + 1 {
        hi += 1;
    }
    Value::Num(i64::from(eb[hi].month - eb[lo].month + 1))
}

/// `eb_entry`: no EB month in the `months` months (inside the period) before
/// the year's first.
pub(crate) fn eb_entry(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::EbEntry { months });
    let Some(first) = cx.eb_in_year(q.p, q.year).first() else {
        return Value::Bool(false);
    };
    let from = first.month - months;
    Value::Bool(
        from >= cx.study.first_month && months_between(q.p.eb, from, first.month - 1).is_empty(),
    )
}

/// `at_af_during_eb`: an EB month of the year covered by an AF spell.
pub(crate) fn at_af_during_eb(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    Value::Bool(
        cx.eb_in_year(q.p, q.year)
            .iter()
            .any(|e| q.p.af.iter().any(|sp| cx.covers_month(sp, e.month))),
    )
}

/// `status_after`: on EB, at AF, neither or not observed `months` after the
/// year's first EB month.
pub(crate) fn status_after(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::StatusAfter { months });
    let Some(first) = cx.eb_in_year(q.p, q.year).first() else {
        return Value::Missing;
    };
    let m = first.month + months;
    if m > cx.study.last_month {
        Value::Cat(3)
    } else if cx.has_eb_month(q.p, m) {
        Value::Cat(0)
    } else if q.p.af.iter().any(|sp| cx.covers_month(sp, m)) {
        Value::Cat(1)
    } else {
        Value::Cat(2)
    }
}
