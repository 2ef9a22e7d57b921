//! Tests of the exact audit on hand-built grids.

use proptest::prelude::*;

use super::*;
use crate::secondary::model::Equation;

/// A two-way table with both margins as a family: inner cells row-major,
/// then the row totals, the column totals and the grand total.
/// `suppressed` and `primary` are indices into that order; primaries need
/// `need`.
fn grid(inner: &[Vec<u32>], suppressed: &[usize], primary: &[usize], need: f64) -> Family {
    let (rows, cols) = (inner.len(), inner[0].len());
    let cell = |r: usize, c: usize| (r * cols + c) as u32;
    let row_total = |r: usize| (rows * cols + r) as u32;
    let col_total = |c: usize| (rows * cols + rows + c) as u32;
    let grand = (rows * cols + rows + cols) as u32;
    let mut value: Vec<f64> = inner.iter().flatten().map(|&v| f64::from(v)).collect();
    value.extend(inner.iter().map(|r| f64::from(r.iter().sum::<u32>())));
    value.extend((0..cols).map(|c| f64::from(inner.iter().map(|r| r[c]).sum::<u32>())));
    value.push(f64::from(inner.iter().flatten().sum::<u32>()));
    let n = value.len();
    let mut equations = Vec::new();
    for r in 0..rows {
        equations.push(Equation {
            parent: row_total(r),
            children: (0..cols).map(|c| cell(r, c)).collect(),
        });
    }
    for c in 0..cols {
        equations.push(Equation {
            parent: col_total(c),
            children: (0..rows).map(|r| cell(r, c)).collect(),
        });
    }
    equations.push(Equation {
        parent: grand,
        children: (0..rows).map(row_total).collect(),
    });
    equations.push(Equation {
        parent: grand,
        children: (0..cols).map(col_total).collect(),
    });
    let mut equations_of = vec![Vec::new(); n];
    for (e, eq) in equations.iter().enumerate() {
        for (a, _) in eq.terms() {
            equations_of[a as usize].push(e as u32);
        }
    }
    let mut f = Family {
        name: "p/persons".into(),
        nonnegative: true,
        value,
        width: vec![0.0; n],
        depth: vec![0; n],
        cost: vec![1.0; n],
        suppressed: vec![false; n],
        carried: vec![false; n],
        difference: vec![false; n],
        equations,
        equations_of,
    };
    for &a in suppressed {
        f.suppressed[a] = true;
    }
    for &a in primary {
        f.suppressed[a] = true;
        f.width[a] = need;
    }
    f
}

/// The exact interval over the whole component, by the attacker module.
fn whole(f: &Family, a: u32) -> Interval {
    let (all, complete) = attacker::component(f, a, &[], usize::MAX);
    assert!(complete);
    attacker::interval(f, &all, a).unwrap()
}

fn exact_of(a: &AtomAudit) -> (f64, f64) {
    match a.bound {
        Bound::Exact { lo, hi } => (lo, hi),
        other => panic!("not exact: {other:?}"),
    }
}

#[test]
fn a_rectangle_has_its_hand_computed_interval() {
    // 3 40 50 | 93
    // 20 30 60 | 110
    // The rectangle r0c0, r0c1, r1c0, r1c1: 3 can go down to 0 and up to
    // 3 + min(40, 20) = 23; 40 from 40 - 3 = 37 to 40 + 20 = 60.
    let f = grid(&[vec![3, 40, 50], vec![20, 30, 60]], &[1, 3, 4], &[0], 10.0);
    let a = audit(&f);
    assert_eq!(a.checked(), 1);
    assert_eq!(a.atoms[0].verdict, Verdict::Protected);
    assert_eq!(exact_of(&a.atoms[0]), (0.0, 23.0));
    let n = a.narrowest.unwrap();
    assert!(n.exact);
    assert!((n.ratio - 2.3).abs() < 1e-9, "{n:?}");
    assert!(a.under_protected.is_empty() && a.unresolved.is_empty());

    // Two primaries: 3 needs 10 and 40 needs 30: moving 3 by d moves 40 by
    // -d, with d from -3 to 20, so 40 lies in [20, 43], 23 wide.
    let f = grid(&[vec![3, 40, 50], vec![20, 30, 60]], &[3, 4], &[0, 1], 10.0);
    let mut f = f;
    f.width[1] = 30.0;
    let a = audit(&f);
    let second = a.atoms.iter().find(|x| x.atom == 1).unwrap();
    assert_eq!(exact_of(second), (20.0, 43.0));
    assert_eq!(second.verdict, Verdict::UnderProtected);
    assert_eq!(a.under_protected, [1]);
    let n = a.narrowest.unwrap();
    assert_eq!(n.atom, 1);
    assert!((n.ratio - 23.0 / 30.0).abs() < 1e-9, "{n:?}");
}

