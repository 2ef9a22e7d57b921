//! `reglink inspect`: what a pseudonymised file holds, without showing any row.

use reglink_extract::pseudonymised::{self, PSEUDONYM};

use crate::cli::InspectArgs;

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let d = pseudonymised::describe(&args.file)?;
    println!("{}", args.file.display());
    println!("  rows: {}", d.rows);
    match d.distinct_pseudonyms {
        Some(n) => println!("  distinct persons (pseudonyms): {n}"),
        None => println!("  no `{PSEUDONYM}` column: not a pseudonymised file"),
    }
    if let (Some(k), Some(st)) = (&d.key_id, &d.study) {
        println!("  key id: {k}, study: {st:?}");
    }
    println!("  columns:");
    for (name, ty) in &d.columns {
        println!("    {name}: {ty}");
    }
    Ok(())
}
