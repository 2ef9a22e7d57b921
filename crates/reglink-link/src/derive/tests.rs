//! Each kind's value on a small hand-built person, worked out by hand from
//! the definitions in `docs/study-file.md`.

use super::*;
use crate::load::{NO_NUMBER, ROLE_OTHER};
use crate::study::Month;
use crate::testutil::CODE_LISTS;

const STUDY: &str = r#"[study]
name = "s"
period = ["2022-01", "2025-12"]

[codelists.kommun]
path = "kommun.csv"
label = "name"
group = "county"

[codelists.programme]
path = "programme.csv"

[codelists.exit]
path = "exit.csv"

[codelists.employment]
path = "employment.csv"

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "m", municipality = "k", household = "h", role = "r", amount = "a" }
codelists = { municipality = "kommun" }

[sources.af]
kind = "af"
path = "af.parquet"
columns = { start = "s", end = "e", programme = "p", exit = "x", municipality = "k" }
codelists = { programme = "programme", exit = "exit", municipality = "kommun" }

[sources.lisa]
kind = "lisa"
path = "lisa.parquet"
columns = { year = "y", employment = "w", earnings = "i", unemployment_benefit = "u" }
codelists = { employment = "employment" }

[variables]
muni = { kind = "code", source = "eb", column = "municipality" }
county = { kind = "code", source = "eb", column = "municipality", level = "group" }
af_muni = { kind = "code", source = "af", column = "municipality" }
employment_next = { kind = "code", source = "lisa", column = "employment", offset = 1 }
age_band = { kind = "band", of = "age", bands = ["-29", "30-44", "45+"] }
eb_months = { kind = "eb_months" }
long_term5 = { kind = "long_term", min_months = 5 }
long_term6 = { kind = "long_term", min_months = 6 }
eb_amount = { kind = "eb_amount" }
household = { kind = "household_type" }
at_af = { kind = "at_af_during_eb" }
in_af = { kind = "found_in", source = "af" }
in_lisa = { kind = "found_in", source = "lisa" }
guarantee = { kind = "af_programme", groups = ["guarantee"] }
any_programme = { kind = "af_programme" }
benefit = { kind = "benefit_group" }
entry = { kind = "af_entry" }
exit3 = { kind = "af_exit", within_months = 3 }
exit6 = { kind = "af_exit", within_months = 6 }
exit24 = { kind = "af_exit", within_months = 24 }
registration_days = { kind = "af_registration_days" }
to_training = { kind = "days_to_programme", groups = ["training"] }
to_guarantee = { kind = "days_to_programme", groups = ["guarantee"] }
programme_days = { kind = "programme_days" }
training_days = { kind = "programme_days", groups = ["training"] }
spell = { kind = "eb_spell_months" }
spell0 = { kind = "eb_spell_months", max_gap = 0 }
eb_entry6 = { kind = "eb_entry" }
eb_entry12 = { kind = "eb_entry", months = 12 }
status2 = { kind = "status_after", months = 2 }
status4 = { kind = "status_after", months = 4 }
status10 = { kind = "status_after", months = 10 }
earnings = { kind = "lisa_value", column = "earnings" }
earnings_next = { kind = "lisa_value", column = "earnings", offset = 1 }
self_supporting = { kind = "self_supporting" }
"#;

