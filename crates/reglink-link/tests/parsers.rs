//! Never-panic properties of the parsers of user input in reglink-link: the
//! study file and code lists. Arbitrary text, and valid files with random
//! values in every slot, give `Ok` or an error, never a panic, and no error
//! repeats a personnummer-like value of the input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use reglink_link::{CodeList, Study};

/// Personnummer-like values in every written form, fixed and random.
fn pnr_like() -> BoxedStrategy<String> {
    prop_oneof![
        Just("19900101-0017".to_string()),
        Just("199001010017".to_string()),
        Just("900101-0017".to_string()),
        Just("900101+0017".to_string()),
        Just("9001010017".to_string()),
        "[12][0-9]{11}",
        "[0-9]{6}[-+][0-9]{4}",
    ]
    .boxed()
}

/// Text that may hold a personnummer-like value.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-z_0-9 ä-]{0,12}",
        2 => pnr_like(),
        1 => Just("2024-01".to_string()),
        1 => Just("203ä5".to_string()),
        1 => (pnr_like(), any::<String>()).prop_map(|(p, s)| format!("{s}{p}")),
    ]
    .boxed()
}

/// A TOML basic string holding `s`.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML value of any type, often a string.
fn value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => text().prop_map(|s| quoted(&s)),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        1 => (-3i64..150).prop_map(|v| v.to_string()),
        1 => any::<bool>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| format!("{v:?}")),
        2 => prop::collection::vec(text(), 0..4).prop_map(|v| {
            let items: Vec<String> = v.iter().map(|s| quoted(s)).collect();
            format!("[{}]", items.join(", "))
        }),
        1 => prop::collection::vec(any::<i64>(), 0..3).prop_map(|v| format!("{v:?}")),
    ]
    .boxed()
}

/// One of `known` (as a string), or any value.
fn one_of(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(quoted),
        1 => value(),
    ]
    .boxed()
}

/// A string most of the time: `known` or any text.
fn string(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop::sample::select(known).prop_map(quoted),
        6 => text().prop_map(|s| quoted(&s)),
        1 => value(),
    ]
    .boxed()
}

/// An integer most of the time.
fn integer(lo: i64, hi: i64) -> BoxedStrategy<String> {
    prop_oneof![
        8 => (lo..=hi).prop_map(|v| v.to_string()),
        4 => any::<i64>().prop_map(|v| v.to_string()),
        1 => value(),
    ]
    .boxed()
}

/// An array of strings most of the time.
fn strings(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(string(known), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => value(),
    ]
    .boxed()
}

/// A month as the period writes it, or something close.
fn month() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(&["2023-01", "202301", "2024-12", "2023-13", "203ä5", "2024-ä1"][..])
            .prop_map(quoted),
        4 => "[0-9ä€-]{4,8}".prop_map(|s| quoted(&s)),
        1 => text().prop_map(|s| quoted(&s)),
    ]
    .boxed()
}

/// A key of a variable with a value of its type (mostly).
fn variable_key() -> BoxedStrategy<(String, String)> {
    prop::sample::select(VARIABLE_KEYS)
        .prop_flat_map(|key| {
            let value = match key {
                "of" => string(&["age", "v", "eb_months"]),
                "source" => string(&["eb", "af"]),
                "column" => string(&["municipality", "earnings", "amount"]),
                "codelist" => string(&["kommun"]),
                "level" => string(&["code", "group"]),
                "bands" => strings(&["18-24", "65+", "-0", "5", "24-18", "x", "ä-5"]),
                "groups" | "employed" => strings(&["01", "03", "employed"]),
                "rollup" => prop_oneof![any::<bool>().prop_map(|b| b.to_string()), value()].boxed(),
                _ => integer(-10, 130),
            };
            (Just(key.to_string()), value)
        })
        .boxed()
}

const VARIABLE_KINDS: &[&str] = &[
    "band",
    "code",
    "long_term",
    "eb_months",
    "eb_amount",
    "household_type",
    "at_af_during_eb",
    "af_programme",
    "benefit_group",
    "af_entry",
    "af_exit",
    "af_registration_days",
    "days_to_programme",
    "programme_days",
    "eb_spell_months",
    "eb_entry",
    "status_after",
    "lisa_value",
    "self_supporting",
];

const VARIABLE_KEYS: &[&str] = &[
    "of",
    "bands",
    "source",
    "column",
    "codelist",
    "level",
    "rollup",
    "offset",
    "min_months",
    "groups",
    "within_months",
    "months",
    "max_gap",
    "employed",
];

/// A folder with the code list the near-valid studies name.
fn folder() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(
            dir.path().join("kommun.csv"),
            "code,name,county\n0180,Stockholm,01\n0380,Uppsala,03\n",
        )
        .expect("code list");
        dir
    })
    .path()
}

fn study_path() -> PathBuf {
    folder().join("study.toml")
}

