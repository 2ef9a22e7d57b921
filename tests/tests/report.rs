//! `report.html`: every table is there with its chart and one-way views,
//! suppressed values are `..`, nothing is fetched from elsewhere, and the
//! page renders with its charts in a real headless Chromium.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use reglink_tests::example;

fn report() -> (String, serde_json::Value) {
    let ex = example!();
    let html = fs::read_to_string(ex.join("release/report.html")).unwrap();
    let manifest =
        serde_json::from_str(&fs::read_to_string(ex.join("release/manifest.json")).unwrap())
            .unwrap();
    (html, manifest)
}

#[test]
fn every_table_is_in_the_report_and_nothing_comes_from_elsewhere() {
    let (html, manifest) = report();
    for t in manifest["tables"].as_array().unwrap() {
        let id = format!("id=\"t-{}\"", t.as_str().unwrap());
        assert!(html.contains(&id), "no section {id}");
    }
    let listed = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "report.html");
    assert!(listed, "the manifest lists report.html");
    // One file: no script, no stylesheet, image or font fetched, no link
    // out (the SVG namespace is a name, never fetched).
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
    ] {
        assert!(!lower.contains(banned), "report.html has `{banned}`");
    }
    let outside = lower.matches("http").count();
    let namespaces = lower
        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
        .count();
    assert_eq!(outside, namespaces, "a reference to another host");
    assert!(lower.matches("<svg class=\"chart\"").count() >= 10);
    // A suppressed value is `..` in the report as in the tables.
    let hidden = html
        .matches("<td class=\"hidden\" title=\"suppressed\">..</td>")
        .count();
    assert!(hidden > 0);
    assert_eq!(
        html.matches("class=\"hidden\"").count(),
        hidden + html.matches("<rect class=\"hidden\"").count()
    );
}

#[test]
fn the_one_way_views_are_the_published_values() {
    let ex = example!();
    let (html, _) = report();
    // t2_equal_terms is published whole: its one-way view by year holds the
    // CSV's values at the other dimensions' totals.
    let text = fs::read_to_string(ex.join("release/tables/t2_equal_terms.csv")).unwrap();
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let section = html.split("id=\"t-t2_equal_terms\"").nth(1).unwrap();
    let by_year = section.split("<h3>By year</h3>").nth(1).unwrap();
    let by_year = by_year.split("</table>").next().unwrap();
    let mut rows = 0;
    for r in csv.records().map(Result::unwrap) {
        if r[at("benefit_group")] != *"_T" || r[at("sex")] != *"_T" || r[at("year")] == *"_T" {
            continue;
        }
        let persons = r[at("persons")].to_string();
        let grouped: String = persons
            .chars()
            .rev()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && i % 3 == 0).then_some('\u{2009}');
                sep.into_iter().chain(std::iter::once(c))
            })
            .collect::<Vec<char>>()
            .into_iter()
            .rev()
            .collect();
        let row = format!("<tr><td>{}</td><td>{grouped}</td>", &r[at("year_label")]);
        assert!(by_year.contains(&row), "{row} not in\n{by_year}");
        rows += 1;
    }
    assert!(rows >= 2);
}

