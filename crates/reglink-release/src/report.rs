//! `report.html`: the release as a page researchers read, one file that
//! opens with no network (no script, no font, no image from elsewhere:
//! release bundles are opened inside secure environments).
//!
//! It is made from the bundle's published files only (each table's CSV and
//! description, the policy and provenance the manifest states, the audit's
//! headline), after they are written: it can show nothing the tables do
//! not, and a suppressed value is `..` in it as everywhere. Per table: what
//! it counts, how many of its values are published, a bar chart, and each
//! dimension's one-way view (the other dimensions at their totals).
//!
//! A chart shows one dimension of a table, the other dimensions at their
//! totals: a municipality where the table has one (a dimension whose name
//! says `municipality`; ranked, largest first,
//! as a map-free ranking), else the dimension with the most categories. Its
//! value is the table's first share if it has one, else persons. A
//! suppressed value is drawn as an empty, dashed bar marked `..`, at the end
//! of a ranking: where it would rank would tell something about it.
//!
//! Tables that show one thing at several steps get a chart across them
//! (`series`): tables of the same population with the same dimensions
//! but one, where that one has the same categories in each (exits within 3,
//! 6 and 12 months; status 6, 12 and 24 months after an entry). Per
//! category, one bar per table: its persons as a share of that table's
//! total, a quotient of two published values (suppressed if either is).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::ReleaseError;
use crate::error::file_error;
use crate::published::PublishedTable;

/// The report's file name in the bundle.
pub const REPORT: &str = "report.html";

/// The dimensions a chart may show at most this many categories of.
const MOST_BARS: usize = 40;

/// One published table, read back from the bundle.
struct Table {
    name: String,
    title: Option<String>,
    population: String,
    contributors: String,
    /// Dimension names, their category codes and labels.
    dims: Vec<(String, Vec<(String, String)>)>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Value columns: name, kind.
    values: Vec<(String, String)>,
    /// The row of each one-way cell: dimension and code (`_T` for the
    /// grand total, under every dimension).
    one_way: HashMap<(usize, String), usize>,
    /// The code of a dimension's total.
    total: String,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The row where dimension `d` is at `code` and every other at `_T`.
    fn one_way(&self, d: usize, code: &str) -> Option<&Vec<String>> {
        let r = *self.one_way.get(&(d, code.to_string()))?;
        Some(&self.rows[r])
    }
}

/// What the report says beside the tables: all of it is in the manifest.
#[derive(Debug)]
pub struct About<'a> {
    /// The study's name.
    pub study: &'a str,
    /// `reglink VERSION`.
    pub tool: &'a str,
    /// The policy, as the manifest states it.
    pub policy: &'a Value,
    /// The audit's one-line outcome, when the bundle was audited.
    pub audit: Option<&'a str>,
    /// The release's warnings, as the manifest lists them.
    pub warnings: &'a [String],
}

/// Writes `report.html` into the bundle `dir`, from its tables `names`.
///
/// # Errors
///
/// A table's files cannot be read (they were just written), or the report
/// cannot be written.
pub fn write(dir: &Path, names: &[String], about: &About<'_>) -> Result<(), ReleaseError> {
    let tables = names
        .iter()
        .map(|n| read(dir, n))
        .collect::<Result<Vec<_>, _>>()?;
    let html = render(&tables, about);
    let path = dir.join(REPORT);
    reglink_extract::write_atomic(&path, html.as_bytes()).map_err(file_error(&path))?;
    Ok(())
}

