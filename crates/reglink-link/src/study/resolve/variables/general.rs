//! Kinds of any register: `band` (of a number variable) and `code` (a code
//! column read through a code list).

use super::{Resolved, Scope, VarInput};
use crate::study::resolve::parse_band;
use crate::study::{Categories, CodeListId, Concept, SourceId, SourceKind, VarKind, VarType};
use crate::{CodeList, LinkError};

/// `band`: `of` a number variable, `bands` like `"18-24"`, `"65+"`, `"-0"`.
pub(crate) fn band(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let v = var.raw;
    let of_name = scope.required(var, &v.of, "of")?;
    let of = scope.var_id(of_name)?;
    if scope.declared[of].1 != VarType::Number {
        return Err(scope.err(
            of_name.span(),
            format!("{:?} is not a number variable", of_name.get_ref()),
        ));
    }
    let written = scope.required(var, &v.bands, "bands")?;
    let mut bands = Vec::new();
    for b in written.get_ref() {
        bands.push(parse_band(b).ok_or_else(|| {
            scope.err(
                written.span(),
                format!("{b:?} is not a band (write \"18-24\", \"65+\" or \"-0\")"),
            )
        })?);
    }
    if bands.is_empty() {
        return Err(scope.err(written.span(), "bands is empty"));
    }
    let labels: Vec<&str> = written.get_ref().iter().map(String::as_str).collect();
    Ok(Resolved::new(
        VarKind::Band { of, bands },
        Some(Categories::plain(&labels)),
    ))
}

/// `code`: `source`, `column` (a code concept it maps), `codelist`, `level`,
/// `rollup`, `offset` (LISA only).
pub(crate) fn code(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let v = var.raw;
    let (source, concept) = code_column(scope, var)?;
    let codelist = code_list(scope, var, source, concept)?;
    let group_level = match v.level.as_ref().map(|l| l.get_ref().as_str()) {
        None | Some("code") => false,
        Some("group") => true,
        Some(other) => {
            return Err(scope.err(
                v.level.as_ref().map(|l| l.span()).unwrap_or_default(),
                format!("level must be code or group, not {other:?}"),
            ));
        }
    };
    let rollup = v.rollup.as_ref().is_some_and(|r| *r.get_ref());
    let list = &scope.codelists[codelist];
    if (group_level || rollup) && list.group_of.is_none() {
        return Err(scope.err(
            var.span.clone(),
            format!("code list {:?} has no group column", list.name),
        ));
    }
    if group_level && rollup {
        return Err(scope.err(var.span.clone(), "rollup needs level = \"code\""));
    }
    let offset = scope.int(&v.offset, 0, (-5, 5), "offset")?;
    let source_kind = scope.sources[source].kind;
    if offset != 0 && source_kind != SourceKind::Lisa {
        return Err(scope.err(var.span.clone(), "offset is only for LISA sources"));
    }
    Ok(Resolved {
        kind: VarKind::Code {
            source,
            concept,
            codelist,
            group_level,
            offset: offset as i32,
        },
        categories: Some(code_categories(list, group_level, rollup)),
        column: Some((source_kind, concept)),
    })
}

/// `found_in`: `source`, a source of the study.
pub(crate) fn found_in(scope: &mut Scope<'_>, var: &VarInput<'_>) -> Result<Resolved, LinkError> {
    let source = named_source(scope, var)?;
    let kind = scope.sources[source].kind;
    Ok(Resolved::new(VarKind::FoundIn { kind }, None))
}

/// The source a variable's `source` key names.
fn named_source(scope: &Scope<'_>, var: &VarInput<'_>) -> Result<SourceId, LinkError> {
    let source_name = scope.required(var, &var.raw.source, "source")?;
    scope
        .sources
        .iter()
        .position(|s| &s.name == source_name.get_ref())
        .ok_or_else(|| {
            scope.err(
                source_name.span(),
                format!("no source {:?} in [sources]", source_name.get_ref()),
            )
        })
}

/// A code variable's source and column: a code concept the source maps.
fn code_column(scope: &Scope<'_>, var: &VarInput<'_>) -> Result<(SourceId, Concept), LinkError> {
    let source = named_source(scope, var)?;
    let column = scope.required(var, &var.raw.column, "column")?;
    let concept = Concept::parse(column.get_ref())
        .filter(|c| c.is_code() && scope.sources[source].column(*c).is_some())
        .ok_or_else(|| {
            scope.err(
                column.span(),
                format!(
                    "{:?} is not a code column mapped in source {:?}",
                    column.get_ref(),
                    scope.sources[source].name
                ),
            )
        })?;
    Ok((source, concept))
}

/// A code variable's code list: `codelist`, or the one its source reads the
/// column with. A column is read through one code list, so a list named here
/// for a column without one is recorded for the source.
fn code_list(
    scope: &mut Scope<'_>,
    var: &VarInput<'_>,
    source: SourceId,
    concept: Concept,
) -> Result<CodeListId, LinkError> {
    let codelist = match &var.raw.codelist {
        Some(l) => scope.list(l)?,
        None => scope.sources[source]
            .codelist(concept)
            .ok_or_else(|| scope.missing(var, "codelist"))?,
    };
    let existing = scope.sources[source].codelist(concept).or_else(|| {
        scope
            .extra_lists
            .iter()
            .find(|(s, c, _)| *s == source && *c == concept)
            .map(|(_, _, l)| *l)
    });
    match existing {
        Some(existing) if existing != codelist => Err(scope.err(
            var.span.clone(),
            format!(
                "column {:?} of source {:?} is read with code list {:?} elsewhere",
                concept.name(),
                scope.sources[source].name,
                scope.codelists[existing].name
            ),
        )),
        Some(_) => Ok(codelist),
        None => {
            scope.extra_lists.push((source, concept, codelist));
            Ok(codelist)
        }
    }
}

/// A code variable's categories: the list's groups at `level = "group"`,
/// else its codes, with the groups as a margin under `rollup`.
fn code_categories(list: &CodeList, group_level: bool, rollup: bool) -> Categories {
    if group_level {
        return Categories {
            codes: list.groups.clone(),
            labels: list.groups.clone(),
            group_of: None,
            groups: Vec::new(),
        };
    }
    Categories {
        codes: list.codes.clone(),
        labels: list.labels.clone(),
        group_of: if rollup { list.group_of.clone() } else { None },
        groups: if rollup {
            list.groups.clone()
        } else {
            Vec::new()
        },
    }
}