fn study() -> Study {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in CODE_LISTS {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Study::parse(&dir.path().join("study.toml"), STUDY).unwrap()
}

fn month(year: i32, month: i32) -> Month {
    year * 12 + month - 1
}

fn day(year: i32, month: u8, day: u8) -> i32 {
    reglink_pnr::Date::new(year, month, day)
        .unwrap()
        .days_since_epoch()
}

fn dictionary(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

/// Person 1's EB rows (0-6), then two other members of household 7 in
/// 2023-10 (a co-applicant, twice, and a child) and a member of household 8.
/// Dictionary of municipalities in another order than the code list, with a
/// code the list does not have.
fn eb_data() -> SourceData {
    let rows: [(u128, Month, u64, u8, u32); 11] = [
        (1, month(2022, 12), 7, ROLE_APPLICANT, 1),
        (1, month(2023, 1), 7, ROLE_APPLICANT, 1),
        (1, month(2023, 2), 7, ROLE_APPLICANT, 1),
        (1, month(2023, 5), 7, ROLE_APPLICANT, 1),
        (1, month(2023, 9), 7, ROLE_APPLICANT, 1),
        (1, month(2023, 10), 7, ROLE_APPLICANT, 0),
        (1, month(2025, 11), u64::MAX, ROLE_APPLICANT, 2),
        (2, month(2023, 10), 7, ROLE_CO_APPLICANT, 0),
        (2, month(2023, 10), 7, ROLE_CO_APPLICANT, 0),
        (3, month(2023, 10), 7, ROLE_CHILD, 0),
        (4, month(2023, 10), 8, ROLE_OTHER, 0),
    ];
    SourceData {
        person: rows.iter().map(|r| r.0).collect(),
        time: rows.iter().map(|r| r.1).collect(),
        household: rows.iter().map(|r| r.2).collect(),
        role: rows.iter().map(|r| r.3).collect(),
        codes: vec![(Concept::Municipality, rows.iter().map(|r| r.4).collect())],
        dictionaries: vec![(Concept::Municipality, dictionary(&["0380", "0180", "9999"]))],
        ..SourceData::default()
    }
}

/// Person 1's EB months: amounts per month, the 2023-02 amount unknown.
fn eb_months() -> Vec<EbMonth> {
    let amounts = [300, 1000, NO_NUMBER, 250, 50, 7, 10];
    let data = eb_data();
    (0..7)
        .map(|row| EbMonth {
            month: data.time[row],
            row: row as u32,
            amount: amounts[row],
        })
        .collect()
}

/// Three spells: 2023-03-15 to 2023-04-10 (guarantee programme, ended by a
/// transfer), 2023-04-05 to 2023-08-31 (training, ended in work), and
/// 2024-02-01, still open (training, no exit).
fn af_data() -> SourceData {
    SourceData {
        person: vec![1, 1, 1],
        time: vec![day(2023, 3, 15), day(2023, 4, 5), day(2024, 2, 1)],
        end: vec![day(2023, 4, 10), day(2023, 8, 31), OPEN],
        codes: vec![
            (Concept::Programme, vec![0, 1, 1]),
            (Concept::Exit, vec![0, 1, NO_CODE]),
            (Concept::Municipality, vec![0, 0, 1]),
        ],
        dictionaries: vec![
            (Concept::Programme, dictionary(&["P1", "P2"])),
            (Concept::Exit, dictionary(&["E2", "E1"])),
            (Concept::Municipality, dictionary(&["0180", "0380"])),
        ],
        ..SourceData::default()
    }
}

fn spells() -> Vec<Spell> {
    let d = af_data();
    (0..3)
        .map(|row| Spell {
            start: d.time[row],
            end: d.end[row],
            row: row as u32,
        })
        .collect()
}

/// LISA 2023 (not employed, earnings 100 000, no benefit), 2024 (employed,
/// 250 000, benefit 5 000), 2025 (employed, values unknown).
fn lisa_data() -> SourceData {
    SourceData {
        person: vec![1, 1, 1],
        time: vec![2023, 2024, 2025],
        codes: vec![(Concept::Employment, vec![1, 0, 0])],
        dictionaries: vec![(Concept::Employment, dictionary(&["W1", "W2"]))],
        numbers: vec![
            (Concept::Earnings, vec![100_000, 250_000, NO_NUMBER]),
            (Concept::UnemploymentBenefit, vec![0, 5_000, NO_NUMBER]),
        ],
        ..SourceData::default()
    }
}

struct Fixture {
    study: Study,
    eb: SourceData,
    af: SourceData,
    lisa: SourceData,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            study: study(),
            eb: eb_data(),
            af: af_data(),
            lisa: lisa_data(),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx::new(
            &self.study,
            &[Some(&self.eb), Some(&self.af), Some(&self.lisa)],
        )
    }
}

/// Person 1: born 1990, a woman, with every row above.
struct Person {
    eb: Vec<EbMonth>,
    af: Vec<Spell>,
    regs: Vec<Registration>,
    lisa: Vec<(i32, u32)>,
    birth_year: i32,
    sex: u8,
}

impl Person {
    fn one(ctx: &Ctx<'_>) -> Person {
        let af = spells();
        let mut regs = Vec::new();
        ctx.registrations(&af, &mut regs);
        Person {
            eb: eb_months(),
            af,
            regs,
            lisa: vec![(2023, 0), (2024, 1), (2025, 2)],
            birth_year: 1990,
            sex: 2,
        }
    }

    /// Someone with no rows at all and no birth date.
    fn nobody() -> Person {
        Person {
            eb: Vec::new(),
            af: Vec::new(),
            regs: Vec::new(),
            lisa: Vec::new(),
            birth_year: 0,
            sex: 0,
        }
    }

    fn linked(&self) -> LinkedPerson<'_> {
        LinkedPerson {
            birth_year: self.birth_year,
            sex: self.sex,
            eb: &self.eb,
            af: &self.af,
            regs: &self.regs,
            lisa: &self.lisa,
            present: [
                !self.eb.is_empty(),
                !self.af.is_empty(),
                !self.lisa.is_empty(),
            ],
        }
    }
}

