#!/usr/bin/env python3
"""Side-by-side comparison for `reglink link` (the overlap-table benchmark).

Runs, on one machine in one go, over the same pseudonymised Parquet extracts
(EB and AF from `reglink synth`, pseudonymised with `--derive --crosswalk`):

1. `reglink link benches/out/PRESET/overlap.toml` (a copy of
   benches/studies/overlap.toml): link EB and AF on pseudonyms, derive the
   variables, write the overlap cell table with all margins and the linkage
   report;
2. DuckDB (from PyPI, in benches/out/venv) running ONE SQL statement that
   computes the same cell table from the same files by docs/study-file.md
   (GROUPING SETS for the margins, municipality -> county -> total, zero
   cells included) and writes it to Parquet;

alternating the two `--repeat` times and keeping each one's best, then prints
the ratio DuckDB time / reglink time and reglink's peak RSS (wait4), and
checks that the two cell tables agree cell by cell (persons, households,
record_key_sum). A disagreement exits non-zero after printing the figures.

    python3 benches/compare_link.py                     # national (default)
    python3 benches/compare_link.py --preset municipality --repeat 1   # quick check

Generated data and results live in benches/out/ (git-ignored): the extracts
in benches/out/PRESET/, their pseudonymised copies in
benches/out/PRESET/pseudonymised/, results in
benches/out/results-link-PRESET.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from compare import OUT, RELEASE, ROOT, ensure_built, ensure_data, ensure_duckdb, ensure_key, run, run_rss

STUDY = ROOT / "benches" / "studies" / "overlap.toml"
PSEUDO_STUDY = "bench"  # the --study of pseudonymise: pseudonyms match only within one study name
EXTRACTS = [("eb", "personnr"), ("af", "personnummer"), ("lisa", "PersonNr")]

# The study's definitions, as benches/studies/overlap.toml states them.
YEAR = 2023
AGE = (18, 64)
PERIOD_END = "2023-12-31"  # the last day of the study period: where open AF spells end
BANDS = [(18, 24), (25, 29), (30, 44), (45, 54), (55, 64)]
LONG_TERM_MONTHS = 10


def ensure_pseudonymised(data, key):
    """Pseudonymises the three extracts once, with --derive and the crosswalk."""
    synth = json.loads((data / "synth.json").read_text())
    folder = data / "pseudonymised"
    folder.mkdir(exist_ok=True)
    for name, id_column in EXTRACTS:
        out = folder / f"{name}.parquet"
        if out.exists():
            continue
        print(f"pseudonymising {data.name}/{name} (once) ...", flush=True)
        wall, _ = run([RELEASE / "reglink", "--quiet", "pseudonymise", "--key", key,
                       "--study", PSEUDO_STUDY, "--id-column", id_column,
                       "--in", data / synth[name]["file"], "--out", out,
                       "--crosswalk", data / "crosswalk.csv", "--derive",
                       "--reference-date", synth["extraction_date"]])
        report = json.loads((folder / f"{name}.rejects.json").read_text())
        assert report["rows_in"] == report["rows_out"] + report["rows_rejected"]
        print(f"  {name}: {report['rows_out']:,} rows written, {report['rows_rejected']:,} rejected, "
              f"{wall:.1f} s", flush=True)
    return folder


def ensure_study(data):
    """Copies the study file next to the data it names (its paths are relative)."""
    study = data / "overlap.toml"
    shutil.copyfile(STUDY, study)
    return study


def dimension_sql(name, categories, groups=None):
    """SQL listing one dimension's positions (code, level, pos) in the engine's order.

    `categories` is a SELECT of (code, ord) in code-list order; `unknown` is
    added when some person-year of the population has it (`pop.c_NAME`).
    With `groups` (a SELECT of (code, ord)), the groups follow, then `_T`.
    """
    unknown = f"EXISTS (SELECT 1 FROM pop WHERE c_{name} = 'unknown')"
    parts = [f"SELECT code, 0 AS level, ord AS pos FROM ({categories})",
             f"SELECT 'unknown', 0, 100000 WHERE {unknown}"]
    total_level = 1
    if groups:
        parts += [f"SELECT code, 1, 200000 + ord FROM ({groups})",
                  f"SELECT 'unknown', 1, 300000 WHERE {unknown}"]
        total_level = 2
    parts.append(f"SELECT '_T', {total_level}, 400000")
    return f"d_{name} AS (\n  " + "\n  UNION ALL ".join(parts) + "\n)"


def values_sql(codes):
    return " UNION ALL ".join(f"SELECT '{c}' AS code, {i} AS ord" for i, c in enumerate(codes))


def overlap_sql(eb, af, kommun, dst):
    """One DuckDB statement: the overlap cell table of overlap.toml, written to dst.

    Definitions (docs/study-file.md), for the person-years (p, 2023):
    - population: p has an EB row with a month in 2023 (rows without a month or
      municipality would be rejected, so they are left out too; codes are
      trimmed as the engine reads them); age
      2023 - birth_year in 18..64;
    - municipality and household: those of p's last EB month in 2023; among that
      month's rows (duplicates), the row with the largest amount (a missing
      amount is never the largest), then the first in file order
      (`file_row_number`);
    - long_term: at least 10 distinct EB months in 2023;
    - at_af: some EB month of p in 2023 is covered by an AF spell of p (a day of
      the month in the spell; an open spell runs to the end of the study
      period; spells ending before they start are rejected);
    - p's EB months and the months of 2023 covered by p's AF spells are 12-bit
      masks (`bit_or`), so neither needs a distinct (person, month) pass or a
      range join: long_term is a bit count, at_af a non-zero AND;
    - cells: every combination of levels (zero cells included), municipality
      rolled up to the county of the kommun code list; persons = contributors,
      households = distinct households of the contributors, record_key_sum =
      their record keys summed modulo 2^32.
    """
    lo, hi = AGE
    bands = "\n".join(f"      WHEN {YEAR} - p.birth_year BETWEEN {a} AND {b} THEN '{a}-{b}'" for a, b in BANDS)
    first, last = YEAR * 100 + 1, YEAR * 100 + 12
    spell_end = f"coalesce(slutdatum, DATE '{PERIOD_END}')"
    dims = ["municipality", "sex", "age_band", "long_term", "at_af"]
    plain = [d for d in dims if d != "municipality"]
    out_cols = []
    for d in dims:
        out_cols += [f"d_{d}.code AS {d}", f"d_{d}.level::UTINYINT AS {d}_level"]
    cell_cols = ",\n    ".join(
        [f"CASE WHEN grouping(c_{d}) = 0 THEN c_{d} ELSE '_T' END AS {d}, grouping(c_{d}) AS {d}_level"
         for d in plain])
    join_on = " AND ".join(f"c.{d} = d_{d}.code AND c.{d}_level = d_{d}.level" for d in dims)
    order = ", ".join(f"d_{d}.pos" for d in dims)
    return f"""
