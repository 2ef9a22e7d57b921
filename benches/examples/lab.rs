//! Scratch lab (not committed).
#![allow(clippy::print_stdout, clippy::pedantic)]
use std::time::Instant;

use reglink_protect::{Flag, Policy, protect};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let study = reglink_link::study::Study::load(&args[1]).unwrap();
    let ts: Vec<u64> = args[2].split(',').map(|x| x.parse().unwrap()).collect();
    let tab = reglink_release::link_and_tabulate(study, &reglink_link::NoProgress).unwrap();
    let only = std::env::var("TABLES").unwrap_or_default();
    for table in &tab.tables {
        if !only.is_empty() && !only.split(',').any(|t| t == table.name) {
            continue;
        }
        for &t in &ts {
            let policy = Policy::parse(
                "p",
                &format!("preset = \"lenient\"\nthreshold = {t}\nmin_median_contributors = {t}\n"),
            )
            .unwrap();
            let start = Instant::now();
            let r = protect(std::slice::from_ref(table), &policy);
            let el = start.elapsed().as_secs_f64();
            let flags = &r.tables[0].columns[0].flags;
            let mut prim = 0;
            let mut sec = 0;
            let mut persons = 0u64;
            for (c, f) in flags.iter().enumerate() {
                match f {
                    Flag::Published => {}
                    Flag::Secondary => {
                        sec += 1;
                        persons += table.persons[c];
                    }
                    _ => prim += 1,
                }
            }
            let fr = &r.families[0];
            println!(
                "{} T={t}: cells {} primary {prim} secondary {sec} persons {persons} time {el:.3}s rounds {} lps {} exact {} unprot {} minratio {:?}",
                table.name,
                flags.len(),
                fr.rounds,
                fr.lp_solves,
                fr.exact_checks,
                fr.unprotected,
                fr.min_width_ratio
            );
        }
    }
}
