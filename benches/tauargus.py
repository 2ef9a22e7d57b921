#!/usr/bin/env python3
"""Side-by-side comparison of reglink's secondary suppression with τ-ARGUS.

On the overlap table of benches/studies/overlap.toml (EB recipients aged
18-64 in 2023 by municipality -> county -> nation, sex, age band, long_term,
at_af; counts of persons) and its 4- and 3-dimension variants (3-D:
municipality x sex x age_band; 4-D: + long_term; 5-D: + at_af), each table
protected on its own, at each threshold T (cells with 1..T-1 persons are
primary; every primary cell needs an attacker interval at least T wide):

1. builds `reglink` and `tauargus-compare` (release), generates the synthetic
   extracts (`reglink synth`, seed 1) and pseudonymises them as
   compare_link.py does (reusing benches/out/PRESET/ when it is there), and
   writes the study with the three tables (benches/out/PRESET/tauargus.toml);
2. `tauargus-compare prepare`: links and tabulates once, protects each table
   with `reglink_protect::protect` (timed), checks reglink's pattern with the
   attacker's LP, and writes each table in τ-ARGUS's tabular format (.tab,
   .rda, .hrc; a primary cell of value v gets LPL = v and UPL = T - v, so it
   must reach [0, T]; a cell's cost is its value);
3. runs τ-ARGUS (pytauargus from PyPI, in benches/out/venv-tauargus) with
   Modular (HiTaS) and Optimal on each table, each call in its own process
   and fresh working folder, under a time limit;
4. `tauargus-compare check`: reads back every τ-ARGUS pattern and checks it
   with the same attacker LP;
5. prints, per table and T, per method: secondary cells, suppressed persons
   (the sum of the secondary cells' values), % of cells suppressed (primary
   and secondary), time, and whether the pattern protects every primary cell.

    python3 benches/tauargus.py              # municipality and national (about an hour)
    python3 benches/tauargus.py --quick      # municipality only (a few minutes)

Everything generated lives in benches/out/ (git-ignored); the figures in
benches/out/results-tauargus-PRESET.json.
"""

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from compare import OUT, RELEASE, ROOT, ensure_built, ensure_data, ensure_key
from compare_link import STUDY, ensure_pseudonymised

VENV = OUT / "venv-tauargus"
PYTAUARGUS = "pytauargus==0.6.0"
BENCH = RELEASE / "tauargus-compare"

# The three tables: name, dimensions.
TABLES = [
    ("overlap3", ["municipality", "sex", "age_band"]),
    ("overlap4", ["municipality", "sex", "age_band", "long_term"]),
    ("overlap5", ["municipality", "sex", "age_band", "long_term", "at_af"]),
]

# Runs one .arb batch in the current folder and prints its own time as JSON.
RUNNER = """
import json, sys, time
from pytauargus.engine import run_batch
start = time.perf_counter()
run_batch(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def ensure_tauargus():
    """A venv of its own with pytauargus from PyPI; returns (python, version)."""
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    probe = subprocess.run([py, "-c", "import pytauargus"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", PYTAUARGUS], check=True)
    version = subprocess.run([py, "-c", "import pytauargus; print(pytauargus.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return py, version


def write_study(data, tables):
    """benches/studies/overlap.toml with its one table replaced by the
    variants (persons only), beside the data its paths name."""
    text = STUDY.read_text()
    head = text[:text.index("[[tables]]")]
    for name, dims in TABLES:
        if name not in tables:
            continue
        head += (f'[[tables]]\nname = "{name}"\npopulation = "eb_adults_2023"\n'
                 f'dimensions = {json.dumps(dims)}\n'
                 'measures = [{ name = "persons", kind = "persons" }]\n\n')
    study = data / "tauargus.toml"
    study.write_text(head)
    return study


def json_lines(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def arb(table_dir, dims, method, minutes):
    """The batch: read the table with the given status, suppress, write the
    result with each cell's status."""
    spec = "".join(f'"{d}"' for d in dims)
    suppress = f"MOD(1,{minutes},1,0,0)" if method == "modular" else f"OPT(1,{minutes})"
    return (f'<OPENTABLEDATA> "{table_dir / "table.tab"}"\n'
            f'<OPENMETADATA> "{table_dir / "table.rda"}"\n'
            f'<SPECIFYTABLE> {spec}|"persons"||\n'
            "<SAFETYRULE>\n"
            "<READTABLE> 0\n"
            f"<SUPPRESS> {suppress}\n"
            f'<WRITETABLE> (1,5,SO+,"{table_dir / f"result-{method}.txt"}")\n')


