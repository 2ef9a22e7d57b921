//! τ-ARGUS input sets: the tables and their suppression pattern in the format
//! of the tool statistical agencies use to check cell suppression, so that
//! the data holder's auditors can re-check a release with it.
//!
//! [`write()`] puts one folder per table into the checker report
//! (`OUT.checker/tauargus/TABLE/`), never into the bundle: the files hold the
//! true value of every cell and say which cells a primary rule hid. Per
//! additive quantity whose cells suppression protects ([`quantities`]: the
//! persons count under the suppression method, and every `sum` measure) one
//! set, named `TABLE` for persons and `TABLE.MEASURE` for a sum:
//!
//! ```text
//! TABLE.tab   every cell, totals and group subtotals included, one line each:
//!             codes;value;frequency;status;lower protection level;upper protection level
//!             (status S published, U primary, M secondary: τ-ARGUS's tabular input)
//! TABLE.rda   the metadata: the explanatory variables (total code `_T`, the
//!             hierarchy file of a dimension with groups), the response,
//!             frequency, status and protection-level columns
//! TABLE.hst   the pattern as an a priori file: codes;u per primary cell, then
//!             codes;pl;lower;upper with its protection levels; codes;m per
//!             secondary cell
//! DIM.hrc     per dimension with groups: each group, then its categories
//!             indented with `@` (shared by the sets of the table)
//! README.txt  what the files are and the batch commands that load them
//! ```
//!
//! The protection levels are reglink's own requirement
//! (`docs/disclosure-control.md`): a count below the threshold must reach
//! `[0, T]`, so its lower level is its value and its upper level `T - v`; a
//! cell at least as large as its width must move half the width each way.
//! [`Quantity`] and [`files`] take cells and flags only, so the benchmark
//! writes its τ-ARGUS inputs with the same code.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use reglink_protect::secondary::model::{count_width, magnitude_width};
use reglink_protect::{Flag, Method, Policy, Release, ReleasedTable};
use reglink_tabulate::{CellTable, Dimension, TOTAL, Values};

use crate::ReleaseError;
use crate::error::file_error;

/// The folder of the checker report that holds the τ-ARGUS input sets.
pub const FOLDER: &str = "tauargus";

/// A cell's status as τ-ARGUS reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Published (`S`).
    Safe,
    /// Suppressed by a primary rule (`U`, a priori `u`).
    Primary,
    /// Suppressed to protect other cells, or with its cell's count (`M`, a
    /// priori `m`).
    Secondary,
}

impl Status {
    /// The status of a cell with `flag`.
    pub fn of(flag: Flag) -> Status {
        if flag.primary() {
            Status::Primary
        } else if flag.suppressed() {
            Status::Secondary
        } else {
            Status::Safe
        }
    }

    /// The status column of the `.tab` file.
    pub fn code(self) -> &'static str {
        match self {
            Status::Safe => "S",
            Status::Primary => "U",
            Status::Secondary => "M",
        }
    }

    /// The change an a priori file makes, for a suppressed cell.
    fn apriori(self) -> Option<&'static str> {
        match self {
            Status::Safe => None,
            Status::Primary => Some("u"),
            Status::Secondary => Some("m"),
        }
    }
}

/// One additive quantity of a table, cell by cell (in the table's order), as
/// τ-ARGUS gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The response variable's name: `persons`, or the sum's measure.
    pub name: String,
    /// True value per cell.
    pub values: Vec<i64>,
    /// Contributors per cell (τ-ARGUS's frequency).
    pub freq: Vec<u64>,
    /// Status per cell.
    pub status: Vec<Status>,
    /// Per primary cell, how far below and above its value the attacker's
    /// interval must reach (τ-ARGUS's lower and upper protection level);
    /// `(0, 0)` for every other cell.
    pub protection: Vec<(f64, f64)>,
}

