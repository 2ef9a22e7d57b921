//! Every complaint `resolve` can make, with its line and exact words: the
//! study file's errors are part of its contract, so a restructuring of the
//! resolver must leave each one as it was. Cases with two mistakes check
//! which one is reported first.

// Test code: a table of cases is long by nature.
#![allow(clippy::too_many_lines)]

use super::*;
use crate::testutil::CODE_LISTS;

const HEADER: &str = r#"[study]
name = "s"
period = ["2023-01", "2024-12"]

[codelists.kommun]
path = "kommun.csv"
label = "name"
group = "county"

[codelists.flat]
path = "flat.csv"

[codelists.programme]
path = "programme.csv"

[codelists.exit]
path = "exit.csv"

[codelists.employment]
path = "employment.csv"
"#;

const EB: &str = r#"
[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "m", municipality = "k", household = "h", role = "r", amount = "a" }
codelists = { municipality = "kommun" }
"#;

const EB_MIN: &str = r#"
[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "m", municipality = "k" }
"#;

const AF: &str = r#"
[sources.af]
kind = "af"
path = "af.parquet"
columns = { start = "s", end = "e", programme = "p", exit = "x", municipality = "k" }
codelists = { programme = "programme", exit = "exit" }
"#;

const AF_MIN: &str = r#"
[sources.af]
kind = "af"
path = "af.parquet"
columns = { start = "s", programme = "p", exit = "x" }
"#;

const AF_FLAT: &str = r#"
[sources.af]
kind = "af"
path = "af.parquet"
columns = { start = "s", programme = "p", exit = "x" }
codelists = { programme = "flat", exit = "flat" }
"#;

const LISA: &str = r#"
[sources.lisa]
kind = "lisa"
path = "lisa.parquet"
columns = { year = "y", employment = "w", earnings = "i", unemployment_benefit = "u", municipality = "k" }
codelists = { employment = "employment" }
"#;

const LISA_MIN: &str = r#"
[sources.lisa]
kind = "lisa"
path = "lisa.parquet"
columns = { year = "y" }
"#;

const LISA_LIST_ONLY: &str = r#"
[sources.lisa]
kind = "lisa"
path = "lisa.parquet"
columns = { year = "y" }
codelists = { employment = "employment" }
"#;

const ALL: &str = "eb af lisa";