def run_tauargus(py, table_dir, dims, method, minutes, wall_seconds):
    """One τ-ARGUS call in its own process and fresh folder (HiTaS writes its
    work files into the current folder, and stale ones change the result).
    Returns a dict: seconds, and `error` when it failed or ran out of time."""
    work = table_dir / f"run-{method}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = table_dir / f"result-{method}.txt"
    result.unlink(missing_ok=True)
    batch = work / "batch.arb"
    batch.write_text(arb(table_dir, dims, method, minutes))
    start = time.perf_counter()
    with open(work / "log.txt", "w") as log:
        try:
            proc = subprocess.run([py, "-c", RUNNER, batch], cwd=work, stdout=subprocess.PIPE,
                                  stderr=log, text=True, timeout=wall_seconds)
        except subprocess.TimeoutExpired:
            result.unlink(missing_ok=True)
            return {"seconds": time.perf_counter() - start, "error": f"no result in {wall_seconds / 60:.0f} min"}
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not result.exists():
        result.unlink(missing_ok=True)
        last = (work / "log.txt").read_text().strip().splitlines()[-1:] or ["no message"]
        return {"seconds": wall, "error": f"failed (exit {proc.returncode}): {last[0][:160]}"}
    try:
        seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    except (ValueError, IndexError, KeyError):
        seconds = wall
    return {"seconds": seconds}


def fmt_time(s):
    return f"{s:.2f} s" if s < 10 else f"{s:.0f} s"


def verdict(r):
    if r.get("note"):
        return r["note"]
    if r["protected"]:
        return "protected"
    parts = []
    if r["under_protected"]:
        parts.append(f"{r['under_protected']:,} cells under-protected")
    if r["undecided"]:
        parts.append(f"{r['undecided']:,} undecided")
    return "NO: " + ", ".join(parts)


def row(r):
    """One line of the side-by-side table."""
    if r.get("error"):
        return f"| {r['label']} | {r['threshold']} | {r['method']} | – | – | – | {fmt_time(r['seconds'])} | {r['error']} |"
    pct = 100.0 * (r["primary"] + r["secondary"]) / r["cells"]
    return (f"| {r['label']} | {r['threshold']} | {r['method']} | {r['secondary']:,} | "
            f"{r['suppressed_persons']:,} | {pct:.1f} % | {fmt_time(r['seconds'])} | {verdict(r)} |")