impl Quantity {
    /// The persons count of `table` with its flags (`flags`: the released
    /// `persons` column, or the primary flags alone). A primary cell needs an
    /// interval as wide as the policy's threshold.
    pub fn persons(table: &CellTable, flags: &[Flag], policy: &Policy) -> Quantity {
        let width = count_width(policy);
        let values = table
            .persons
            .iter()
            .map(|&v| i64::try_from(v).unwrap_or(i64::MAX))
            .collect();
        Quantity::new("persons", (values, table.persons.clone()), flags, |_| {
            (width, true)
        })
    }

    /// The sum of measure `m` of `table` with its flags, if `m` is a `sum`
    /// (a mean publishes no sum). A primary cell needs an interval of twice
    /// p % of its largest contribution; it may reach down to 0 only where no
    /// cell of the table is negative.
    pub fn sum(table: &CellTable, m: usize, flags: &[Flag], policy: &Policy) -> Option<Quantity> {
        let measure = &table.measures[m];
        let Values::Sum {
            sum,
            n,
            mean: false,
            top,
        } = &measure.values
        else {
            return None;
        };
        let nonnegative = sum.iter().all(|&v| v >= 0);
        Some(Quantity::new(
            &measure.name,
            (sum.clone(), n.clone()),
            flags,
            |c| (magnitude_width(policy, top[c][0]), nonnegative),
        ))
    }

    /// A quantity from its values and frequencies, with the status and
    /// protection levels of `flags`; `width(cell)` is the width a primary
    /// cell needs and whether the quantity is never negative.
    fn new(
        name: &str,
        (values, freq): (Vec<i64>, Vec<u64>),
        flags: &[Flag],
        width: impl Fn(usize) -> (f64, bool),
    ) -> Quantity {
        let status: Vec<Status> = flags.iter().map(|&f| Status::of(f)).collect();
        let protection = status
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if *s != Status::Primary {
                    return (0.0, 0.0);
                }
                let (w, nonnegative) = width(c);
                let v = values[c] as f64;
                // As reglink's protection programs split it: down to zero
                // when the cell is smaller than its width, else half each way.
                let down = if nonnegative && v < w {
                    v.max(0.0)
                } else {
                    w / 2.0
                };
                (down, w - down)
            })
            .collect();
        Quantity {
            name: name.to_string(),
            values,
            freq,
            status,
            protection,
        }
    }
}

/// The quantities of `table` whose suppression pattern its τ-ARGUS sets
/// give, each with the stem of its file names: `persons` (stem `TABLE`)
/// under the suppression method, and every `sum` measure (`TABLE.MEASURE`),
/// which suppression protects under every method.
pub fn quantities(
    table: &CellTable,
    released: &ReleasedTable,
    policy: &Policy,
) -> Vec<(String, Quantity)> {
    let mut out = Vec::new();
    if policy.method == Method::Suppression {
        let flags = &released.columns[0].flags;
        out.push((table.name.clone(), Quantity::persons(table, flags, policy)));
    }
    // The released columns: persons, then every measure but a repeated persons.
    let measures = table
        .measures
        .iter()
        .enumerate()
        .filter(|(_, m)| !(matches!(m.values, Values::Count(_)) && m.kind == "persons"));
    for ((m, measure), column) in measures.zip(&released.columns[1..]) {
        if let Some(q) = Quantity::sum(table, m, &column.flags, policy) {
            out.push((format!("{}.{}", table.name, measure.name), q));
        }
    }
    out
}

/// Writes the τ-ARGUS input sets of every table of `release` into `dir`
/// (the checker report's [`FOLDER`]), one folder per table that has a
/// quantity to check.
pub fn write(
    dir: &Path,
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
) -> Result<(), ReleaseError> {
    for (table, released) in tables.iter().zip(&release.tables) {
        let sets = quantities(table, released, policy);
        if sets.is_empty() {
            continue;
        }
        let folder = dir.join(&table.name);
        std::fs::create_dir_all(&folder).map_err(file_error(&folder))?;
        for (name, text) in files(table, &sets) {
            let path = folder.join(name);
            reglink_extract::write_atomic(&path, text.as_bytes()).map_err(file_error(&path))?;
        }
    }
    Ok(())
}