COPY (
WITH
kommun AS (
  SELECT code, county, row_number() OVER () - 1 AS ord
  FROM read_csv('{kommun}', header = true, all_varchar = true)
),
eb AS (
  SELECT pseudonym, record_key, birth_year, sex, period AS month, trim(kommun) AS kommun, hushall_id,
         coalesce(utbetalt, -9223372036854775807) AS amount, file_row_number AS rn
  FROM read_parquet('{eb}', file_row_number = true)
  WHERE period BETWEEN {first} AND {last} AND nullif(trim(kommun), '') IS NOT NULL
),
person AS (
  SELECT pseudonym,
         any_value(record_key) AS record_key,
         any_value(birth_year) AS birth_year,
         any_value(sex) AS sex,
         bit_or(1 << (month % 100 - 1)) AS eb_months,
         arg_max({{'kommun': kommun, 'household': hushall_id}}, (month, amount, -rn)) AS last_row
  FROM eb
  GROUP BY pseudonym
),
af AS (
  SELECT pseudonym,
         bit_or((1 << CASE WHEN {spell_end} > DATE '{YEAR}-12-31' THEN 12 ELSE month({spell_end}) END)
                - (1 << CASE WHEN startdatum < DATE '{YEAR}-01-01' THEN 0 ELSE month(startdatum) - 1 END))
           AS af_months
  FROM read_parquet('{af}')
  WHERE startdatum IS NOT NULL AND (slutdatum IS NULL OR slutdatum >= startdatum)
    AND startdatum <= DATE '{YEAR}-12-31' AND {spell_end} >= DATE '{YEAR}-01-01'
  GROUP BY pseudonym
),
pop AS (
  SELECT p.record_key,
    p.last_row.household AS household,
    coalesce(k.code, 'unknown') AS c_municipality,
    coalesce(k.county, 'unknown') AS c_county,
    CASE p.sex WHEN 1 THEN 'men' WHEN 2 THEN 'women' ELSE 'unknown' END AS c_sex,
    CASE
{bands}
      ELSE 'unknown' END AS c_age_band,
    CASE WHEN bit_count(p.eb_months) >= {LONG_TERM_MONTHS} THEN 'yes' ELSE 'no' END AS c_long_term,
    CASE WHEN p.eb_months & coalesce(a.af_months, 0) <> 0 THEN 'yes' ELSE 'no' END AS c_at_af
  FROM person p
  LEFT JOIN kommun k ON k.code = p.last_row.kommun
  LEFT JOIN af a ON a.pseudonym = p.pseudonym
  WHERE {YEAR} - p.birth_year BETWEEN {lo} AND {hi}
),
cells AS (
  SELECT
    CASE WHEN grouping(c_municipality) = 0 THEN c_municipality
         WHEN grouping(c_county) = 0 THEN c_county ELSE '_T' END AS municipality,
    grouping(c_municipality) + grouping(c_county) AS municipality_level,
    {cell_cols},
    count(*) AS persons,
    sum(record_key) % 4294967296 AS record_key_sum,
    count(DISTINCT household) AS households
  FROM pop
  GROUP BY ROLLUP (c_county, c_municipality), CUBE ({", ".join(f"c_{d}" for d in plain)})
),
{dimension_sql("municipality", "SELECT code, ord FROM kommun",
               "SELECT county AS code, min(ord) AS ord FROM kommun GROUP BY county")},
{dimension_sql("sex", values_sql(["men", "women"]))},
{dimension_sql("age_band", values_sql([f"{a}-{b}" for a, b in BANDS]))},
{dimension_sql("long_term", values_sql(["no", "yes"]))},
{dimension_sql("at_af", values_sql(["no", "yes"]))}
SELECT {", ".join(out_cols)},
  coalesce(c.persons, 0)::UBIGINT AS persons,
  coalesce(c.record_key_sum, 0)::UINTEGER AS record_key_sum,
  coalesce(c.households, 0)::UBIGINT AS households
FROM d_municipality, d_sex, d_age_band, d_long_term, d_at_af
LEFT JOIN cells c ON {join_on}
ORDER BY {order}
) TO '{dst}' (FORMAT parquet, COMPRESSION snappy)
"""


DUCK = """
import duckdb, json, os, sys, time
con = duckdb.connect()
con.execute(f"SET threads TO {len(os.sched_getaffinity(0))}")
con.execute("SET enable_progress_bar = false")
sql = open(sys.argv[1]).read()
start = time.perf_counter()
con.execute(sql)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

