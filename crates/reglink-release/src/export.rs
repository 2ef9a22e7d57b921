//! `reglink export`: a release in the forms spreadsheets open.
//!
//! ```text
//! OUT/
//!   export.json          what was exported: the bundle's study, tool and
//!                        manifest hash, and the hash of every file below
//!   release.xlsx         one sheet per table, a sheet on the release and its
//!                        policy, a sheet of what the flags mean
//!   csv-sv/NAME.csv      each table for Swedish Excel: `;` between fields,
//!                        decimal comma, UTF-8 with a byte order mark, CRLF
//! ```
//!
//! The export reads nothing but the bundle's published files (the tables'
//! CSV and descriptions, and the manifest), after checking the bundle the
//! way `reglink verify` does. So it can hold nothing the bundle does not:
//! whatever an auditor checked in the bundle is all there is to see in its
//! export. Values are the CSV's, digit for digit; `..` stays `..`.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet};
use serde_json::Value;

use reglink_keys::signing::PublicKey;

use crate::ReleaseError;
use crate::bundle::{self, MANIFEST, Signed};
use crate::error::file_error;
use crate::published::PublishedTable;

/// The export folder's kind: `export.json` proves a folder is an export,
/// so that a later export may replace it and nothing else is replaced.
pub const KIND: reglink_extract::OutputKind = reglink_extract::OutputKind {
    command: "reglink export",
    output: "export",
    manifest: "export.json",
};

/// The workbook's name in the export folder.
pub const WORKBOOK: &str = "release.xlsx";

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    /// The export folder.
    pub dir: PathBuf,
    /// The tables exported, in the bundle's order.
    pub tables: Vec<String>,
    /// How the bundle's signature checked.
    pub signed: Signed,
}

/// One table as the bundle publishes it.
struct Published {
    name: String,
    title: Option<String>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Per column: `None` for a dimension's code or label or a flag, else
    /// the decimals its values are written with.
    decimals: Vec<Option<usize>>,
}