/// A valid study with random values in its slots.
fn near_valid_study() -> impl Strategy<Value = (String, Vec<String>)> {
    let header = (string(&["s", "eb-af"]), month(), month()).boxed();
    let source = (
        string(&["eb", "af", "lisa"]),
        string(&["utbetalt"]),
        string(&["S", "M"]),
    )
        .boxed();
    let variable = (
        string(VARIABLE_KINDS),
        prop::collection::btree_map(variable_key(), Just(()), 0..3),
    )
        .boxed();
    let population = (
        string(&["eb", "af"]),
        integer(2020, 2026),
        integer(2020, 2026),
        prop_oneof![
            (integer(-5, 120), integer(-5, 120)).prop_map(|(a, b)| format!("[{a}, {b}]")),
            value()
        ],
    )
        .boxed();
    let table = (
        string(&["t", "t-1"]),
        string(&["p"]),
        string(&["municipality", "sex", "year", "v", "age"]),
        string(&["persons", "share", "sum", "mean", "median", "households"]),
        string(&["v", "age"]),
        string(&["n", "persons"]),
    )
        .boxed();
    let pnrs = prop::collection::vec(pnr_like(), 1..3);
    (header, source, variable, population, table, pnrs).prop_map(
        |(
            (name, p0, p1),
            (kind, amount, roles),
            (vkind, keys),
            (psource, y1, y2, age),
            (tname, tpop, dim, mkind, mof, mname),
            pnrs,
        )| {
            let text = format!(
                r#"[study]
name = {name}
period = [{p0}, {p1}]

[codelists.kommun]
path = "kommun.csv"
label = "name"
group = "county"

[sources.eb]
kind = {kind}
path = "eb.parquet"
columns = {{ month = "period", municipality = "kommun", amount = {amount}, household = {pnr0} }}
codelists = {{ municipality = "kommun" }}
roles = {{ applicant = {roles} }}

[variables.v]
kind = {vkind}
{keys}

[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"
rollup = true

[populations.p]
source = {psource}
years = [{y1}, {y2}]
age = {age}

[[tables]]
name = {tname}
population = {tpop}
dimensions = [{dim}, {pnr1}]
measures = [{{ name = {mname}, kind = {mkind}, of = {mof} }}]
"#,
                keys = keys
                    .keys()
                    .map(|(k, v)| format!("{k} = {v}\n"))
                    .collect::<String>(),
                pnr0 = quoted(&pnrs[0]),
                pnr1 = quoted(pnrs.last().expect("one at least")),
            );
            (text, pnrs)
        },
    )
}

/// Fails if `message` holds one of `pnrs` or its digits.
fn check_withheld(message: &str, pnrs: &[String]) -> Result<(), TestCaseError> {
    for p in pnrs {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        prop_assert!(
            !message.contains(p.as_str()) && !message.contains(&digits),
            "an error repeats a personnummer-like value: {}",
            message
        );
    }
    Ok(())
}

/// The personnummer-like values in `text`: runs of 10 or more digits.
fn pnrs_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() >= 10 {
                found.push(run.clone());
            }
            run.clear();
        }
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_study_or_an_error(text in any::<String>()) {
        if let Err(e) = Study::parse(&study_path(), &text) {
            check_withheld(&e.to_string(), &pnrs_in(&text))?;
        }
    }

    #[test]
    fn toml_like_text_is_a_study_or_an_error(text in "[\\[\\]a-z_.=\"{}, \n0-9+-]{0,300}") {
        if let Err(e) = Study::parse(&study_path(), &text) {
            check_withheld(&e.to_string(), &pnrs_in(&text))?;
        }
    }

    #[test]
    fn valid_studies_with_random_values_parse_or_fail_cleanly(
        (text, pnrs) in near_valid_study()
    ) {
        if let Err(e) = Study::parse(&study_path(), &text) {
            check_withheld(&e.to_string(), &pnrs)?;
        }
    }

    #[test]
    fn any_bytes_are_a_code_list_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let result = CodeList::parse("k", Path::new("k.csv"), &bytes, None, None, None);
        if let Err(e) = result {
            check_withheld(&e.to_string(), &pnrs_in(&String::from_utf8_lossy(&bytes)))?;
        }
    }

    #[test]
    fn code_lists_with_random_cells_parse_or_fail_cleanly(
        header in prop::sample::select(&["code,label,group", "code;name;county", "kod\tnamn", "code"][..]),
        rows in prop::collection::vec(prop::collection::vec(text(), 0..4), 0..6),
        columns in (prop::option::of(one_of(&["code", "kod"])), prop::option::of(one_of(&["label", "name"]))),
        pnrs in prop::collection::vec(pnr_like(), 1..3),
    ) {
        let delimiter = if header.contains(';') { ";" } else if header.contains('\t') { "\t" } else { "," };
        let mut csv = format!("{header}\n");
        for (i, row) in rows.iter().enumerate() {
            let mut cells = row.clone();
            // A personnummer where a code or a label goes, repeated to be a duplicate.
            if i % 2 == 0 {
                cells.insert(0, pnrs[i % pnrs.len()].clone());
            }
            csv.push_str(&cells.join(delimiter));
            csv.push('\n');
        }
        csv.push_str(&format!("{0}{delimiter}{0}\n{0}{delimiter}x\n", pnrs[0]));
        let unquote = |s: &Option<String>| s.as_ref().map(|s| s.trim_matches('"').to_string());
        let (code, label) = (unquote(&columns.0), unquote(&columns.1));
        let result = CodeList::parse(
            "k",
            Path::new("k.csv"),
            csv.as_bytes(),
            code.as_deref(),
            label.as_deref(),
            None,
        );
        if let Err(e) = result {
            check_withheld(&e.to_string(), &pnrs)?;
        }
    }
}
