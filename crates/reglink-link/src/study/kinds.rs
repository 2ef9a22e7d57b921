//! The kinds of derived variables a study file can define, in one table.
//!
//! Each entry says how the kind is written (`kind = "..."`), the type of its
//! values, the keys it takes and needs, the registers and columns it reads,
//! the function that checks its keys and resolves its names
//! (`resolve/variables/`), and the function that computes its value for one
//! person-year (`crate::derive`). Adding a kind is one entry here, a variant
//! of [`VarKind`](super::VarKind) for what its keys resolve to, its resolve
//! function and its evaluator; `docs/study-file.md` defines what it computes.

use super::resolve::variables::{self as resolve, Resolve};
use super::{Concept, SourceKind, VarType};
use crate::derive::{self, Eval};

use Concept::{Amount, Employment, Household, Programme, Role, UnemploymentBenefit};
use SourceKind::{Af, Eb, Lisa};
use VarType::{Bool, Category, Number};

/// One kind of derived variable.
#[derive(Debug)]
pub(crate) struct KindDef {
    /// The kind as written in the study file.
    pub name: &'static str,
    /// The type of its values.
    pub ty: VarType,
    /// Every key it takes besides `kind`; any other key is an error.
    pub keys: &'static [&'static str],
    /// The keys it cannot do without (its resolve function says so, in the
    /// order it reads its keys).
    pub required: &'static [&'static str],
    /// The registers it reads, checked in this order once its keys are
    /// resolved: a study without such a source is an error.
    pub registers: &'static [SourceKind],
    /// Columns it reads that the source must map, checked after the
    /// registers.
    pub columns: &'static [(SourceKind, Concept)],
    /// Columns it reads when the source maps them.
    pub optional_columns: &'static [(SourceKind, Concept)],
    /// Whether it follows AF registrations (spells chained by transfer
    /// exits), which need the exit column and its code list.
    pub registrations: bool,
    /// Checks its keys and resolves the names they hold.
    pub resolve: Resolve,
    /// Its value for one person-year.
    pub eval: Eval,
}

/// A kind of type `ty` that takes no keys and reads no register; the
/// methods below add what it does take and read.
const fn kind(name: &'static str, ty: VarType, resolve: Resolve, eval: Eval) -> KindDef {
    KindDef {
        name,
        ty,
        keys: &[],
        required: &[],
        registers: &[],
        columns: &[],
        optional_columns: &[],
        registrations: false,
        resolve,
        eval,
    }
}

impl KindDef {
    const fn keys(self, keys: &'static [&'static str]) -> KindDef {
        KindDef { keys, ..self }
    }

    const fn required(self, required: &'static [&'static str]) -> KindDef {
        KindDef { required, ..self }
    }

    const fn registers(self, registers: &'static [SourceKind]) -> KindDef {
        KindDef { registers, ..self }
    }

    const fn columns(self, columns: &'static [(SourceKind, Concept)]) -> KindDef {
        KindDef { columns, ..self }
    }

    const fn optional_columns(self, optional_columns: &'static [(SourceKind, Concept)]) -> KindDef {
        KindDef {
            optional_columns,
            ..self
        }
    }

    const fn registrations(self) -> KindDef {
        KindDef {
            registrations: true,
            ..self
        }
    }
}

/// Every kind a study file can define, in the order `docs/study-file.md`
/// lists them.
pub(crate) static KINDS: [KindDef; 20] = [
    kind("band", Category, resolve::band, derive::band)
        .keys(&["of", "bands"])
        .required(&["of", "bands"]),
    kind("code", Category, resolve::code, derive::code)
        .keys(&["source", "column", "codelist", "level", "rollup", "offset"])
        .required(&["source", "column"]),
    kind("eb_months", Number, resolve::eb_months, derive::eb_months).registers(&[Eb]),
    kind("long_term", Bool, resolve::long_term, derive::long_term)
        .keys(&["min_months"])
        .registers(&[Eb]),
    kind("eb_amount", Number, resolve::eb_amount, derive::eb_amount)
        .registers(&[Eb])
        .columns(&[(Eb, Amount)]),
    kind(
        "household_type",
        Category,
        resolve::household_type,
        derive::household_type,
    )
    .registers(&[Eb])
    .columns(&[(Eb, Household), (Eb, Role)]),
    kind(
        "at_af_during_eb",
        Bool,
        resolve::at_af_during_eb,
        derive::at_af_during_eb,
    )
    .registers(&[Af, Eb]),
    kind("found_in", Bool, resolve::found_in, derive::found_in)
        .keys(&["source"])
        .required(&["source"]),
    kind(
        "af_programme",
        Bool,
        resolve::af_programme,
        derive::af_programme,
    )
    .keys(&["groups"])
    .registers(&[Af])
    .optional_columns(&[(Af, Programme)]),
    kind(
        "benefit_group",
        Category,
        resolve::benefit_group,
        derive::benefit_group,
    )
    .registers(&[Lisa, Eb])
    .columns(&[(Lisa, UnemploymentBenefit)]),
    kind("af_entry", Bool, resolve::af_entry, derive::af_entry)
        .registers(&[Af])
        .registrations(),
    kind("af_exit", Category, resolve::af_exit, derive::af_exit)
        .keys(&["within_months"])
        .required(&["within_months"])
        .registers(&[Af])
        .registrations(),
    kind(
        "af_registration_days",
        Number,
        resolve::af_registration_days,
        derive::af_registration_days,
    )
    .registers(&[Af])
    .registrations(),
    kind(
        "days_to_programme",
        Number,
        resolve::days_to_programme,
        derive::days_to_programme,
    )
    .keys(&["groups"])
    .registers(&[Af])
    .optional_columns(&[(Af, Programme)])
    .registrations(),
    kind(
        "programme_days",
        Number,
        resolve::programme_days,
        derive::programme_days,
    )
    .keys(&["groups"])
    .registers(&[Af])
    .optional_columns(&[(Af, Programme)]),
    kind(
        "eb_spell_months",
        Number,
        resolve::eb_spell_months,
        derive::eb_spell_months,
    )
    .keys(&["max_gap"])
    .registers(&[Eb]),
    kind("eb_entry", Bool, resolve::eb_entry, derive::eb_entry)
        .keys(&["months"])
        .registers(&[Eb]),
    kind(
        "status_after",
        Category,
        resolve::status_after,
        derive::status_after,
    )
    .keys(&["months"])
    .required(&["months"])
    .registers(&[Af, Eb]),
    kind(
        "lisa_value",
        Number,
        resolve::lisa_value,
        derive::lisa_value,
    )
    .keys(&["column", "offset"])
    .required(&["column"])
    .registers(&[Lisa]),
    kind(
        "self_supporting",
        Bool,
        resolve::self_supporting,
        derive::self_supporting,
    )
    .keys(&["offset", "employed"])
    .registers(&[Lisa, Eb])
    .columns(&[(Lisa, Employment)]),
];

/// The kind written `name`.
pub(crate) fn find(name: &str) -> Option<&'static KindDef> {
    KINDS.iter().find(|k| k.name == name)
}
