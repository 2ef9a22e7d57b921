//! `reglink source encrypt`, `reglink keyholder transcrypt|log`, `reglink linker open`.

use anyhow::bail;
use reglink_keys::signing::SigningKey;
use reglink_pseudo::PseudonymiseOptions;
use reglink_pseudo::transcrypt::keyholder::{self, KeyHolderConfig};
use reglink_pseudo::transcrypt::source::SourceOptions;
use reglink_pseudo::transcrypt::{
    KeyHolderKey, KeyHolderPublicKey, LinkerKey, LinkerPublicKey, linker, source,
};

use crate::cli::{KeyholderCommand, LinkerCommand, SourceCommand};
use crate::ui;

pub fn source(cmd: SourceCommand, quiet: bool) -> anyhow::Result<()> {
    let SourceCommand::Encrypt(args) = cmd;
    let quiet = quiet || args.json;
    let reference = super::pseudonymise::reference_date(args.reference_date.as_deref())?;
    let inputs = vec![
        ("the extract".to_string(), args.input.clone()),
        ("the signing key".to_string(), args.sign.clone()),
        (
            "the linker's public key".to_string(),
            args.linker_public.clone(),
        ),
    ];
    let rejects = reglink_pseudo::pipeline::report_path(&args.out);
    for path in [&args.out, &rejects, &args.batch] {
        reglink_extract::check_new_file(path, false, &inputs)?;
    }
    super::pseudonymise::check_out_folder(&args.out)?;
    super::pseudonymise::check_out_folder(&args.batch)?;
    let signer = SigningKey::load(&args.sign)?;
    let linker = LinkerPublicKey::load(&args.linker_public)?;
    let keyholder = KeyHolderPublicKey::load(&args.keyholder_public)?;
    let crosswalk = super::pseudonymise::crosswalk(args.crosswalk.as_deref(), reference)?;
    let mut opts = PseudonymiseOptions::new(&args.input, &args.out, &args.id_column, reference);
    opts.derive_columns = args.derive;
    let src = SourceOptions {
        source: &args.source,
        study: &args.study,
        linker: &linker,
        keyholder: &keyholder,
        signer: &signer,
        batch: args.batch.clone(),
    };
    let bar = ui::row_spinner(quiet, "encrypting");
    let report = source::encrypt(&opts, &src, crosswalk.as_ref(), &|rows| {
        bar.set_position(rows)
    });
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        ui::print_json(&serde_json::json!({
            "command": "source encrypt",
            "input": report.rows.input,
            "rows": report.rows.output,
            "reject_report": rejects,
            "batch": report.batch,
            "study": report.rows.study,
            "linker": report.linker,
            "rows_in": report.rows.rows_in,
            "rows_written": report.rows.rows_out,
            "rows_rejected": report.rows.rows_rejected,
            "rows_renumbered": report.rows.rows_remapped,
            "persons": report.persons,
        }));
    } else {
        if !quiet {
            println!(
                "{}: {} rows in, {} written, {} rejected, {} renumbered by the crosswalk; {} persons encrypted to linker {}",
                report.rows.input,
                report.rows.rows_in,
                report.rows.rows_out,
                report.rows.rows_rejected,
                report.rows.rows_remapped,
                report.persons,
                report.linker
            );
        }
        println!(
            "wrote {} (for the linker), reject report {}, and {} (for the key holder)",
            report.rows.output,
            rejects.display(),
            report.batch
        );
    }
    super::pseudonymise::check_rejects(&report.rows, args.allow_empty)
}

pub fn keyholder(cmd: KeyholderCommand) -> anyhow::Result<()> {
    match cmd {
        KeyholderCommand::Transcrypt {
            batch,
            key,
            config,
            out,
            json,
        } => {
            super::pseudonymise::check_out_folder(&out)?;
            let key = KeyHolderKey::load(&key)?;
            let config = KeyHolderConfig::load(&config)?;
            let report = keyholder::transcrypt(&batch, &out, &key, &config, &|_| {})?;
            if json {
                ui::print_json(&serde_json::to_value(&report).expect("a report serialises"));
            } else {
                println!(
                    "study {}, source {}: {} persons transcrypted ({} of its quota of {} used); log entry {}",
                    report.study,
                    report.source,
                    report.persons,
                    report.used,
                    report.quota,
                    report.log_seq
                );
                println!("wrote {} (for the linker)", report.output);
            }
            Ok(())
        }
        KeyholderCommand::Log {
            config,
            head,
            public_key,
        } => {
            let config = KeyHolderConfig::load(&config)?;
            let public = public_key
                .as_deref()
                .map(KeyHolderPublicKey::load)
                .transpose()?;
            let entries = keyholder::read_log(&config.log, public.as_ref().map(|p| &p.signing))?;
            for e in &entries {
                println!(
                    "{:>4}  {}  study {}  source {} ({})  {} persons  batch {}",
                    e.seq, e.time, e.study, e.source, e.signer, e.persons, e.batch
                );
            }
            let last = entries.last().map_or("genesis", |e| e.hash.as_str());
            let signed = match &public {
                Some(p) => format!("every entry signed by {}", p.fingerprint()),
                None => "signatures not checked (pass --public-key)".to_string(),
            };
            println!("{} entries, unbroken, {signed}; head {last}", entries.len());
            if let Some(h) = head
                && h != last
            {
                bail!(
                    "{}: the head is {last}, not {h}: entries were removed or added since that head was noted",
                    config.log.display()
                );
            }
            Ok(())
        }
    }
}

pub fn linker(cmd: LinkerCommand, quiet: bool) -> anyhow::Result<()> {
    let LinkerCommand::Open {
        rows,
        batch,
        key,
        keyholder_public,
        out,
        json,
    } = cmd;
    super::pseudonymise::check_out_folder(&out)?;
    let key = LinkerKey::load(&key)?;
    let keyholder = KeyHolderPublicKey::load(&keyholder_public)?;
    let bar = ui::row_spinner(quiet || json, "opening");
    let report = linker::open(&rows, &batch, &out, &key, &keyholder, &|n| {
        bar.set_position(n)
    });
    bar.finish_and_clear();
    let report = report?;
    if json {
        ui::print_json(&serde_json::to_value(&report).expect("a report serialises"));
    } else {
        println!(
            "study {}, source {}: {} rows, {} persons; key id {}",
            report.study, report.source, report.rows, report.persons, report.key_id
        );
        println!("wrote {}", report.output);
    }
    Ok(())
}