/// The value of variable `name` for the person in each of `years`; a band's
/// number is computed first, as a population's `needs` order does.
fn values(ctx: &Ctx<'_>, person: &Person, name: &str, years: &[i32]) -> Vec<Value> {
    let study = ctx.study;
    let v = study.variable(name).unwrap();
    let p = person.linked();
    years
        .iter()
        .map(|&year| {
            let mut values = vec![Value::Missing; study.variables.len()];
            if let VarKind::Band { of, .. } = study.variables[v].kind {
                values[of] = ctx.eval(of, &p, year, &values);
            }
            ctx.eval(v, &p, year, &values)
        })
        .collect()
}

const YEARS: [i32; 4] = [2022, 2023, 2024, 2025];

use Value::{Bool, Cat, Missing, Num};

#[test]
fn the_person_is_chained_into_two_registrations() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let person = Person::one(&ctx);
    let spans: Vec<(u32, u32)> = person.regs.iter().map(|r| (r.first, r.last)).collect();
    assert_eq!(spans, [(0, 1), (2, 2)]);
}

#[test]
fn found_in_is_having_a_used_row_in_the_source_in_any_year() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    assert!(!one.af.is_empty() && !one.lisa.is_empty());
    assert_eq!(values(&ctx, &one, "in_af", &YEARS), [Bool(true); 4]);
    assert_eq!(values(&ctx, &one, "in_lisa", &YEARS), [Bool(true); 4]);
    let nobody = Person::nobody();
    assert_eq!(values(&ctx, &nobody, "in_af", &YEARS), [Bool(false); 4]);
    assert_eq!(values(&ctx, &nobody, "in_lisa", &[2023]), [Bool(false)]);
}

#[test]
fn sex_age_and_bands() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    assert_eq!(values(&ctx, &one, "sex", &[2023]), [Cat(1)]);
    assert_eq!(
        values(&ctx, &one, "age", &YEARS),
        [Num(32), Num(33), Num(34), Num(35)]
    );
    assert_eq!(
        values(&ctx, &one, "age_band", &[2019, 2020, 2034, 2035]),
        [Cat(0), Cat(1), Cat(1), Cat(2)]
    );
    let nobody = Person::nobody();
    assert_eq!(values(&ctx, &nobody, "sex", &[2023]), [Missing]);
    assert_eq!(values(&ctx, &nobody, "age", &[2023]), [Missing]);
    assert_eq!(values(&ctx, &nobody, "age_band", &[2023]), [Missing]);
}

