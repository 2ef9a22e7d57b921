//! Evaluators of the built-in variables (`year`, `sex`, `age`) and of the
//! kinds of any register: `band`, `code`.

use super::{Ctx, Query, Value};
use crate::load::NO_CODE;
use crate::study::{SourceKind, VarKind};

/// `year`: set by the caller, which knows the year's index among the
/// population's years.
pub(crate) fn year(_: &Ctx<'_>, _: &Query<'_>) -> Value {
    unreachable!("year is set by the caller")
}

/// `sex`: `men` from 1, `women` from 2.
pub(crate) fn sex(_: &Ctx<'_>, q: &Query<'_>) -> Value {
    match q.p.sex {
        1 => Value::Cat(0),
        2 => Value::Cat(1),
        _ => Value::Missing,
    }
}

/// `age`: the age reached during the year.
pub(crate) fn age(_: &Ctx<'_>, q: &Query<'_>) -> Value {
    if q.p.birth_year > 0 {
        Value::Num(i64::from(q.year - q.p.birth_year))
    } else {
        Value::Missing
    }
}

/// `band`: the first band containing the number.
pub(crate) fn band(_: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::Band { of, bands });
    match q.values[*of] {
        Value::Num(x) => bands
            .iter()
            .position(|b| b.contains(x))
            .map_or(Value::Missing, |i| Value::Cat(i as u32)),
        _ => Value::Missing,
    }
}

/// `code`: the code of the year's last EB month, last AF spell covering it,
/// or LISA row of the year plus the offset, through the code list.
pub(crate) fn code(cx: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(
        q.kind,
        VarKind::Code {
            source,
            concept,
            offset,
            ..
        }
    );
    let (p, year) = (q.p, q.year);
    let map = cx.code_maps[q.v].as_deref().unwrap_or(&[]);
    let row = match cx.study.sources[*source].kind {
        SourceKind::Eb => cx.eb_in_year(p, year).last().map(|e| (cx.eb, e.row)),
        SourceKind::Af => {
            p.af.iter()
                .rev()
                .find(|sp| cx.covers_year(sp, year))
                .map(|sp| (cx.af, sp.row))
        }
        SourceKind::Lisa => cx.lisa_row(p, year + offset).map(|r| (cx.lisa, r)),
    };
    let code = row.and_then(|(d, r)| d?.codes(*concept).map(|c| c[r as usize]));
    match code {
        Some(c) if c != NO_CODE && map[c as usize] != NO_CODE => Value::Cat(map[c as usize]),
        _ => Value::Missing,
    }
}

/// `found_in`: the person has a used row in the source (not rejected, in
/// the study period), as the linkage report's matches count them.
pub(crate) fn found_in(_: &Ctx<'_>, q: &Query<'_>) -> Value {
    params!(q.kind, VarKind::FoundIn { kind });
    Value::Bool(q.p.present[crate::link::slot(*kind)])
}
