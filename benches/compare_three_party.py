#!/usr/bin/env python3
"""Three-party pseudonymisation: what each role costs, beside single-key `pseudonymise`.

Runs, on one machine in one go, over the synthetic EB, AF and LISA-style
Parquet extracts of a preset (`reglink synth`, seed 1, generated once into
benches/out/PRESET/ as compare.py does):

1. `reglink-bench scalar-mul`: the bare ristretto255 operations, single-threaded
   (variable-base, two-term multiscalar and fixed-base scalar multiplication,
   hashing to the group, compression, decompression), and from them each role's
   per-person floor of curve arithmetic;
2. fresh keys for the three parties (`reglink key new-linker`, `new-keyholder`,
   `new-signing` per source) and the key holder's configuration (one study,
   the three sources with quotas of their extract's rows times the runs) in a
   scratch folder, benches/out/three-party-PRESET/;
3. for every thread count (RAYON_NUM_THREADS) and every extract, one after the
   other: single-key `reglink pseudonymise --crosswalk --derive` (the baseline,
   with the master key benches/out/bench.key), then the three roles:
   `reglink source encrypt --crosswalk --derive`, `reglink keyholder transcrypt`
   and `reglink linker open`, each timed (wall, CPU, peak RSS from wait4) with
   the persons it handled (its `--json` output);

then prints paste-ready markdown: per extract, thread count and role the wall
time, persons, persons per second (per thread too), peak RSS and how close the
role is to its floor of curve arithmetic; and the wall time of all three roles
over all three extracts per thread count, against the bar of 20 minutes for the
national preset at 2 threads per role. Persons are checked across roles, rows
written against the baseline's; a mismatch exits non-zero after printing the
figures.

    python3 benches/compare_three_party.py                           # national (default), threads 1,2
    python3 benches/compare_three_party.py --preset municipality     # quick check
    python3 benches/compare_three_party.py --threads 2 --no-build    # one thread count

Generated data and results live in benches/out/ (git-ignored): the extracts in
benches/out/PRESET/, the parties' keys and files in benches/out/three-party-PRESET/
(each run's large files are deleted once measured), results in
benches/out/results-three-party-PRESET.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from compare import OUT, RELEASE, ensure_built, ensure_data, ensure_key

STUDY = "bench"
EXTRACTS = [("eb", "personnr"), ("af", "personnummer"), ("lisa", "PersonNr")]
ROLES = ["source", "keyholder", "linker"]
ROLE_NAMES = {
    "baseline": "single-key `pseudonymise`",
    "source": "`source encrypt`",
    "keyholder": "`keyholder transcrypt`",
    "linker": "`linker open`",
}
BAR_SECONDS = 20 * 60
BAR_THREADS = 2

# Curve operations per distinct person, as transcrypt/group.rs does them.
# source: P = from_uniform_bytes(h), b·G and b·(X + Y) (two fixed-base tables), both halves
#   compressed;
# key holder: both halves decompressed, k·c1 (variable base), k·c2 - k·x·c1 (one two-term
#   multiscalar multiplication), r·G and r·Y (fixed base), both halves compressed;
# linker: both halves decompressed, y·c1 (variable base), c2 - y·c1 compressed.
# (Until 3e92ede sources encrypted to Y alone and the key holder did k·c2 as a second
# variable-base multiplication instead of the multiscalar one.)
FLOOR_OPS = {
    "source": {"from_uniform_bytes": 1, "fixed_base_mul_basepoint_table": 1,
               "fixed_base_mul_created_table": 1, "compress": 2},
    "keyholder": {"variable_base_mul": 1, "multiscalar_mul_2": 1, "fixed_base_mul_basepoint_table": 1,
                  "fixed_base_mul_created_table": 1, "decompress": 2, "compress": 2},
    "linker": {"variable_base_mul": 1, "decompress": 2, "compress": 1},
}
FLOOR_TEXT = {
    "source": "1 from_uniform_bytes + 2 fixed-base + 2 compress",
    "keyholder": "1 variable-base + 1 two-term multiscalar + 2 fixed-base + 2 decompress + 2 compress",
    "linker": "1 variable-base + 2 decompress + 1 compress",
}


def run_usage(cmd, threads=None, cwd=None):
    """Runs cmd (RAYON_NUM_THREADS=threads if given); returns
    (wall seconds, CPU seconds, peak RSS MiB, stdout) from this child's wait4."""
    env = dict(os.environ)
    if threads is not None:
        env["RAYON_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=err_file,
                                env=env, cwd=cwd)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        err_file.seek(0)
        err = err_file.read()
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"command failed ({code}): {' '.join(map(str, cmd))}\n{err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, out.decode()


