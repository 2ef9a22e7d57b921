//! Properties of a protected release over random tables, for every method:
//! every published share is in [0, 100], a share or mean under rounding or
//! the cell key is computed from protected counts, and every value is
//! rounded to its column's decimals.

use proptest::prelude::*;
use reglink_protect::perturb::cell_key::Design;
use reglink_protect::{Flag, Method, Policy, protect};
use reglink_tabulate::testing::{Inner, table};
use reglink_tabulate::{CellTable, Values};

/// An inner cell with 0-39 persons; with `all_answer` the share's
/// denominator is every person, with `all_have_value` everyone has an amount.
fn inner(all_answer: bool, all_have_value: bool) -> impl Strategy<Value = Inner> {
    (
        0u64..40,
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(1i64..500, 40),
        any::<u32>(),
    )
        .prop_map(move |(persons, a, b, mut contributions, key)| {
            let den = if all_answer {
                persons
            } else {
                a % (persons + 1)
            };
            let num = b % (den + 1);
            let with_value = if all_have_value {
                persons
            } else {
                a % (persons + 1)
            };
            contributions.truncate(with_value as usize);
            Inner {
                persons,
                num,
                den,
                contributions,
                key,
            }
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Suppression),
        (2u64..11).prop_map(|base| Method::Rounding { base }),
        (1u32..5, 0.5f64..4.0).prop_map(|(max, variance)| Method::CellKey {
            max,
            variance,
            ptable: Design::Gaussian
        }),
        (1u32..5, 0.05f64..0.95).prop_map(|(max, f)| Method::CellKey {
            max,
            variance: f * f64::from(max),
            ptable: Design::Entropy
        }),
        Just(Method::CellKey {
            max: 2,
            variance: 1.0,
            ptable: Design::TenFive
        }),
    ]
}

fn policy(method: Method, threshold: u64) -> Policy {
    let mut p = Policy::preset("lenient").expect("a preset");
    p.threshold = threshold;
    p.min_median_contributors = threshold;
    p.method = method;
    p
}

/// A random table: shape, inner cells, and whether every person answers the
/// share's question and has a value of the number.
fn random_table() -> impl Strategy<Value = CellTable> {
    (1usize..5, 1usize..4, any::<bool>(), any::<bool>()).prop_flat_map(|(a, b, answer, value)| {
        prop::collection::vec(inner(answer, value), a * b).prop_map(move |v| table(a, b, &v))
    })
}

