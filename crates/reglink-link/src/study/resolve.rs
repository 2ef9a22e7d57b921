//! From the TOML as written ([`super::raw`]) to a checked [`Study`].

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::raw::{RawStudy, RawVariable};
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

struct Ctx<'a> {
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

const BUILTINS: [(&str, VarType); 3] = [
    ("year", VarType::Category),
    ("sex", VarType::Category),
    ("age", VarType::Number),
];

pub(super) fn resolve(path: &Path, text: &str) -> Result<Study, LinkError> {
    let raw: RawStudy = toml::from_str(text).map_err(|e| LinkError::StudySyntax {
        path: path.to_path_buf(),
        message: withhold_numbers(e.to_string().trim_end()),
    })?;
    let cx = Ctx { path, text };
    let dir = path.parent().unwrap_or(Path::new("."));

    // [study]
    let name = raw.study.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(cx.err(raw.study.name.span(), "the study name is empty"));
    }
    let period = raw.study.period.get_ref();
    let month = |s: &str, which: &str| {
        parse_month(s).ok_or_else(|| {
            cx.err(
                raw.study.period.span(),
                format!("the period's {which} month is not a month (write YYYY-MM)"),
            )
        })
    };
    let (first_month, last_month) = (month(&period[0], "first")?, month(&period[1], "last")?);
    if last_month < first_month {
        return Err(cx.err(raw.study.period.span(), "the period ends before it starts"));
    }

    // [codelists]
    let mut codelists = Vec::new();
    let mut codelist_ids = HashMap::new();
    for (name, list) in &raw.codelists {
        let l = list.get_ref();
        let file = dir.join(l.path.get_ref());
        let loaded = CodeList::load(
            name,
            &file,
            l.code.as_deref(),
            l.label.as_deref(),
            l.group.as_deref(),
        )?;
        codelist_ids.insert(name.clone(), codelists.len());
        codelists.push(loaded);
    }
    let find_list = |name: &Spanned<String>| {
        codelist_ids.get(name.get_ref()).copied().ok_or_else(|| {
            cx.err(
                name.span(),
                format!("no code list {:?} in [codelists]", name.get_ref()),
            )
        })
    };

    // [sources]
    let mut sources: Vec<Source> = Vec::new();
    let mut source_spans = Vec::new();
    for (name, source) in &raw.sources {
        let s = source.get_ref();
        let kind = match s.kind.get_ref().as_str() {
            "eb" => SourceKind::Eb,
            "af" => SourceKind::Af,
            "lisa" => SourceKind::Lisa,
            other => {
                return Err(cx.err(
                    s.kind.span(),
                    format!("unknown source kind {other:?} (expected eb, af or lisa)"),
                ));
            }
        };
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
        let allowed = kind.concepts();
        let mut columns = Vec::new();
        for (concept, column) in &s.columns {
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
        let mut lists = Vec::new();
        for (concept, list) in &s.codelists {
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
            lists.push((c, find_list(list)?));
        }
        let roles = s.roles.as_ref();
        let role = |get: fn(&super::raw::RawRoles) -> Option<&String>, default: &str| {
            roles
                .and_then(get)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        sources.push(Source {
            name: name.clone(),
            kind,
            path: dir.join(s.path.get_ref()),
            columns,
            codelists: lists,
            roles: Roles {
                applicant: role(|r| r.applicant.as_ref(), "S"),
                co_applicant: role(|r| r.co_applicant.as_ref(), "M"),
                child: role(|r| r.child.as_ref(), "B"),
            },
        });
        source_spans.push(source.span());
    }

    // [variables]: names and types first, so references resolve in any order.
    let mut names: Vec<String> = BUILTINS.iter().map(|(n, _)| n.to_string()).collect();
    let mut types: Vec<VarType> = BUILTINS.iter().map(|(_, t)| *t).collect();
    for (name, var) in &raw.variables {
        if names.contains(name) {
            return Err(cx.err(
                var.span(),
                format!("{name:?} is a built-in variable; choose another name"),
            ));
        }
        names.push(name.clone());
        types.push(type_of(&cx, var.get_ref())?);
    }
    let var_id = |name: &Spanned<String>| {
        names
            .iter()
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
    };
    let need_source = |kind, span, what: &str| find_source(&cx, &sources, kind, span, what);

    let mut extra_lists: Vec<(SourceId, Concept, CodeListId)> = Vec::new();
    let mut variables = vec![
        Variable {
            name: "year".into(),
            kind: VarKind::Year,
            ty: VarType::Category,
            categories: None, // per population: its years
        },
        Variable {
            name: "sex".into(),
            kind: VarKind::Sex,
            ty: VarType::Category,
            categories: Some(Categories::plain(&["men", "women"])),
        },
        Variable {
            name: "age".into(),
            kind: VarKind::Age,
            ty: VarType::Number,
            categories: None,
        },
    ];
    for (name, var) in &raw.variables {
        let v = var.get_ref();
        let kind_name = v.kind.get_ref().as_str();
        let allowed = allowed_keys(kind_name);
        for (key, span) in v.set_keys() {
            if !allowed.contains(&key) {
                return Err(cx.err(span, format!("a {kind_name} variable has no key {key:?}")));
            }
        }
        let int = |k: &Option<Spanned<i64>>,
                   default: i64,
                   lo: i64,
                   hi: i64,
                   key: &str|
         -> Result<i64, LinkError> {
            match k {
                None => Ok(default),
                Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref()),
                Some(s) => Err(cx.err(s.span(), format!("{key} must be between {lo} and {hi}"))),
            }
        };
        let required =
            |k: &Option<Spanned<i64>>, key: &str, lo: i64, hi: i64| -> Result<i64, LinkError> {
                match k {
                    None => {
                        Err(cx.err(v.kind.span(), format!("a {kind_name} variable needs {key}")))
                    }
                    Some(_) => int(k, 0, lo, hi, key),
                }
            };
        let programme_codes =
            |groups: &Option<Spanned<Vec<String>>>| -> Result<Option<Vec<u32>>, LinkError> {
                let af = need_source(SourceKind::Af, v.kind.span(), kind_name)?;
                let Some(groups) = groups else {
                    return Ok(None);
                };
                let list = sources[af].codelist(Concept::Programme).ok_or_else(|| {
                cx.err(groups.span(), format!("programme groups need a code list: add programme = \"...\" under [sources.{}.codelists]", sources[af].name))
            })?;
                Ok(Some(codes_in_groups(&cx, &codelists[list], groups)?))
            };
        let (kind, categories) = match kind_name {
            "band" => {
                let of_name =
                    v.of.as_ref()
                        .ok_or_else(|| cx.err(v.kind.span(), "a band variable needs of"))?;
                let of = var_id(of_name)?;
                if types[of] != VarType::Number {
                    return Err(cx.err(
                        of_name.span(),
                        format!("{:?} is not a number variable", of_name.get_ref()),
                    ));
                }
                let bands_raw = v
                    .bands
                    .as_ref()
                    .ok_or_else(|| cx.err(v.kind.span(), "a band variable needs bands"))?;
                let mut bands = Vec::new();
                for b in bands_raw.get_ref() {
                    bands.push(parse_band(b).ok_or_else(|| {
                        cx.err(
                            bands_raw.span(),
                            format!("{b:?} is not a band (write \"18-24\", \"65+\" or \"-0\")"),
                        )
                    })?);
                }
                if bands.is_empty() {
                    return Err(cx.err(bands_raw.span(), "bands is empty"));
                }
                let labels: Vec<&str> = bands_raw.get_ref().iter().map(String::as_str).collect();
                (
                    VarKind::Band { of, bands },
                    Some(Categories::plain(&labels)),
                )
            }
            "code" => {
                let source_name = v
                    .source
                    .as_ref()
                    .ok_or_else(|| cx.err(v.kind.span(), "a code variable needs source"))?;
                let source = sources
                    .iter()
                    .position(|s| &s.name == source_name.get_ref())
                    .ok_or_else(|| {
                        cx.err(
                            source_name.span(),
                            format!("no source {:?} in [sources]", source_name.get_ref()),
                        )
                    })?;
                let column = v
                    .column
                    .as_ref()
                    .ok_or_else(|| cx.err(v.kind.span(), "a code variable needs column"))?;
                let concept = Concept::parse(column.get_ref())
                    .filter(|c| c.is_code() && sources[source].column(*c).is_some())
                    .ok_or_else(|| {
                        cx.err(
                            column.span(),
                            format!(
                                "{:?} is not a code column mapped in source {:?}",
                                column.get_ref(),
                                sources[source].name
                            ),
                        )
                    })?;
                let codelist = match &v.codelist {
                    Some(l) => find_list(l)?,
                    None => sources[source]
                        .codelist(concept)
                        .ok_or_else(|| cx.err(v.kind.span(), "a code variable needs codelist"))?,
                };
                // A code column reads through one code list; record it on the source.
                let existing = sources[source].codelist(concept).or_else(|| {
                    extra_lists
                        .iter()
                        .find(|(s, c, _)| *s == source && *c == concept)
                        .map(|(_, _, l)| *l)
                });
                match existing {
                    Some(existing) if existing != codelist => {
                        return Err(cx.err(
                            var.span(),
                            format!(
                                "column {:?} of source {:?} is read with code list {:?} elsewhere",
                                concept.name(),
                                sources[source].name,
                                codelists[existing].name
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => extra_lists.push((source, concept, codelist)),
                }
                let group_level = match v.level.as_ref().map(|l| l.get_ref().as_str()) {
                    None | Some("code") => false,
                    Some("group") => true,
                    Some(other) => {
                        return Err(cx.err(
                            v.level.as_ref().map(|l| l.span()).unwrap_or_default(),
                            format!("level must be code or group, not {other:?}"),
                        ));
                    }
                };
                let rollup = v.rollup.as_ref().is_some_and(|r| *r.get_ref());
                let list = &codelists[codelist];
                if (group_level || rollup) && list.group_of.is_none() {
                    return Err(cx.err(
                        var.span(),
                        format!("code list {:?} has no group column", list.name),
                    ));
                }
                if group_level && rollup {
                    return Err(cx.err(var.span(), "rollup needs level = \"code\""));
                }
                let offset = int(&v.offset, 0, -5, 5, "offset")?;
                if offset != 0 && sources[source].kind != SourceKind::Lisa {
                    return Err(cx.err(var.span(), "offset is only for LISA sources"));
                }
                let categories = if group_level {
                    Categories {
                        codes: list.groups.clone(),
                        labels: list.groups.clone(),
                        group_of: None,
                        groups: Vec::new(),
                    }
                } else {
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
                };
                (
                    VarKind::Code {
                        source,
                        concept,
                        codelist,
                        group_level,
                        offset: offset as i32,
                    },
                    Some(categories),
                )
            }
            "eb_months" => (VarKind::EbMonths, None),
            "long_term" => (
                VarKind::LongTerm {
                    min_months: int(&v.min_months, 10, 1, 12, "min_months")? as u32,
                },
                None,
            ),
            "eb_amount" => (VarKind::EbAmount, None),
            "household_type" => (
                VarKind::HouseholdType,
                Some(Categories::plain(&HOUSEHOLD_TYPES)),
            ),
            "at_af_during_eb" => {
                need_source(SourceKind::Af, v.kind.span(), kind_name)?;
                (VarKind::AtAfDuringEb, None)
            }
            "af_programme" => (
                VarKind::AfProgramme {
                    codes: programme_codes(&v.groups)?,
                },
                None,
            ),
            "benefit_group" => {
                need_source(SourceKind::Lisa, v.kind.span(), kind_name)?;
                (
                    VarKind::BenefitGroup,
                    Some(Categories::plain(&BENEFIT_GROUPS)),
                )
            }
            "af_entry" => (VarKind::AfEntry, None),
            "af_exit" => {
                let within = required(&v.within_months, "within_months", 1, 120)?;
                (
                    VarKind::AfExit {
                        within_months: within as i32,
                    },
                    None,
                ) // categories below
            }
            "af_registration_days" => (VarKind::AfRegistrationDays, None),
            "days_to_programme" => (
                VarKind::DaysToProgramme {
                    codes: programme_codes(&v.groups)?,
                },
                None,
            ),
            "programme_days" => (
                VarKind::ProgrammeDays {
                    codes: programme_codes(&v.groups)?,
                },
                None,
            ),
            "eb_spell_months" => (
                VarKind::EbSpellMonths {
                    max_gap: int(&v.max_gap, 2, 0, 24, "max_gap")? as i32,
                },
                None,
            ),
            "eb_entry" => (
                VarKind::EbEntry {
                    months: int(&v.months, 6, 1, 60, "months")? as i32,
                },
                None,
            ),
            "status_after" => {
                let months = required(&v.months, "months", 1, 120)?;
                need_source(SourceKind::Af, v.kind.span(), kind_name)?;
                (
                    VarKind::StatusAfter {
                        months: months as i32,
                    },
                    Some(Categories::plain(&STATUSES)),
                )
            }
            "lisa_value" => {
                let column = v
                    .column
                    .as_ref()
                    .ok_or_else(|| cx.err(v.kind.span(), "a lisa_value variable needs column"))?;
                let concept = Concept::parse(column.get_ref())
                    .filter(|c| {
                        matches!(
                            c,
                            Concept::Earnings
                                | Concept::DisposableIncome
                                | Concept::UnemploymentBenefit
                        )
                    })
                    .ok_or_else(|| {
                        cx.err(
                            column.span(),
                            "column must be earnings, disposable_income or unemployment_benefit",
                        )
                    })?;
                let lisa = need_source(SourceKind::Lisa, v.kind.span(), kind_name)?;
                if sources[lisa].column(concept).is_none() {
                    return Err(cx.err(
                        column.span(),
                        format!(
                            "source {:?} does not map {:?}",
                            sources[lisa].name,
                            concept.name()
                        ),
                    ));
                }
                (
                    VarKind::LisaValue {
                        concept,
                        offset: int(&v.offset, 0, -5, 5, "offset")? as i32,
                    },
                    None,
                )
            }
            "self_supporting" => {
                let lisa = need_source(SourceKind::Lisa, v.kind.span(), kind_name)?;
                need_source(SourceKind::Eb, v.kind.span(), kind_name)?;
                let list = sources[lisa].codelist(Concept::Employment).ok_or_else(|| {
                    cx.err(v.kind.span(), format!("self_supporting needs a code list for employment: add employment = \"...\" under [sources.{}.codelists]", sources[lisa].name))
                })?;
                let employed = match &v.employed {
                    Some(groups) => codes_in_groups(&cx, &codelists[list], groups)?,
                    None => {
                        let default = Spanned::new(v.kind.span(), vec!["employed".to_string()]);
                        codes_in_groups(&cx, &codelists[list], &default)?
                    }
                };
                (
                    VarKind::SelfSupporting {
                        offset: int(&v.offset, 1, -5, 5, "offset")? as i32,
                        employed,
                    },
                    None,
                )
            }
            other => return Err(cx.err(v.kind.span(), format!("unknown variable kind {other:?}"))),
        };
        // Variables that read a register need that register.
        let needs = match &kind {
            VarKind::EbMonths
            | VarKind::LongTerm { .. }
            | VarKind::EbAmount
            | VarKind::HouseholdType
            | VarKind::AtAfDuringEb
            | VarKind::BenefitGroup
            | VarKind::EbSpellMonths { .. }
            | VarKind::EbEntry { .. }
            | VarKind::StatusAfter { .. } => Some(SourceKind::Eb),
            VarKind::AfProgramme { .. }
            | VarKind::AfEntry
            | VarKind::AfExit { .. }
            | VarKind::AfRegistrationDays
            | VarKind::DaysToProgramme { .. }
            | VarKind::ProgrammeDays { .. } => Some(SourceKind::Af),
            _ => None,
        };
        if let Some(k) = needs {
            need_source(k, v.kind.span(), kind_name)?;
        }
        let needs_column = |concept: Concept| -> Result<(), LinkError> {
            let k = match concept {
                Concept::Amount | Concept::Household | Concept::Role => SourceKind::Eb,
                _ => SourceKind::Lisa,
            };
            let s = &sources[need_source(k, v.kind.span(), kind_name)?];
            if s.column(concept).is_none() {
                return Err(cx.err(
                    v.kind.span(),
                    format!(
                        "a {kind_name} variable needs the column {:?} in source {:?}",
                        concept.name(),
                        s.name
                    ),
                ));
            }
            Ok(())
        };
        match &kind {
            VarKind::EbAmount => needs_column(Concept::Amount)?,
            VarKind::HouseholdType => {
                needs_column(Concept::Household)?;
                needs_column(Concept::Role)?;
            }
            VarKind::BenefitGroup => needs_column(Concept::UnemploymentBenefit)?,
            VarKind::SelfSupporting { .. } => needs_column(Concept::Employment)?,
            _ => {}
        }
        let categories = match &kind {
            VarKind::AfExit { .. } => {
                let af = need_source(SourceKind::Af, v.kind.span(), kind_name)?;
                let list = sources[af].codelist(Concept::Exit).ok_or_else(|| {
                    cx.err(v.kind.span(), format!("af_exit needs a code list for exit codes: add exit = \"...\" under [sources.{}.codelists]", sources[af].name))
                })?;
                let mut codes: Vec<String> = codelists[list]
                    .groups
                    .iter()
                    .filter(|g| *g != TRANSFER_GROUP)
                    .cloned()
                    .collect();
                if codelists[list].group_of.is_none() {
                    return Err(cx.err(
                        v.kind.span(),
                        format!("code list {:?} has no group column", codelists[list].name),
                    ));
                }
                codes.push("still_registered".into());
                codes.push("not_observed".into());
                let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
                Some(Categories::plain(&refs))
            }
            _ => categories,
        };
        let ty = types[variables.len()];
        variables.push(Variable {
            name: name.clone(),
            kind,
            ty,
            categories,
        });
    }
    for (source, concept, list) in extra_lists {
        sources[source].codelists.push((concept, list));
    }
    let need_source = |kind, span, what: &str| find_source(&cx, &sources, kind, span, what);
    // Spell chains need the exit code list whenever AF registrations are used.
    let uses_registrations = variables.iter().any(|v| {
        matches!(
            v.kind,
            VarKind::AfEntry
                | VarKind::AfExit { .. }
                | VarKind::AfRegistrationDays
                | VarKind::DaysToProgramme { .. }
        )
    });
    if uses_registrations {
        let af = sources
            .iter()
            .position(|s| s.kind == SourceKind::Af)
            .unwrap_or_else(|| unreachable!("checked per variable"));
        if sources[af].codelist(Concept::Exit).is_none()
            || sources[af].column(Concept::Exit).is_none()
        {
            return Err(cx.err(source_spans[af].clone(), format!("AF registrations need the exit column and its code list: map exit under [sources.{0}.columns] and add exit = \"...\" under [sources.{0}.codelists]", sources[af].name)));
        }
    }

    // [populations]
    let (first_year, last_year) = (first_month.div_euclid(12), last_month.div_euclid(12));
    let mut populations = Vec::new();
    let mut population_ids = HashMap::new();
    for (name, pop) in &raw.populations {
        let p = pop.get_ref();
        let source = match p.source.get_ref().as_str() {
            "eb" => SourceKind::Eb,
            "af" => SourceKind::Af,
            "lisa" => SourceKind::Lisa,
            other => {
                return Err(cx.err(
                    p.source.span(),
                    format!("unknown population source {other:?} (expected eb, af or lisa)"),
                ));
            }
        };
        need_source(source, p.source.span(), "the population")?;
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
            let id = var_id(r)?;
            if types[id] != VarType::Bool {
                return Err(cx.err(
                    r.span(),
                    format!("{:?} is not a bool variable", r.get_ref()),
                ));
            }
            require.push(id);
        }
        population_ids.insert(name.clone(), populations.len());
        populations.push(Population {
            name: name.clone(),
            source,
            years,
            age,
            require,
            needs: Vec::new(),
        });
    }

    // [[tables]]
    let mut tables = Vec::new();
    let mut table_names = HashSet::new();
    for table in &raw.tables {
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
        let population = *population_ids.get(t.population.get_ref()).ok_or_else(|| {
            cx.err(
                t.population.span(),
                format!(
                    "no population {:?} in [populations]",
                    t.population.get_ref()
                ),
            )
        })?;
        let mut dimensions = Vec::new();
        for d in &t.dimensions {
            let id = var_id(d)?;
            if types[id] == VarType::Number {
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
        if populations[population].years.len() > 1 && !dimensions.contains(&0) {
            return Err(cx.err(table.span(), format!("population {:?} spans several years, so table {tname:?} needs the dimension \"year\" (a person counts once per year)", populations[population].name)));
        }
        let mut measures: Vec<Measure> = Vec::new();
        for m in &t.measures {
            let mm = m.get_ref();
            let of = |want: VarType, what: &str| -> Result<VarId, LinkError> {
                let name = mm.of.as_ref().ok_or_else(|| {
                    cx.err(
                        m.span(),
                        format!("a {} measure needs of", mm.kind.get_ref()),
                    )
                })?;
                let id = var_id(name)?;
                if types[id] != want {
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
                    let eb = need_source(SourceKind::Eb, mm.kind.span(), "households")?;
                    if sources[eb].column(Concept::Household).is_none() {
                        return Err(cx.err(mm.kind.span(), "households needs the household column of the EB source"));
                    }
                    MeasureKind::Households
                }
                "share" => MeasureKind::Share(of(VarType::Bool, "bool")?),
                "sum" => MeasureKind::Sum(of(VarType::Number, "number")?),
                "mean" => MeasureKind::Mean(of(VarType::Number, "number")?),
                "median" => MeasureKind::Median(of(VarType::Number, "number")?),
                other => return Err(cx.err(mm.kind.span(), format!("unknown measure kind {other:?} (persons, households, share, sum, mean, median)"))),
            };
            let mname = mm.name.get_ref();
            if mname.is_empty() || !mname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(cx.err(
                    mm.name.span(),
                    "a measure name is letters, digits and _ (it names columns)",
                ));
            }
            if measures.iter().any(|x| &x.name == mname)
                || dimensions
                    .iter()
                    .any(|&d| &names[d] == mname || format!("{}_level", names[d]) == *mname)
                || ["persons", "record_key_sum"].contains(&mname.as_str())
                    && kind != MeasureKind::Persons
            {
                return Err(cx.err(
                    mm.name.span(),
                    format!("measure name {mname:?} clashes with another column"),
                ));
            }
            measures.push(Measure {
                name: mname.clone(),
                kind,
            });
        }
        tables.push(Table {
            name: tname.clone(),
            title: t.title.clone(),
            population,
            dimensions,
            measures,
        });
    }

    // What each population must compute: its tables' variables, its filters, and their inputs.
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
    })
}

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

fn type_of(cx: &Ctx<'_>, v: &RawVariable) -> Result<VarType, LinkError> {
    Ok(match v.kind.get_ref().as_str() {
        "band" | "code" | "household_type" | "benefit_group" | "af_exit" | "status_after" => {
            VarType::Category
        }
        "eb_months"
        | "eb_amount"
        | "af_registration_days"
        | "days_to_programme"
        | "programme_days"
        | "eb_spell_months"
        | "lisa_value" => VarType::Number,
        "long_term" | "at_af_during_eb" | "af_programme" | "af_entry" | "eb_entry"
        | "self_supporting" => VarType::Bool,
        other => {
            return Err(cx.err(
                v.kind.span(),
                format!("unknown variable kind {other:?} (docs/study-file.md lists them)"),
            ));
        }
    })
}

fn allowed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "band" => &["of", "bands"],
        "code" => &["source", "column", "codelist", "level", "rollup", "offset"],
        "long_term" => &["min_months"],
        "af_programme" | "days_to_programme" | "programme_days" => &["groups"],
        "af_exit" => &["within_months"],
        "eb_spell_months" => &["max_gap"],
        "eb_entry" | "status_after" => &["months"],
        "lisa_value" => &["column", "offset"],
        "self_supporting" => &["offset", "employed"],
        _ => &[],
    }
}

fn codes_in_groups(
    cx: &Ctx<'_>,
    list: &CodeList,
    groups: &Spanned<Vec<String>>,
) -> Result<Vec<u32>, LinkError> {
    let Some(group_of) = &list.group_of else {
        return Err(cx.err(
            groups.span(),
            format!("code list {:?} has no group column", list.name),
        ));
    };
    let mut wanted = Vec::new();
    for g in groups.get_ref() {
        wanted.push(list.find_group(g).ok_or_else(|| {
            cx.err(
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