/// The study of `HEADER`, the named sources and `extra`, checked, as
/// "LINE: MESSAGE" (or "ok").
fn outcome(sources: &str, extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in CODE_LISTS {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let mut text = HEADER.to_string();
    for s in sources.split_whitespace() {
        text.push_str(match s {
            "eb" => EB,
            "eb_min" => EB_MIN,
            "af" => AF,
            "af_min" => AF_MIN,
            "af_flat" => AF_FLAT,
            "lisa" => LISA,
            "lisa_min" => LISA_MIN,
            "lisa_list_only" => LISA_LIST_ONLY,
            other => panic!("no source {other}"),
        });
    }
    text.push('\n');
    text.push_str(extra);
    match Study::parse(&dir.path().join("study.toml"), &text) {
        Ok(_) => "ok".to_string(),
        Err(LinkError::Study { line, message, .. }) => format!("{line}: {message}"),
        Err(other) => format!("other: {other}"),
    }
}

fn var(name: &str, body: &str) -> String {
    format!("[variables.{name}]\n{body}\n")
}

const POP: &str = "[populations.p]\nsource = \"eb\"\nyears = [2023]\n";

fn table(dimensions: &str, measures: &str) -> String {
    format!(
        "{POP}\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [{dimensions}]\nmeasures = [{measures}]\n"
    )
}

/// A variable of every kind, each with every key it takes (`code` three
/// times, for its levels and a code list its source does not give).
const ALL_KINDS: [(&str, &str); 22] = [
    (
        "v01",
        "kind = \"band\"\nof = \"v03\"\nbands = [\"-0\", \"1-5\", \"6+\"]",
    ),
    (
        "v02",
        "kind = \"code\"\nsource = \"lisa\"\ncolumn = \"employment\"\ncodelist = \"employment\"\nlevel = \"code\"\nrollup = false\noffset = 1",
    ),
    ("v03", "kind = \"eb_months\""),
    ("v04", "kind = \"long_term\"\nmin_months = 12"),
    ("v05", "kind = \"eb_amount\""),
    ("v06", "kind = \"household_type\""),
    ("v07", "kind = \"at_af_during_eb\""),
    ("v08", "kind = \"af_programme\"\ngroups = []"),
    ("v09", "kind = \"benefit_group\""),
    ("v10", "kind = \"af_entry\""),
    ("v11", "kind = \"af_exit\"\nwithin_months = 120"),
    ("v12", "kind = \"af_registration_days\""),
    (
        "v13",
        "kind = \"days_to_programme\"\ngroups = [\"guarantee\"]",
    ),
    ("v14", "kind = \"programme_days\""),
    ("v15", "kind = \"eb_spell_months\"\nmax_gap = 0"),
    ("v16", "kind = \"eb_entry\"\nmonths = 60"),
    ("v17", "kind = \"status_after\"\nmonths = 1"),
    (
        "v18",
        "kind = \"lisa_value\"\ncolumn = \"unemployment_benefit\"\noffset = -5",
    ),
    (
        "v19",
        "kind = \"self_supporting\"\noffset = 5\nemployed = [\"employed\", \"not_employed\"]",
    ),
    (
        "v20",
        "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"kommun\"\nrollup = true",
    ),
    (
        "v21",
        "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\nlevel = \"group\"",
    ),
    ("v22", "kind = \"found_in\"\nsource = \"lisa\""),
];

/// A variable of every kind, each with every key it takes, a population and
/// a table that computes them all.
fn all_kinds() -> String {
    let mut text: String = ALL_KINDS
        .iter()
        .map(|(name, body)| var(name, body))
        .collect();
    text.push_str("\n[populations.all]\nsource = \"eb\"\nyears = [2023]\nage = [18, 64]\nrequire = [\"v04\"]\n\n[[tables]]\nname = \"all\"\npopulation = \"all\"\ndimensions = [\"v01\", \"v02\", \"v06\", \"v07\", \"v08\", \"v09\", \"v10\", \"v11\", \"v16\", \"v17\", \"v19\", \"v20\", \"v21\", \"v22\"]\nmeasures = [{ name = \"persons\", kind = \"persons\" }, { name = \"h\", kind = \"households\" }, { name = \"a\", kind = \"sum\", of = \"v05\" }, { name = \"b\", kind = \"mean\", of = \"v12\" }, { name = \"c\", kind = \"median\", of = \"v13\" }, { name = \"d\", kind = \"sum\", of = \"v14\" }, { name = \"e\", kind = \"sum\", of = \"v15\" }, { name = \"f\", kind = \"sum\", of = \"v18\" }, { name = \"g\", kind = \"share\", of = \"v07\" }]\n");
    text
}

/// (sources, what follows them, the outcome).
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let v = |name: &str, body: &str| var(name, body);
    vec![
        // [study] and [sources]
        (ALL, String::new(), "ok"),
        (
            "eb",
            "[sources.x]\nkind = \"ebb\"\npath = \"x.parquet\"\n".into(),
            "29: unknown source kind \"ebb\" (expected eb, af or lisa)",
        ),
        (
            "eb",
            "[sources.x]\nkind = \"eb\"\npath = \"x.parquet\"\ncolumns = { month = \"m\", municipality = \"k\" }\n".into(),
            "29: a second eb source; \"eb\" is one already",
        ),
        (
            "",
            "[sources.eb]\nkind = \"eb\"\npath = \"x.parquet\"\ncolumns = { month = \"m\", municipality = \"k\", start = \"s\" }\n".into(),
            "25: \"start\" is not a column of an eb source (expected one of month, municipality, household, role, amount, hinder)",
        ),
        (
            "",
            "[sources.af]\nkind = \"af\"\npath = \"x.parquet\"\ncolumns = { end = \"e\" }\n".into(),
            "22: source \"af\" must map the column \"start\" under [sources.af.columns]",
        ),
        (
            "",
            "[sources.eb]\nkind = \"eb\"\npath = \"x.parquet\"\ncolumns = { month = \"m\", municipality = \"k\" }\ncodelists = { month = \"kommun\" }\n".into(),
            "26: \"month\" is not a code column of an eb source",
        ),
        (
            "",
            "[sources.eb]\nkind = \"eb\"\npath = \"x.parquet\"\ncolumns = { month = \"m\", municipality = \"k\" }\ncodelists = { municipality = \"kommunn\" }\n".into(),
            "26: no code list \"kommunn\" in [codelists]",
        ),
        // Names and kinds
        (ALL, v("age", "kind = \"eb_months\""), "40: \"age\" is a built-in variable; choose another name"),
        (ALL, v("x", "kind = \"eb_month\""), "41: unknown variable kind \"eb_month\" (docs/study-file.md lists them)"),
        (ALL, v("x", "kind = \"age\""), "41: unknown variable kind \"age\" (docs/study-file.md lists them)"),
        (ALL, v("x", "kind = \"eb_months\"\nmonths = 3"), "42: a eb_months variable has no key \"months\""),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\nbands = []"), "44: a code variable has no key \"bands\""),
        // band
        (ALL, v("x", "kind = \"band\"\nbands = [\"1-2\"]"), "41: a band variable needs of"),
        (ALL, v("x", "kind = \"band\"\nof = \"agee\"\nbands = [\"1-2\"]"), "42: no variable \"agee\" (define it under [variables])"),
        (ALL, v("x", "kind = \"band\"\nof = \"sex\"\nbands = [\"1-2\"]"), "42: \"sex\" is not a number variable"),
        (ALL, v("x", "kind = \"band\"\nof = \"age\""), "41: a band variable needs bands"),
        (ALL, v("x", "kind = \"band\"\nof = \"age\"\nbands = [\"1-2\", \"x\"]"), "43: \"x\" is not a band (write \"18-24\", \"65+\" or \"-0\")"),
        (ALL, v("x", "kind = \"band\"\nof = \"age\"\nbands = []"), "43: bands is empty"),
        (ALL, v("x", "kind = \"band\"\nof = \"agee\""), "42: no variable \"agee\" (define it under [variables])"),
        // code
        (ALL, v("x", "kind = \"code\"\ncolumn = \"municipality\""), "41: a code variable needs source"),
        (ALL, v("x", "kind = \"code\"\nsource = \"ebb\"\ncolumn = \"municipality\""), "42: no source \"ebb\" in [sources]"),
        (ALL, v("x", "kind = \"code\"\nsource = \"ebb\""), "42: no source \"ebb\" in [sources]"),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\""), "41: a code variable needs column"),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"month\""), "43: \"month\" is not a code column mapped in source \"eb\""),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"hinder\""), "43: \"hinder\" is not a code column mapped in source \"eb\""),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\ncodelist = \"nope\""), "44: no code list \"nope\" in [codelists]"),
        (ALL, v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\""), "41: a code variable needs codelist"),
        (ALL, v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"kommun\""), "ok"),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\ncodelist = \"flat\""), "40: column \"municipality\" of source \"eb\" is read with code list \"kommun\" elsewhere"),
        (
            ALL,
            format!(
                "{}\n{}",
                v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"kommun\""),
                v("y", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"flat\"")
            ),
            "46: column \"municipality\" of source \"af\" is read with code list \"kommun\" elsewhere",
        ),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\nlevel = \"county\""), "44: level must be code or group, not \"county\""),
        (ALL, v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"flat\"\nlevel = \"group\""), "40: code list \"flat\" has no group column"),
        (ALL, v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"municipality\"\ncodelist = \"flat\"\nrollup = true"), "40: code list \"flat\" has no group column"),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\nlevel = \"group\"\nrollup = true"), "40: rollup needs level = \"code\""),
        (ALL, v("x", "kind = \"code\"\nsource = \"lisa\"\ncolumn = \"municipality\"\ncodelist = \"kommun\"\noffset = 6"), "45: offset must be between -5 and 5"),
        (ALL, v("x", "kind = \"code\"\nsource = \"eb\"\ncolumn = \"municipality\"\noffset = 1"), "40: offset is only for LISA sources"),
        (ALL, v("x", "kind = \"code\"\nsource = \"lisa\"\ncolumn = \"employment\"\nlevel = \"group\"\noffset = -2"), "ok"),
        // EB kinds
        (ALL, v("x", "kind = \"long_term\"\nmin_months = 13"), "42: min_months must be between 1 and 12"),
        ("af", v("x", "kind = \"long_term\"\nmin_months = 13"), "30: min_months must be between 1 and 12"),
        ("af", v("x", "kind = \"long_term\""), "29: long_term needs an eb source"),
        ("af", v("x", "kind = \"eb_months\""), "29: eb_months needs an eb source"),
        ("eb_min", v("x", "kind = \"eb_amount\""), "28: a eb_amount variable needs the column \"amount\" in source \"eb\""),
        ("eb_min", v("x", "kind = \"household_type\""), "28: a household_type variable needs the column \"household\" in source \"eb\""),
        (
            "",
            "[sources.eb]\nkind = \"eb\"\npath = \"x.parquet\"\ncolumns = { month = \"m\", municipality = \"k\", household = \"h\" }\n\n[variables.x]\nkind = \"household_type\"\n".into(),
            "28: a household_type variable needs the column \"role\" in source \"eb\"",
        ),
        (ALL, v("x", "kind = \"eb_spell_months\"\nmax_gap = 25"), "42: max_gap must be between 0 and 24"),
        (ALL, v("x", "kind = \"eb_entry\"\nmonths = 0"), "42: months must be between 1 and 60"),
        ("eb", v("x", "kind = \"at_af_during_eb\""), "29: at_af_during_eb needs an af source"),
        ("af", v("x", "kind = \"at_af_during_eb\""), "29: at_af_during_eb needs an eb source"),
        (ALL, v("x", "kind = \"status_after\""), "41: a status_after variable needs months"),
        ("eb", v("x", "kind = \"status_after\""), "29: a status_after variable needs months"),
        ("eb", v("x", "kind = \"status_after\"\nmonths = 3"), "29: status_after needs an af source"),
        ("af", v("x", "kind = \"status_after\"\nmonths = 3"), "29: status_after needs an eb source"),
        (ALL, v("x", "kind = \"status_after\"\nmonths = 121"), "42: months must be between 1 and 120"),
        // AF kinds
        ("eb", v("x", "kind = \"af_programme\""), "29: af_programme needs an af source"),
        ("eb", v("x", "kind = \"af_programme\"\ngroups = [\"x\"]"), "29: af_programme needs an af source"),
        ("eb af_min", v("x", "kind = \"af_programme\"\ngroups = [\"guarantee\"]"), "35: programme groups need a code list: add programme = \"...\" under [sources.af.codelists]"),
        ("eb af_flat", v("x", "kind = \"af_programme\"\ngroups = [\"guarantee\"]"), "36: code list \"flat\" has no group column"),
        (ALL, v("x", "kind = \"af_programme\"\ngroups = [\"guarantee\", \"nope\"]"), "42: code list \"programme\" has no group \"nope\" (groups: guarantee, training)"),
        (ALL, v("x", "kind = \"days_to_programme\"\ngroups = [\"nope\"]"), "42: code list \"programme\" has no group \"nope\" (groups: guarantee, training)"),
        (ALL, v("x", "kind = \"programme_days\"\ngroups = [\"nope\"]"), "42: code list \"programme\" has no group \"nope\" (groups: guarantee, training)"),
        ("eb", v("x", "kind = \"af_entry\""), "29: af_entry needs an af source"),
        ("eb", v("x", "kind = \"af_registration_days\""), "29: af_registration_days needs an af source"),
        ("eb", v("x", "kind = \"days_to_programme\""), "29: days_to_programme needs an af source"),
        ("eb", v("x", "kind = \"programme_days\""), "29: programme_days needs an af source"),
        (ALL, v("x", "kind = \"af_exit\""), "41: a af_exit variable needs within_months"),
        ("eb", v("x", "kind = \"af_exit\""), "29: a af_exit variable needs within_months"),
        ("eb", v("x", "kind = \"af_exit\"\nwithin_months = 3"), "29: af_exit needs an af source"),
        (ALL, v("x", "kind = \"af_exit\"\nwithin_months = 0"), "42: within_months must be between 1 and 120"),
        ("eb af_min", v("x", "kind = \"af_exit\"\nwithin_months = 3"), "34: af_exit needs a code list for exit codes: add exit = \"...\" under [sources.af.codelists]"),
        ("eb af_flat", v("x", "kind = \"af_exit\"\nwithin_months = 3"), "35: code list \"flat\" has no group column"),
        ("eb af_min", v("x", "kind = \"af_entry\""), "28: AF registrations need the exit column and its code list: map exit under [sources.af.columns] and add exit = \"...\" under [sources.af.codelists]"),
        ("eb af_min", v("x", "kind = \"af_registration_days\""), "28: AF registrations need the exit column and its code list: map exit under [sources.af.columns] and add exit = \"...\" under [sources.af.codelists]"),
        ("eb af_min", v("x", "kind = \"days_to_programme\""), "28: AF registrations need the exit column and its code list: map exit under [sources.af.columns] and add exit = \"...\" under [sources.af.codelists]"),
        ("eb af_min", v("x", "kind = \"programme_days\""), "ok"),
        (
            "eb af_min",
            format!(
                "{}\n{}",
                v("a", "kind = \"af_entry\""),
                v("x", "kind = \"code\"\nsource = \"af\"\ncolumn = \"exit\"\ncodelist = \"exit\"")
            ),
            "ok",
        ),
        // LISA kinds
        ("eb", v("x", "kind = \"benefit_group\""), "29: benefit_group needs an lisa source"),
        ("lisa", v("x", "kind = \"benefit_group\""), "29: benefit_group needs an eb source"),
        ("eb lisa_min", v("x", "kind = \"benefit_group\""), "34: a benefit_group variable needs the column \"unemployment_benefit\" in source \"lisa\""),
        (ALL, v("x", "kind = \"lisa_value\""), "41: a lisa_value variable needs column"),
        ("eb", v("x", "kind = \"lisa_value\""), "29: a lisa_value variable needs column"),
        (ALL, v("x", "kind = \"lisa_value\"\ncolumn = \"amount\""), "42: column must be earnings, disposable_income or unemployment_benefit"),
        ("eb", v("x", "kind = \"lisa_value\"\ncolumn = \"earnings\""), "29: lisa_value needs an lisa source"),
        (ALL, v("x", "kind = \"lisa_value\"\ncolumn = \"disposable_income\""), "42: source \"lisa\" does not map \"disposable_income\""),
        (ALL, v("x", "kind = \"lisa_value\"\ncolumn = \"earnings\"\noffset = -6"), "43: offset must be between -5 and 5"),
        ("lisa", v("x", "kind = \"lisa_value\"\ncolumn = \"earnings\"\noffset = 2"), "ok"),
        ("eb", v("x", "kind = \"self_supporting\""), "29: self_supporting needs an lisa source"),
        ("lisa", v("x", "kind = \"self_supporting\""), "29: self_supporting needs an eb source"),
        ("eb lisa_min", v("x", "kind = \"self_supporting\""), "34: self_supporting needs a code list for employment: add employment = \"...\" under [sources.lisa.codelists]"),
        (ALL, v("x", "kind = \"self_supporting\"\nemployed = [\"nope\"]"), "42: code list \"employment\" has no group \"nope\" (groups: employed, not_employed)"),
        (ALL, v("x", "kind = \"self_supporting\"\noffset = 9"), "42: offset must be between -5 and 5"),
        ("eb lisa_list_only", v("x", "kind = \"self_supporting\""), "35: a self_supporting variable needs the column \"employment\" in source \"lisa\""),
        (
            "eb",
            "[codelists.w]\npath = \"flat.csv\"\n\n[sources.lisa]\nkind = \"lisa\"\npath = \"l.parquet\"\ncolumns = { year = \"y\", employment = \"w\" }\ncodelists = { employment = \"w\" }\n\n[variables.x]\nkind = \"self_supporting\"\n".into(),
            "38: code list \"w\" has no group column",
        ),
        // Every kind with its keys, all at once
        (
            ALL,
            all_kinds(),
            "ok",
        ),
        // [populations]
        (ALL, "[populations.p]\nsource = \"ebb\"\nyears = [2023]\n".into(), "41: unknown population source \"ebb\" (expected eb, af or lisa)"),
        ("eb", "[populations.p]\nsource = \"af\"\nyears = [2023]\n".into(), "29: the population needs an af source"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023, 2025]\n".into(), "42: year 2025 is outside the study period"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = []\n".into(), "42: years is empty"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023]\nage = [30, 20]\n".into(), "43: age must be [lowest, highest] with 0 <= lowest <= highest"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023]\nage = [-1, 20]\n".into(), "43: age must be [lowest, highest] with 0 <= lowest <= highest"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023]\nrequire = [\"nope\"]\n".into(), "43: no variable \"nope\" (define it under [variables])"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023]\nrequire = [\"sex\"]\n".into(), "43: \"sex\" is not a bool variable"),
        // [[tables]]
        (ALL, format!("{POP}\n[[tables]]\nname = \"a b\"\npopulation = \"p\"\ndimensions = []\nmeasures = []\n"), "45: a table name is letters, digits, - and _ (it names the output file)"),
        (ALL, format!("{POP}\n[[tables]]\nname = \"\"\npopulation = \"p\"\ndimensions = []\nmeasures = []\n"), "45: a table name is letters, digits, - and _ (it names the output file)"),
        (ALL, format!("{POP}\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = []\nmeasures = []\n\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = []\nmeasures = []\n"), "51: a second table called \"t\""),
        (ALL, format!("{POP}\n[[tables]]\nname = \"t\"\npopulation = \"q\"\ndimensions = []\nmeasures = []\n"), "46: no population \"q\" in [populations]"),
        (ALL, table("\"nope\"", ""), "47: no variable \"nope\" (define it under [variables])"),
        (ALL, table("\"age\"", ""), "47: \"age\" is a number; use a band variable of it as a dimension"),
        (ALL, table("\"sex\", \"sex\"", ""), "47: \"sex\" is a dimension twice"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023, 2024]\n\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [\"sex\"]\nmeasures = []\n".into(), "44: population \"p\" spans several years, so table \"t\" needs the dimension \"year\" (a person counts once per year)"),
        (ALL, "[populations.p]\nsource = \"eb\"\nyears = [2023, 2024]\n\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [\"year\", \"sex\"]\nmeasures = []\n".into(), "ok"),
        (ALL, table("", "{ name = \"m\", kind = \"share\" }"), "48: a share measure needs of"),
        (ALL, table("", "{ name = \"m\", kind = \"sum\", of = \"nope\" }"), "48: no variable \"nope\" (define it under [variables])"),
        (ALL, table("", "{ name = \"m\", kind = \"share\", of = \"age\" }"), "48: \"age\" is not a bool variable"),
        (ALL, table("", "{ name = \"m\", kind = \"mean\", of = \"sex\" }"), "48: \"sex\" is not a number variable"),
        (ALL, table("", "{ name = \"m\", kind = \"median\", of = \"sex\" }"), "48: \"sex\" is not a number variable"),
        (ALL, table("", "{ name = \"m\", kind = \"persons\", of = \"age\" }"), "48: a persons measure takes no of"),
        (ALL, table("", "{ name = \"m\", kind = \"households\", of = \"age\" }"), "48: a households measure takes no of"),
        ("af", "[populations.p]\nsource = \"af\"\nyears = [2023]\n\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = []\nmeasures = [{ name = \"m\", kind = \"households\" }]\n".into(), "36: households needs an eb source"),
        ("eb_min", table("", "{ name = \"m\", kind = \"households\" }"), "35: households needs the household column of the EB source"),
        (ALL, table("", "{ name = \"m\", kind = \"count\" }"), "48: unknown measure kind \"count\" (persons, households, share, sum, mean, median)"),
        (ALL, table("", "{ name = \"m-1\", kind = \"persons\" }"), "48: a measure name is letters, digits and _ (it names columns)"),
        (ALL, table("", "{ name = \"\", kind = \"persons\" }"), "48: a measure name is letters, digits and _ (it names columns)"),
        (ALL, table("\"sex\"", "{ name = \"sex\", kind = \"persons\" }"), "48: measure name \"sex\" clashes with another column"),
        (ALL, table("\"sex\"", "{ name = \"sex_level\", kind = \"persons\" }"), "48: measure name \"sex_level\" clashes with another column"),
        (ALL, table("", "{ name = \"persons\", kind = \"households\" }"), "48: measure name \"persons\" clashes with another column"),
        (ALL, table("", "{ name = \"record_key_sum\", kind = \"sum\", of = \"age\" }"), "48: measure name \"record_key_sum\" clashes with another column"),
        (ALL, table("", "{ name = \"persons\", kind = \"persons\" }, { name = \"m\", kind = \"persons\" }, { name = \"m\", kind = \"households\" }"), "48: measure name \"m\" clashes with another column"),
        (ALL, table("\"sex\"", "{ name = \"persons\", kind = \"persons\" }, { name = \"h\", kind = \"households\" }, { name = \"s\", kind = \"sum\", of = \"age\" }, { name = \"a\", kind = \"mean\", of = \"age\" }, { name = \"md\", kind = \"median\", of = \"age\" }"), "ok"),
    ]
}

