//! Kinds read from LISA years: `benefit_group`, `lisa_value`,
//! `self_supporting`.

use toml::Spanned;

use super::{Resolved, Scope, VarInput};
use crate::LinkError;
use crate::study::{BENEFIT_GROUPS, Categories, Concept, SourceKind, VarKind};

/// `benefit_group`: no keys; three fixed categories.
pub(crate) fn benefit_group(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(
        VarKind::BenefitGroup,
        Some(Categories::plain(&BENEFIT_GROUPS)),
    ))
}

/// `lisa_value`: `column` (earnings, disposable_income or
/// unemployment_benefit, which the LISA source must map), `offset` (-5-5).
pub(crate) fn lisa_value(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let column = scope.required(var, &var.raw.column, "column")?;
    let concept = Concept::parse(column.get_ref())
        .filter(|c| {
            matches!(
                c,
                Concept::Earnings | Concept::DisposableIncome | Concept::UnemploymentBenefit
            )
        })
        .ok_or_else(|| {
            scope.err(
                column.span(),
                "column must be earnings, disposable_income or unemployment_benefit",
            )
        })?;
    let lisa = &scope.sources[scope.source(var, SourceKind::Lisa)?];
    if lisa.column(concept).is_none() {
        return Err(scope.err(
            column.span(),
            format!("source {:?} does not map {:?}", lisa.name, concept.name()),
        ));
    }
    let offset = scope.int(&var.raw.offset, 0, (-5, 5), "offset")?;
    Ok(Resolved {
        kind: VarKind::LisaValue {
            concept,
            offset: offset as i32,
        },
        categories: None,
        column: Some((SourceKind::Lisa, concept)),
    })
}

/// `self_supporting`: `offset` (-5-5, default 1), `employed` (employment
/// code-list groups, default `["employed"]`).
pub(crate) fn self_supporting(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let lisa = scope.source(var, SourceKind::Lisa)?;
    scope.source(var, SourceKind::Eb)?;
    let list = scope.sources[lisa]
        .codelist(Concept::Employment)
        .ok_or_else(|| {
            scope.err(
                var.kind_span(),
                format!(
                    "self_supporting needs a code list for employment: add employment = \"...\" under [sources.{}.codelists]",
                    scope.sources[lisa].name
                ),
            )
        })?;
    let employed = match &var.raw.employed {
        Some(groups) => scope.codes_in_groups(list, groups)?,
        None => {
            let default = Spanned::new(var.kind_span(), vec!["employed".to_string()]);
            scope.codes_in_groups(list, &default)?
        }
    };
    let offset = scope.int(&var.raw.offset, 1, (-5, 5), "offset")?;
    Ok(Resolved::new(
        VarKind::SelfSupporting {
            offset: offset as i32,
            employed,
        },
        None,
    ))
}
