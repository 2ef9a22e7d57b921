#!/usr/bin/env python3
"""The same study linked on one machine and on a real Spark cluster: the
cell tables and the linkage report must be byte-identical.

Starts a Spark standalone master and two workers (one core and --worker-memory each) on
127.0.0.1, as separate processes, and for each seed: makes the example
study's pseudonymised extracts (`reglink example`), links them with
`reglink link` on this machine and with `reglink link --engine spark` on
the cluster, and compares every file of the two outputs (cell tables,
linkage report, manifest). The second seed's household ids are padded with
white space first (half the persons'), the third's written as 64-bit
integers, half the persons' as v - 2^63 (reglink keys it by its lower 63
bits, as v): a household's members then write its id two ways, reglink reads
through both, and the job's routing must too. Prints both times side by side. Stops the
cluster whatever happens. Exits 1 on any difference.

    python3 tests/spark/cluster_test.py                 # municipality, seeds 1, 2 and 3
    python3 tests/spark/cluster_test.py --preset tiny --seed 7

Needs Java 17 (Debian: openjdk-17-jre-headless) and Python 3.9+; installs
PySpark 3.5, pyarrow and pandas from PyPI into its own virtual environment
(`--venv`, default target/spark-venv; about 1.5 minutes the first time).
About a minute and a half on two cores after the first time (municipality, three seeds).
"""

import argparse
import filecmp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["pyspark==3.5.3", "pyarrow==17.0.0", "pandas==2.2.3"]
MASTER_PORT = 7077


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def venv(path):
    python = path / "bin" / "python"
    marker = path / ".reglink-packages"
    if not python.exists() or not marker.exists() or marker.read_text() != "\n".join(PACKAGES):
        run([sys.executable, "-m", "venv", path])
        run([python, "-m", "pip", "install", "-q", *PACKAGES])
        marker.write_text("\n".join(PACKAGES))
    return path


def java_home():
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if not java:
        sys.exit("no java: install Java 17 (Debian: apt install openjdk-17-jre-headless)")
    return str(Path(os.path.realpath(java)).parents[1])


