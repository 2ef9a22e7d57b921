//! Kinds read from AF spells and registrations: `af_programme`, `af_entry`,
//! `af_exit`, `af_registration_days`, `days_to_programme`, `programme_days`.

use toml::Spanned;

use super::{Resolved, Scope, VarInput};
use crate::LinkError;
use crate::study::{Categories, Concept, SourceKind, TRANSFER_GROUP, VarKind};

/// Programme codes (code-list indices) in `groups`; `None` (any programme)
/// without `groups`. Groups need the AF source's programme code list.
fn programme_codes(
    scope: &Scope<'_>,
    var: &VarInput<'_>,
    groups: &Option<Spanned<Vec<String>>>,
) -> Result<Option<Vec<u32>>, LinkError> {
    let af = scope.source(var, SourceKind::Af)?;
    let Some(groups) = groups else {
        return Ok(None);
    };
    let list = scope.sources[af]
        .codelist(Concept::Programme)
        .ok_or_else(|| {
            scope.err(
                groups.span(),
                format!(
                    "programme groups need a code list: add programme = \"...\" under [sources.{}.codelists]",
                    scope.sources[af].name
                ),
            )
        })?;
    Ok(Some(scope.codes_in_groups(list, groups)?))
}

/// `af_programme`: `groups` (programme code-list groups; none = any).
pub(crate) fn af_programme(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let codes = programme_codes(scope, var, &var.raw.groups)?;
    Ok(Resolved::new(VarKind::AfProgramme { codes }, None))
}

/// `af_entry`: no keys.
pub(crate) fn af_entry(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(VarKind::AfEntry, None))
}

/// `af_exit`: `within_months` (1-120, required). Its categories are the exit
/// code list's groups but `transfer`, then `still_registered`,
/// `not_observed`.
pub(crate) fn af_exit(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let within = scope.required_int(var, &var.raw.within_months, "within_months", (1, 120))?;
    let af = scope.source(var, SourceKind::Af)?;
    let list = scope.sources[af].codelist(Concept::Exit).ok_or_else(|| {
        scope.err(
            var.kind_span(),
            format!(
                "af_exit needs a code list for exit codes: add exit = \"...\" under [sources.{}.codelists]",
                scope.sources[af].name
            ),
        )
    })?;
    let list = &scope.codelists[list];
    if list.group_of.is_none() {
        return Err(scope.err(
            var.kind_span(),
            format!("code list {:?} has no group column", list.name),
        ));
    }
    let mut codes: Vec<&str> = list
        .groups
        .iter()
        .map(String::as_str)
        .filter(|g| *g != TRANSFER_GROUP)
        .collect();
    codes.extend(["still_registered", "not_observed"]);
    Ok(Resolved::new(
        VarKind::AfExit {
            within_months: within as i32,
        },
        Some(Categories::plain(&codes)),
    ))
}

/// `af_registration_days`: no keys.
pub(crate) fn af_registration_days(
    _: &mut Scope<'_>,
    _: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(VarKind::AfRegistrationDays, None))
}

/// `days_to_programme`: `groups`, as for `af_programme`.
pub(crate) fn days_to_programme(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let codes = programme_codes(scope, var, &var.raw.groups)?;
    Ok(Resolved::new(VarKind::DaysToProgramme { codes }, None))
}

/// `programme_days`: `groups`, as for `af_programme`.
pub(crate) fn programme_days(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let codes = programme_codes(scope, var, &var.raw.groups)?;
    Ok(Resolved::new(VarKind::ProgrammeDays { codes }, None))
}
