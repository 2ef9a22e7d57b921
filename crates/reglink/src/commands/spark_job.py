"""reglink's job for Apache Spark: link a study's pseudonymised extracts on a
cluster, a part of the persons per task.

`reglink link --engine spark` writes this file and a job description
(JSON) into a private folder and runs `spark-submit job.py job.json`. The
job:

1. reads every source's Parquet file, tags each row with its row in the file
   (`_metadata.row_index`) and with a part of the persons (Spark's hash of
   the pseudonym, so all of a person's rows in every source share a part);
2. when the study derives household types, adds for every part the EB rows
   of every household with a member in the part (a join on the household
   column), so that each part counts a household's members over the whole
   register;
3. shuffles the rows by part, and in each task writes each part's rows back
   into Parquet files with the sources' own schemas and metadata, in file
   order, and runs `reglink link-part` on them: the part is linked and
   tabulated by reglink itself, and only its partial result (counts, sums,
   the values of medians per cell) comes back;
4. collects the partial results into the folder the job names, where
   `reglink link` merges them into the cell tables and the report.

No key is involved: the extracts are already pseudonymised. The tasks'
files live in private temporary folders and are removed when the part is
done; no row, pseudonym or value is printed.
"""

import json
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

PART = "__reglink_part"
SOURCE = "__reglink_source"
ROUTE = "__reglink_route"
HOUSEHOLD = "__reglink_household"


def quoted(name):
    return "`" + name.replace("`", "``") + "`"


def prefixed(i, name):
    return f"s{i}_{name}"


def cast_to(column, field):
    """`column` (as Spark hands it over) as the source file's type: Spark
    reads fixed-size binary as binary, unsigned integers as wider signed
    ones and dictionaries as their values. A failure names the column, never
    a value."""
    try:
        return column.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise RuntimeError(
            f"column {field.name}: Spark handed it over as {column.type}, "
            f"which does not convert back to the file's {field.type}"
        ) from None


def part_runner(job, schemas):
    reglink = job["reglink"]
    study = job["study"]
    row = job["row_column"]
    names = [s["name"] for s in job["sources"]]
    households = job.get("households")
    files = [(i, i, names[i] + ".parquet") for i in range(len(names))]
    if households:
        files.append((len(names), households["source"], job["households_file"]))

    def link_part(part, batches):
        """Writes one part's rows back into the sources' files and links them."""
        rows_of_part = pa.Table.from_batches(batches)
        with tempfile.TemporaryDirectory(prefix="reglink-part-") as folder:
            for tag, source, file_name in files:
                schema = pa.ipc.read_schema(pa.py_buffer(schemas[source]))
                rows = rows_of_part.filter(pc.equal(rows_of_part[SOURCE], tag))
                columns = [cast_to(rows[prefixed(source, f.name)], f) for f in schema]
                columns.append(rows[row].cast(pa.int64()))
                out_schema = pa.schema(
                    list(schema) + [pa.field(row, pa.int64())], metadata=schema.metadata
                )
                pq.write_table(
                    pa.Table.from_arrays(columns, schema=out_schema),
                    os.path.join(folder, file_name),
                )
            result = os.path.join(folder, "result.bin")
            done = subprocess.run(
                [reglink, "--quiet", "link-part", study, "--part", folder, "--out", result],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"reglink link-part failed on part {part}: {done.stderr.strip()}"
                )
            with open(result, "rb") as f:
                partial = f.read()
        return pa.RecordBatch.from_arrays(
            [pa.array([part], pa.int32()), pa.array([partial], pa.binary())],
            names=["part", "partial"],
        )

    def run(batches):
        # The rows come sorted by part: one part is held at a time.
        current, held = None, []
        for batch in batches:
            for part in pc.unique(batch.column(PART)).to_pylist():
                rows = batch.filter(pc.equal(batch.column(PART), part))
                if part != current:
                    if held:
                        yield link_part(current, held)
                    current, held = part, []
                held.append(rows)
        if held:
            yield link_part(current, held)

    return run


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    spark = SparkSession.builder.getOrCreate()
    parts = job["parts"]
    row = job["row_column"]
    pseudonym = quoted(job["pseudonym_column"])
    schemas = []
    frames = []
    for i, source in enumerate(job["sources"]):
        schema = pq.read_schema(source["path"])
        schemas.append(schema.serialize().to_pybytes())
        df = spark.read.parquet(source["path"])
        # Spark's hash() is the Murmur3 hash its hash partitioning uses, so
        # shuffling by ROUTE (the pseudonym) puts every row in the task of
        # its part, one part per task.
        frames.append(
            df.select(
                F.pmod(F.hash(F.col(pseudonym)), F.lit(parts)).alias(PART),
                F.col(pseudonym).alias(ROUTE),
                F.lit(i).alias(SOURCE),
                F.col("_metadata.row_index").alias(row),
                *[F.col(quoted(name)).alias(prefixed(i, name)) for name in schema.names],
            )
        )
    households = job.get("households")
    if households:
        i = households["source"]
        name = prefixed(i, households["column"])
        key = F.col(quoted(name))
        kind = frames[i].schema[name].dataType
        if isinstance(kind, T.StringType):
            # reglink reads a text id without the white space around it
            # (Unicode's, as Rust's str::trim), and an empty one as none.
            key = F.regexp_replace(key, r"(?U)^\s+|\s+$", "")
            key = F.when(key != "", key)
        elif isinstance(kind, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
            # reglink keeps an integer id's lower 63 bits.
            key = key.cast("long").bitwiseAND(F.lit(0x7FFFFFFFFFFFFFFF))
        elif isinstance(kind, T.DecimalType) and kind.scale == 0 and kind.precision == 20:
            # An unsigned 64-bit id (Spark reads Parquet's UINT_64 so): reglink
            # reads those above 2^63 - 1 as 2^63 - 1.
            top = F.lit(0x7FFFFFFFFFFFFFFF)
            key = F.when(key > top, top).otherwise(key.cast("long"))
        else:
            raise RuntimeError(
                f"the household column {households['column']} has Spark type {kind}, "
                "which this job cannot match as reglink reads it"
            )
        members = frames[i].withColumn(HOUSEHOLD, key).where(F.col(HOUSEHOLD).isNotNull())
        # Per household and part with a member: the part, and a member's
        # pseudonym to shuffle the household's rows by.
        needed = members.groupBy(HOUSEHOLD, PART).agg(F.min(ROUTE).alias(ROUTE))
        routed = (
            members.drop(PART, ROUTE)
            .join(needed, HOUSEHOLD)
            .drop(HOUSEHOLD)
            .withColumn(SOURCE, F.lit(len(job["sources"])))
        )
        frames.append(routed)
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame, allowMissingColumns=True)
    partials = (
        rows.repartition(parts, ROUTE)
        .sortWithinPartitions(PART, SOURCE, row)
        .drop(ROUTE)
        .mapInArrow(part_runner(job, schemas), "part int, partial binary")
        .persist()
    )
    # Every part linked at once, in parallel; then their results brought
    # here a task's results at a time.
    linked = partials.count()
    written = 0
    for r in partials.toLocalIterator():
        path = os.path.join(job["partials"], f"part-{r.part:05d}.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(r.partial)
        written += 1
    partials.unpersist()
    if written != linked:
        raise RuntimeError(f"{linked} parts were linked but {written} came back")
    print(f"reglink: {written} parts linked", file=sys.stderr)
    spark.stop()


if __name__ == "__main__":
    main()
