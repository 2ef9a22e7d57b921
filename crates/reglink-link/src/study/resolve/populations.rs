//! `[populations]`, and what each population computes.

use std::collections::BTreeMap;

use toml::Spanned;

use super::sources::source_kind;
use super::{Ctx, find_source, var_id};
use crate::LinkError;
use crate::study::raw::RawPopulation;
use crate::study::{
    MeasureKind, Month, Population, Source, Table, VarId, VarKind, VarType, Variable,
};

/// `[populations]` in name order; their `needs` are filled in once the
/// tables are known ([`needs`]).
pub(super) fn populations(
    cx: &Ctx<'_>,
    raw: &BTreeMap<String, Spanned<RawPopulation>>,
    sources: &[Source],
    variables: &[Variable],
    (first_month, last_month): (Month, Month),
) -> Result<Vec<Population>, LinkError> {
    let (first_year, last_year) = (first_month.div_euclid(12), last_month.div_euclid(12));
    let mut populations = Vec::new();
    for (name, pop) in raw {
        let p = pop.get_ref();
        let source = source_kind(cx, &p.source, "population source")?;
        find_source(cx, sources, source, p.source.span(), "the population")?;
        let mut years = Vec::new();
        for &y in p.years.get_ref() {
            if y < i64::from(first_year) || y > i64::from(last_year) {
                return Err(cx.err(
                    p.years.span(),
                    format!("year {y} is outside the study period"),
                ));
            }
            if !years.contains(&(y as i32)) {
                years.push(y as i32);
            }
        }
        if years.is_empty() {
            return Err(cx.err(p.years.span(), "years is empty"));
        }
        years.sort_unstable();
        let age = match &p.age {
            Some(a) if a.get_ref()[0] > a.get_ref()[1] || a.get_ref()[0] < 0 => {
                return Err(cx.err(
                    a.span(),
                    "age must be [lowest, highest] with 0 <= lowest <= highest",
                ));
            }
            Some(a) => Some((a.get_ref()[0], a.get_ref()[1])),
            None => None,
        };
        let mut require = Vec::new();
        for r in &p.require {
            let id = var_id(cx, variables.iter().map(|v| v.name.as_str()), r)?;
            if variables[id].ty != VarType::Bool {
                return Err(cx.err(
                    r.span(),
                    format!("{:?} is not a bool variable", r.get_ref()),
                ));
            }
            require.push(id);
        }
        populations.push(Population {
            name: name.clone(),
            source,
            years,
            age,
            require,
            needs: Vec::new(),
        });
    }
    Ok(populations)
}

/// What each population must compute: its tables' variables, its filters,
/// and their inputs, each after the variables it is computed from.
pub(super) fn needs(populations: &mut [Population], tables: &[Table], variables: &[Variable]) {
    for (pi, pop) in populations.iter_mut().enumerate() {
        let mut want: Vec<VarId> = pop.require.clone();
        if pop.age.is_some() {
            want.push(2);
        }
        for t in tables.iter().filter(|t| t.population == pi) {
            want.extend(&t.dimensions);
            for m in &t.measures {
                match m.kind {
                    MeasureKind::Share(v)
                    | MeasureKind::Sum(v)
                    | MeasureKind::Mean(v)
                    | MeasureKind::Median(v) => want.push(v),
                    MeasureKind::Persons | MeasureKind::Households => {}
                }
            }
        }
        let mut needs: Vec<VarId> = Vec::new();
        for v in want.iter().copied() {
            if let VarKind::Band { of, .. } = variables[v].kind
                && !needs.contains(&of)
            {
                needs.push(of);
            }
        }
        for v in want {
            if !needs.contains(&v) {
                needs.push(v);
            }
        }
        // Bands last: they read the numbers they band.
        needs.sort_by_key(|&v| matches!(variables[v].kind, VarKind::Band { .. }));
        pop.needs = needs;
    }
}