CHECK = """
import duckdb, json, sys
ours, theirs = sys.argv[1], sys.argv[2]
dims = ["municipality", "sex", "age_band", "long_term", "at_af"]
keys = ", ".join(f"{d}, {d}_level" for d in dims)
con = duckdb.connect()
con.execute(f\"\"\"CREATE TABLE j AS
  SELECT {keys}, r.persons AS r_persons, d.persons AS d_persons,
         r.households AS r_households, d.households AS d_households,
         r.record_key_sum AS r_key, d.record_key_sum AS d_key, r.file_row_number AS r_row,
         d.file_row_number AS d_row
  FROM (SELECT {keys}, persons, households, record_key_sum, file_row_number
        FROM read_parquet('{ours}', file_row_number = true)) r
  FULL OUTER JOIN read_parquet('{theirs}', file_row_number = true) d USING ({keys})\"\"\")
def one(q):
    return con.execute(q).fetchone()[0]
def examples(cond):
    cols = ", ".join(dims) + ", r_persons, d_persons, r_households, d_households"
    rows = con.execute(f"SELECT {cols} FROM j WHERE {cond} ORDER BY d_persons DESC NULLS LAST LIMIT 5").fetchall()
    return [dict(zip(dims + ["reglink_persons", "duckdb_persons", "reglink_households", "duckdb_households"], r))
            for r in rows]
persons = "r_persons IS DISTINCT FROM d_persons"
print(json.dumps({
    "cells_reglink": one(f"SELECT count(*) FROM read_parquet('{ours}')"),
    "cells_duckdb": one(f"SELECT count(*) FROM read_parquet('{theirs}')"),
    "only_reglink": one("SELECT count(*) FROM j WHERE d_persons IS NULL"),
    "only_duckdb": one("SELECT count(*) FROM j WHERE r_persons IS NULL"),
    "nonzero_cells": one("SELECT count(*) FROM j WHERE r_persons > 0 OR d_persons > 0"),
    "total_persons": one("SELECT max(d_persons) FROM j"),
    "cells_in_another_row": one("SELECT count(*) FROM j WHERE r_row IS DISTINCT FROM d_row"),
    "persons_mismatches": one(f"SELECT count(*) FROM j WHERE {persons}"),
    "households_mismatches": one("SELECT count(*) FROM j WHERE r_households IS DISTINCT FROM d_households"),
    "record_key_sum_mismatches": one("SELECT count(*) FROM j WHERE r_key IS DISTINCT FROM d_key"),
    "persons_examples": examples(persons),
    "households_examples": examples("r_households IS DISTINCT FROM d_households"),
}, default=str))
"""


