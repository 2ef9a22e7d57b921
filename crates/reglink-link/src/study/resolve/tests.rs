use super::*;

/// A minimal valid study in a folder with its code list; `extra` is appended.
fn study(extra: &str) -> Result<Study, LinkError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kommun.csv"),
        "code,name,county\n0180,Stockholm,01\n0380,Uppsala,03\n",
    )
    .unwrap();
    let text = format!(
        r#"[study]
name = "s"
period = ["2023-01", "2024-12"]

[codelists.kommun]
path = "kommun.csv"
label = "name"
group = "county"

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = {{ month = "period", municipality = "kommun" }}
codelists = {{ municipality = "kommun" }}

[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"
rollup = true

[populations.p]
source = "eb"
years = [2023]
{extra}"#
    );
    let path = dir.path().join("study.toml");
    Study::parse(&path, &text)
}

fn line_and_message(err: LinkError) -> (usize, String) {
    match err {
        LinkError::Study { line, message, .. } => (line, message),
        other => panic!("expected a study error, got {other}"),
    }
}

#[test]
fn a_minimal_study_resolves() {
    let s = study(
        "[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [\"municipality\", \"sex\"]\nmeasures = [{ name = \"persons\", kind = \"persons\" }]\n",
    )
    .unwrap();
    assert_eq!(s.first_month, 2023 * 12);
    assert_eq!(s.last_month, 2024 * 12 + 11);
    let m = s.variable("municipality").unwrap();
    let cats = s.variables[m].categories.as_ref().unwrap();
    assert_eq!(cats.codes, ["0180", "0380"]);
    assert_eq!(cats.groups, ["01", "03"]);
    assert_eq!(s.tables[0].dimensions, [m, 1]);
    assert_eq!(s.populations[0].needs, [m, 1]);
}

#[test]
fn unknown_keys_name_their_line() {
    let err = study("agee = [18, 64]\n").unwrap_err();
    let LinkError::StudySyntax { message, .. } = err else {
        panic!("{err}")
    };
    assert!(message.contains("line 25"), "{message}");
    assert!(message.contains("agee"), "{message}");
}

#[test]
fn undefined_names_name_their_line() {
    let (line, message) = line_and_message(
        study("\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [\"age_band\"]\nmeasures = []\n").unwrap_err(),
    );
    assert_eq!(line, 29);
    assert!(message.contains("no variable \"age_band\""), "{message}");

    let (line, message) = line_and_message(
        study("\n[[tables]]\nname = \"t\"\npopulation = \"q\"\ndimensions = []\nmeasures = []\n")
            .unwrap_err(),
    );
    assert_eq!(line, 28);
    assert!(message.contains("no population \"q\""), "{message}");
}

#[test]
fn a_key_that_does_not_belong_to_the_kind_is_an_error() {
    let text = "\n[variables.lt]\nkind = \"long_term\"\nwithin_months = 3\n";
    let (line, message) = line_and_message(study(text).unwrap_err());
    assert_eq!(line, 28);
    assert!(
        message.contains("has no key \"within_months\""),
        "{message}"
    );
}

#[test]
fn several_years_need_the_year_dimension() {
    let text = "[populations.two]\nsource = \"eb\"\nyears = [2023, 2024]\n\n[[tables]]\nname = \"t\"\npopulation = \"two\"\ndimensions = [\"sex\"]\nmeasures = []\n";
    let (_, message) = line_and_message(study(text).unwrap_err());
    assert!(
        message.contains("needs the dimension \"year\""),
        "{message}"
    );
}

#[test]
fn numbers_cannot_be_dimensions_and_bands_must_parse() {
    let (_, message) = line_and_message(
        study("\n[[tables]]\nname = \"t\"\npopulation = \"p\"\ndimensions = [\"age\"]\nmeasures = []\n").unwrap_err(),
    );
    assert!(message.contains("is a number"), "{message}");
    let (line, message) = line_and_message(
        study("\n[variables.b]\nkind = \"band\"\nof = \"age\"\nbands = [\"18-x\"]\n").unwrap_err(),
    );
    assert_eq!(line, 29);
    assert!(message.contains("\"18-x\" is not a band"), "{message}");
}

#[test]
fn variables_that_need_a_missing_register_say_so() {
    let (_, message) =
        line_and_message(study("\n[variables.a]\nkind = \"at_af_during_eb\"\n").unwrap_err());
    assert!(message.contains("needs an af source"), "{message}");
}

#[test]
fn bands_and_months_parse() {
    assert!(parse_band("18-24").unwrap().contains(24));
    assert!(!parse_band("18-24").unwrap().contains(25));
    assert!(parse_band("65+").unwrap().contains(101));
    assert!(parse_band("-0").unwrap().contains(-5));
    assert!(parse_band("24-18").is_none());
    assert_eq!(parse_month("2024-02"), Some(2024 * 12 + 1));
    assert_eq!(parse_month("202402"), Some(2024 * 12 + 1));
    assert_eq!(parse_month("2024-13"), None);
    assert_eq!(parse_month("2024-2"), None);
}

#[test]
fn months_with_multibyte_characters_are_not_months() {
    // Each of these once sliced the text inside a character and panicked.
    for s in [
        "203ä5",
        "2024ä5",
        "ä2024-",
        "20ä4-05",
        "2024-ä",
        "€€",
        "2024–05",
        "٢٠٢٤٠٥",
    ] {
        assert_eq!(parse_month(s), None, "{s}");
    }
    assert_eq!(parse_month(" 2024-05 "), Some(2024 * 12 + 4));
    assert_eq!(parse_month("+02405"), None);
}

#[test]
fn a_period_that_is_not_months_names_the_line_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.toml");
    for period in [r#"["203ä5", "2024-12"]"#, r#"["2023-01", "2024-1ä"]"#] {
        let text = format!(
            "[study]\nname = \"s\"\nperiod = {period}\n\n[sources.eb]\nkind = \"eb\"\npath = \"eb.parquet\"\n"
        );
        let (line, message) = line_and_message(Study::parse(&path, &text).unwrap_err());
        assert_eq!(line, 3, "{message}");
        assert!(
            message.contains("not a month") && !message.contains('ä'),
            "{message}"
        );
    }
}

mod messages;
