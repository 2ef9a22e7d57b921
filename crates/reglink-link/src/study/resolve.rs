//! From the TOML as written ([`super::raw`]) to a checked [`Study`], in the
//! order of the file: the study's name and period, code lists and sources
//! (`sources.rs`), variables (`variables.rs`, through the table of kinds),
//! populations (`populations.rs`) and tables with their measures
//! (`tables.rs`). Every complaint names the line.

mod populations;
mod sources;
mod tables;
pub(super) mod variables;

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::raw::RawStudy;
use super::*;
use crate::error::withhold_numbers;

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The study file being resolved, for complaints that name its line.
pub(crate) struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> LinkError {
        LinkError::Study {
            path: self.path.to_path_buf(),
            line: line_of(self.text, span.start),
            message: withhold_numbers(&message.into()),
        }
    }
}

pub(super) fn resolve(path: &Path, text: &str) -> Result<Study, LinkError> {
    let raw: RawStudy = toml::from_str(text).map_err(|e| LinkError::StudySyntax {
        path: path.to_path_buf(),
        message: withhold_numbers(e.to_string().trim_end()),
    })?;
    let cx = Ctx { path, text };
    let dir = path.parent().unwrap_or(Path::new("."));
    let (name, first_month, last_month) = sources::header(&cx, &raw.study)?;
    let codelists = sources::codelists(dir, &raw.codelists)?;
    let (mut sources, source_spans) = sources::sources(&cx, dir, &raw.sources, &codelists)?;
    let variables =
        variables::variables(&cx, &raw.variables, &mut sources, &source_spans, &codelists)?;
    let mut populations = populations::populations(
        &cx,
        &raw.populations,
        &sources,
        &variables,
        (first_month, last_month),
    )?;
    let names = tables::Names {
        sources: &sources,
        variables: &variables,
        populations: &populations,
    };
    let tables = tables::tables(&cx, &raw.tables, &names)?;
    populations::needs(&mut populations, &tables, &variables);
    Ok(Study {
        path: path.to_path_buf(),
        name,
        first_month,
        last_month,
        codelists,
        sources,
        variables,
        populations,
        tables,
        memory: super::Memory::default(),
    })
}

/// The source of `kind`; `what` needs it.
fn find_source(
    cx: &Ctx<'_>,
    sources: &[Source],
    kind: SourceKind,
    span: Range<usize>,
    what: &str,
) -> Result<SourceId, LinkError> {
    sources
        .iter()
        .position(|s| s.kind == kind)
        .ok_or_else(|| cx.err(span, format!("{what} needs an {} source", kind.name())))
}

/// The variable called `name` among `names` (every variable's, in order).
fn var_id<'n>(
    cx: &Ctx<'_>,
    names: impl IntoIterator<Item = &'n str>,
    name: &Spanned<String>,
) -> Result<VarId, LinkError> {
    names
        .into_iter()
        .position(|n| n == name.get_ref())
        .ok_or_else(|| {
            cx.err(
                name.span(),
                format!(
                    "no variable {:?} (define it under [variables])",
                    name.get_ref()
                ),
            )
        })
}

/// The code list called `name`.
fn codelist_id(
    cx: &Ctx<'_>,
    codelists: &[CodeList],
    name: &Spanned<String>,
) -> Result<CodeListId, LinkError> {
    codelists
        .iter()
        .position(|l| l.name == *name.get_ref())
        .ok_or_else(|| {
            cx.err(
                name.span(),
                format!("no code list {:?} in [codelists]", name.get_ref()),
            )
        })
}

/// `YYYY-MM` or `YYYYMM` as a month index.
///
/// Reads bytes, never slices the text: a month may hold any character.
pub(crate) fn parse_month(s: &str) -> Option<Month> {
    let (y, m) = match s.trim().as_bytes() {
        [y @ .., b'-', m1, m2] if y.len() == 4 => (y, [*m1, *m2]),
        [y0, y1, y2, y3, m1, m2] => (&[*y0, *y1, *y2, *y3][..], [*m1, *m2]),
        _ => return None,
    };
    let (y, m) = (decimal(y)?, decimal(&m)?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// Up to nine ASCII digits as a number; `None` for anything else.
fn decimal(digits: &[u8]) -> Option<i32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0i32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i32::from(b - b'0'))
    })
}

/// `"18-24"`, `"65+"`, `"-0"` (up to 0), `"5"` (exactly 5).
fn parse_band(s: &str) -> Option<Band> {
    let s = s.trim();
    if let Some(lo) = s.strip_suffix('+') {
        return Some(Band {
            lo: Some(lo.parse().ok()?),
            hi: None,
        });
    }
    if let Some(hi) = s.strip_prefix('-') {
        return Some(Band {
            lo: None,
            hi: Some(hi.parse().ok()?),
        });
    }
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi): (i64, i64) = (lo.parse().ok()?, hi.parse().ok()?);
            (lo <= hi).then_some(Band {
                lo: Some(lo),
                hi: Some(hi),
            })
        }
        None => {
            let v: i64 = s.parse().ok()?;
            Some(Band {
                lo: Some(v),
                hi: Some(v),
            })
        }
    }
}

#[cfg(test)]
mod tests;