/// Exports `bundle` into `out` (a new folder, or an earlier export).
///
/// The bundle must verify: every file as its manifest lists it, and with
/// `public` a valid signature by that key.
///
/// # Errors
///
/// [`ReleaseError::NotVerified`] if the bundle does not check out; an error
/// naming the file when one cannot be read or written.
pub fn export(
    bundle: &Path,
    out: &Path,
    public: Option<&PublicKey>,
) -> Result<Exported, ReleaseError> {
    // An export inside the bundle would add files its manifest does not
    // list, and the bundle would no longer verify.
    let (inside, folder) = (
        reglink_extract::resolved(out),
        reglink_extract::resolved(bundle),
    );
    if inside.starts_with(&folder) {
        return Err(ReleaseError::Export {
            path: out.to_path_buf(),
            reason: format!(
                "inside the bundle {}; an export goes beside it, never into it",
                bundle.display()
            ),
        });
    }
    if !bundle.join(MANIFEST).is_file() {
        return Err(ReleaseError::Export {
            path: bundle.to_path_buf(),
            reason: format!("not a release bundle: it has no {MANIFEST}"),
        });
    }
    let verified = bundle::verify(bundle, public)?;
    if let Some(problem) = verified.problems.first() {
        return Err(ReleaseError::NotVerified {
            path: bundle.to_path_buf(),
            problem: problem.clone(),
            more: verified.problems.len() - 1,
        });
    }
    let manifest_path = bundle.join(MANIFEST);
    let manifest_bytes = std::fs::read(&manifest_path).map_err(file_error(&manifest_path))?;
    let manifest: Value =
        serde_json::from_slice(&manifest_bytes).map_err(file_error(&manifest_path))?;
    let names: Vec<String> = manifest["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let tables = names
        .iter()
        .map(|n| read_published(bundle, n))
        .collect::<Result<Vec<_>, _>>()?;

    let staged = reglink_extract::StagedDir::create(
        out,
        &KIND,
        &[("release bundle".to_string(), bundle.to_path_buf())],
    )?;
    let sv = staged.path().join("csv-sv");
    std::fs::create_dir_all(&sv).map_err(|source| ReleaseError::CreateDir {
        path: out.join("csv-sv"),
        source,
    })?;
    for t in &tables {
        let path = sv.join(format!("{}.csv", t.name));
        reglink_extract::write_atomic(&path, &swedish_csv(t)).map_err(file_error(&path))?;
    }
    let path = staged.path().join(WORKBOOK);
    let xlsx = workbook(&manifest, &tables).map_err(|e| ReleaseError::Export {
        path: out.join(WORKBOOK),
        reason: e.to_string(),
    })?;
    reglink_extract::write_atomic(&path, &xlsx).map_err(file_error(&path))?;
    reglink_extract::write_manifest(
        staged.path(),
        &KIND,
        serde_json::json!({
            "study": manifest["study"],
            "tool": manifest["tool"],
            "release_manifest": reglink_extract::fingerprint_file(&manifest_path)
                .map_err(file_error(&manifest_path))?
                .to_string(),
            "tables": names,
        }),
    )?;
    let dir = staged.commit()?;
    Ok(Exported {
        dir,
        tables: names,
        signed: verified.signed,
    })
}

/// Reads `tables/NAME.csv` and `tables/NAME.json` of a verified bundle.
fn read_published(bundle: &Path, name: &str) -> Result<Published, ReleaseError> {
    let table = PublishedTable::read(bundle, name)?;
    let kinds = table.measures();
    let decimals = table
        .header
        .iter()
        .map(|h| {
            if h == "persons" {
                return Some(0);
            }
            kinds.iter().find(|(n, _)| n == h).map(|(_, kind)| {
                if matches!(kind.as_str(), "persons" | "households" | "sum") {
                    0
                } else {
                    1
                }
            })
        })
        .collect();
    Ok(Published {
        name: table.name.clone(),
        title: table.title(),
        decimals,
        header: table.header,
        rows: table.rows,
    })
}

/// A table for Swedish Excel: a byte order mark (so Excel reads UTF-8),
/// `;` between fields, the decimal comma in values, CRLF line ends. Codes
/// and labels are written as they are; `..` stays `..`.
fn swedish_csv(t: &Published) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(&t.header).expect("writing to memory");
    let mut out: Vec<String> = Vec::with_capacity(t.header.len());
    for row in &t.rows {
        out.clear();
        for (field, decimals) in row.iter().zip(&t.decimals) {
            out.push(match decimals {
                Some(_) if field != ".." => field.replacen('.', ",", 1),
                _ => field.to_string(),
            });
        }
        w.write_record(&out).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// A sheet name Excel accepts for table `name`, unique among `taken`:
/// at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str, taken: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let mut candidate: String = clean.chars().take(31).collect();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
        let suffix = format!("~{n}");
        candidate = clean.chars().take(31 - suffix.len()).collect::<String>() + &suffix;
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// The policy's settings in words, one line each, from the manifest's
/// `policy`.
pub fn policy_in_words(policy: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(map) = policy.as_object() else {
        return out;
    };
    let said = |key: &str, value: &Value| -> String {
        let v = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key {
            "preset" => format!("the settings of the `{v}` policy, with any changes below"),
            "threshold" => format!(
                "a count of fewer than {v} persons (or households) is suppressed, and so is a sum or median with fewer contributors"
            ),
            "zeros_disclosive" if v == "true" => {
                "a zero is suppressed where it tells something about a group (all or none of it)"
                    .into()
            }
            "zeros_disclosive" => "zeros are published".into(),
            "class_disclosure" if v == "true" => {
                "a row or column whose persons all fall in one category is suppressed".into()
            }
            "class_disclosure" => "no check for groups that all share one category".into(),
            "p_percent" => format!(
                "a sum is suppressed if its second largest contributor could estimate the largest to within {v} %"
            ),
            "dominance" => {
                let rules: Vec<String> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        format!(
                            "its {} largest contributions make up {} % or more",
                            r["n"], r["k"]
                        )
                    })
                    .collect();
                format!("a sum is suppressed when {}", rules.join(", or when "))
            }
            "min_median_contributors" => format!("a median needs at least {v} contributors"),
            "method" => format!(
                "how counts are protected: {}",
                value["name"].as_str().unwrap_or(&v)
            ),
            "cost" => format!(
                "secondary suppression hides the cells of least cost; cost model `{}`",
                value["model"].as_str().unwrap_or(&v)
            ),
            "unrelated_populations" if v == "allow" => {
                "a population that an earlier release in the ledger counts and that cannot be related to this \
                 release's (another filter on the same register and years) is allowed, and named for review"
                    .into()
            }
            "unrelated_populations" => {
                "a population that an earlier release in the ledger counts and that cannot be related to this \
                 release's (another filter on the same register and years) stops the release"
                    .into()
            }
            _ => v,
        }
    };
    for (k, v) in map {
        out.push((k.clone(), said(k, v)));
    }
    out
}