#[test]
fn codes_come_from_the_years_last_row_through_the_code_list() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    // EB: 2022-12 is dictionary 1 = "0180" = list index 0; 2023's last
    // month, 2023-10, is dictionary 0 = "0380" = list index 1; 2025-11 is
    // "9999", not in the list.
    assert_eq!(
        values(&ctx, &one, "muni", &YEARS),
        [Cat(0), Cat(1), Missing, Missing]
    );
    assert_eq!(
        values(&ctx, &one, "county", &YEARS),
        [Cat(0), Cat(1), Missing, Missing]
    );
    // AF: the last spell covering a month of the year; the open spell runs to
    // the end of the period.
    assert_eq!(
        values(&ctx, &one, "af_muni", &YEARS),
        [Missing, Cat(0), Cat(1), Cat(1)]
    );
    // LISA with offset 1: 2022 reads 2023 (W2), 2023 and 2024 read W1, 2025
    // has no 2026 row.
    assert_eq!(
        values(&ctx, &one, "employment_next", &YEARS),
        [Cat(1), Cat(0), Cat(0), Missing]
    );
}

#[test]
fn eb_months_amounts_and_long_term() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    assert_eq!(
        values(&ctx, &one, "eb_months", &YEARS),
        [Num(1), Num(5), Num(0), Num(1)]
    );
    // 2023: 1000 + (unknown) + 250 + 50 + 7; no EB month in 2024 is missing.
    assert_eq!(
        values(&ctx, &one, "eb_amount", &YEARS),
        [Num(300), Num(1307), Missing, Num(10)]
    );
    assert_eq!(
        values(&ctx, &one, "long_term5", &YEARS),
        [Bool(false), Bool(true), Bool(false), Bool(false)]
    );
    assert_eq!(values(&ctx, &one, "long_term6", &[2023]), [Bool(false)]);
}

#[test]
fn household_type_counts_each_member_once_in_the_last_month() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    // 2022-12: alone; 2023-10: with a co-applicant (two rows) and a child;
    // 2025-11: no household.
    assert_eq!(
        values(&ctx, &one, "household", &YEARS),
        [Cat(0), Cat(3), Missing, Missing]
    );
    let table = household_table(&f.eb);
    assert_eq!(table[&(7, month(2023, 10))], (2, 1));
    assert_eq!(table[&(7, month(2022, 12))], (1, 0));
    assert_eq!(table[&(8, month(2023, 10))], (0, 0));
    assert_eq!(table.len(), 7);
}

#[test]
fn eb_spells_entries_and_status_after() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    // 2023's first month 2023-01: the run 2022-12 .. 2023-05 (gaps of up to
    // two months); with no gap allowed, 2022-12 .. 2023-02.
    assert_eq!(
        values(&ctx, &one, "spell", &YEARS),
        [Num(6), Num(6), Missing, Num(1)]
    );
    assert_eq!(
        values(&ctx, &one, "spell0", &YEARS),
        [Num(3), Num(3), Missing, Num(1)]
    );
    // 2022-12 has no EB month in the six before it, inside the period; twelve
    // months before it reach outside the period.
    assert_eq!(
        values(&ctx, &one, "eb_entry6", &YEARS),
        [Bool(true), Bool(false), Bool(false), Bool(true)]
    );
    assert_eq!(
        values(&ctx, &one, "eb_entry12", &YEARS),
        [Bool(false), Bool(false), Bool(false), Bool(true)]
    );
    // From 2023-01: 2023-03 is covered by AF, 2023-05 has EB, 2023-11 neither;
    // from 2022-12, 2023-10 has EB; from 2025-11, anything later than a month
    // on is after the period.
    assert_eq!(
        values(&ctx, &one, "status2", &YEARS),
        [Cat(0), Cat(1), Missing, Cat(3)]
    );
    assert_eq!(values(&ctx, &one, "status4", &[2023]), [Cat(0)]);
    assert_eq!(
        values(&ctx, &one, "status10", &YEARS),
        [Cat(0), Cat(2), Missing, Cat(3)]
    );
}

