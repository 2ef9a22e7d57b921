//! Two populations of one release, one inside the other (18-64 and 18-65):
//! a cell of the wider minus the same cell of the narrower counts the
//! people in between, a count no table shows. Secondary suppression must
//! protect it like any other count; the control release, whose populations
//! the engine cannot relate, shows that the attacker here finds small
//! differences when nothing protects them (so these tests can fail).

use reglink_protect::secondary::model::{Scope, build};
use reglink_protect::{Flag, Method, Policy, Release, primary, protect};
use reglink_tabulate::CellTable;
use reglink_tabulate::testing::{Inner, table};

const THRESHOLD: u64 = 5;

fn policy() -> Policy {
    let mut p = Policy::preset("lenient").expect("a preset");
    p.threshold = THRESHOLD;
    p.min_median_contributors = THRESHOLD;
    p.method = Method::Suppression;
    p
}

/// A small deterministic generator (SplitMix64).
struct Draw(u64);

impl Draw {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn cell(persons: u64) -> Inner {
    Inner {
        persons,
        num: persons / 2,
        den: persons,
        contributions: vec![100; persons as usize],
        key: persons as u32,
    }
}

fn definition(age: (i64, i64)) -> serde_json::Value {
    serde_json::json!({ "source": "eb", "years": [2023], "age": [age.0, age.1], "require": [] })
}

/// The narrow population's table and the wide one's: the same `a` × `b`
/// cells, the wide one a few people larger in each, so that most
/// differences are below the threshold while the cells themselves are not.
fn pair(seed: u64, a: usize, b: usize, related: bool) -> [CellTable; 2] {
    let mut draw = Draw(seed);
    let narrow: Vec<u64> = (0..a * b).map(|_| 3 + draw.next(30)).collect();
    let wide: Vec<u64> = narrow.iter().map(|&n| n + draw.next(4)).collect();
    let make = |name: &str, counts: &[u64], age: (i64, i64)| {
        let inner: Vec<Inner> = counts.iter().map(|&n| cell(n)).collect();
        let mut t = table(a, b, &inner);
        t.name = format!("t_{name}");
        t.population = name.into();
        t.definition = if related {
            definition(age)
        } else {
            serde_json::Value::Null
        };
        t
    };
    [
        make("narrow", &narrow, (18, 64)),
        make("wide", &wide, (18, 65)),
    ]
}

/// What anyone can do with the two published tables: subtract the same
/// cell. Returns the cells whose difference of counts is below the
/// threshold (and above zero), each a handful of people given away, and
/// those whose difference of sums is the sum over fewer people than the
/// threshold (their amounts given away): those the test knows from the
/// true tables.
fn small_differences(release: &Release, truth: &[CellTable; 2]) -> Vec<(&'static str, usize)> {
    let column = |t: usize, name: &str| {
        let c = release.tables[t]
            .columns
            .iter()
            .find(|c| c.name == name)
            .expect("the column");
        &c.values
    };
    let both = |name: &str| {
        column(0, name)
            .iter()
            .zip(column(1, name))
            .map(|(n, w)| w.zip(*n).map(|(w, n)| w - n))
            .collect::<Vec<_>>()
    };
    let small = |d: f64| d > 0.0 && d < THRESHOLD as f64;
    let persons = both("persons");
    let amounts = both("amount");
    let mut out = Vec::new();
    for c in 0..persons.len() {
        if persons[c].is_some_and(small) {
            out.push(("persons", c));
        }
        let between = truth[1].persons[c] - truth[0].persons[c];
        if amounts[c].is_some() && small(between as f64) {
            out.push(("amount", c));
        }
    }
    out
}

#[test]
fn the_attacker_finds_small_differences_when_nothing_relates_the_populations() {
    let found: usize = (1..=5)
        .map(|seed| {
            let tables = pair(seed, 4, 5, false);
            small_differences(&protect(&tables, &policy()), &tables).len()
        })
        .sum();
    assert!(found > 0, "the control should give differences away");
}

#[test]
fn differences_of_nested_populations_are_protected() {
    for seed in 1..=5 {
        let tables = pair(seed, 4, 5, true);
        let release = protect(&tables, &policy());
        assert_eq!(small_differences(&release, &tables), [], "seed {seed}");
        // The exact audit covers the differences too, over the whole release.
        let persons = release
            .families
            .iter()
            .position(|f| f.family == "narrow+wide/persons")
            .expect("one family of counts for both populations");
        assert_eq!(
            release.families[persons].differences,
            2 * 30,
            "counts and numerators"
        );
        assert!(release.families[persons].primary_differences > 0);
        assert!(
            release
                .families
                .iter()
                .any(|f| f.family == "narrow+wide/sum:amount" && f.primary_differences > 0)
        );
        for audit in &release.audits {
            assert_eq!(audit.not_protected(), 0, "seed {seed}: {}", audit.family);
        }
        // Not everything is hidden: the pattern still publishes cells.
        let published = release
            .tables
            .iter()
            .flat_map(|t| &t.columns[0].flags)
            .filter(|&&f| f == Flag::Published)
            .count();
        assert!(published > 0, "seed {seed}");
    }
}

#[test]
fn a_population_inside_another_needs_the_same_source_years_and_requirements() {
    let [narrow, wide] = pair(1, 2, 2, true);
    assert!(reglink_protect::secondary::model::nested(&narrow, &wide));
    assert!(!reglink_protect::secondary::model::nested(&wide, &narrow));
    let mut other = narrow.clone();
    other.definition["years"] = serde_json::json!([2024]);
    assert!(!reglink_protect::secondary::model::nested(&other, &wide));
    other.definition = definition((18, 64));
    other.definition["source"] = serde_json::json!("af");
    assert!(!reglink_protect::secondary::model::nested(&other, &wide));
    // Requiring more keeps fewer people: inside. Requiring less: not.
    let mut stricter = wide.clone();
    stricter.definition["require"] = serde_json::json!(["af_registered"]);
    assert!(reglink_protect::secondary::model::nested(&stricter, &wide));
    assert!(!reglink_protect::secondary::model::nested(&wide, &stricter));
    // No age filter keeps everyone.
    let mut everyone = wide.clone();
    everyone.definition["age"] = serde_json::Value::Null;
    assert!(reglink_protect::secondary::model::nested(&wide, &everyone));
    assert!(!reglink_protect::secondary::model::nested(&everyone, &wide));
}

/// A table of the population `narrow`'s people under the name `again`, by
/// `a` and another dimension `c` (its categories those of `b` in reverse
/// order, so that the two tables share only their cells by `a`).
fn again(seed: u64, a: usize, b: usize, related: bool) -> CellTable {
    let mut draw = Draw(seed);
    let narrow: Vec<u64> = (0..a * b).map(|_| 3 + draw.next(30)).collect();
    let inner: Vec<Inner> = (0..a * b)
        .map(|i| cell(narrow[(i / b) * b + (b - 1 - i % b)]))
        .collect();
    let mut t = table(a, b, &inner);
    t.name = "t_again".into();
    t.population = "again".into();
    t.dimensions[1].name = "c".into();
    t.definition = if related {
        definition((18, 64))
    } else {
        serde_json::Value::Null
    };
    t
}

/// Cells by `a` alone that one table publishes and the other hides: the
/// same people, so the hidden one is given away.
fn inconsistent(release: &Release, t: &CellTable) -> Vec<usize> {
    let total = t.dimensions[1].positions() - 1;
    let (x, y) = (&release.tables[0].columns[0], &release.tables[1].columns[0]);
    (0..t.shape.cells())
        .filter(|&c| t.shape.position(c, 1) == total && x.flags[c] != y.flags[c])
        .collect()
}

#[test]
fn the_same_population_under_two_names_is_one_quantity_with_equal_cells() {
    let [narrow, _] = pair(1, 4, 5, true);
    let other = again(1, 4, 5, true);
    // The model ties every cell both tables show (the four cells by `a` and
    // the grand total) with a difference the attacker knows to be zero:
    // published, never suppressed.
    let flags: Vec<_> = [&narrow, &other]
        .iter()
        .map(|t| primary(t, &policy()))
        .collect();
    let model = build(
        &[(&narrow, &flags[0]), (&other, &flags[1])],
        &policy(),
        Scope {
            counts: true,
            sums: false,
        },
    );
    let f = &model.families[0];
    assert_eq!(f.name, "again+narrow/persons");
    let zeros: Vec<usize> = (0..f.len()).filter(|&a| f.difference[a]).collect();
    assert_eq!(
        zeros.len(),
        2 * 5,
        "counts and share numerators by `a`, and the totals"
    );
    assert!(
        zeros
            .iter()
            .all(|&d| f.value[d] == 0.0 && !f.suppressed[d] && f.width[d] == 0.0)
    );

    // Protected, the cells both show are shown the same way.
    for seed in 1..=8 {
        let [narrow, _] = pair(seed, 4, 5, true);
        let release = protect(&[narrow.clone(), again(seed, 4, 5, true)], &policy());
        assert_eq!(
            inconsistent(&release, &narrow),
            Vec::<usize>::new(),
            "seed {seed}"
        );
        for audit in &release.audits {
            assert_eq!(audit.not_protected(), 0, "seed {seed}: {}", audit.family);
        }
    }
}
