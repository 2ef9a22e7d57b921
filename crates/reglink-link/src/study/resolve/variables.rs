//! `[variables]`: the built-in variables, then each defined one through its
//! kind's entry in [`KINDS`](crate::study::kinds::KINDS): its keys are
//! checked against the entry, its kind's resolve function (beside this file,
//! one per kind, grouped by the register they read) resolves what they name,
//! and then the registers and columns the entry lists are checked.

mod af;
mod eb;
mod general;
mod lisa;

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

pub(crate) use af::{
    af_entry, af_exit, af_programme, af_registration_days, days_to_programme, programme_days,
};
pub(crate) use eb::{
    at_af_during_eb, eb_amount, eb_entry, eb_months, eb_spell_months, household_type, long_term,
    status_after,
};
pub(crate) use general::{band, code, found_in};
pub(crate) use lisa::{benefit_group, lisa_value, self_supporting};

use super::{Ctx, find_source, var_id};
use crate::study::kinds::{self, KindDef};
use crate::study::raw::RawVariable;
use crate::study::{
    Categories, CodeListId, Concept, Source, SourceId, SourceKind, VarId, VarKind, VarType,
    Variable,
};
use crate::{CodeList, LinkError, derive};

/// A kind's resolve function: checks the keys of one variable of the kind
/// and resolves the names they hold.
pub(crate) type Resolve = fn(&mut Scope<'_>, &VarInput<'_>) -> Result<Resolved, LinkError>;

/// What a variable's keys resolve to.
pub(crate) struct Resolved {
    /// Its kind, every name resolved.
    kind: VarKind,
    /// Its categories, for a category variable.
    categories: Option<Categories>,
    /// The column its keys chose, for kinds whose column is a key.
    column: Option<(SourceKind, Concept)>,
}

impl Resolved {
    /// A kind that reads no column of its choosing.
    fn new(kind: VarKind, categories: Option<Categories>) -> Resolved {
        Resolved {
            kind,
            categories,
            column: None,
        }
    }
}

/// The study as a kind's resolve function sees it.
pub(crate) struct Scope<'a> {
    cx: &'a Ctx<'a>,
    sources: &'a [Source],
    codelists: &'a [CodeList],
    /// Every variable's name and type, the built-in ones first.
    declared: &'a [(String, VarType)],
    /// Code lists that `code` variables read a source's column with, for
    /// columns the source gives none: (source, column, code list).
    extra_lists: Vec<(SourceId, Concept, CodeListId)>,
}

/// One variable while it is resolved.
pub(crate) struct VarInput<'r> {
    /// Its keys as written.
    raw: &'r RawVariable,
    /// The span of its whole table.
    span: Range<usize>,
    /// Its kind.
    def: &'static KindDef,
}

impl VarInput<'_> {
    /// The span of its `kind` key, where complaints about the whole variable point.
    fn kind_span(&self) -> Range<usize> {
        self.raw.kind.span()
    }
}

impl Scope<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> LinkError {
        self.cx.err(span, message)
    }

    /// The source of `kind`, which variable `var` reads.
    fn source(&self, var: &VarInput<'_>, kind: SourceKind) -> Result<SourceId, LinkError> {
        find_source(self.cx, self.sources, kind, var.kind_span(), var.def.name)
    }

    /// The variable called `name`.
    fn var_id(&self, name: &Spanned<String>) -> Result<VarId, LinkError> {
        var_id(self.cx, self.declared.iter().map(|(n, _)| n.as_str()), name)
    }

    /// The code list called `name`.
    fn list(&self, name: &Spanned<String>) -> Result<CodeListId, LinkError> {
        super::codelist_id(self.cx, self.codelists, name)
    }

    /// Key `key` of `var`, which its kind needs.
    fn required<'k, T>(
        &self,
        var: &VarInput<'_>,
        value: &'k Option<Spanned<T>>,
        key: &str,
    ) -> Result<&'k Spanned<T>, LinkError> {
        debug_assert!(
            var.def.required.contains(&key),
            "{key} is missing from the required keys of {} in the table of kinds",
            var.def.name
        );
        value.as_ref().ok_or_else(|| self.missing(var, key))
    }

    /// The complaint that `var` lacks key `key`.
    fn missing(&self, var: &VarInput<'_>, key: &str) -> LinkError {
        debug_assert!(
            var.def.keys.contains(&key),
            "{key} is missing from the keys of {} in the table of kinds",
            var.def.name
        );
        self.err(
            var.kind_span(),
            format!("a {} variable needs {key}", var.def.name),
        )
    }

    /// An integer key in `lo..=hi`, `default` when it is not given.
    fn int(
        &self,
        value: &Option<Spanned<i64>>,
        default: i64,
        (lo, hi): (i64, i64),
        key: &str,
    ) -> Result<i64, LinkError> {
        match value {
            None => Ok(default),
            Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(self.err(s.span(), format!("{key} must be between {lo} and {hi}"))),
        }
    }

    /// An integer key in `lo..=hi` that the kind needs.
    fn required_int(
        &self,
        var: &VarInput<'_>,
        value: &Option<Spanned<i64>>,
        key: &str,
        range: (i64, i64),
    ) -> Result<i64, LinkError> {
        self.required(var, value, key)?;
        self.int(value, 0, range, key)
    }

    /// The codes of code list `list` whose group is one of `groups`.
    fn codes_in_groups(
        &self,
        list: CodeListId,
        groups: &Spanned<Vec<String>>,
    ) -> Result<Vec<u32>, LinkError> {
        let list = &self.codelists[list];
        let Some(group_of) = &list.group_of else {
            return Err(self.err(
                groups.span(),
                format!("code list {:?} has no group column", list.name),
            ));
        };
        let mut wanted = Vec::new();
        for g in groups.get_ref() {
            wanted.push(list.find_group(g).ok_or_else(|| {
                self.err(
                    groups.span(),
                    format!(
                        "code list {:?} has no group {g:?} (groups: {})",
                        list.name,
                        list.groups.join(", ")
                    ),
                )
            })?);
        }
        Ok((0..list.codes.len() as u32)
            .filter(|&c| wanted.contains(&group_of[c as usize]))
            .collect())
    }
}

