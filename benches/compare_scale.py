#!/usr/bin/env python3
"""Linking in bounded memory as the input grows: `reglink link` of the example study on 1, 2, 4, ... times
the registers of a preset, at one `--rows-in-memory`, side by side in one run.

A K times larger input is K disjoint copies of the preset's pseudonymised extracts in one file per extract
(`reglink-replicate make`: each copy's pseudonyms XORed with a mask of its own and its EB household ids moved,
so the copies are K populations of the same shape, as K countries' registers would be). The synthetic
generator cannot make a K times larger country itself: its personnummer run out at a few times Sweden's
size. Every run's cell tables are checked against the single copy's (`reglink-replicate check`: every
cell's persons exactly K times), and the script prints each size's time and peak RSS (wait4) with the
ratios to the single copy.

    python3 benches/compare_scale.py                                     # national x1, x2, x4, x8
    python3 benches/compare_scale.py --preset municipality --copies 1 --copies 10 --rows-in-memory 62500

Disk: each copy of the national extracts is about 0.55 GB, and linking sets about 2.2 GB of rows per copy
aside in its scratch folder while it runs, so x8 needs about 22 GB free. Copies are removed after their
run unless --keep. Results go to benches/out/results-scale-PRESET.json.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from compare import OUT, RELEASE, ensure_built, ensure_data, ensure_key, run_rss
from compare_link import ensure_pseudonymised
from compare_memory import ensure_study


def scaled_study(data, folder):
    """The example study reading the extracts in `folder`, code lists from the preset's."""
    text = (data / "example.toml").read_text()
    text = text.replace('"codelists/', f'"{(data / "codelists").as_posix()}/')
    text = text.replace('"pseudonymised/', f'"{folder.as_posix()}/')
    study = folder / "example.toml"
    study.write_text(text)
    return study


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="national", choices=["tiny", "municipality", "national"])
    ap.add_argument("--copies", type=int, action="append", help="input sizes to run (repeatable; default 1 2 4 8)")
    ap.add_argument("--rows-in-memory", type=int, default=4_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the copies in benches/out/PRESET-xK")
    ap.add_argument("--no-build", action="store_true", help="use target/release as it is")
    args = ap.parse_args()
    sizes = sorted(set(args.copies or [1, 2, 4, 8]))
    if 1 not in sizes:
        sizes = [1] + sizes

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        ensure_built(["reglink", "reglink-benches"])
    data = ensure_data(args.preset)
    pseudonymised = ensure_pseudonymised(data, ensure_key())
    ensure_study(data)
    tmp = Path(tempfile.mkdtemp(prefix="scale-", dir=OUT))
    results = []
    try:
        for k in sizes:
            folder = OUT / f"{args.preset}-x{k}"
            if k == 1:
                study = data / "example.toml"
            else:
                if not (folder / "lisa.parquet").exists():
                    print(f"writing {k} copies of {args.preset} ...", flush=True)
                    subprocess.run([RELEASE / "reglink-replicate", "make", "--in", pseudonymised,
                                    "--out", folder, "--copies", str(k)], check=True, stdout=subprocess.DEVNULL)
                study = scaled_study(data, folder)
            out = tmp / f"x{k}"
            wall, peak, _ = run_rss([RELEASE / "reglink", "--quiet", "link", study, "--out", out,
                                     "--rows-in-memory", str(args.rows_in_memory)])
            report = json.loads((out / "linkage-report.json").read_text())
            rows = sum(s["rows_read"] for s in report["sources"].values())
            check = "(reference)"
            if k != 1:
                proc = subprocess.run([RELEASE / "reglink-replicate", "check", "--base", tmp / "x1",
                                       "--scaled", out, "--copies", str(k)], capture_output=True, text=True)
                check = "every cell x%d" % k if proc.returncode == 0 else "DIFFERS: " + proc.stderr.strip()
                shutil.rmtree(out)
                if not args.keep:
                    shutil.rmtree(folder, ignore_errors=True)
            print(f"  x{k}: {rows:,} rows, {wall:.2f} s, {peak:.0f} MiB, {check}", flush=True)
            results.append({"copies": k, "rows": rows, "seconds": wall, "peak_rss_mib": peak, "check": check})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            for k in sizes:
                if k != 1:
                    shutil.rmtree(OUT / f"{args.preset}-x{k}", ignore_errors=True)

    base = results[0]
    print(f"\n{args.preset}: example study, --rows-in-memory {args.rows_in_memory:,}\n")
    print("| input | source rows | `reglink link` | time / x1 | peak RSS | RSS / x1 | cell tables |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| x{r['copies']} | {r['rows']:,} | {r['seconds']:.1f} s | {r['seconds'] / base['seconds']:.2f} "
              f"| {r['peak_rss_mib']:,.0f} MiB | {r['peak_rss_mib'] / base['peak_rss_mib']:.2f} | {r['check']} |")
    (OUT / f"results-scale-{args.preset}.json").write_text(json.dumps({
        "preset": args.preset, "rows_in_memory": args.rows_in_memory, "runs": results}, indent=2) + "\n")
    if any(r["check"].startswith("DIFFERS") for r in results):
        sys.exit("a larger input's cell tables are not the copies' sum")


if __name__ == "__main__":
    main()