#[test]
fn a_cell_pinned_by_a_published_margin_is_reported() {
    // Suppressing r0c0 and r0c1 hides nothing: each column's total and
    // the other row give both back.
    let f = grid(&[vec![3, 40], vec![20, 30]], &[1], &[0], 10.0);
    let a = audit(&f);
    assert_eq!(a.under_protected, [0]);
    assert_eq!(a.atoms[0].verdict, Verdict::UnderProtected);
    let (lo, hi) = match a.atoms[0].bound {
        Bound::Exact { lo, hi } | Bound::Outer { lo, hi } => (lo, hi),
        other => panic!("{other:?}"),
    };
    assert!(
        (hi - lo).abs() < 1e-9 && (lo - 3.0).abs() < 1e-9,
        "{lo} {hi}"
    );
    assert_eq!(a.not_protected(), 1);
    let checked = check_exact(&f, &[0, 1]);
    assert_eq!(checked[0].verdict, Verdict::UnderProtected);
    // A secondary needs no width.
    assert_eq!(checked[1].verdict, Verdict::Protected);
}

#[test]
fn the_whole_release_is_seen_not_a_neighbourhood() {
    // A long chain of rectangles: the primary's neighbourhood of 40 atoms
    // is not the component, so its interval must come from the component.
    let cols = 30;
    let inner = vec![vec![5u32; cols], vec![5u32; cols]];
    let suppressed: Vec<usize> = (0..cols).chain(cols..2 * cols).collect();
    let f = grid(&inner, &suppressed, &[0], 10.0);
    let a = audit(&f);
    let (lo, hi) = exact_of(&a.atoms[0]);
    let w = whole(&f, 0);
    assert!((lo - w.lo).abs() < 1e-6 && (hi - w.hi).abs() < 1e-6);
    assert_eq!((lo, hi), (0.0, 10.0));
}

#[test]
fn the_same_result_with_one_and_four_threads() {
    let inner: Vec<Vec<u32>> = (0..6)
        .map(|r| (0..7).map(|c| ((r * 7 + c) * 37 % 23) as u32).collect())
        .collect();
    let suppressed: Vec<usize> = (0..42).filter(|i| i % 3 != 1).collect();
    let primary: Vec<usize> = (0..42).filter(|i| i % 5 == 0).collect();
    let f = grid(&inner, &suppressed, &primary, 8.0);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| audit(&f))
    };
    let one = run(1);
    assert_eq!(one.checked(), primary.len());
    assert_eq!(one, run(4));
}

/// A random grid with a random suppression pattern and random primaries.
fn arbitrary_grid() -> impl Strategy<Value = Family> {
    (2usize..5, 2usize..5)
        .prop_flat_map(|(rows, cols)| {
            let n = rows * cols + rows + cols + 1;
            (
                proptest::collection::vec(proptest::collection::vec(0u32..30, cols), rows),
                proptest::collection::vec(0u8..4, n),
                1.0f64..20.0,
            )
        })
        .prop_map(|(inner, role, need)| {
            // 0: published, 1-2: secondary, 3: primary.
            let suppressed: Vec<usize> = (0..role.len()).filter(|&a| role[a] > 0).collect();
            let primary: Vec<usize> = (0..role.len()).filter(|&a| role[a] == 3).collect();
            grid(&inner, &suppressed, &primary, need.round())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every bound agrees with the attacker's program over the whole
    /// component: exact intervals equal it, inner ones lie inside it,
    /// outer ones contain it, and every verdict follows from it.
    #[test]
    fn agrees_with_the_attacker_over_whole_components(f in arbitrary_grid()) {
        let a = audit(&f);
        let mut narrowest = f64::INFINITY;
        for x in &a.atoms {
            let w = whole(&f, x.atom);
            // `x` at most `y` up to round-off (infinities compare as they are).
            let le = |x: f64, y: f64| x <= y || x - y <= 1e-6 * (1.0 + y.abs());
            match x.bound {
                Bound::Exact { lo, hi } => {
                    prop_assert!(le(lo, w.lo) && le(w.lo, lo) && le(hi, w.hi) && le(w.hi, hi),
                        "atom {}: {lo}..{hi} vs {w:?}", x.atom);
                }
                Bound::Inner { lo, hi } => {
                    prop_assert!(le(w.lo, lo) && le(hi, w.hi));
                }
                Bound::Outer { lo, hi } => {
                    prop_assert!(le(lo, w.lo) && le(w.hi, hi));
                }
                Bound::Unknown => prop_assert!(false, "small components are always solved"),
            }
            let protected = w.width() >= x.need - 1e-6;
            prop_assert_eq!(x.verdict == Verdict::Protected, protected);
            narrowest = narrowest.min(w.width() / x.need);
        }
        match a.narrowest {
            Some(n) => {
                if n.exact {
                    prop_assert!(n.ratio == narrowest || (n.ratio - narrowest).abs() <= 1e-6 * (1.0 + narrowest));
                } else {
                    // Only when the search ran out of solves: a lower bound.
                    prop_assert!(a.atoms.len() > NARROWEST_SOLVES);
                    prop_assert!(n.ratio <= narrowest + 1e-6 * (1.0 + narrowest));
                }
            }
            None => prop_assert!(a.atoms.is_empty()),
        }
        let all: Vec<u32> = a.atoms.iter().map(|x| x.atom).collect();
        let checked = check_exact(&f, &all);
        for (x, c) in a.atoms.iter().zip(&checked) {
            prop_assert_eq!(x.verdict, c.verdict);
        }
    }
}