/// The variables every study has: `year`, `sex`, `age`.
fn built_in() -> Vec<Variable> {
    let variable = |name: &str, kind, ty, categories, eval| Variable {
        name: name.into(),
        kind,
        ty,
        categories,
        eval,
        reads: Vec::new(),
    };
    vec![
        // Per population: its years.
        variable("year", VarKind::Year, VarType::Category, None, derive::year),
        variable(
            "sex",
            VarKind::Sex,
            VarType::Category,
            Some(Categories::plain(&["men", "women"])),
            derive::sex,
        ),
        variable("age", VarKind::Age, VarType::Number, None, derive::age),
    ]
}

/// Adds every defined variable's name and type to `declared` (the built-in
/// ones), so that references resolve in any order, and returns their kinds:
/// a name of a built-in variable or an unknown kind is an error.
fn declare(
    cx: &Ctx<'_>,
    raw: &BTreeMap<String, Spanned<RawVariable>>,
    declared: &mut Vec<(String, VarType)>,
) -> Result<Vec<&'static KindDef>, LinkError> {
    let mut defs = Vec::new();
    for (name, var) in raw {
        if declared.iter().any(|(n, _)| n == name) {
            return Err(cx.err(
                var.span(),
                format!("{name:?} is a built-in variable; choose another name"),
            ));
        }
        let kind = var.get_ref().kind.get_ref();
        let def = kinds::find(kind).ok_or_else(|| {
            cx.err(
                var.get_ref().kind.span(),
                format!("unknown variable kind {kind:?} (docs/study-file.md lists them)"),
            )
        })?;
        declared.push((name.clone(), def.ty));
        defs.push(def);
    }
    Ok(defs)
}

/// Resolves `[variables]`: the built-in variables first, then the defined
/// ones in name order. Code lists that `code` variables read columns with
/// are added to their sources.
pub(super) fn variables(
    cx: &Ctx<'_>,
    raw: &BTreeMap<String, Spanned<RawVariable>>,
    sources: &mut [Source],
    source_spans: &[Range<usize>],
    codelists: &[CodeList],
) -> Result<Vec<Variable>, LinkError> {
    let mut variables = built_in();
    let mut declared: Vec<(String, VarType)> =
        variables.iter().map(|v| (v.name.clone(), v.ty)).collect();
    let defs = declare(cx, raw, &mut declared)?;
    let mut scope = Scope {
        cx,
        sources,
        codelists,
        declared: &declared,
        extra_lists: Vec::new(),
    };
    let mut uses_registrations = false;
    for ((name, var), def) in raw.iter().zip(defs) {
        variables.push(variable(&mut scope, name, var, def)?);
        uses_registrations |= def.registrations;
    }
    for (source, concept, list) in scope.extra_lists {
        sources[source].codelists.push((concept, list));
    }
    if uses_registrations {
        check_registrations(cx, sources, source_spans)?;
    }
    Ok(variables)
}

/// One defined variable: its keys, its kind's resolve function, then the
/// registers and columns its kind reads.
fn variable(
    scope: &mut Scope<'_>,
    name: &str,
    var: &Spanned<RawVariable>,
    def: &'static KindDef,
) -> Result<Variable, LinkError> {
    let raw = var.get_ref();
    for (key, span) in raw.set_keys() {
        if !def.keys.contains(&key) {
            return Err(scope.err(span, format!("a {} variable has no key {key:?}", def.name)));
        }
    }
    let input = VarInput {
        raw,
        span: var.span(),
        def,
    };
    let resolved = (def.resolve)(scope, &input)?;
    for &register in def.registers {
        scope.source(&input, register)?;
    }
    for &(register, concept) in def.columns {
        let source = &scope.sources[scope.source(&input, register)?];
        if source.column(concept).is_none() {
            return Err(scope.err(
                input.kind_span(),
                format!(
                    "a {} variable needs the column {:?} in source {:?}",
                    def.name,
                    concept.name(),
                    source.name
                ),
            ));
        }
    }
    let mut reads: Vec<(SourceKind, Concept)> = def
        .columns
        .iter()
        .chain(def.optional_columns)
        .copied()
        .collect();
    if def.registrations {
        reads.push((SourceKind::Af, Concept::Exit));
    }
    reads.extend(resolved.column);
    Ok(Variable {
        name: name.to_string(),
        kind: resolved.kind,
        ty: def.ty,
        categories: resolved.categories,
        eval: def.eval,
        reads,
    })
}

/// Spell chains need the exit column and its code list whenever AF
/// registrations are used.
fn check_registrations(
    cx: &Ctx<'_>,
    sources: &[Source],
    source_spans: &[Range<usize>],
) -> Result<(), LinkError> {
    let af = sources
        .iter()
        .position(|s| s.kind == SourceKind::Af)
        .unwrap_or_else(|| unreachable!("checked per variable"));
    if sources[af].codelist(Concept::Exit).is_none() || sources[af].column(Concept::Exit).is_none()
    {
        return Err(cx.err(
            source_spans[af].clone(),
            format!(
                "AF registrations need the exit column and its code list: map exit under [sources.{0}.columns] and add exit = \"...\" under [sources.{0}.codelists]",
                sources[af].name
            ),
        ));
    }
    Ok(())
}
