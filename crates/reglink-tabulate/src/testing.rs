//! Cell tables built by hand, for the tests of the stages after tabulation
//! (disclosure control, the release): a small table whose margins add up,
//! with every kind of measure. Compiled only with the `testing` feature,
//! which only dev-dependencies turn on.

use reglink_link::study::Categories;

use crate::{CellTable, Dimension, MeasureValues, Shape, TOP, Values};

/// One inner cell (every dimension at a category).
#[derive(Debug, Clone)]
pub struct Inner {
    /// Its persons.
    pub persons: u64,
    /// A share's numerator and denominator (at most `persons`).
    pub num: u64,
    /// A share's denominator.
    pub den: u64,
    /// The number behind a sum and a mean, one contribution per person with a value.
    pub contributions: Vec<i64>,
    /// The sum of its persons' record keys.
    pub key: u32,
}

/// A table `t` of two dimensions (`a` with `a` categories, `b` with `b`)
/// whose margins are the sums of its inner cells (`inner`, `a` × `b` of them,
/// row-major), with a share, a sum, a mean and a median of one number.
pub fn table(a: usize, b: usize, inner: &[Inner]) -> CellTable {
    let dim = |name: &str, n: usize| {
        let codes: Vec<String> = (0..n).map(|i| format!("{name}{i}")).collect();
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        Dimension::new(name, &Categories::plain(&refs), false)
    };
    let dims = vec![dim("a", a), dim("b", b)];
    let shape = Shape::new(&dims);
    let cells = shape.cells();
    let mut persons = vec![0u64; cells];
    let mut keys = vec![0u32; cells];
    let (mut num, mut den) = (vec![0u64; cells], vec![0u64; cells]);
    // The numerator's and the denominator's people have keys of their own.
    let mut share_keys = crate::ShareKeys {
        num: vec![0; cells],
        den: vec![0; cells],
    };
    let (mut sum, mut n) = (vec![0i64; cells], vec![0u64; cells]);
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); cells];
    let mut ancestors: Vec<Vec<u32>> = vec![Vec::new(); 2];
    for (i, x) in inner.iter().enumerate() {
        dims[0].ancestors((i / b) as u32, &mut ancestors[0]);
        dims[1].ancestors((i % b) as u32, &mut ancestors[1]);
        shape.for_each_cell(&ancestors, &mut |c| {
            persons[c] += x.persons;
            keys[c] = keys[c].wrapping_add(x.key);
            num[c] += x.num;
            den[c] += x.den;
            share_keys.num[c] = share_keys.num[c].wrapping_add(x.key.rotate_left(7));
            share_keys.den[c] = share_keys.den[c].wrapping_add(x.key.rotate_left(13));
            sum[c] += x.contributions.iter().sum::<i64>();
            n[c] += x.contributions.len() as u64;
            values[c].extend(&x.contributions);
        });
    }
    let top: Vec<[i64; TOP]> = values
        .iter_mut()
        .map(|v| {
            v.sort_unstable_by(|x, y| y.cmp(x));
            let mut t = [0i64; TOP];
            for (slot, x) in t.iter_mut().zip(v.iter()) {
                *slot = *x;
            }
            t
        })
        .collect();
    let medians: Vec<Option<f64>> = values
        .iter()
        .map(|v| (!v.is_empty()).then(|| v[v.len() / 2] as f64 + 0.5))
        .collect();
    let measure = |name: &str, kind: &'static str, values: Values| MeasureValues {
        name: name.into(),
        kind,
        of: Some(name.into()),
        values,
    };
    CellTable {
        name: "t".into(),
        title: None,
        population: "p".into(),
        definition: Default::default(),
        years: vec![2023],
        dimensions: dims,
        shape,
        persons,
        record_key_sum: keys,
        measures: vec![
            measure(
                "share",
                "share",
                Values::Share {
                    num,
                    den,
                    keys: share_keys,
                },
            ),
            measure(
                "amount",
                "sum",
                Values::Sum {
                    sum: sum.clone(),
                    n: n.clone(),
                    mean: false,
                    top: top.clone(),
                },
            ),
            measure(
                "amount_mean",
                "mean",
                Values::Sum {
                    sum,
                    n: n.clone(),
                    mean: true,
                    top,
                },
            ),
            measure(
                "amount_median",
                "median",
                Values::Median { median: medians, n },
            ),
        ],
    }
}