/// The example's exit tables (within 3, 6 and 12 months) and its status
/// tables (6, 12 and 24 months) are charted across tables: per category and
/// table, the persons as a share of that table's total, computed here from
/// the published CSVs, and a dashed bar exactly where either is suppressed.
#[test]
fn the_charts_across_tables_show_each_tables_published_shares() {
    let ex = example!();
    let (html, _) = report();
    let (mut shown, mut hidden) = (0, 0);
    for tables in [
        ["t3_exit_3m", "t3_exit_6m", "t3_exit_12m"],
        ["t4c_status_6m", "t4c_status_12m", "t4c_status_24m"],
    ] {
        let marker = format!("data-tables=\"{}\"", tables.join(" "));
        let chart = html
            .split(&marker)
            .nth(1)
            .unwrap_or_else(|| panic!("no chart across {tables:?}"))
            .split("</svg>")
            .next()
            .unwrap();
        for name in tables {
            let text = fs::read_to_string(ex.join(format!("release/tables/{name}.csv"))).unwrap();
            let mut csv = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
            let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
            let dims: Vec<usize> = (0..header.len())
                .filter(|&i| header.get(i + 1) == Some(&format!("{}_label", header[i])))
                .collect();
            // The varying dimension is the last; the others at their totals.
            let d = *dims.last().unwrap();
            let at_totals = |r: &&csv::StringRecord| dims.iter().all(|&e| e == d || r[e] == *"_T");
            let persons = header.iter().position(|h| h == "persons").unwrap();
            let total = rows
                .iter()
                .filter(at_totals)
                .find(|r| r[d] == *"_T")
                .map(|r| r[persons].to_string())
                .unwrap();
            for r in rows.iter().filter(at_totals).filter(|r| r[d] != *"_T") {
                let rect = format!("data-table=\"{name}\" data-code=\"{}\"", &r[d]);
                let at = chart
                    .find(&rect)
                    .unwrap_or_else(|| panic!("{name}/{}: no bar", &r[d]));
                let before = &chart[..at];
                let is_hidden = before.ends_with("<rect class=\"hidden\" ");
                if total == "0" {
                    assert!(
                        chart[at..].contains("no one in the table"),
                        "{name}: a total of 0"
                    );
                } else if r[persons] == *".." || total == ".." {
                    assert!(is_hidden, "{name}/{}: suppressed, but a bar", &r[d]);
                    hidden += 1;
                } else {
                    let share =
                        100.0 * r[persons].parse::<f64>().unwrap() / total.parse::<f64>().unwrap();
                    let expect = format!("{rect} data-share=\"{share:.1}\"");
                    assert!(chart.contains(&expect), "{expect} not in the chart");
                    shown += 1;
                }
            }
        }
    }
    assert!(shown > 0 && hidden > 0, "{shown} bars, {hidden} dashed");
}

/// Debian's Chromium: `REGLINK_TEST_CHROMIUM`, or /usr/bin/chromium,
/// installed with apt-get where it is missing and the tests run as root.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("REGLINK_TEST_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    reglink_tests::debian_program("/usr/bin/chromium", &["chromium"], true)
}

/// Renders `page` headless, with the network flags that keep Chromium from
/// reaching out, into a PNG of `width` x `height`.
fn screenshot(chromium: &Path, page: &Path, png: &Path, (width, height): (u32, u32)) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pixels of `png` within 12 of `rgb` in every channel.
fn pixels_of(png: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 12))
        .count()
}

#[test]
fn the_report_renders_with_its_charts_in_headless_chromium() {
    let chromium = match chromium() {
        Ok(c) => c,
        Err(why) => return reglink_tests::skipped(&why),
    };
    let ex = example!();
    let page = fs::canonicalize(ex.join("release/report.html")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("report.png");
    screenshot(&chromium, &page, &shot, (1200, 6000));
    // The charts' bars (#3b6ea5) and the dashed outlines of suppressed
    // values (#b07a00) are on the page as drawn.
    let bars = pixels_of(&shot, [0x3b, 0x6e, 0xa5]);
    let dashed = pixels_of(&shot, [0xb0, 0x7a, 0x00]);
    assert!(bars > 5_000, "{bars} pixels of chart bars");
    assert!(dashed > 50, "{dashed} pixels of suppressed bars");
    // The charts across tables: the darkest step's bars (#24507f).
    let steps = pixels_of(&shot, [0x24, 0x50, 0x7f]);
    assert!(steps > 500, "{steps} pixels of bars across tables");

    // The same page without the charts' style has no bar colour: the
    // pixels counted above are the charts'.
    let plain = dir.path().join("plain.html");
    let html = fs::read_to_string(&page).unwrap();
    let plain_html = html
        .replace("fill:#3b6ea5", "fill:#ffffff")
        .replace("fill=\"#24507f\"", "fill=\"#ffffff\"");
    fs::write(&plain, plain_html).unwrap();
    let plain_shot = dir.path().join("plain.png");
    screenshot(&chromium, &plain, &plain_shot, (1200, 6000));
    assert_eq!(pixels_of(&plain_shot, [0x3b, 0x6e, 0xa5]), 0);
    assert_eq!(pixels_of(&plain_shot, [0x24, 0x50, 0x7f]), 0);
}
