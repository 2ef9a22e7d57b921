//! `[study]`, `[codelists]` and `[sources]`: the period, the code lists read
//! from their files, and each source's kind, columns, code lists and roles.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::{Ctx, codelist_id, parse_month};
use crate::study::raw::{RawCodeList, RawRoles, RawSource, RawStudyHeader};
use crate::study::{CodeListId, Concept, Month, Roles, Source, SourceKind};
use crate::{CodeList, LinkError};

/// `[study]`: the name and the first and last months of the period.
pub(super) fn header(
    cx: &Ctx<'_>,
    study: &RawStudyHeader,
) -> Result<(String, Month, Month), LinkError> {
    let name = study.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(cx.err(study.name.span(), "the study name is empty"));
    }
    let period = study.period.get_ref();
    let month = |s: &str, which: &str| {
        parse_month(s).ok_or_else(|| {
            cx.err(
                study.period.span(),
                format!("the period's {which} month is not a month (write YYYY-MM)"),
            )
        })
    };
    let (first, last) = (month(&period[0], "first")?, month(&period[1], "last")?);
    if last < first {
        return Err(cx.err(study.period.span(), "the period ends before it starts"));
    }
    Ok((name, first, last))
}

/// `[codelists]`, each read from its file (relative to `dir`), in name order.
pub(super) fn codelists(
    dir: &Path,
    raw: &BTreeMap<String, Spanned<RawCodeList>>,
) -> Result<Vec<CodeList>, LinkError> {
    raw.iter()
        .map(|(name, list)| {
            let l = list.get_ref();
            CodeList::load(
                name,
                &dir.join(l.path.get_ref()),
                l.code.as_deref(),
                l.label.as_deref(),
                l.group.as_deref(),
            )
        })
        .collect()
}

/// `[sources]`, at most one of each kind, in name order, with the span of
/// each source's table.
pub(super) fn sources(
    cx: &Ctx<'_>,
    dir: &Path,
    raw: &BTreeMap<String, Spanned<RawSource>>,
    codelists: &[CodeList],
) -> Result<(Vec<Source>, Vec<Range<usize>>), LinkError> {
    let mut sources: Vec<Source> = Vec::new();
    let mut spans = Vec::new();
    for (name, source) in raw {
        let s = source.get_ref();
        let kind = source_kind(cx, &s.kind, "source kind")?;
        if let Some(prev) = sources.iter().find(|p| p.kind == kind) {
            return Err(cx.err(
                s.kind.span(),
                format!(
                    "a second {} source; {:?} is one already",
                    kind.name(),
                    prev.name
                ),
            ));
        }
        let columns = columns(cx, name, source, kind)?;
        let lists = source_codelists(cx, s, kind, codelists)?;
        sources.push(Source {
            name: name.clone(),
            kind,
            path: dir.join(s.path.get_ref()),
            columns,
            codelists: lists,
            roles: roles(s.roles.as_ref()),
        });
        spans.push(source.span());
    }
    Ok((sources, spans))
}

/// A source kind as written; `what` is what the complaint calls it.
pub(super) fn source_kind(
    cx: &Ctx<'_>,
    kind: &Spanned<String>,
    what: &str,
) -> Result<SourceKind, LinkError> {
    match kind.get_ref().as_str() {
        "eb" => Ok(SourceKind::Eb),
        "af" => Ok(SourceKind::Af),
        "lisa" => Ok(SourceKind::Lisa),
        other => Err(cx.err(
            kind.span(),
            format!("unknown {what} {other:?} (expected eb, af or lisa)"),
        )),
    }
}

/// `[sources.NAME.columns]`: concepts of the source's kind, every required
/// one mapped.
fn columns(
    cx: &Ctx<'_>,
    name: &str,
    source: &Spanned<RawSource>,
    kind: SourceKind,
) -> Result<Vec<(Concept, String)>, LinkError> {
    let allowed = kind.concepts();
    let mut columns = Vec::new();
    for (concept, column) in &source.get_ref().columns {
        let c = Concept::parse(concept.get_ref())
            .filter(|c| allowed.iter().any(|(a, _)| a == c))
            .ok_or_else(|| {
                let names: Vec<_> = allowed.iter().map(|(c, _)| c.name()).collect();
                cx.err(
                    concept.span(),
                    format!(
                        "{:?} is not a column of an {} source (expected one of {})",
                        concept.get_ref(),
                        kind.name(),
                        names.join(", ")
                    ),
                )
            })?;
        columns.push((c, column.clone()));
    }
    for (c, required) in allowed {
        if *required && !columns.iter().any(|(have, _)| have == c) {
            return Err(cx.err(
                source.span(),
                format!(
                    "source {name:?} must map the column {:?} under [sources.{name}.columns]",
                    c.name()
                ),
            ));
        }
    }
    Ok(columns)
}

/// `[sources.NAME.codelists]`: code concepts of the source's kind, each with
/// a code list of `[codelists]`.
fn source_codelists(
    cx: &Ctx<'_>,
    source: &RawSource,
    kind: SourceKind,
    codelists: &[CodeList],
) -> Result<Vec<(Concept, CodeListId)>, LinkError> {
    let allowed = kind.concepts();
    let mut lists = Vec::new();
    for (concept, list) in &source.codelists {
        let c = Concept::parse(concept.get_ref())
            .filter(|c| c.is_code() && allowed.iter().any(|(a, _)| a == c))
            .ok_or_else(|| {
                cx.err(
                    concept.span(),
                    format!(
                        "{:?} is not a code column of an {} source",
                        concept.get_ref(),
                        kind.name()
                    ),
                )
            })?;
        lists.push((c, codelist_id(cx, codelists, list)?));
    }
    Ok(lists)
}

/// EB role codes: those given, the defaults `S`, `M`, `B` for the rest.
fn roles(roles: Option<&RawRoles>) -> Roles {
    let role = |get: fn(&RawRoles) -> Option<&String>, default: &str| {
        roles
            .and_then(get)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    Roles {
        applicant: role(|r| r.applicant.as_ref(), "S"),
        co_applicant: role(|r| r.co_applicant.as_ref(), "M"),
        child: role(|r| r.child.as_ref(), "B"),
    }
}