fn read(dir: &Path, name: &str) -> Result<Table, ReleaseError> {
    let published = PublishedTable::read(dir, name)?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let dims: Vec<(String, Vec<(String, String)>)> = published.description["dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let cats = d["categories"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| (text(&c["code"]), text(&c["label"])))
                .collect();
            (text(&d["name"]), cats)
        })
        .collect();
    let mut values = vec![("persons".to_string(), "persons".to_string())];
    values.extend(
        published
            .measures()
            .into_iter()
            .filter(|(n, _)| n != "persons"),
    );
    // The one-way rows: one dimension at a code, every other at `_T`.
    let at: Vec<Option<usize>> = dims
        .iter()
        .map(|(n, _)| published.header.iter().position(|h| h == n))
        .collect();
    // The code of a dimension's total, as the description states it.
    let total = match published.text("total_code") {
        t if t.is_empty() => "_T".to_string(),
        t => t,
    };
    let mut one_way = HashMap::new();
    for (r, row) in published.rows.iter().enumerate() {
        let codes: Vec<Option<&str>> = at.iter().map(|c| c.map(|c| row[c].as_str())).collect();
        let mut off_total = codes
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != Some(total.as_str()));
        match (off_total.next(), off_total.next()) {
            (Some((d, Some(code))), None) => {
                one_way.entry((d, code.to_string())).or_insert(r);
            }
            (None, _) => {
                for d in 0..dims.len() {
                    one_way.entry((d, total.clone())).or_insert(r);
                }
            }
            _ => {}
        }
    }
    Ok(Table {
        title: published.title(),
        population: published.text("population"),
        contributors: published.text("contributors"),
        name: published.name,
        dims,
        header: published.header,
        rows: published.rows,
        values,
        one_way,
        total,
    })
}

