#!/usr/bin/env python3
"""Side-by-side comparison for `reglink pseudonymise` against the raw keyed-BLAKE3 baseline and DuckDB.

Runs, on one machine in one go, over the same LISA-style Parquet extract:

1. `reglink pseudonymise` (Parquet in, Parquet out, reject report), and the
   same with `--reencode` (the general path, every column decoded and encoded
   again) to show what the Parquet fast path buys,
2. bare keyed BLAKE3 over the same ids, already normalised (`reglink-bench
   raw-blake3`): the ceiling for any keyed-BLAKE3 pseudonymiser,
3. DuckDB (from PyPI, installed into benches/out/venv by this script)
   computing `sha256(salt || PersonNr)` into Parquet,

alternating them `--repeat` times and keeping each one's best, then
prints both ratios. It also records the peak RSS of `pseudonymise` on the
`municipality` and `national` extracts to show memory stays flat.

    python3 benches/compare.py                 # national (default)
    python3 benches/compare.py --preset municipality --repeat 1   # quick check

Generated data and results live in benches/out/ (git-ignored).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benches" / "out"
RELEASE = ROOT / "target" / "release"


def run(cmd):
    """Runs cmd, returns (wall seconds, stdout)."""
    wall, _, out = run_rss(cmd)
    return wall, out


def run_rss(cmd):
    """Runs cmd, returns (wall seconds, peak RSS MiB, stdout) using wait4."""
    start = time.perf_counter()
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would accumulate).
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        err_file.seek(0)
        err = err_file.read()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{err.decode()}")
    return wall, usage.ru_maxrss / 1024.0, out.decode()


def ensure_built(packages=("reglink", "reglink-benches")):
    cmd = ["cargo", "build", "--release", "--bins"]
    for package in packages:
        cmd += ["-p", package]
    subprocess.run(cmd, cwd=ROOT, check=True)


def ensure_data(preset):
    data = OUT / preset
    if not (data / "synth.json").exists():
        print(f"generating {preset} extracts (once) ...", flush=True)
        wall, _ = run([RELEASE / "reglink", "--quiet", "synth", "--preset", preset, "--seed", "1",
                       "--format", "parquet", "--out", data])
        print(f"  synth {preset}: {wall:.1f} s", flush=True)
    return data


def ensure_key():
    key = OUT / "bench.key"
    if not key.exists():
        run([RELEASE / "reglink", "--quiet", "key", "new", "--out", key])
    return key


def ensure_duckdb():
    venv = OUT / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    probe = subprocess.run([py, "-c", "import duckdb"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", "duckdb"], check=True)
    version = subprocess.run([py, "-c", "import duckdb; print(duckdb.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return py, version


DUCK = """
import duckdb, sys
src, dst = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"SET threads TO {len(__import__('os').sched_getaffinity(0))}")
con.execute(f\"\"\"COPY (SELECT sha256('reglink-bench-public-salt' || PersonNr) AS pseudonym,
                     * EXCLUDE (PersonNr) FROM read_parquet('{src}'))
                TO '{dst}' (FORMAT parquet, COMPRESSION snappy)\"\"\")