def reglink(args, threads=None, cwd=None):
    return run_usage([RELEASE / "reglink", *args], threads=threads, cwd=cwd)


def make_parties(scratch, synth, runs):
    """Fresh keys for the linker, the key holder and one source per extract, and
    the key holder's configuration; quotas: the extract's rows times the runs."""
    if scratch.exists():
        shutil.rmtree(scratch)
    for d in ["linker", "keyholder", "sources", "runs"]:
        (scratch / d).mkdir(parents=True)
    reglink(["--quiet", "key", "new-linker", "--out", "linker/linker.key"], cwd=scratch)
    reglink(["--quiet", "key", "new-keyholder", "--out", "keyholder/keyholder.key"], cwd=scratch)
    shutil.copyfile(scratch / "linker/linker.key.pub", scratch / "keyholder/linker.key.pub")
    config = f'log = "keyholder.log"\n[[study]]\nname = "{STUDY}"\nlinker = "linker.key.pub"\n'
    for name, _ in EXTRACTS:
        reglink(["--quiet", "key", "new-signing", "--out", f"sources/{name}.key"], cwd=scratch)
        shutil.copyfile(scratch / f"sources/{name}.key.pub", scratch / f"keyholder/{name}.key.pub")
        quota = synth[name]["rows"] * runs
        config += (f'[[study.source]]\nname = "{name}"\npublic_key = "{name}.key.pub"\n'
                   f"quota = {quota}\n")
    (scratch / "keyholder/keyholder.toml").write_text(config)


def measure(data, synth, scratch, master_key, name, id_column, threads):
    """Baseline and the three roles for one extract at one thread count."""
    run_dir = scratch / "runs" / f"t{threads}-{name}"
    run_dir.mkdir(parents=True)
    extract = data / synth[name]["file"]
    common = ["--id-column", id_column, "--in", extract, "--crosswalk", data / "crosswalk.csv",
              "--derive", "--reference-date", synth["extraction_date"]]
    result = {}

    wall, cpu, rss, out = reglink(["pseudonymise", "--key", master_key, "--study", STUDY, *common,
                                   "--out", run_dir / "single-key.parquet", "--json"], threads)
    base = json.loads(out)
    result["baseline"] = {"wall": wall, "cpu": cpu, "rss": rss, "rows_written": base["rows_written"]}

    wall, cpu, rss, out = reglink(["source", "encrypt", *common, "--study", STUDY, "--source", name,
                                   "--linker-public", scratch / "linker/linker.key.pub",
                                   "--keyholder-public", scratch / "keyholder/keyholder.key.pub",
                                   "--sign", scratch / f"sources/{name}.key",
                                   "--out", run_dir / "rows.parquet", "--batch", run_dir / "source.batch",
                                   "--json"], threads)
    src = json.loads(out)
    result["source"] = {"wall": wall, "cpu": cpu, "rss": rss, "persons": src["persons"],
                        "rows_written": src["rows_written"]}

    wall, cpu, rss, out = reglink(["keyholder", "transcrypt", run_dir / "source.batch",
                                   "--key", scratch / "keyholder/keyholder.key",
                                   "--config", scratch / "keyholder/keyholder.toml",
                                   "--out", run_dir / "keyholder.out", "--json"], threads)
    kh = json.loads(out)
    result["keyholder"] = {"wall": wall, "cpu": cpu, "rss": rss, "persons": kh["persons"]}

    wall, cpu, rss, out = reglink(["linker", "open", "--rows", run_dir / "rows.parquet",
                                   "--batch", run_dir / "keyholder.out",
                                   "--key", scratch / "linker/linker.key",
                                   "--keyholder-public", scratch / "keyholder/keyholder.key.pub",
                                   "--out", run_dir / "pseudonymised.parquet", "--json"], threads)
    ln = json.loads(out)
    result["linker"] = {"wall": wall, "cpu": cpu, "rss": rss, "persons": ln["persons"],
                        "rows_written": ln["rows"]}

    sizes = {f.name: f.stat().st_size for f in run_dir.iterdir() if f.is_file()}
    result["file_bytes"] = sizes
    # The baseline's persons are the source's: same rows, same crosswalk.
    result["baseline"]["persons"] = src["persons"]
    problems = []
    if not src["persons"] == kh["persons"] == ln["persons"]:
        problems.append(f"persons differ: source {src['persons']}, key holder {kh['persons']}, "
                        f"linker {ln['persons']}")
    if not base["rows_written"] == src["rows_written"] == ln["rows"]:
        problems.append(f"rows differ: pseudonymise {base['rows_written']}, source {src['rows_written']}, "
                        f"linker {ln['rows']}")
    result["problems"] = problems
    shutil.rmtree(run_dir)
    return result


