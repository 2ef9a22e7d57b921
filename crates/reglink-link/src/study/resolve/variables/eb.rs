//! Kinds read from EB months: `eb_months`, `long_term`, `eb_amount`,
//! `household_type`, `eb_spell_months`, `eb_entry`, and those that set EB
//! months against AF spells: `at_af_during_eb`, `status_after`.

use super::{Resolved, Scope, VarInput};
use crate::LinkError;
use crate::study::{Categories, HOUSEHOLD_TYPES, STATUSES, VarKind};

/// `eb_months`: no keys.
pub(crate) fn eb_months(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(VarKind::EbMonths, None))
}

/// `long_term`: `min_months` (1-12, default 10).
pub(crate) fn long_term(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let min_months = scope.int(&var.raw.min_months, 10, (1, 12), "min_months")?;
    Ok(Resolved::new(
        VarKind::LongTerm {
            min_months: min_months as u32,
        },
        None,
    ))
}

/// `eb_amount`: no keys.
pub(crate) fn eb_amount(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(VarKind::EbAmount, None))
}

/// `household_type`: no keys; four fixed categories.
pub(crate) fn household_type(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(
        VarKind::HouseholdType,
        Some(Categories::plain(&HOUSEHOLD_TYPES)),
    ))
}

/// `eb_spell_months`: `max_gap` (0-24, default 2).
pub(crate) fn eb_spell_months(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let max_gap = scope.int(&var.raw.max_gap, 2, (0, 24), "max_gap")?;
    Ok(Resolved::new(
        VarKind::EbSpellMonths {
            max_gap: max_gap as i32,
        },
        None,
    ))
}

/// `eb_entry`: `months` (1-60, default 6).
pub(crate) fn eb_entry(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let months = scope.int(&var.raw.months, 6, (1, 60), "months")?;
    Ok(Resolved::new(
        VarKind::EbEntry {
            months: months as i32,
        },
        None,
    ))
}

/// `at_af_during_eb`: no keys.
pub(crate) fn at_af_during_eb(_: &mut Scope<'_>, _: &VarInput<'_>) -> Result<Resolved, LinkError> {
    Ok(Resolved::new(VarKind::AtAfDuringEb, None))
}

/// `status_after`: `months` (1-120, required); four fixed categories.
pub(crate) fn status_after(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
) -> Result<Resolved, LinkError> {
    let months = scope.required_int(var, &var.raw.months, "months", (1, 120))?;
    Ok(Resolved::new(
        VarKind::StatusAfter {
            months: months as i32,
        },
        Some(Categories::plain(&STATUSES)),
    ))
}