#[test]
fn every_message_is_as_written() {
    let mut wrong = Vec::new();
    for (sources, extra, expected) in cases() {
        let got = outcome(sources, &extra);
        if got != expected {
            wrong.push(format!(
                "sources {sources:?}\n{extra}\n  expected {expected:?}\n  got      {got:?}\n"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_header_complains_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.toml");
    let sources = "\n[sources.eb]\nkind = \"eb\"\npath = \"eb.parquet\"\ncolumns = { month = \"m\", municipality = \"k\" }\n";
    for (header, expected) in [
        (
            "name = \" \"\nperiod = [\"2023-01\", \"2024-12\"]",
            "2: the study name is empty",
        ),
        (
            "name = \"s\"\nperiod = [\"2023-13\", \"2024-12\"]",
            "3: the period's first month is not a month (write YYYY-MM)",
        ),
        (
            "name = \"s\"\nperiod = [\"2023-01\", \"2024\"]",
            "3: the period's last month is not a month (write YYYY-MM)",
        ),
        (
            "name = \"s\"\nperiod = [\"2024-01\", \"2023-12\"]",
            "3: the period ends before it starts",
        ),
    ] {
        let text = format!("[study]\n{header}\n{sources}");
        let got = match Study::parse(&path, &text) {
            Err(LinkError::Study { line, message, .. }) => format!("{line}: {message}"),
            other => format!("{other:?}"),
        };
        assert_eq!(got, expected);
    }
}

/// What a resolved study holds, in words: every variable's kind, type and
/// categories, the code lists each source reads and the columns linking
/// reads, and what each population computes.
fn describe(study: &Study) -> String {
    let mut out = String::new();
    for v in &study.variables {
        out.push_str(&format!("{} {:?} {:?}", v.name, v.ty, v.kind));
        if let Some(c) = &v.categories {
            out.push_str(&format!(
                " {:?} {:?} {:?} {:?}",
                c.codes, c.labels, c.group_of, c.groups
            ));
        }
        out.push('\n');
    }
    for (i, s) in study.sources.iter().enumerate() {
        out.push_str(&format!(
            "{} {:?} {:?}\n",
            s.name,
            s.codelists,
            study.needed_concepts(i)
        ));
    }
    for p in &study.populations {
        out.push_str(&format!("{} {:?}\n", p.name, p.needs));
    }
    out
}

#[test]
fn every_kind_resolves_as_before() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in CODE_LISTS {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let text = format!("{HEADER}{EB}{AF}{LISA}\n{}", all_kinds());
    let study = Study::parse(&dir.path().join("study.toml"), &text).unwrap();
    let got = describe(&study);
    assert_eq!(got, include_str!("every_kind.txt"));
}

/// The table of kinds and the resolve functions agree: every key a kind
/// takes is accepted, every required one is needed (leaving it out is the
/// "needs" complaint), every other one may be left out, and a key of
/// another kind is refused.
#[test]
fn the_table_of_kinds_says_what_resolve_does() {
    use crate::study::kinds::KINDS;
    let all: Vec<&str> = KINDS.iter().flat_map(|k| k.keys).copied().collect();
    for kind in &KINDS {
        let written = format!("kind = \"{}\"", kind.name);
        let sets =
            |body: &str, key: &str| body.lines().any(|l| l.starts_with(&format!("{key} = ")));
        let (name, body) = ALL_KINDS
            .iter()
            .chain(&[("v23", "kind = \"programme_days\"\ngroups = [\"training\"]")])
            .find(|(_, body)| {
                body.lines().next() == Some(written.as_str())
                    && kind.keys.iter().all(|k| sets(body, k))
            })
            .unwrap_or_else(|| panic!("a {} variable with every key", kind.name));
        // The variables it may refer to.
        let others: String = ALL_KINDS
            .iter()
            .filter(|(n, _)| n != name)
            .map(|(n, b)| var(n, b))
            .collect();
        let outcome_without = |key: &str| {
            let lines: Vec<&str> = body
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} = ")))
                .collect();
            assert!(lines.len() < body.lines().count(), "{name} sets {key}");
            outcome(ALL, &(others.clone() + &var(name, &lines.join("\n"))))
        };
        for key in kind.keys {
            let got = outcome_without(key);
            if kind.required.contains(key) {
                let needs = format!(": a {} variable needs {key}", kind.name);
                assert!(got.ends_with(&needs), "{} without {key}: {got}", kind.name);
            } else {
                assert_eq!(got, "ok", "{} without {key}", kind.name);
            }
        }
        for key in all.iter().filter(|k| !kind.keys.contains(k)) {
            let value = match *key {
                "rollup" => "true",
                "bands" | "groups" | "employed" => "[]",
                "of" | "source" | "column" | "codelist" | "level" => "\"x\"",
                _ => "1",
            };
            let got = outcome(
                ALL,
                &(others.clone() + &var(name, &format!("{body}\n{key} = {value}"))),
            );
            let refused = format!(": a {} variable has no key \"{key}\"", kind.name);
            assert!(got.ends_with(&refused), "{} with {key}: {got}", kind.name);
        }
    }
}