/// Text made safe for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value for people: thousands separated by a thin space, a share with
/// its per cent sign; `..` and empty as they are.
fn shown(field: &str, kind: &str) -> String {
    if field == ".." || field.is_empty() {
        return field.to_string();
    }
    let (whole, fraction) = field.split_once('.').unwrap_or((field, ""));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{2009}');
        }
        grouped.push(c);
    }
    let mut out = format!("{sign}{grouped}");
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    if kind == "share" {
        out.push_str(" %");
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d2733;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2.2em;border-bottom:2px solid #d8dee6;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em;font-variant-numeric:tabular-nums}
th,td{padding:.2em .7em;border-bottom:1px solid #e3e8ee;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f1f4f8}
td.hidden{color:#8a5a00;background:#fff6e0}
.note{color:#4a5866;font-size:.92em}
.pill{display:inline-block;padding:.05em .5em;border-radius:.8em;background:#e8eef6;margin-right:.3em}
nav ul{columns:2}
figure{margin:1em 0}figcaption{font-size:.9em;color:#4a5866}
svg.chart text{font-size:12px;fill:#1d2733}
svg.chart .bar{fill:#3b6ea5}
svg.chart .hidden{fill:#fff6e0;stroke:#b07a00;stroke-width:2;stroke-dasharray:4 3}
";

fn render(tables: &[Table], about: &About<'_>) -> String {
    let mut h = String::new();
    let title = format!("Release of study {}", about.study);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p>Made by {} from the linked registers of the study. Every number on this page is a value of the \
         release's tables, which passed disclosure control; <b>..</b> marks a value that is suppressed, \
         whatever the reason.</p>",
        esc(about.tool)
    );
    if let Some(audit) = about.audit {
        let _ = writeln!(
            h,
            "<p class=\"note\">Audit of the bundle before release (the disclosure rules checked from the \
             published tables alone): {}.</p>",
            esc(audit)
        );
    }
    h.push_str("<nav><h2>Tables</h2><ul>\n");
    for t in tables {
        let _ = writeln!(
            h,
            "<li><a href=\"#t-{}\">{}</a> <span class=\"note\">({})</span></li>",
            esc(&t.name),
            esc(t.title.as_deref().unwrap_or(&t.name)),
            esc(&t.name)
        );
    }
    let series = series(tables);
    for (i, s) in series.iter().enumerate() {
        let _ = writeln!(
            h,
            "<li><a href=\"#series-{i}\">{}</a> <span class=\"note\">(across tables)</span></li>",
            esc(&series_title(s))
        );
    }
    h.push_str("</ul></nav>\n");
    policy_section(&mut h, about);
    if !series.is_empty() {
        h.push_str("<h2 id=\"across\">Across tables</h2>\n");
        for (i, s) in series.iter().enumerate() {
            series_chart(&mut h, i, s);
        }
    }
    for t in tables {
        table_section(&mut h, t);
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn policy_section(h: &mut String, about: &About<'_>) {
    h.push_str("<h2 id=\"policy\">The rules applied</h2>\n<ul>\n");
    for (key, words) in crate::export::policy_in_words(about.policy) {
        let _ = writeln!(
            h,
            "<li><span class=\"pill\">{}</span>{}</li>",
            esc(&key),
            esc(&words)
        );
    }
    h.push_str("</ul>\n");
    h.push_str(
        "<p>A value is suppressed (<b>..</b>) when it is too small or too dominated to publish, or to \
         protect such a value: otherwise it could be worked out from the totals. Which of the reasons \
         applies to a cell is not published, because the reason itself would give the value away.</p>\n",
    );
    if !about.warnings.is_empty() {
        h.push_str("<h3>Warnings</h3>\n<ul>\n");
        for w in about.warnings {
            let _ = writeln!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }
}

fn table_section(h: &mut String, t: &Table) {
    let _ = writeln!(
        h,
        "<h2 id=\"t-{}\">{}</h2>",
        esc(&t.name),
        esc(t.title.as_deref().unwrap_or(&t.name))
    );
    let dims: Vec<&str> = t.dims.iter().map(|(n, _)| n.as_str()).collect();
    let _ = writeln!(
        h,
        "<p class=\"note\">Table <code>{}</code>: population <code>{}</code> ({}), by {}. \
         Files: <code>tables/{}.csv</code>, <code>.parquet</code>, <code>.json</code>.</p>",
        esc(&t.name),
        esc(&t.population),
        esc(&t.contributors),
        esc(&dims.join(", ")),
        esc(&t.name)
    );
    h.push_str("<p>");
    for (name, _) in &t.values {
        let Some(flag) = t.column(&format!("{name}_flag")) else {
            continue;
        };
        let hidden = t.rows.iter().filter(|r| r[flag] == "suppressed").count();
        let _ = write!(
            h,
            "<span class=\"pill\">{}: {} of {} published</span>",
            esc(name),
            t.rows.len() - hidden,
            t.rows.len()
        );
    }
    h.push_str("</p>\n");
    chart(h, t);
    for d in 0..t.dims.len() {
        one_way_table(h, t, d);
    }
}

/// The dimension and value column a table's chart shows (see the module).
fn chart_choice(t: &Table) -> Option<(usize, &str, &str)> {
    let d = t
        .dims
        .iter()
        .position(|(n, _)| n.contains("municipality"))
        .or_else(|| {
            (0..t.dims.len())
                .filter(|&d| t.dims[d].1.len() <= MOST_BARS)
                .max_by_key(|&d| (t.dims[d].1.len(), std::cmp::Reverse(d)))
        })?;
    if t.dims[d].1.len() > MOST_BARS || t.dims[d].1.is_empty() {
        return None;
    }
    let (value, kind) = t
        .values
        .iter()
        .find(|(_, k)| k == "share")
        .or_else(|| t.values.first())?;
    Some((d, value.as_str(), kind.as_str()))
}

fn chart(h: &mut String, t: &Table) {
    let Some((d, value, kind)) = chart_choice(t) else {
        return;
    };
    let (dim, cats) = &t.dims[d];
    let at = t.column(value).expect("a value column");
    let mut bars: Vec<(String, Option<f64>)> = cats
        .iter()
        .map(|(code, label)| {
            let v = t
                .one_way(d, code)
                .and_then(|r| r[at].parse::<f64>().ok().filter(|_| r[at] != ".."));
            (label.clone(), v)
        })
        .collect();
    let ranked = dim.contains("municipality");
    if ranked {
        // Largest first; suppressed ones last, in code order.
        bars.sort_by(|a, b| match (a.1, b.1) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }
    let most = bars
        .iter()
        .filter_map(|b| b.1)
        .fold(0.0_f64, f64::max)
        .max(if kind == "share" { 100.0 } else { 0.0 });
    let (label_w, bar_w, row_h) = (200.0, 560.0, 22.0);
    let height = row_h * bars.len() as f64 + 30.0;
    let caption = format!(
        "{} by {}{}, every other dimension at its total{}",
        value,
        dim,
        if ranked { ", ranked" } else { "" },
        if bars.iter().any(|b| b.1.is_none()) {
            "; dashed: suppressed (..)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        h,
        "<figure><svg class=\"chart\" role=\"img\" aria-label=\"{}\" data-bars=\"{}\" width=\"{}\" height=\"{}\" \
         viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(&caption),
        bars.len(),
        label_w + bar_w + 90.0,
        height,
        label_w + bar_w + 90.0,
        height
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 10.0 + row_h * i as f64;
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(label)
        );
        match v {
            Some(v) => {
                let w = if most > 0.0 { bar_w * v / most } else { 0.0 };
                let _ = writeln!(
                    h,
                    "<rect class=\"bar\" x=\"{label_w}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{}</text>",
                    y + 3.0,
                    row_h - 6.0,
                    label_w + w + 6.0,
                    y + 15.0,
                    esc(&shown(&format_value(*v, kind), kind))
                );
            }
            None => {
                let _ = writeln!(
                    h,
                    "<rect class=\"hidden\" x=\"{label_w}\" y=\"{}\" width=\"40\" height=\"{}\"/>\
                     <text x=\"{}\" y=\"{}\">..</text>",
                    y + 3.0,
                    row_h - 6.0,
                    label_w + 48.0,
                    y + 15.0
                );
            }
        }
    }
    let _ = writeln!(
        h,
        "</svg><figcaption>{}</figcaption></figure>",
        esc(&caption)
    );
}

/// Tables that show one thing at several steps (see the module): the
/// tables, in the bundle's order, and the dimension that differs.
struct Series<'a> {
    tables: Vec<&'a Table>,
    dim: usize,
}

/// The dimension names of `t` with `d` left out, and the codes of each.
type Shape<'a> = Vec<(Option<&'a str>, Vec<&'a str>)>;

fn shape(t: &Table, d: usize) -> Shape<'_> {
    t.dims
        .iter()
        .enumerate()
        .map(|(e, (name, cats))| {
            let codes = cats.iter().map(|(c, _)| c.as_str()).collect();
            ((e != d).then_some(name.as_str()), codes)
        })
        .collect()
}

/// Every series among `tables`: for each table and dimension in order, the
/// later tables of the same population whose dimensions agree with it in
/// name and categories but in that dimension, where only the categories
/// agree. A table is in one series at most.
fn series(tables: &[Table]) -> Vec<Series<'_>> {
    let mut taken = vec![false; tables.len()];
    let mut out = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        if taken[i] {
            continue;
        }
        for d in 0..t.dims.len() {
            let key = shape(t, d);
            let mut names = vec![t.dims[d].0.as_str()];
            let members: Vec<usize> = (i + 1..tables.len())
                .filter(|&j| {
                    let u = &tables[j];
                    let fits = !taken[j]
                        && u.population == t.population
                        && u.dims.len() == t.dims.len()
                        && shape(u, d) == key
                        && !names.contains(&u.dims[d].0.as_str());
                    if fits {
                        names.push(u.dims[d].0.as_str());
                    }
                    fits
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            taken[i] = true;
            let mut all = vec![t];
            for j in members {
                taken[j] = true;
                all.push(&tables[j]);
            }
            out.push(Series {
                tables: all,
                dim: d,
            });
            break;
        }
    }
    out
}

fn series_title(s: &Series<'_>) -> String {
    let names: Vec<&str> = s.tables.iter().map(|t| t.dims[s.dim].0.as_str()).collect();
    format!("{} ({})", names.join(", "), s.tables[0].population)
}

/// The fills of a series' steps, lightest first; none is a single table's
/// bar colour.
const STEP_FILLS: [&str; 4] = ["#9cc0e4", "#5b8cc2", "#24507f", "#0e2a4a"];

/// One bar of a series chart.
enum Step {
    /// The persons at the category as a share (per cent) of the table's
    /// total.
    Share(f64),
    /// Either count is suppressed (or the table has no such cell).
    Hidden,
    /// The total is a published 0: no share.
    NoOne,
}

/// The bar of a table at one category of the series' dimension.
fn step_share(t: &Table, d: usize, code: &str) -> Step {
    let Some(at) = t.column("persons") else {
        return Step::Hidden;
    };
    let count = |row: Option<&Vec<String>>| {
        row.and_then(|r| r[at].parse::<f64>().ok().filter(|_| r[at] != ".."))
    };
    match (count(t.one_way(d, code)), count(t.one_way(d, &t.total))) {
        (_, Some(0.0)) => Step::NoOne,
        (Some(part), Some(whole)) => Step::Share(100.0 * part / whole),
        _ => Step::Hidden,
    }
}

fn series_chart(h: &mut String, i: usize, s: &Series<'_>) {
    let first = s.tables[0];
    let cats = &first.dims[s.dim].1;
    let steps = s.tables.len();
    let (label_w, bar_w, bar_h, gap) = (200.0, 560.0, 12.0, 10.0);
    let row_h = bar_h * steps as f64 + gap;
    let legend_h = 24.0;
    let height = legend_h + row_h * cats.len() as f64 + 10.0;
    let width = label_w + bar_w + 90.0;
    let names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
    let caption = format!(
        "Persons by {}, as a share of each table's total (tables {}), every other dimension at its total; \
         dashed: suppressed (..)",
        s.tables
            .iter()
            .map(|t| t.dims[s.dim].0.as_str())
            .collect::<Vec<_>>()
            .join(" / "),
        names.join(", ")
    );
    let _ = writeln!(
        h,
        "<h3 id=\"series-{i}\">{}</h3>\n<figure><svg class=\"chart series\" role=\"img\" aria-label=\"{}\" \
         data-steps=\"{steps}\" data-tables=\"{}\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(&series_title(s)),
        esc(&caption),
        esc(&names.join(" "))
    );
    for (k, t) in s.tables.iter().enumerate() {
        let x = label_w + 150.0 * k as f64;
        let _ = write!(
            h,
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"15\">{}</text>",
            STEP_FILLS[k % STEP_FILLS.len()],
            x + 16.0,
            esc(&t.dims[s.dim].0)
        );
    }
    h.push('\n');
    for (r, (code, label)) in cats.iter().enumerate() {
        let top = legend_h + row_h * r as f64;
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            top + bar_h * steps as f64 / 2.0 + 4.0,
            esc(label)
        );
        for (k, t) in s.tables.iter().enumerate() {
            let y = top + bar_h * k as f64;
            match step_share(t, s.dim, code) {
                Step::NoOne => {
                    let _ = write!(
                        h,
                        "<text data-table=\"{}\" data-code=\"{}\" x=\"{label_w}\" y=\"{}\" \
                         font-size=\"10\">no one in the table</text>",
                        esc(&t.name),
                        esc(code),
                        y + bar_h - 3.0
                    );
                }
                Step::Share(v) => {
                    // A perturbed count may exceed its perturbed total.
                    let w = bar_w * v.min(100.0) / 100.0;
                    let _ = write!(
                        h,
                        "<rect class=\"step\" data-table=\"{}\" data-code=\"{}\" data-share=\"{v:.1}\" \
                         x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/>\
                         <text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{v:.1} %</text>",
                        esc(&t.name),
                        esc(code),
                        bar_h - 2.0,
                        STEP_FILLS[k % STEP_FILLS.len()],
                        label_w + w + 4.0,
                        y + bar_h - 3.0
                    );
                }
                Step::Hidden => {
                    let _ = write!(
                        h,
                        "<rect class=\"hidden\" data-table=\"{}\" data-code=\"{}\" x=\"{label_w}\" \
                         y=\"{y}\" width=\"30\" height=\"{}\"/>\
                         <text x=\"{}\" y=\"{}\" font-size=\"10\">..</text>",
                        esc(&t.name),
                        esc(code),
                        bar_h - 2.0,
                        label_w + 36.0,
                        y + bar_h - 3.0
                    );
                }
            }
        }
        h.push('\n');
    }
    let _ = writeln!(
        h,
        "</svg><figcaption>{}</figcaption></figure>",
        esc(&caption)
    );
}

/// A value as the CSV writes it: whole for counts and sums, one decimal else.
fn format_value(v: f64, kind: &str) -> String {
    if matches!(kind, "persons" | "households" | "sum") {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn one_way_table(h: &mut String, t: &Table, d: usize) {
    let (dim, cats) = &t.dims[d];
    let _ = writeln!(
        h,
        "<h3>By {}</h3>\n<table>\n<thead><tr><th>{}</th>",
        esc(dim),
        esc(dim)
    );
    for (name, _) in &t.values {
        let _ = write!(h, "<th>{}</th>", esc(name));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let codes = cats
        .iter()
        .map(|(c, l)| (c.as_str(), l.as_str()))
        .chain(std::iter::once((t.total.as_str(), "Total")));
    for (code, label) in codes {
        let Some(row) = t.one_way(d, code) else {
            continue;
        };
        let _ = write!(h, "<tr><td>{}</td>", esc(label));
        for (name, kind) in &t.values {
            let Some(c) = t.column(name) else {
                continue;
            };
            if row[c] == ".." {
                h.push_str("<td class=\"hidden\" title=\"suppressed\">..</td>");
            } else {
                let _ = write!(h, "<td>{}</td>", esc(&shown(&row[c], kind)));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_and_marked() {
        assert_eq!(shown("1234567", "persons"), "1\u{2009}234\u{2009}567");
        assert_eq!(shown("-1234.5", "mean"), "-1\u{2009}234.5");
        assert_eq!(shown("37.3", "share"), "37.3 %");
        assert_eq!(shown("..", "share"), "..");
        assert_eq!(shown("", "median"), "");
    }

    /// A one-dimension table of persons with `rows` (code, persons).
    fn table(rows: &[(&str, &str)]) -> Table {
        let one_way = rows
            .iter()
            .enumerate()
            .map(|(r, (code, _))| ((0, code.to_string()), r))
            .collect();
        Table {
            name: "t".into(),
            title: None,
            population: "p".into(),
            contributors: String::new(),
            dims: vec![(
                "status".into(),
                vec![("a".into(), "a".into()), ("b".into(), "b".into())],
            )],
            header: ["status", "status_label", "persons", "persons_flag"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .map(|(c, v)| vec![c.to_string(), c.to_string(), v.to_string(), String::new()])
                .collect(),
            values: vec![("persons".into(), "persons".into())],
            one_way,
            total: "_T".into(),
        }
    }

    #[test]
    fn a_step_is_a_share_hidden_or_of_no_one() {
        let t = table(&[("a", "3"), ("b", ".."), ("_T", "12")]);
        assert!(matches!(step_share(&t, 0, "a"), Step::Share(v) if v == 25.0));
        assert!(matches!(step_share(&t, 0, "b"), Step::Hidden));
        let t = table(&[("a", "3"), ("b", "9"), ("_T", "..")]);
        assert!(matches!(step_share(&t, 0, "a"), Step::Hidden));
        let t = table(&[("a", "0"), ("b", "0"), ("_T", "0")]);
        assert!(matches!(step_share(&t, 0, "a"), Step::NoOne));
    }

    #[test]
    fn markup_in_labels_is_escaped() {
        assert_eq!(
            esc("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