/// The workbook: an `about` sheet, a `flags` sheet, then one sheet per table.
fn workbook(manifest: &Value, tables: &[Published]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    // A fixed creation time: the same bundle gives the same bytes.
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1)?;
    book.set_properties(
        &DocProperties::new()
            .set_title(manifest["study"].as_str().unwrap_or_default())
            .set_creation_datetime(&epoch),
    );
    let bold = Format::new().set_bold();
    let mut taken = vec!["about".to_string(), "flags".to_string()];

    let about = book.add_worksheet().set_name("about")?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut r = 0;
    for (k, v) in [
        ("study", text(&manifest["study"])),
        ("made by", text(&manifest["tool"])),
        ("study file", text(&manifest["study_file"])),
    ] {
        about.write_string_with_format(r, 0, k, &bold)?;
        about.write_string(r, 1, v)?;
        r += 1;
    }
    r += 1;
    about.write_string_with_format(r, 0, "policy", &bold)?;
    r += 1;
    for (k, words) in policy_in_words(&manifest["policy"]) {
        about.write_string(r, 0, k)?;
        about.write_string(r, 1, words)?;
        r += 1;
    }
    r += 1;
    about.write_string_with_format(r, 0, "sheet", &bold)?;
    about.write_string_with_format(r, 1, "table", &bold)?;
    about.write_string_with_format(r, 2, "title", &bold)?;
    r += 1;
    let sheets: Vec<String> = tables
        .iter()
        .map(|t| sheet_name(&t.name, &mut taken))
        .collect();
    for (t, sheet) in tables.iter().zip(&sheets) {
        about.write_string(r, 0, sheet)?;
        about.write_string(r, 1, &t.name)?;
        about.write_string(r, 2, t.title.as_deref().unwrap_or_default())?;
        r += 1;
    }
    about.set_column_width(0, 24)?;
    about.set_column_width(1, 60)?;

    let flags = book.add_worksheet().set_name("flags")?;
    flags.write_string_with_format(0, 0, "flag", &bold)?;
    flags.write_string_with_format(0, 1, "meaning", &bold)?;
    for (i, (f, m)) in [
        ("published", "the value as counted"),
        ("rounded", "the value rounded to the policy's base"),
        (
            "perturbed",
            "the value with the cell key method's noise added",
        ),
        (
            "suppressed",
            "not published (`..`), whatever the reason: the reason would give it away",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        flags.write_string(i as u32 + 1, 0, f)?;
        flags.write_string(i as u32 + 1, 1, m)?;
    }
    flags.set_column_width(1, 80)?;

    for (t, sheet) in tables.iter().zip(&sheets) {
        let ws = book.add_worksheet().set_name(sheet)?;
        table_sheet(ws, t, &bold)?;
    }
    book.save_to_buffer()
}

/// One table's sheet: the header in bold and frozen, numbers as numbers
/// (whole or with one decimal), `..` right-aligned as text.
fn table_sheet(
    ws: &mut Worksheet,
    t: &Published,
    bold: &Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let whole = Format::new().set_num_format("0");
    let one = Format::new().set_num_format("0.0");
    let hidden = Format::new().set_align(FormatAlign::Right);
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, bold)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, (field, decimals)) in row.iter().zip(&t.decimals).enumerate() {
            let c = c as u16;
            match (decimals, field.parse::<f64>()) {
                (Some(d), Ok(v)) => {
                    ws.write_number_with_format(r, c, v, if *d == 0 { &whole } else { &one })?;
                }
                (Some(_), Err(_)) if field == ".." => {
                    ws.write_string_with_format(r, c, field, &hidden)?;
                }
                _ if field.is_empty() => {}
                _ => {
                    ws.write_string(r, c, field)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    if !t.rows.is_empty() {
        ws.autofilter(0, 0, t.rows.len() as u32, t.header.len() as u16 - 1)?;
    }
    Ok(())
}
