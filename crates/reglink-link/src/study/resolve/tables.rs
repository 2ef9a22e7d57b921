//! `[[tables]]`: each table's population, dimensions and measures.

use std::collections::HashSet;

use toml::Spanned;

use super::{Ctx, find_source, var_id};
use crate::LinkError;
use crate::study::raw::{RawMeasure, RawTable};
use crate::study::{
    Concept, Measure, MeasureKind, Population, Source, SourceKind, Table, VarId, VarType, Variable,
};

/// What a table can refer to.
pub(super) struct Names<'a> {
    pub sources: &'a [Source],
    pub variables: &'a [Variable],
    pub populations: &'a [Population],
}

impl Names<'_> {
    fn var_id(&self, cx: &Ctx<'_>, name: &Spanned<String>) -> Result<VarId, LinkError> {
        var_id(cx, self.variables.iter().map(|v| v.name.as_str()), name)
    }
}

/// `[[tables]]` in file order.
pub(super) fn tables(
    cx: &Ctx<'_>,
    raw: &[Spanned<RawTable>],
    names: &Names<'_>,
) -> Result<Vec<Table>, LinkError> {
    let mut tables = Vec::new();
    let mut table_names = HashSet::new();
    for table in raw {
        let t = table.get_ref();
        let tname = t.name.get_ref();
        if tname.is_empty()
            || !tname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(cx.err(
                t.name.span(),
                "a table name is letters, digits, - and _ (it names the output file)",
            ));
        }
        if !table_names.insert(tname.clone()) {
            return Err(cx.err(t.name.span(), format!("a second table called {tname:?}")));
        }
        let population = names
            .populations
            .iter()
            .position(|p| &p.name == t.population.get_ref())
            .ok_or_else(|| {
                cx.err(
                    t.population.span(),
                    format!(
                        "no population {:?} in [populations]",
                        t.population.get_ref()
                    ),
                )
            })?;
        let dimensions = dimensions(cx, t, names)?;
        let pop = &names.populations[population];
        if pop.years.len() > 1 && !dimensions.contains(&0) {
            return Err(cx.err(
                table.span(),
                format!(
                    "population {:?} spans several years, so table {tname:?} needs the dimension \"year\" (a person counts once per year)",
                    pop.name
                ),
            ));
        }
        let mut measures: Vec<Measure> = Vec::new();
        for m in &t.measures {
            let measure = measure(cx, m, names)?;
            check_measure_name(
                cx,
                &m.get_ref().name,
                &measure,
                &measures,
                &dimensions,
                names,
            )?;
            measures.push(measure);
        }
        tables.push(Table {
            name: tname.clone(),
            title: t.title.clone(),
            population,
            dimensions,
            measures,
        });
    }
    Ok(tables)
}

/// A table's dimensions: category or bool variables, each once.
fn dimensions(cx: &Ctx<'_>, t: &RawTable, names: &Names<'_>) -> Result<Vec<VarId>, LinkError> {
    let mut dimensions = Vec::new();
    for d in &t.dimensions {
        let id = names.var_id(cx, d)?;
        if names.variables[id].ty == VarType::Number {
            return Err(cx.err(
                d.span(),
                format!(
                    "{:?} is a number; use a band variable of it as a dimension",
                    d.get_ref()
                ),
            ));
        }
        if dimensions.contains(&id) {
            return Err(cx.err(d.span(), format!("{:?} is a dimension twice", d.get_ref())));
        }
        dimensions.push(id);
    }
    Ok(dimensions)
}

/// One measure: its kind and the variable it is `of`.
fn measure(cx: &Ctx<'_>, m: &Spanned<RawMeasure>, names: &Names<'_>) -> Result<Measure, LinkError> {
    let mm = m.get_ref();
    let of = |want: VarType, what: &str| -> Result<VarId, LinkError> {
        let name = mm.of.as_ref().ok_or_else(|| {
            cx.err(
                m.span(),
                format!("a {} measure needs of", mm.kind.get_ref()),
            )
        })?;
        let id = names.var_id(cx, name)?;
        if names.variables[id].ty != want {
            return Err(cx.err(
                name.span(),
                format!("{:?} is not a {what} variable", name.get_ref()),
            ));
        }
        Ok(id)
    };
    let no_of = || match &mm.of {
        Some(o) => Err(cx.err(
            o.span(),
            format!("a {} measure takes no of", mm.kind.get_ref()),
        )),
        None => Ok(()),
    };
    let kind = match mm.kind.get_ref().as_str() {
        "persons" => no_of().map(|_| MeasureKind::Persons)?,
        "households" => {
            no_of()?;
            let eb = find_source(
                cx,
                names.sources,
                SourceKind::Eb,
                mm.kind.span(),
                "households",
            )?;
            if names.sources[eb].column(Concept::Household).is_none() {
                return Err(cx.err(
                    mm.kind.span(),
                    "households needs the household column of the EB source",
                ));
            }
            MeasureKind::Households
        }
        "share" => MeasureKind::Share(of(VarType::Bool, "bool")?),
        "sum" => MeasureKind::Sum(of(VarType::Number, "number")?),
        "mean" => MeasureKind::Mean(of(VarType::Number, "number")?),
        "median" => MeasureKind::Median(of(VarType::Number, "number")?),
        other => {
            return Err(cx.err(
                mm.kind.span(),
                format!(
                    "unknown measure kind {other:?} (persons, households, share, sum, mean, median)"
                ),
            ));
        }
    };
    Ok(Measure {
        name: mm.name.get_ref().clone(),
        kind,
    })
}

/// A measure's name names columns: letters, digits and `_`, and no other
/// column of the table's.
fn check_measure_name(
    cx: &Ctx<'_>,
    name: &Spanned<String>,
    measure: &Measure,
    earlier: &[Measure],
    dimensions: &[VarId],
    names: &Names<'_>,
) -> Result<(), LinkError> {
    let mname = name.get_ref();
    if mname.is_empty() || !mname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(cx.err(
            name.span(),
            "a measure name is letters, digits and _ (it names columns)",
        ));
    }
    let dimension_name = |&d: &VarId| {
        let dim = &names.variables[d].name;
        dim == mname || format!("{dim}_level") == *mname
    };
    if earlier.iter().any(|x| &x.name == mname)
        || dimensions.iter().any(dimension_name)
        || ["persons", "record_key_sum"].contains(&mname.as_str())
            && measure.kind != MeasureKind::Persons
    {
        return Err(cx.err(
            name.span(),
            format!("measure name {mname:?} clashes with another column"),
        ));
    }
    Ok(())
}