/// The files of `table`'s τ-ARGUS input sets, one per `(stem, quantity)` of
/// `sets`, as `(file name, contents)`: per set `STEM.tab`, `STEM.rda` and
/// `STEM.hst`, then one `DIM.hrc` per dimension with groups, then
/// `README.txt`.
pub fn files(table: &CellTable, sets: &[(String, Quantity)]) -> Vec<(String, String)> {
    let names = variable_names(table);
    let codes: Vec<Vec<String>> = table.dimensions.iter().map(codes).collect();
    let mut out = Vec::new();
    for (stem, q) in sets {
        out.push((format!("{stem}.tab"), tab(table, &codes, q)));
        out.push((format!("{stem}.rda"), rda(table, &names, q)));
        out.push((format!("{stem}.hst"), hst(table, &codes, q)));
    }
    for (d, dim) in table.dimensions.iter().enumerate() {
        if dim.group_of.is_some() {
            out.push((format!("{}.hrc", names[d]), hrc(dim, &codes[d])));
        }
    }
    out.push(("README.txt".to_string(), readme(table, &names, sets)));
    out
}

/// The code τ-ARGUS gets for each position of `dim` (categories, groups,
/// total). It is the release's code, except that `;`, `"` and control
/// characters become `_`, as does a leading `@` (τ-ARGUS's separator, its
/// quote and the hierarchy's indent), the total is `_T`, and a code already
/// taken by an earlier position (a group `unknown` beside the category
/// `unknown`), or spelling the total, gets a leading `G` for a group and `_`
/// for a category until it is unique.
pub fn codes(dim: &Dimension) -> Vec<String> {
    let n = dim.categories.len();
    let last = dim.positions() - 1;
    let mut taken: HashSet<String> = HashSet::new();
    (0..dim.positions())
        .map(|p| {
            if p == last {
                return TOTAL.to_string();
            }
            let mut code = plain_code(dim.position(p).0);
            let prefix = if p < n { '_' } else { 'G' };
            while code.eq_ignore_ascii_case(TOTAL) || taken.contains(&code) {
                code.insert(0, prefix);
            }
            taken.insert(code.clone());
            code
        })
        .collect()
}