"""


def pseudonymise(data, key, tag, reencode=False):
    """`reglink pseudonymise` on the LISA-style extract: the Parquet fast path, or
    with `reencode` the general path that decodes and re-encodes every column."""
    tag = f"{tag}-reencode" if reencode else tag
    out = OUT / f"pseudo-{tag}.parquet"
    # Every round writes the same file again: --force replaces it.
    wall, rss, _ = run_rss([RELEASE / "reglink", "--quiet", "pseudonymise", "--key", key,
                            "--study", "bench", "--id-column", "PersonNr",
                            "--in", data / "lisa.parquet", "--out", out,
                            "--reference-date", "2026-06-30", "--force"]
                           + (["--reencode"] if reencode else []))
    report = json.loads((OUT / f"pseudo-{tag}.rejects.json").read_text())
    assert report["rows_in"] == report["rows_out"] + report["rows_rejected"]
    return wall, rss, report["rows_in"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="national", choices=["municipality", "national"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    ensure_built()
    data = ensure_data(args.preset)
    key = ensure_key()
    py, duck_version = ensure_duckdb()
    lisa = data / "lisa.parquet"
    bench = RELEASE / "reglink-bench"

    best = {"reglink": None, "reencode": None, "raw": None, "duckdb": None}
    rss = rss_reencode = rows = None
    for i in range(args.repeat):
        wall, rss_i, rows = pseudonymise(data, key, args.preset)
        rss = max(rss or 0, rss_i)
        best["reglink"] = min(best["reglink"] or wall, wall)

        wall, rss_i, _ = pseudonymise(data, key, args.preset, reencode=True)
        rss_reencode = max(rss_reencode or 0, rss_i)
        best["reencode"] = min(best["reencode"] or wall, wall)

        _, out = run([bench, "raw-blake3", lisa, "--column", "PersonNr", "--repeat", "1"])
        raw = json.loads(out)
        if best["raw"] is None or raw["seconds"] < best["raw"]["seconds"]:
            best["raw"] = raw

        wall, _, _ = run_rss([py, "-c", DUCK, lisa, OUT / f"duck-{args.preset}.parquet"])
        best["duckdb"] = min(best["duckdb"] or wall, wall)
        print(f"  round {i + 1}: reglink {best['reglink']:.2f} s, "
              f"reglink --reencode {best['reencode']:.2f} s, raw {best['raw']['seconds']:.2f} s, "
              f"duckdb {best['duckdb']:.2f} s (best so far)", flush=True)

    reglink_tput = rows / best["reglink"]
    raw_tput = best["raw"]["ids_per_second"]
    memory = {args.preset: rss}
    memory_reencode = {args.preset: rss_reencode}
    if args.preset == "national":
        small = ensure_data("municipality")
        _, memory["municipality"], _ = pseudonymise(small, key, "municipality")
        _, memory_reencode["municipality"], _ = pseudonymise(small, key, "municipality", reencode=True)

    results = {
        "preset": args.preset,
        "rows": rows,
        "cores": len(os.sched_getaffinity(0)),
        "duckdb_version": duck_version,
        "reglink_seconds": best["reglink"],
        "reglink_rows_per_second": reglink_tput,
        "reglink_reencode_seconds": best["reencode"],
        "raw_keyed_blake3_seconds": best["raw"]["seconds"],
        "raw_keyed_blake3_ids_per_second": raw_tput,
        "duckdb_sha256_seconds": best["duckdb"],
        "ratio_reglink_vs_raw_blake3": reglink_tput / raw_tput,
        "ratio_duckdb_time_vs_reglink_time": best["duckdb"] / best["reglink"],
        "peak_rss_mib": memory,
        "peak_rss_mib_reencode": memory_reencode,
    }
    (OUT / f"results-{args.preset}.json").write_text(json.dumps(results, indent=2))
    print()
    print(f"LISA-style extract ({args.preset}): {rows:,} rows, {results['cores']} cores, DuckDB {duck_version}")
    print(f"  reglink pseudonymise      {best['reglink']:8.2f} s  {reglink_tput / 1e6:7.2f} M rows/s")
    print(f"  ... with --reencode       {best['reencode']:8.2f} s  {rows / best['reencode'] / 1e6:7.2f} M rows/s"
          "  (general path: every column decoded and encoded)")
    print(f"  raw keyed BLAKE3 (ceiling){best['raw']['seconds']:8.2f} s  {raw_tput / 1e6:7.2f} M ids/s")
    print(f"  DuckDB sha256(salt||pnr)  {best['duckdb']:8.2f} s")
    print(f"ratio reglink / raw keyed BLAKE3 throughput: {results['ratio_reglink_vs_raw_blake3']:.2f}  (bar: >= 0.60)")
    print(f"ratio DuckDB time / reglink time:            {results['ratio_duckdb_time_vs_reglink_time']:.2f}  (bar: > 1)")
    print("peak RSS of pseudonymise: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in memory.items()))
    print("  ... with --reencode:     " + ", ".join(f"{k} {v:.0f} MiB" for k, v in memory_reencode.items()))


if __name__ == "__main__":
    main()
