//! A stand-in for `spark-submit` in tests: does what reglink's Spark job
//! does, in one process and with another cut of the persons, so that
//! `reglink link --engine spark` is tested without a cluster.
//!
//! Called as `fake-spark-submit --master M --name N job.py job.json`: reads
//! the job, cuts every source into `parts` parts of the persons (by the
//! pseudonym's first byte, not Spark's hash: any cut must give the same
//! result), adds each row's row in its file, gives every part the EB rows of
//! its persons' households, runs `reglink link-part` on each part and
//! writes the results where the job says.
//!
//! `FAKE_SPARK_LOSE=row` loses one row of the first source on the way, and
//! `FAKE_SPARK_LOSE=row-for-another` reads another one twice in its place,
//! to test that reglink notices; `FAKE_SPARK_LOSE=households` gives each
//! part only its own EB rows as households, to show the routing matters.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let job_file = args.last().expect("the job file");
    let job: serde_json::Value =
        serde_json::from_reader(File::open(job_file).expect("the job")).expect("JSON");
    let parts = job["parts"].as_u64().expect("parts") as usize;
    let row_column = job["row_column"].as_str().expect("row_column");
    let pseudonym = job["pseudonym_column"].as_str().expect("pseudonym_column");
    let sources: Vec<(String, PathBuf)> = job["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                PathBuf::from(s["path"].as_str().expect("path")),
            )
        })
        .collect();

    let whole: Vec<RecordBatch> = sources.iter().map(|(_, path)| read(path)).collect();
    // Per source and part: the rows, in file order.
    let mut rows: Vec<Vec<Vec<u32>>> = Vec::new();
    for batch in &whole {
        let p = batch
            .column(batch.schema().index_of(pseudonym).expect("pseudonym"))
            .as_fixed_size_binary();
        let mut of = vec![Vec::new(); parts];
        for i in 0..batch.num_rows() {
            of[p.value(i)[0] as usize % parts].push(i as u32);
        }
        rows.push(of);
    }
    match std::env::var("FAKE_SPARK_LOSE").as_deref() {
        // One row of the first source lost.
        Ok("row") => {
            rows[0]
                .iter_mut()
                .find(|r| !r.is_empty())
                .expect("a row")
                .pop();
        }
        // One row of the first source lost and another read twice: as many
        // rows as the file has.
        Ok("row-for-another") => {
            let part = rows[0].iter_mut().find(|r| r.len() >= 2).expect("two rows");
            part[0] = part[1];
        }
        _ => {}
    }
    // Per part: the EB rows of every household with a member in it.
    let households: Option<(usize, Vec<Vec<u32>>)> = job["households"].as_object().map(|h| {
        let e = h["source"].as_u64().expect("source") as usize;
        let column = h["column"].as_str().expect("column");
        let batch = &whole[e];
        // The example's household ids are text; that is all this stand-in reads.
        let values = batch
            .column(batch.schema().index_of(column).expect("household column"))
            .as_string_opt::<i32>()
            .expect("household ids as text");
        let mut parts_of: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        for (part, of) in rows[e].iter().enumerate() {
            for &i in of {
                // As reglink reads an id: without white space around it.
                let id = values.value(i as usize).trim();
                if values.is_valid(i as usize) && !id.is_empty() {
                    parts_of.entry(id).or_default().insert(part);
                }
            }
        }
        let mut members = vec![Vec::new(); parts];
        if std::env::var("FAKE_SPARK_LOSE").as_deref() == Ok("households") {
            // Each part only its own EB rows: households across parts torn.
            return (e, rows[e].clone());
        }
        for i in 0..batch.num_rows() {
            if values.is_valid(i) {
                for &part in parts_of.get(values.value(i).trim()).into_iter().flatten() {
                    members[part].push(i as u32);
                }
            }
        }
        (e, members)
    });

    let partials = PathBuf::from(job["partials"].as_str().expect("partials"));
    let reglink = job["reglink"].as_str().expect("reglink");
    let study = job["study"].as_str().expect("study");
    // Backwards, so that nothing depends on the parts coming in order.
    for part in (0..parts).rev() {
        let dir = tempfile::tempdir().expect("a part folder");
        for (s, (name, _)) in sources.iter().enumerate() {
            let file = dir.path().join(format!("{name}.parquet"));
            write(&file, &whole[s], &rows[s][part], row_column);
        }
        if let Some((e, members)) = &households {
            let file = dir
                .path()
                .join(job["households_file"].as_str().expect("file"));
            write(&file, &whole[*e], &members[part], row_column);
        }
        let result = dir.path().join("result.bin");
        let status = Command::new(reglink)
            .args(["--quiet", "link-part", study, "--part"])
            .arg(dir.path())
            .arg("--out")
            .arg(&result)
            .status()
            .expect("reglink link-part runs");
        if !status.success() {
            eprintln!("reglink link-part failed on part {part}");
            std::process::exit(1);
        }
        std::fs::copy(&result, partials.join(format!("part-{part:05}.bin"))).expect("copied");
    }
}

fn read(path: &Path) -> RecordBatch {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("source"))
        .expect("Parquet");
    // The file's schema, with the key id and study in its metadata.
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    arrow_select::concat::concat_batches(&schema, &batches).expect("concatenated")
}

/// Writes rows `rows` of `batch` to `file`, with their row numbers.
fn write(file: &Path, batch: &RecordBatch, rows: &[u32], row_column: &str) {
    let indices = UInt32Array::from(rows.to_vec());
    let mut columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c, &indices, None).expect("taken"))
        .collect();
    columns.push(Arc::new(Int64Array::from_iter_values(
        rows.iter().map(|&r| i64::from(r)),
    )));
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(row_column, DataType::Int64, false));
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let out = RecordBatch::try_new(schema.clone(), columns).expect("a part's rows");
    let mut writer = ArrowWriter::try_new(File::create(file).expect("a part file"), schema, None)
        .expect("writer");
    writer.write(&out).expect("written");
    writer.close().expect("closed");
}