/// `code` without the characters τ-ARGUS's files give a meaning.
fn plain_code(code: &str) -> String {
    let mut out: String = code
        .chars()
        .map(|c| {
            if c == ';' || c == '"' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let indent = out.len() - out.trim_start_matches('@').len();
    out.replace_range(..indent, &"_".repeat(indent));
    out
}

/// The dimensions' names as τ-ARGUS variables and file names: letters,
/// digits, `_` and `-`, anything else `_`, unique whatever the case.
fn variable_names(table: &CellTable) -> Vec<String> {
    let mut taken = HashSet::new();
    table
        .dimensions
        .iter()
        .map(|d| {
            let plain: String = d
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            unique(
                if plain.is_empty() { "_".into() } else { plain },
                &mut taken,
            )
        })
        .collect()
}

/// `name`, with `_` appended until no name in `taken` spells it whatever
/// the case; then taken.
fn unique(mut name: String, taken: &mut HashSet<String>) -> String {
    while !taken.insert(name.to_ascii_lowercase()) {
        name.push('_');
    }
    name
}

/// Decimals of the protection levels: none when all are whole.
fn level_decimals(q: &Quantity) -> usize {
    let whole = q
        .protection
        .iter()
        .all(|(lo, up)| lo.fract() == 0.0 && up.fract() == 0.0);
    if whole { 0 } else { 2 }
}

/// A protection level with `decimals` places, rounded up so that the
/// requirement τ-ARGUS checks is never below reglink's.
fn level(x: f64, decimals: usize) -> String {
    if decimals == 0 {
        format!("{x:.0}")
    } else {
        format!("{:.2}", (x * 100.0).ceil() / 100.0)
    }
}

/// The codes of `cell`, `;`-separated.
fn cell_codes(table: &CellTable, codes: &[Vec<String>], cell: usize) -> String {
    let parts: Vec<&str> = codes
        .iter()
        .enumerate()
        .map(|(d, c)| c[table.shape.position(cell, d)].as_str())
        .collect();
    parts.join(";")
}

/// The `.tab` file: every cell, in the table's order.
fn tab(table: &CellTable, codes: &[Vec<String>], q: &Quantity) -> String {
    let decimals = level_decimals(q);
    let mut out = String::new();
    for cell in 0..table.shape.cells() {
        let (lower, upper) = q.protection[cell];
        writeln!(
            out,
            "{};{};{};{};{};{}",
            cell_codes(table, codes, cell),
            q.values[cell],
            q.freq[cell],
            q.status[cell].code(),
            level(lower, decimals),
            level(upper, decimals)
        )
        .expect("a String takes any text");
    }
    out
}

/// The `.hst` a priori file: one line per suppressed cell, its status; a
/// primary cell's is followed by its protection levels (`pl`), which
/// τ-ARGUS would otherwise take from its manual safety range.
fn hst(table: &CellTable, codes: &[Vec<String>], q: &Quantity) -> String {
    let decimals = level_decimals(q);
    let mut out = String::new();
    for cell in 0..table.shape.cells() {
        let Some(change) = q.status[cell].apriori() else {
            continue;
        };
        let at = cell_codes(table, codes, cell);
        writeln!(out, "{at};{change}").expect("a String takes any text");
        if q.status[cell] == Status::Primary {
            let (lower, upper) = q.protection[cell];
            let (lower, upper) = (level(lower, decimals), level(upper, decimals));
            writeln!(out, "{at};pl;{lower};{upper}").expect("a String takes any text");
        }
    }
    out
}

/// The columns of a `.tab` file after the codes, named so that no
/// dimension spells them: response, frequency, status, the two levels.
fn value_columns(names: &[String], q: &Quantity) -> [String; 5] {
    let mut taken: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let response = q.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    [response.as_str(), "freq", "status", "lpl", "upl"].map(|n| unique(n.to_string(), &mut taken))
}

/// The `.rda` metadata file of a set.
fn rda(table: &CellTable, names: &[String], q: &Quantity) -> String {
    let [response, freq, status, lpl, upl] = value_columns(names, q);
    let decimals = level_decimals(q);
    let mut out = String::from("<SEPARATOR> \";\"\n<SAFE> S\n<UNSAFE> U\n<PROTECT> P\n");
    for (dim, name) in table.dimensions.iter().zip(names) {
        writeln!(out, "{name}\n  <RECODEABLE>\n  <TOTCODE> \"{TOTAL}\"").expect("a String");
        if dim.group_of.is_some() {
            writeln!(
                out,
                "  <HIERARCHICAL>\n  <HIERCODELIST> \"{name}.hrc\"\n  <HIERLEADSTRING> \"@\""
            )
            .expect("a String");
        }
    }
    writeln!(
        out,
        "{response}\n  <NUMERIC>\n  <DECIMALS> 0\n{freq}\n  <FREQUENCY>\n{status}\n  <STATUS>"
    )
    .expect("a String");
    for (name, kind) in [(lpl, "LOWERPL"), (upl, "UPPERPL")] {
        writeln!(out, "{name}\n  <NUMERIC> <{kind}>\n  <DECIMALS> {decimals}").expect("a String");
    }
    out
}

/// The `.hrc` hierarchy of a dimension with groups: each group, then its
/// categories one level deeper.
fn hrc(dim: &Dimension, codes: &[String]) -> String {
    let n = dim.categories.len();
    let group_of = dim.group_of.as_deref().unwrap_or_default();
    let mut out = String::new();
    for g in 0..dim.groups.len() {
        writeln!(out, "{}", codes[n + g]).expect("a String");
        for (c, _) in group_of
            .iter()
            .enumerate()
            .filter(|(_, x)| **x as usize == g)
        {
            writeln!(out, "@{}", codes[c]).expect("a String");
        }
    }
    out
}

/// The README of a table's folder: what the files are and how to load them.
fn readme(table: &CellTable, names: &[String], sets: &[(String, Quantity)]) -> String {
    let mut out = format!(
        "τ-ARGUS input for table {} (population {}).\n\n\
         INTERNAL: these files hold the true value of every cell, published or not, and say which\n\
         cells a primary rule suppressed. They are for the data holder's auditors, inside the\n\
         linkage environment, like the rest of this checker report: never publish them.\n\n\
         One set of files per quantity:",
        table.name, table.population
    );
    for (stem, q) in sets {
        write!(out, " {stem}.* ({})", q.name).expect("a String");
    }
    let mut hierarchies = String::new();
    for (dim, name) in table.dimensions.iter().zip(names) {
        if dim.group_of.is_some() {
            writeln!(
                hierarchies,
                "  {name}.hrc  the groups of {name}, each followed by its categories (@)"
            )
            .expect("a String");
        }
    }
    write!(
        out,
        ".\n\n  STEM.tab  every cell, totals ({TOTAL}) and group subtotals included, one line each:\n\
         \x20           {};value;contributors;status;lower;upper\n\
         \x20           status S published, U suppressed by a primary rule, M suppressed to protect\n\
         \x20           other cells; lower and upper: for a U cell, how far below and above its value\n\
         \x20           reglink requires the attacker's interval to reach (0 elsewhere)\n\
         \x20 STEM.rda  the metadata\n\
         \x20 STEM.hst  the pattern as an a priori file: codes;u and codes;pl;lower;upper per U cell,\n\
         \x20           codes;m per M cell\n\
         {hierarchies}\n\
         Codes are the release's, except that a group whose code a category already has gets a\n\
         leading G, and ; \" and a leading @ are written as _. τ-ARGUS takes a cell without\n\
         contributors for empty: it neither protects nor audits it.\n",
        names.join(";")
    )
    .expect("a String");
    if let Some((stem, q)) = sets.first() {
        out.push_str(&batch(names, stem, q));
    }
    out
}

/// The README's batch commands for the set `stem` of quantity `q`.
fn batch(names: &[String], stem: &str, q: &Quantity) -> String {
    let [response, ..] = value_columns(names, q);
    let spec: String = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "\nTo re-check the pattern, run a batch file in this folder (or open the same files in\n\
         τ-ARGUS):\n\n\
         <OPENTABLEDATA> \"{stem}.tab\"\n\
         <OPENMETADATA> \"{stem}.rda\"\n\
         <SPECIFYTABLE> {spec}|\"{response}\"||\n\
         <SAFETYRULE>\n\
         <READTABLE> 0\n\
         <GOINTERACTIVE>\n\n\
         An empty <SAFETYRULE> keeps the statuses of the file, and <READTABLE> 0 checks that\n\
         every margin is the sum of its parts. τ-ARGUS's audit then computes each suppressed\n\
         cell's interval from the published cells and marks a U cell whose interval falls short\n\
         of its protection levels (headless, with pytauargus: tauargus audit FILE.arb).\n\n\
         To have τ-ARGUS protect the same primary cells by its own method, for comparison, write a\n\
         copy of the .tab without the secondary cells,\n\n\
         awk -F';' -v OFS=';' '$(NF-2) == \"M\" {{ $(NF-2) = \"S\" }} 1' {stem}.tab > primary.tab\n\n\
         open it (<OPENTABLEDATA> \"primary.tab\") and put <SUPPRESS> MOD(1,5,1,0,0) (or OPT(1,5))\n\
         and <WRITETABLE> (1,5,SO+,\"result.txt\") in place of <GOINTERACTIVE>. To put reglink's\n\
         pattern back on a table read that way, and audit it as above, add after <READTABLE>:\n\n\
         <APRIORI> \"{stem}.hst\",1,\";\",0,0\n\n\
         τ-ARGUS sees this table alone: it does not know that cells of tables of one population\n\
         are the same people, so its intervals can be wider than those of reglink's exact audit\n\
         (checker-report.json, secondary_suppression_audit), which sees the whole release.\n"
    )
}

#[cfg(test)]
mod tests;