fn column<'a>(
    release: &'a reglink_protect::Release,
    name: &str,
) -> &'a reglink_protect::release::Column {
    release.tables[0]
        .columns
        .iter()
        .find(|c| c.name == name)
        .expect("column")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_published_share_is_a_percentage(t in random_table(), m in method(), threshold in 0u64..12) {
        let release = protect(std::slice::from_ref(&t), &policy(m, threshold));
        let shares = column(&release, "share");
        for (c, v) in shares.values.iter().enumerate() {
            if let Some(v) = v {
                prop_assert!((0.0..=100.0).contains(v), "cell {c}: share {v} under {m:?}");
            }
        }
    }

    #[test]
    fn shares_and_means_follow_the_published_counts(t in random_table(), m in method(), threshold in 0u64..12) {
        prop_assume!(m != Method::Suppression);
        let release = protect(std::slice::from_ref(&t), &policy(m, threshold));
        let persons = column(&release, "persons");
        let Values::Share { den, .. } = &t.measures[0].values else { unreachable!() };
        let Values::Sum { n, .. } = &t.measures[2].values else { unreachable!() };
        for c in 0..t.shape.cells() {
            let p = persons.values[c].expect("counts are not suppressed under this method");
            // Where the denominator is the cell's persons, share * persons is
            // a whole count: the protected numerator.
            if *den == t.persons && let Some(s) = column(&release, "share").values[c] {
                let num = s * p / 100.0;
                prop_assert!((num - num.round()).abs() <= 0.05 * p / 100.0 + 1e-9, "cell {c}: {s} % of {p}");
            }
            // And sum / mean is the published count, never the exact one.
            if *n == t.persons
                && let (Some(sum), Some(mean)) = (column(&release, "amount").values[c], column(&release, "amount_mean").values[c])
                && mean != 0.0
            {
                let Values::Sum { sum: exact, .. } = &t.measures[1].values else { unreachable!() };
                prop_assert_eq!(sum, exact[c] as f64);
                prop_assert!((sum / mean - p).abs() <= 0.051 * sum / (mean * mean) + 1e-6, "cell {c}: {sum} / {mean} is not {p}");
            }
        }
    }

    #[test]
    fn a_value_computed_from_protected_counts_is_flagged_like_them(t in random_table(), m in method(), threshold in 0u64..12) {
        let release = protect(std::slice::from_ref(&t), &policy(m, threshold));
        let protected = match m {
            Method::Suppression => Flag::Published,
            Method::Rounding { .. } => Flag::Rounded,
            Method::CellKey { .. } => Flag::Perturbed,
        };
        for column in &release.tables[0].columns {
            // Counts, shares and means are computed from protected counts;
            // sums and medians are exact in every method.
            let expected = match column.kind.as_str() {
                "persons" | "share" | "mean" => protected,
                _ => Flag::Published,
            };
            for (c, (v, f)) in column.values.iter().zip(&column.flags).enumerate() {
                if matches!(f, Flag::Published | Flag::Rounded | Flag::Perturbed) {
                    prop_assert_eq!(*f, expected, "{} cell {} ({:?}) under {:?}", column.name, c, v, m);
                } else {
                    prop_assert!(v.is_none(), "{} cell {c}: a suppressed value is shown", column.name);
                }
            }
        }
    }

    #[test]
    fn every_value_is_rounded_to_its_decimals(t in random_table(), m in method(), threshold in 0u64..12) {
        let release = protect(std::slice::from_ref(&t), &policy(m, threshold));
        for c in &release.tables[0].columns {
            for v in c.values.iter().flatten() {
                let text = format!("{v:.*}", c.decimals);
                prop_assert_eq!(text.parse::<f64>().unwrap(), *v, "{}", c.name);
            }
        }
    }
}

