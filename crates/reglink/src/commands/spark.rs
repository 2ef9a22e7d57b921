//! `reglink link --engine spark`: the study linked on an Apache Spark
//! cluster, and `reglink link-part`, what each of its tasks runs.
//!
//! The job (`spark_job.py`, submitted with spark-submit) cuts the sources
//! into parts of the persons and runs `reglink link-part` on each part; the
//! parts' results come back to a private folder here and are merged into
//! the output of `reglink link`. See docs/distributed.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use reglink_extract::ScratchDir;
use reglink_link::Study;

use crate::cli::{Engine, EngineArgs, LinkPartArgs};

/// The job spark-submit runs.
const JOB: &str = include_str!("spark_job.py");

pub fn link_part(args: &LinkPartArgs) -> anyhow::Result<()> {
    reglink_release::link_part(&args.study, &args.part, &args.out)?;
    Ok(())
}

/// The engine of `--engine`: `None` for this machine.
pub fn engine(args: &EngineArgs, scratch: Option<&Path>, quiet: bool) -> Option<Spark> {
    match args.engine {
        Engine::Local => None,
        Engine::Spark => Some(Spark {
            master: args.spark_master.clone(),
            submit: args.spark_submit.clone(),
            parts: args.parts,
            conf: args.spark_conf.clone(),
            scratch: scratch.map(Path::to_path_buf),
            quiet,
        }),
    }
}

/// A Spark cluster, through spark-submit.
#[derive(Debug)]
pub struct Spark {
    master: String,
    submit: PathBuf,
    parts: u32,
    /// `KEY=VALUE` settings for spark-submit's `--conf`.
    conf: Vec<String>,
    /// Where to make the job's private folder (default: beside the first
    /// source's file).
    scratch: Option<PathBuf>,
    quiet: bool,
}

impl reglink_release::Engine for Spark {
    fn link_parts(
        &self,
        study: &Study,
    ) -> Result<(ScratchDir, Vec<PathBuf>), reglink_release::ReleaseError> {
        self.submit(study)
            .map_err(|e| reglink_release::ReleaseError::Engine {
                message: format!("{e:#}"),
            })
    }
}

/// The lines of a failed job's log that say what failed: Spark's own INFO
/// lines say nothing of it (the whole log's end if nothing else does).
fn what_failed(log: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in log
        .lines()
        .filter(|l| !l.contains(" INFO ") && (l.contains("Error") || l.contains("Exception")))
    {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines = log.lines().collect();
    }
    lines[lines.len().saturating_sub(12)..].join("\n")
}

impl Spark {
    /// The job's description: where everything is, by absolute path, as
    /// every worker must reach it.
    fn job(&self, study: &Study, partials: &Path) -> anyhow::Result<serde_json::Value> {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let households = reglink_link::part::households_needed(study)
            .map(|(source, column)| serde_json::json!({ "source": source, "column": column }));
        Ok(serde_json::json!({
            "study": absolute(&study.path),
            "reglink": std::env::current_exe().context("cannot find the reglink program")?,
            "parts": self.parts,
            "partials": partials,
            "pseudonym_column": reglink_extract::pseudonymised::PSEUDONYM,
            "row_column": reglink_link::part::ROW_COLUMN,
            "households_file": reglink_link::part::PART_HOUSEHOLDS,
            "households": households,
            "sources": study.sources.iter().map(|s| serde_json::json!({
                "name": s.name,
                "path": absolute(&s.path),
            })).collect::<Vec<_>>(),
        }))
    }

    /// Runs the job on `study` and returns the parts' results.
    fn submit(&self, study: &Study) -> anyhow::Result<(ScratchDir, Vec<PathBuf>)> {
        let started = Instant::now();
        if let Some(c) = self.conf.iter().find(|c| !c.contains('=')) {
            bail!("--spark-conf {c}: expected KEY=VALUE");
        }
        // Refuse what is not pseudonymised, or under two keys, before starting a job.
        reglink_link::part::check_sources(study)?;
        let parent = match &self.scratch {
            Some(dir) => dir.clone(),
            None => study
                .sources
                .first()
                .and_then(|s| s.path.parent())
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        };
        let scratch = ScratchDir::create(&parent, "spark").with_context(|| {
            format!(
                "{}: cannot make a private folder for the job",
                parent.display()
            )
        })?;
        let partials = scratch.path().join("parts");
        std::fs::create_dir(&partials)
            .with_context(|| format!("{}: cannot make the folder of parts", partials.display()))?;

        let job = self.job(study, &partials)?;
        let write = |name: &str, bytes: &[u8]| {
            use std::io::Write;
            scratch
                .create_file(name)
                .and_then(|mut f| f.write_all(bytes))
                .with_context(|| format!("{}: cannot write the job", scratch.path().display()))
        };
        write("job.json", &serde_json::to_vec_pretty(&job)?)?;
        write("reglink_spark_job.py", JOB.as_bytes())?;
        let job_file = scratch.path().join("job.json");
        let script = scratch.path().join("reglink_spark_job.py");

        let log_path = scratch.path().join("spark.log");
        let log = scratch
            .create_file("spark.log")
            .with_context(|| format!("{}: cannot write the job's log", log_path.display()))?;
        if !self.quiet {
            eprintln!(
                "submitting to Spark at {} in {} parts",
                self.master, self.parts
            );
        }
        let mut command = Command::new(&self.submit);
        command
            .arg("--master")
            .arg(&self.master)
            .arg("--name")
            .arg(format!("reglink link {}", study.name));
        // Spark's shuffle and spill files hold the pseudonymised rows.
        if !self
            .conf
            .iter()
            .any(|c| c.starts_with("spark.io.encryption.enabled="))
        {
            command.args(["--conf", "spark.io.encryption.enabled=true"]);
        }
        for c in &self.conf {
            command.arg("--conf").arg(c);
        }
        let status = command
            .arg(&script)
            .arg(&job_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| {
                format!(
                    "cannot run {}: install Apache Spark (pip install pyspark pyarrow pandas) or name spark-submit with --spark-submit",
                    self.submit.display()
                )
            })?;
        if !status.success() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "the Spark job failed ({status}); from its log:\n{}",
                what_failed(&text)
            );
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&partials)
            .with_context(|| format!("{}: cannot read the parts", partials.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        if !self.quiet {
            eprintln!(
                "Spark linked {} parts in {:.1?}",
                files.len(),
                started.elapsed()
            );
        }
        Ok((scratch, files))
    }
}