def bars(rows):
    """The team's bars per table and T; returns lines."""
    out = []
    keyed = {}
    for r in rows:
        keyed.setdefault((r["label"], r["threshold"]), {})[r["method"]] = r
    for (label, t), m in keyed.items():
        ours = m.get("reglink")
        if not ours:
            continue
        checks = []
        mod, opt = m.get("Modular"), m.get("Optimal")
        if mod and not mod.get("error") and mod["protected"]:
            ok = ours["suppressed_persons"] <= mod["suppressed_persons"]
            checks.append(f"persons ≤ Modular's: {'met' if ok else 'NOT met'} "
                          f"({ours['suppressed_persons']:,} vs {mod['suppressed_persons']:,})")
            ok = ours["secondary"] <= mod["secondary"]
            checks.append(f"secondary cells ≤ Modular's: {'met' if ok else 'NOT met'} "
                          f"({ours['secondary']:,} vs {mod['secondary']:,})")
        else:
            checks.append("no protected Modular result to compare")
        if opt and not opt.get("error"):
            ok = ours["suppressed_persons"] <= 1.2 * opt["suppressed_persons"]
            ratio = (f"{ours['suppressed_persons'] / opt['suppressed_persons']:.2f} ×"
                     if opt["suppressed_persons"] else f"{ours['suppressed_persons']:,} vs 0")
            checks.append(f"persons ≤ 1.2 × Optimal's: {'met' if ok else 'NOT met'} ({ratio})")
        else:
            checks.append("Optimal did not finish")
        if not ours["protected"]:
            checks.append("reglink's pattern is NOT protected")
        out.append(f"- {label}, T = {t}: " + "; ".join(checks))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the municipality preset only")
    ap.add_argument("--preset", action="append", choices=["municipality", "national"],
                    help="preset(s) to run (default: municipality and national)")
    ap.add_argument("--threshold", type=int, action="append", help="thresholds T (default: 3 and 10)")
    ap.add_argument("--table", action="append", choices=[name for name, _ in TABLES],
                    help="table(s) to run (default: all three)")
    ap.add_argument("--mod-minutes", type=int, default=5,
                    help="Modular's time limit per subtable, in minutes (default 5)")
    ap.add_argument("--opt-minutes", type=int, default=8,
                    help="Optimal's time limit, in minutes (default 8)")
    ap.add_argument("--opt-max-cells", type=int, default=20000,
                    help="skip Optimal on larger tables, which do not finish (default 20000: "
                         "national 5-D is skipped); 0 runs it everywhere")
    ap.add_argument("--wall-factor", type=float, default=2.0,
                    help="kill a τ-ARGUS call after this many times its time limit, plus a minute")
    ap.add_argument("--exact-limit", type=int, default=1000,
                    help="largest component (suppressed cells) the checker solves exactly where the "
                         "crate's audit leaves a cell unresolved (default 1000, the audit's own limit); "
                         "beyond it a cell is 'undecided'")
    ap.add_argument("--no-build", action="store_true",
                    help="use the release binaries already in target/release")
    ap.add_argument("--no-tauargus", action="store_true", help="reglink only")
    args = ap.parse_args()
    presets = ["municipality"] if args.quick else (args.preset or ["municipality", "national"])
    thresholds = args.threshold or [3, 10]

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        ensure_built(("reglink", "reglink-benches"))
    py, version = (None, None) if args.no_tauargus else ensure_tauargus()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "crates/reglink-protect"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    build = commit + (" (reglink-protect modified)" if dirty else "")
    key = ensure_key()
    t_args = [a for t in thresholds for a in ("--threshold", str(t))]
    t_args += ["--exact-limit", str(args.exact_limit)]
    all_rows = []
    for preset in presets:
        data = ensure_data(preset)
        ensure_pseudonymised(data, key)
        study = write_study(data, args.table or [name for name, _ in TABLES])
        out = OUT / f"tauargus-{preset}"
        shutil.rmtree(out, ignore_errors=True)
        print(f"{preset}: reglink (link, tabulate, protect each table, check) ...", flush=True)
        ours = json_lines([BENCH, "prepare", study, "--out", out] + t_args)
        rows = []
        for r in ours:
            dims = r["dimensions"]
            r["label"] = f"{preset} {dims}-D ({r['cells']:,})"
            rows.append(r)
            print(f"  {r['label']} T={r['threshold']}: {r['secondary']:,} secondary, "
                  f"{r['seconds']:.2f} s (the check {r.get('check_seconds', 0):.1f} s), {verdict(r)}", flush=True)
        timings = {}
        if not args.no_tauargus:
            for r in ours:
                table_dir = Path(r["dir"])
                dims = dict(TABLES)[r["table"]]
                for method, minutes in (("modular", args.mod_minutes), ("optimal", args.opt_minutes)):
                    tag = f"  τ-ARGUS {method} on {r['label']} T={r['threshold']}"
                    if method == "optimal" and args.opt_max_cells and r["cells"] > args.opt_max_cells:
                        timings[(r["table"], r["threshold"], method)] = {
                            "seconds": 0.0, "error": f"not run: does not finish (over {args.opt_max_cells:,} cells)"}
                        print(f"{tag}: skipped", flush=True)
                        continue
                    print(f"{tag} ...", flush=True)
                    wall = minutes * 60 * args.wall_factor + 60
                    got = run_tauargus(py, table_dir, dims, method, minutes, wall)
                    timings[(r["table"], r["threshold"], method)] = got
                    print(f"    {fmt_time(got['seconds'])}" + (f", {got['error']}" if "error" in got else ""),
                          flush=True)
            theirs = json_lines([BENCH, "check", study, "--out", out] + t_args)
            checked = {(c["table"], c["threshold"], c["method"]): c for c in theirs}
            for r in ours:
                for method in ("modular", "optimal"):
                    k = (r["table"], r["threshold"], method)
                    got = dict(timings.get(k, {"seconds": 0.0, "error": "not run"}))
                    c = checked.get(k)
                    entry = {"label": r["label"], "table": r["table"], "threshold": r["threshold"],
                             "method": method.capitalize(), "cells": r["cells"], **got}
                    if c and "error" not in got:
                        entry.update(c)
                        entry["method"] = method.capitalize()
                        if not c["primaries_match"]:
                            entry["note"] = "primary cells differ from reglink's: input not read as meant"
                        elif c["secondary"] == 0 and c["primary"] > 0 and not c["protected"]:
                            entry["note"] = ("unprotected / not supported (success with no secondaries)"
                                             if method == "modular" else "unprotected (no secondaries)")
                    elif "error" not in got:
                        entry["error"] = "no result read back"
                    rows.append(entry)
        order = {"reglink": 0, "Modular": 1, "Optimal": 2}
        rows.sort(key=lambda r: (r["cells"], r["threshold"], order[r["method"]]))
        all_rows += rows
        (OUT / f"results-tauargus-{preset}.json").write_text(json.dumps(
            {"preset": preset, "date": datetime.date.today().isoformat(), "reglink_build": build,
             "pytauargus": version, "mod_minutes": args.mod_minutes, "opt_minutes": args.opt_minutes,
             "rows": rows}, indent=2, default=str))

    print()
    print(f"Measured {datetime.date.today().isoformat()}, reglink {build}, pytauargus {version}, "
          f"Modular limit {args.mod_minutes} min per subtable, Optimal limit {args.opt_minutes} min")
    print()
    print("| table (cells) | T | method | secondary cells | suppressed persons | % cells suppressed | time | protected? |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for r in all_rows:
        print(row(r))
    print()
    print("Bars (reglink against τ-ARGUS):")
    for line in bars(all_rows):
        print(line)


if __name__ == "__main__":
    main()