/// A table whose every person answers the share's question.
fn answered_table() -> impl Strategy<Value = CellTable> {
    (1usize..5, 1usize..4).prop_flat_map(|(a, b)| {
        prop::collection::vec(inner(true, true), a * b).prop_map(move |v| table(a, b, &v))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Under the cell key method the same people get the same published
    /// count in every table: a share's numerator, read back from the share
    /// and the published persons, equals the count of the same people
    /// published by another table. Two differently perturbed copies of one
    /// number would let an attacker narrow it.
    #[test]
    fn a_share_numerator_is_perturbed_like_a_count_of_the_same_people(
        t in answered_table(),
        max in 1u32..5,
        variance in 0.5f64..4.0,
        ptable in prop_oneof![Just(Design::Gaussian), Just(Design::Entropy), Just(Design::TenFive)],
    ) {
        // The entropy design needs a variance below the largest perturbation.
        let variance = if ptable == Design::Entropy { variance.min(0.9 * f64::from(max)) } else { variance };
        let Values::Share { num, keys, .. } = &t.measures[0].values else { unreachable!() };
        let mut counts = t.clone();
        counts.name = "counts".into();
        counts.persons = num.clone();
        counts.record_key_sum = keys.num.clone();
        counts.measures.clear();
        let release = protect(&[t.clone(), counts], &policy(Method::CellKey { max, variance, ptable }, 0));
        let share = column(&release, "share");
        let persons = &release.tables[0].columns[0];
        let same_people = &release.tables[1].columns[0];
        for c in 0..t.shape.cells() {
            let (Some(s), Some(p), Some(n)) = (share.values[c], persons.values[c], same_people.values[c]) else {
                continue;
            };
            // The share is capped at 100 % and printed to one decimal, which
            // at these sizes (under 1,000 persons) still pins the numerator.
            prop_assert_eq!((s * p / 100.0).round(), n.min(p), "cell {}", c);
        }
    }
}

/// A table of `a` × (`at_af` no / yes) whose share is of `at_af` itself:
/// within `no` nobody has it, within `yes` everybody does.
fn share_over_its_own_dimension(a: usize, persons: &[u64]) -> CellTable {
    let inner: Vec<Inner> = persons
        .iter()
        .enumerate()
        .map(|(i, &persons)| Inner {
            persons,
            num: if i % 2 == 1 { persons } else { 0 },
            den: persons,
            contributions: vec![1; persons as usize],
            key: i as u32,
        })
        .collect();
    let mut t = table(a, 2, &inner);
    t.dimensions[1] = reglink_tabulate::Dimension::new(
        "at_af",
        &reglink_link::study::Categories::plain(&["no", "yes"]),
        false,
    );
    t.measures[0].of = Some("at_af".into());
    t
}

fn own_dimension_table() -> impl Strategy<Value = CellTable> {
    (1usize..6).prop_flat_map(|a| {
        prop::collection::vec(0u64..30, a * 2)
            .prop_map(move |p| share_over_its_own_dimension(a, &p))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A share of the table's own dimension is 0 % or 100 % at its
    /// categories, which says nothing the count does not: it is hidden
    /// exactly when the count is (not flagged for class disclosure), adds no
    /// quantity of its own to the model (its numerator is the count at
    /// `yes`, which the attacker also knows is 0 at `no`), and at the
    /// dimension's total it is published only with the count at `yes`,
    /// which it would otherwise give away.
    #[test]
    fn a_share_of_its_own_dimension_follows_the_counts(t in own_dimension_table(), threshold in 1u64..12) {
        let mut p = Policy::preset("acro").expect("a preset");
        p.threshold = threshold;
        let release = protect(std::slice::from_ref(&t), &p);
        let persons_family = release
            .families
            .iter()
            .find(|f| f.family.ends_with("/persons"))
            .expect("the persons family");
        prop_assert_eq!(persons_family.cells, t.shape.cells());
        for a in &release.audits {
            prop_assert_eq!(a.not_protected(), 0, "{}", a.family);
        }
        let persons = column(&release, "persons");
        let share = column(&release, "share");
        let at_af = t.shape.sizes.len() - 1;
        for c in 0..t.shape.cells() {
            let position = t.shape.position(c, at_af);
            let (code, _) = t.dimensions[at_af].position(position);
            match code {
                "no" | "yes" => prop_assert_eq!(share.flags[c], persons.flags[c], "cell {}", c),
                _ => {
                    // `at_af` is the last dimension and its total follows
                    // `yes`: the cell before is the same cell at `yes`.
                    let yes = c - 1;
                    if share.values[c].is_some() {
                        prop_assert!(persons.values[yes].is_some(), "cell {}", c);
                    }
                }
            }
        }
    }
}

/// Counts what disclosure control reports.
#[derive(Default)]
struct Counted {
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl reglink_protect::Progress for Counted {
    fn start(&self, total: u64) {
        self.total
            .fetch_add(total, std::sync::atomic::Ordering::Relaxed);
    }

    fn advance(&self, steps: u64) {
        self.done
            .fetch_add(steps, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn progress_counts_every_primary_cell_protected_and_audited_once() {
    let inner: Vec<Inner> = [1u64, 12, 30, 2, 25, 40, 18, 3, 22, 35, 17, 26]
        .iter()
        .map(|&persons| Inner {
            persons,
            num: persons / 2,
            den: persons,
            contributions: vec![10; persons as usize],
            key: persons as u32,
        })
        .collect();
    let t = table(3, 4, &inner);
    let progress = Counted::default();
    let release = reglink_protect::protect_observed(
        std::slice::from_ref(&t),
        &policy(Method::Suppression, 5),
        &[],
        &progress,
    );
    let primary: u64 = release.audits.iter().map(|a| a.checked as u64).sum();
    let total = progress.total.into_inner();
    assert!(primary > 0);
    assert_eq!(total, 2 * primary);
    assert_eq!(progress.done.into_inner(), total);
}
