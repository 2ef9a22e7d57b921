//! Never-panic properties of `Policy::parse`: arbitrary text, and valid
//! policies with random values for every key, give a policy or an error,
//! never a panic, and no error repeats a personnummer-like value.

use proptest::prelude::*;
use reglink_protect::Policy;

fn pnr_like() -> BoxedStrategy<String> {
    prop_oneof![
        Just("19900101-0017".to_string()),
        Just("199001010017".to_string()),
        Just("900101+0017".to_string()),
        "[12][0-9]{11}",
        "[0-9]{6}-[0-9]{4}",
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

/// A TOML value: mostly a number, sometimes anything.
fn value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (-5i64..200).prop_map(|v| v.to_string()),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        2 => any::<f64>().prop_map(|v| format!("{v:?}")),
        1 => Just("nan".to_string()),
        1 => Just("-inf".to_string()),
        1 => any::<bool>().prop_map(|v| v.to_string()),
        2 => any::<String>().prop_map(|s| quoted(&s)),
        2 => pnr_like().prop_map(|s| quoted(&s)),
        1 => pnr_like(),
    ]
    .boxed()
}

const KEYS: &[&str] = &[
    "threshold",
    "p_percent",
    "zeros_disclosive",
    "class_disclosure",
    "min_median_contributors",
    "rounding_base",
    "cell_key_max",
    "cell_key_variance",
];

fn near_valid_policy() -> impl Strategy<Value = String> {
    let preset = prop_oneof![
        4 => prop::sample::select(&["acro", "abs", "lenient"][..]).prop_map(quoted),
        1 => value(),
    ];
    let method = prop::option::of(prop_oneof![
        4 => prop::sample::select(&["suppression", "rounding", "cell_key"][..]).prop_map(quoted),
        1 => value(),
    ]);
    let keys = prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..5);
    let dominance = prop::option::of(prop::collection::vec((value(), value()), 0..3));
    let cost = prop::option::of((
        prop_oneof![
            3 => prop::sample::select(&["value", "cells", "log"][..]).prop_map(quoted),
            1 => value(),
        ],
        value(),
        value(),
    ));
    (preset, method, keys, dominance, cost).prop_map(|(preset, method, keys, dominance, cost)| {
        let mut text = format!("preset = {preset}\n");
        if let Some(m) = method {
            text.push_str(&format!("method = {m}\n"));
        }
        for (k, v) in keys {
            text.push_str(&format!("{k} = {v}\n"));
        }
        if let Some(rules) = dominance {
            let rules: Vec<String> = rules
                .iter()
                .map(|(n, k)| format!("{{ n = {n}, k = {k} }}"))
                .collect();
            text.push_str(&format!("dominance = [{}]\n", rules.join(", ")));
        }
        if let Some((model, group, total)) = cost {
            text.push_str(&format!(
                "[cost]\nmodel = {model}\ngroup_weight = {group}\ntotal_weight = {total}\n"
            ));
        }
        text
    })
}

/// Runs of ten or more digits in `text`: the personnummer-like values.
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

fn check(text: &str) -> Result<(), TestCaseError> {
    match Policy::parse("policy.toml", text) {
        Ok(policy) => {
            prop_assert!(
                policy
                    .dominance
                    .iter()
                    .all(|d| d.n >= 1 && d.k > 0.0 && d.k <= 100.0)
            );
            let c = policy.cost;
            for w in [c.group_weight, c.total_weight] {
                prop_assert!(w > 0.0 && w.is_finite(), "weight {}", w);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for p in pnrs_in(text) {
                prop_assert!(
                    !message.contains(&p),
                    "an error repeats a personnummer-like value: {}",
                    message
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_policy_or_an_error(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn valid_policies_with_random_values_parse_or_fail_cleanly(text in near_valid_policy()) {
        check(&text)?;
    }
}