#[test]
fn af_during_eb_and_programmes() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    // 2023-05 falls in the second spell; 2025-11 in the open one.
    assert_eq!(
        values(&ctx, &one, "at_af", &YEARS),
        [Bool(false), Bool(true), Bool(false), Bool(true)]
    );
    assert_eq!(
        values(&ctx, &one, "guarantee", &YEARS),
        [Bool(false), Bool(true), Bool(false), Bool(false)]
    );
    assert_eq!(
        values(&ctx, &one, "any_programme", &YEARS),
        [Bool(false), Bool(true), Bool(true), Bool(true)]
    );
    // 2023: 2023-03-15 .. 2023-08-31 once although the spells overlap; 2024:
    // from 2024-02-01 to the end of the (leap) year.
    assert_eq!(
        values(&ctx, &one, "programme_days", &YEARS),
        [Num(0), Num(170), Num(335), Num(365)]
    );
    assert_eq!(
        values(&ctx, &one, "training_days", &YEARS),
        [Num(0), Num(149), Num(335), Num(365)]
    );
}

#[test]
fn af_registrations() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    assert_eq!(
        values(&ctx, &one, "entry", &YEARS),
        [Bool(false), Bool(true), Bool(true), Bool(false)]
    );
    // Exit categories: work, other, still_registered, not_observed. The 2023
    // registration ended in work on 2023-08-31, within six months of
    // 2023-03-15 but not within three; the open 2024 one is still running
    // three months on, and 24 months on is after the period.
    assert_eq!(
        values(&ctx, &one, "exit6", &YEARS),
        [Missing, Cat(0), Cat(2), Missing]
    );
    assert_eq!(values(&ctx, &one, "exit3", &[2023]), [Cat(2)]);
    assert_eq!(
        values(&ctx, &one, "exit24", &YEARS),
        [Missing, Cat(0), Cat(3), Missing]
    );
    assert_eq!(
        values(&ctx, &one, "registration_days", &YEARS),
        [Missing, Num(170), Missing, Missing]
    );
    assert_eq!(
        values(&ctx, &one, "to_training", &YEARS),
        [Missing, Num(21), Num(0), Missing]
    );
    assert_eq!(
        values(&ctx, &one, "to_guarantee", &YEARS),
        [Missing, Num(0), Missing, Missing]
    );
}

#[test]
fn lisa_values_benefits_and_self_support() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let one = Person::one(&ctx);
    assert_eq!(
        values(&ctx, &one, "earnings", &YEARS),
        [Missing, Num(100_000), Num(250_000), Missing]
    );
    assert_eq!(
        values(&ctx, &one, "earnings_next", &YEARS),
        [Num(100_000), Num(250_000), Missing, Missing]
    );
    assert_eq!(
        values(&ctx, &one, "benefit", &YEARS),
        [Cat(0), Cat(0), Cat(1), Cat(0)]
    );
    assert_eq!(
        values(&ctx, &Person::nobody(), "benefit", &[2023]),
        [Cat(2)]
    );
    // 2023 reads 2024: employed, no EB in 2024. 2024 reads 2025: employed
    // but on EB in 2025-11. 2022 reads 2023: not employed.
    assert_eq!(
        values(&ctx, &one, "self_supporting", &YEARS),
        [Bool(false), Bool(true), Bool(false), Missing]
    );
}

#[test]
fn a_month_later_is_the_same_day_or_the_months_last() {
    assert_eq!(add_months(day(2023, 1, 31), 1), day(2023, 2, 28));
    assert_eq!(add_months(day(2024, 1, 31), 1), day(2024, 2, 29));
    assert_eq!(add_months(day(2023, 3, 15), 6), day(2023, 9, 15));
    assert_eq!(add_months(day(2023, 11, 30), 3), day(2024, 2, 29));
    assert_eq!(add_months(day(2023, 5, 31), -1), day(2023, 4, 30));
}