def fmt_s(seconds):
    return f"{seconds:,.1f} s" if seconds >= 10 else f"{seconds:.2f} s"


def fmt_rate(rate):
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e6 else f"{rate / 1e3:,.0f} k/s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="national", choices=["tiny", "municipality", "national"])
    ap.add_argument("--threads", default="1,2", help="comma-separated RAYON_NUM_THREADS values (default 1,2)")
    ap.add_argument("--count", type=int, default=20_000, help="inputs per operation for scalar-mul")
    ap.add_argument("--no-build", action="store_true", help="use target/release/ as it is")
    args = ap.parse_args()
    threads_list = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    cores = len(os.sched_getaffinity(0))
    if max(threads_list) > cores:
        print(f"warning: {max(threads_list)} threads on {cores} cores", file=sys.stderr)

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        ensure_built(["reglink", "reglink-benches"])
    data = ensure_data(args.preset)
    synth = json.loads((data / "synth.json").read_text())
    master_key = ensure_key()

    _, _, _, out = run_usage([RELEASE / "reglink-bench", "scalar-mul", "--count", args.count], threads=1)
    curve = json.loads(out)
    us = curve["us_per_op"]
    floor_us = {role: sum(n * us[op] for op, n in ops.items()) for role, ops in FLOOR_OPS.items()}
    print(f"curve operations (single thread, {args.count:,} inputs, best of {curve['repeat']}): "
          + ", ".join(f"{k} {v:.2f} µs" for k, v in us.items()), flush=True)
    print("per-person floor: " + ", ".join(f"{r} {v:.1f} µs" for r, v in floor_us.items()), flush=True)

    scratch = OUT / f"three-party-{args.preset}"
    make_parties(scratch, synth, len(threads_list))

    started = time.perf_counter()
    runs = {}
    for threads in threads_list:
        for name, id_column in EXTRACTS:
            print(f"{args.preset}/{name}, {threads} thread(s) ...", flush=True)
            r = measure(data, synth, scratch, master_key, name, id_column, threads)
            runs[(threads, name)] = r
            print("  " + ", ".join(f"{role} {r[role]['wall']:.1f} s ({r[role]['rss']:.0f} MiB)"
                                  for role in ["baseline", *ROLES])
                  + f"; {r['source']['persons']:,} persons", flush=True)
            for p in r["problems"]:
                print(f"  MISMATCH: {p}", flush=True)
    total_run = time.perf_counter() - started

    # Figures per (threads, extract, role).
    rows = []
    for (threads, name), r in runs.items():
        for role in ["baseline", *ROLES]:
            m = r[role]
            rate = m["persons"] / m["wall"]
            row = {"threads": threads, "extract": name, "role": role, "wall_seconds": m["wall"],
                   "cpu_seconds": m["cpu"], "persons": m["persons"], "persons_per_second": rate,
                   "persons_per_second_per_thread": rate / threads, "peak_rss_mib": m["rss"]}
            if role in floor_us:
                floor_cpu = m["persons"] * floor_us[role] / 1e6
                row["floor_cpu_seconds"] = floor_cpu
                # The floor's wall time, if the curve work alone spread perfectly over the threads.
                row["floor_share_of_wall"] = floor_cpu / threads / m["wall"]
                row["floor_share_of_cpu"] = floor_cpu / m["cpu"]
            rows.append(row)
    totals = {}
    for threads in threads_list:
        three = sum(runs[(threads, n)][role]["wall"] for n, _ in EXTRACTS for role in ROLES)
        base = sum(runs[(threads, n)]["baseline"]["wall"] for n, _ in EXTRACTS)
        per_role = {role: sum(runs[(threads, n)][role]["wall"] for n, _ in EXTRACTS) for role in ROLES}
        floor = sum(runs[(threads, n)][role]["persons"] * floor_us[role] / 1e6
                    for n, _ in EXTRACTS for role in ROLES) / threads
        totals[threads] = {"three_roles_seconds": three, "per_role_seconds": per_role,
                           "single_key_seconds": base, "curve_floor_seconds": floor}
    problems = [f"{name} at {t} threads: {p}" for (t, name), r in runs.items() for p in r["problems"]]

    results = {
        "preset": args.preset,
        "cores": cores,
        "threads": threads_list,
        "date": time.strftime("%Y-%m-%d"),
        "curve_us_per_op": us,
        "curve_table_create_us": curve["table_create_us"],
        "floor_us_per_person": floor_us,
        "floor_ops": FLOOR_OPS,
        "rows": rows,
        "file_bytes": {f"t{t}-{n}": r["file_bytes"] for (t, n), r in runs.items()},
        "totals": {str(t): v for t, v in totals.items()},
        "run_seconds": total_run,
        "problems": problems,
    }
    (OUT / f"results-three-party-{args.preset}.json").write_text(json.dumps(results, indent=2))

    print()
    print(f"Three-party pseudonymisation, {args.preset} preset, {cores} cores, "
          f"threads {', '.join(map(str, threads_list))} (RAYON_NUM_THREADS)")
    print()
    print("| extract | threads | role | wall | persons | persons/s | persons/s/thread | peak RSS "
          "| curve floor (wall) | floor / wall |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        floor = share = ""
        if "floor_cpu_seconds" in row:
            floor = fmt_s(row["floor_cpu_seconds"] / row["threads"])
            share = f"{100 * row['floor_share_of_wall']:.0f} %"
        print(f"| {row['extract'].upper()} | {row['threads']} | {ROLE_NAMES[row['role']]} "
              f"| {fmt_s(row['wall_seconds'])} | {row['persons']:,} | {fmt_rate(row['persons_per_second'])} "
              f"| {fmt_rate(row['persons_per_second_per_thread'])} | {row['peak_rss_mib']:,.0f} MiB "
              f"| {floor} | {share} |")
    print()
    print(f"| ristretto255 operation (1 thread, {args.count:,} inputs) | µs per op |")
    print("|---|---:|")
    for op, v in us.items():
        print(f"| `{op}` | {v:.2f} |")
    print()
    print("| role | curve operations per person | floor, µs per person (1 thread) |")
    print("|---|---|---:|")
    for role in ROLES:
        print(f"| {ROLE_NAMES[role]} | {FLOOR_TEXT[role]} | {floor_us[role]:.1f} |")
    print()
    print("| threads | source | key holder | linker | all three roles, three extracts "
          "| curve floor | single-key `pseudonymise`, three extracts |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for t, v in totals.items():
        pr = v["per_role_seconds"]
        print(f"| {t} | {fmt_s(pr['source'])} | {fmt_s(pr['keyholder'])} | {fmt_s(pr['linker'])} "
              f"| {fmt_s(v['three_roles_seconds'])} | {fmt_s(v['curve_floor_seconds'])} "
              f"| {fmt_s(v['single_key_seconds'])} |")
    print()
    top = max(threads_list)
    total = totals[top]["three_roles_seconds"]
    verdict = "met" if total < BAR_SECONDS else "NOT met"
    scope = "" if args.preset == "national" and top == BAR_THREADS else \
        f" (the bar is for the national preset at {BAR_THREADS} threads; this is {args.preset} at {top})"
    print(f"all three roles over EB, AF and LISA at {top} thread(s): {total:,.1f} s = {total / 60:.1f} min "
          f"(bar: < {BAR_SECONDS // 60} min): {verdict}{scope}")
    print(f"single-key pseudonymise of the same extracts at {top} thread(s): "
          f"{totals[top]['single_key_seconds']:,.1f} s")
    print(f"whole run (all thread counts, baseline included): {total_run / 60:.1f} min")
    if problems:
        for p in problems:
            print(f"MISMATCH: {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()