def link(study, out):
    if out.exists():
        shutil.rmtree(out)
    return run_rss([RELEASE / "reglink", "--quiet", "link", study, "--out", out])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="national", choices=["tiny", "municipality", "national"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-reglink", action="store_true",
                    help="time DuckDB alone (no cross-check); for when `reglink link` is not built")
    ap.add_argument("--no-build", action="store_true", help="use target/release/reglink as it is")
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        ensure_built(["reglink"])
    data = ensure_data(args.preset)
    key = ensure_key()
    pseudo = ensure_pseudonymised(data, key)
    study = ensure_study(data)
    py, duck_version = ensure_duckdb()

    duck_out = OUT / f"duck-overlap-{args.preset}.parquet"
    sql_file = OUT / f"overlap-{args.preset}.sql"
    sql_file.write_text(overlap_sql(pseudo / "eb.parquet", pseudo / "af.parquet",
                                    data / "codelists" / "kommun.csv", duck_out))
    tmp = tempfile.mkdtemp(prefix="link-", dir=OUT)
    link_out = Path(tmp) / "out"

    best = {"reglink": None, "duckdb": None, "duckdb_process": None}
    rss = {"reglink": 0.0, "duckdb": 0.0}
    try:
        for i in range(args.repeat):
            this = {"reglink": None}
            if not args.skip_reglink:
                wall, rss_i, _ = link(study, link_out)
                rss["reglink"] = max(rss["reglink"], rss_i)
                this["reglink"] = wall

            wall, rss_i, out = run_rss([py, "-c", DUCK, sql_file])
            rss["duckdb"] = max(rss["duckdb"], rss_i)
            this["duckdb_process"] = wall
            # The ratio uses the statement alone, without Python's start and `import duckdb`.
            this["duckdb"] = json.loads(out)["seconds"]
            for k, v in this.items():
                if v is not None:
                    best[k] = min(best[k] or v, v)
            shown = {k: f"{v:.2f} s" if v else "-" for k, v in this.items()}
            print(f"  round {i + 1}: reglink {shown['reglink']}, duckdb {shown['duckdb']} "
                  f"({shown['duckdb_process']} with Python's start)", flush=True)

        check = None
        if not args.skip_reglink:
            _, out = run([py, "-c", CHECK, link_out / "cells" / "overlap.parquet", duck_out])
            check = json.loads(out)
            report = json.loads((link_out / "linkage-report.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    results = {
        "preset": args.preset,
        "cores": len(os.sched_getaffinity(0)),
        "duckdb_version": duck_version,
        "reglink_seconds": best["reglink"],
        "duckdb_seconds": best["duckdb"],
        "duckdb_process_seconds": best["duckdb_process"],
        "ratio_duckdb_time_vs_reglink_time": best["duckdb"] / best["reglink"] if best["reglink"] else None,
        "peak_rss_mib": rss,
        "cross_check": check,
    }
    if check is not None:
        keep = ["rows_read", "rows_used", "rows_rejected", "rows_outside_period", "duplicates", "distinct_persons"]
        results["linkage"] = {
            "sources": {name: {k: src[k] for k in keep} for name, src in report["sources"].items()},
            "populations": report["populations"],
        }
    (OUT / f"results-link-{args.preset}.json").write_text(json.dumps(results, indent=2))
    print()
    print(f"overlap table ({args.preset}), {results['cores']} cores, DuckDB {duck_version}")
    if best["reglink"]:
        print(f"  reglink link + tabulate   {best['reglink']:8.2f} s   peak RSS {rss['reglink']:7.0f} MiB")
    print(f"  DuckDB, one SQL statement {best['duckdb']:8.2f} s   peak RSS {rss['duckdb']:7.0f} MiB   "
          f"({best['duckdb_process']:.2f} s with Python's start and import)")
    if not best["reglink"]:
        return
    ratio = results["ratio_duckdb_time_vs_reglink_time"]
    print(f"ratio DuckDB time / reglink time: {ratio:.2f}  (bar: >= 2)")
    print(f"peak RSS of reglink link: {rss['reglink']:.0f} MiB  (bar: < 3072 MiB)")
    bad = {k: check[f"{k}_mismatches"] for k in ("persons", "households", "record_key_sum")}
    bad["missing cells"] = check["only_reglink"] + check["only_duckdb"]
    bad["cells in another row"] = check["cells_in_another_row"]
    print(f"cross-check: {check['cells_reglink']:,} cells from reglink, {check['cells_duckdb']:,} from DuckDB, "
          f"{check['nonzero_cells']:,} non-zero, {check['total_persons']:,} person-years in all")
    if not any(bad.values()):
        print("cross-check: OK (same cells in the same order; persons, households and record_key_sum agree)")
        return
    print("cross-check: MISMATCH " + ", ".join(f"{k} {v:,}" for k, v in bad.items()))
    for kind in ("persons", "households"):
        for ex in check[f"{kind}_examples"]:
            print(f"  {kind}: {ex}")
    sys.exit(1)


if __name__ == "__main__":
    main()