def wait_for(url, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body = r.read().decode()
                if what(body):
                    return body
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the cluster did not come up in {seconds} s ({url})")


class Cluster:
    """A standalone master and two workers on 127.0.0.1, each its own JVM."""

    def __init__(self, env, logs, memory):
        self.env = env
        self.logs = logs
        self.memory = memory
        self.procs = []

    def start(self):
        spark_class = Path(self.env["VIRTUAL_ENV"]) / "bin" / "spark-class"
        master = f"spark://127.0.0.1:{MASTER_PORT}"
        self._spawn("master", [spark_class, "org.apache.spark.deploy.master.Master",
                               "--host", "127.0.0.1", "--port", MASTER_PORT, "--webui-port", 8080])
        wait_for("http://127.0.0.1:8080/json/", lambda b: '"status" : "ALIVE"' in b)
        for i in (1, 2):
            self._spawn(f"worker{i}", [spark_class, "org.apache.spark.deploy.worker.Worker",
                                       "--host", "127.0.0.1", "--cores", 1, "--memory", self.memory,
                                       "--webui-port", 8080 + i, master])
        wait_for("http://127.0.0.1:8080/json/", lambda b: b.count('"state" : "ALIVE"') >= 2)
        print("cluster: a master and two workers on 127.0.0.1", flush=True)
        return master

    def _spawn(self, name, cmd):
        log = open(self.logs / f"{name}.log", "w")
        self.procs.append(subprocess.Popen([str(c) for c in cmd], env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self):
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


PAD_HOUSEHOLDS = """
import sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
path = sys.argv[1]
table = pq.read_table(path)
ids = table["hushall_id"].combine_chunks()
# The ids of half the persons (by their pseudonym) padded with white space
# reglink reads through (a space, a tab, a no-break space), so that a
# household's members write its id two ways: the job must route by the id
# as reglink reads it.
half = [p[0] % 2 == 0 for p in table["pseudonym"].to_pylist()]
padded = [None if v is None else (f" {v}\t\u00a0" if h else v)
          for v, h in zip(ids.to_pylist(), half)]
table = table.set_column(table.schema.get_field_index("hushall_id"), table.schema.field("hushall_id"),
                         pa.array(padded, ids.type))
pq.write_table(table.replace_schema_metadata(table.schema.metadata), path + ".tmp")
"""


WRAP_HOUSEHOLDS = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
path = sys.argv[1]
table = pq.read_table(path)
ids = table["hushall_id"].combine_chunks()
# Household ids as 64-bit integers, half the persons' (by their pseudonym)
# written as v - 2^63, whose lower 63 bits are v's: reglink keys them as v,
# and the job must too.
half = [p[0] % 2 == 0 for p in table["pseudonym"].to_pylist()]
wrapped = [None if v is None else (int(v) - 2**63 if h else int(v))
           for v, h in zip(ids.to_pylist(), half)]
index = table.schema.get_field_index("hushall_id")
table = table.set_column(index, pa.field("hushall_id", pa.int64()), pa.array(wrapped, pa.int64()))
pq.write_table(table.replace_schema_metadata(table.schema.metadata), path + ".tmp")
"""

VARIANTS = {"padded": PAD_HOUSEHOLDS, "wrapped": WRAP_HOUSEHOLDS}


def change_households(python, extract, variant):
    """Rewrites the EB extract's household ids (see VARIANTS), in place."""
    run([python, "-c", VARIANTS[variant], extract])
    os.replace(f"{extract}.tmp", extract)


def compare(local, spark):
    """The files of the two outputs that differ or are missing."""
    problems = []
    names = sorted({p.relative_to(local) for p in local.rglob("*") if p.is_file()}
                   | {p.relative_to(spark) for p in spark.rglob("*") if p.is_file()})
    for name in names:
        a, b = local / name, spark / name
        if not a.exists() or not b.exists():
            problems.append(f"{name}: only in {'the Spark run' if b.exists() else 'the local run'}")
        elif not filecmp.cmp(a, b, shallow=False):
            problems.append(f"{name}: differs")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="municipality")
    ap.add_argument("--seed", type=int, action="append", help="seeds (default 1 and 2)")
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--venv", type=Path, default=ROOT / "target" / "spark-venv")
    ap.add_argument("--worker-memory", default="1g", help="each worker's memory (default 1g)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    seeds = args.seed or [1, 2, 3]
    # Household ids as the example makes them (text), then padded with white
    # space, then as integers some of which wrap: each way reglink reads them,
    # the job must route them.
    households = (["as made", "padded", "wrapped"] * len(seeds))[: len(seeds)]

    if not args.no_build:
        run(["cargo", "build", "--release", "-q", "-p", "reglink"], cwd=ROOT)
    reglink = ROOT / "target" / "release" / "reglink"
    env_dir = venv(args.venv.resolve())
    env = dict(os.environ)
    env.update({
        "VIRTUAL_ENV": str(env_dir),
        "PATH": f"{env_dir / 'bin'}:{env['PATH']}",
        "PYSPARK_PYTHON": str(env_dir / "bin" / "python"),
        "JAVA_HOME": java_home(),
        "SPARK_LOCAL_IP": "127.0.0.1",
    })

    work = Path(tempfile.mkdtemp(prefix="reglink-spark-test-"))
    os.chmod(work, 0o700)
    cluster = Cluster(env, work, args.worker_memory)
    failed = False
    rows = []
    try:
        master = cluster.start()
        for seed in seeds:
            ex = work / f"seed{seed}"
            run([reglink, "example", "--quiet", "--preset", args.preset, "--seed", seed, "--out", ex], env=env,
                stdout=subprocess.DEVNULL)
            study = ex / "study.toml"
            variant = households[seeds.index(seed)]
            if variant != "as made":
                change_households(env_dir / "bin" / "python", ex / "pseudonymised" / "eb.parquet", variant)
            started = time.perf_counter()
            run([reglink, "link", "--quiet", study, "--out", work / f"local{seed}"], env=env,
                stdout=subprocess.DEVNULL)
            local_s = time.perf_counter() - started
            started = time.perf_counter()
            run([reglink, "link", "--quiet", study, "--out", work / f"spark{seed}", "--engine", "spark",
                 "--spark-master", master, "--parts", args.parts,
                 "--spark-conf", f"spark.executor.memory={args.worker_memory}"],
                env=env, stdout=subprocess.DEVNULL)
            spark_s = time.perf_counter() - started
            problems = compare(work / f"local{seed}", work / f"spark{seed}")
            cells = len(list((work / f"local{seed}" / "cells").glob("*.parquet")))
            rows.append((seed, cells, local_s, spark_s, problems))
            failed |= bool(problems)
    finally:
        cluster.stop()

    print()
    print(f"{'preset':<13} {'seed':>4} {'household ids':<14} {'tables':>6} {'one machine':>12} "
          f"{'Spark, 2 workers':>17}  result")
    for (seed, cells, local_s, spark_s, problems), variant in zip(rows, households):
        verdict = "identical" if not problems else f"{len(problems)} files differ"
        print(f"{args.preset:<13} {seed:>4} {variant:<14} {cells:>6} {local_s:>10.1f} s "
              f"{spark_s:>15.1f} s  {verdict}")
        for p in problems:
            print(f"    {p}")
    if failed or len(rows) != len(seeds):
        print(f"FAIL (files kept in {work})")
        sys.exit(1)
    shutil.rmtree(work)
    print("PASS: the cell tables and linkage reports of the cluster are those of one machine")


if __name__ == "__main__":
    main()
