#!/usr/bin/env python3
"""Linking in bounded memory: `reglink link` of the example study at several
`--rows-in-memory`, side by side in one run.

On the synthetic registers of a preset (EB, AF and LISA from `reglink synth`,
pseudonymised as compare_link.py does, reused from benches/out/PRESET/), the
example study (fixtures/studies/example/study.toml, its code lists pointed at
the preset's) is linked once with everything in memory and once per limit
given, alternating `--repeat` times; the script prints each run's best time
and largest peak RSS (wait4), and checks that every run's cell tables and
linkage report are byte-identical to the in-memory run's (a difference exits
non-zero after the figures).

    python3 benches/compare_memory.py                          # national, 4 M and 1 M rows
    python3 benches/compare_memory.py --preset municipality --limit 62500 --repeat 1

Results go to benches/out/results-memory-PRESET.json.
"""

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

from compare import OUT, RELEASE, ROOT, ensure_built, ensure_data, ensure_key, run_rss
from compare_link import ensure_pseudonymised

EXAMPLE = ROOT / "fixtures" / "studies" / "example" / "study.toml"
EVERYTHING = 10**12


def ensure_study(data):
    """The example study beside the preset's data, its code lists in codelists/."""
    study = data / "example.toml"
    study.write_text(EXAMPLE.read_text().replace('"raw/codelists/', '"codelists/'))
    return study


def same_output(a, b):
    """Whether two `reglink link` outputs hold the same cell tables and report."""
    cells = sorted(p.name for p in (a / "cells").iterdir())
    if cells != sorted(p.name for p in (b / "cells").iterdir()):
        return False
    files = [Path("cells") / c for c in cells] + [Path("linkage-report.json")]
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="national", choices=["tiny", "municipality", "national"])
    ap.add_argument("--limit", type=int, action="append",
                    help="a --rows-in-memory to run (repeatable; default 4000000 and 1000000)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-build", action="store_true", help="use target/release/reglink as it is")
    args = ap.parse_args()
    limits = args.limit or [4_000_000, 1_000_000]

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        ensure_built(["reglink"])
    data = ensure_data(args.preset)
    ensure_pseudonymised(data, ensure_key())
    study = ensure_study(data)
    tmp = Path(tempfile.mkdtemp(prefix="memory-", dir=OUT))
    runs = [EVERYTHING] + limits
    best = {n: None for n in runs}
    rss = {n: 0.0 for n in runs}
    identical = {}
    try:
        for i in range(args.repeat):
            for n in runs:
                out = tmp / f"rows-{n}"
                if out.exists():
                    shutil.rmtree(out)
                wall, peak, _ = run_rss([RELEASE / "reglink", "--quiet", "link", study, "--out", out,
                                         "--rows-in-memory", str(n)])
                best[n] = min(best[n] or wall, wall)
                rss[n] = max(rss[n], peak)
                print(f"  round {i + 1}: --rows-in-memory {n}: {wall:.2f} s, {peak:.0f} MiB", flush=True)
        for n in limits:
            identical[n] = same_output(tmp / f"rows-{EVERYTHING}", tmp / f"rows-{n}")
        rows = sum(s["rows_read"] for s in json.loads(
            (tmp / f"rows-{EVERYTHING}" / "linkage-report.json").read_text())["sources"].values())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.preset}: example study, {rows:,} source rows\n")
    print("| `--rows-in-memory` | time (best) | peak RSS (largest) | output |")
    print("|---:|---:|---:|---|")
    for n in runs:
        label = "everything at once" if n == EVERYTHING else f"{n:,}"
        same = "(reference)" if n == EVERYTHING else ("identical" if identical[n] else "DIFFERS")
        print(f"| {label} | {best[n]:.2f} s | {rss[n]:,.0f} MiB | {same} |")
    (OUT / f"results-memory-{args.preset}.json").write_text(json.dumps({
        "preset": args.preset, "rows": rows,
        "runs": [{"rows_in_memory": n, "seconds": best[n], "peak_rss_mib": rss[n],
                  "identical": identical.get(n, True)} for n in runs],
    }, indent=2) + "\n")
    if not all(identical.values()):
        sys.exit("a bounded-memory run's output differs from the in-memory run's")


if __name__ == "__main__":
    main()
