//! `reglink key new|new-signing|id`.

use std::path::PathBuf;

use anyhow::Context;
use reglink_keys::signing::{PRIVATE_FILE_LEN, PublicKey, SigningKey};
use reglink_pseudo::MasterKey;

use crate::cli::KeyCommand;

pub fn run(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::New { out } => {
            let key = MasterKey::generate()?;
            key.write_new_file(&out)
                .with_context(|| "could not create the key file".to_string())?;
            println!("created key file {} (mode 0600)", out.display());
            println!("key id: {}", key.id());
            println!(
                "keep it secret and backed up: without it, pseudonyms cannot be reproduced for new extracts"
            );
        }
        KeyCommand::NewSigning { out } => {
            let mut public = out.clone().into_os_string();
            public.push(".pub");
            let public = PathBuf::from(public);
            let key = SigningKey::generate()?;
            key.write_new_files(&out, &public)
                .with_context(|| "could not create the signing key files".to_string())?;
            println!("created signing key {} (mode 0600)", out.display());
            println!("created public key {}", public.display());
            println!("fingerprint: {}", key.public().fingerprint());
            println!(
                "sign releases with `reglink run --sign {}`; hand {} and the fingerprint to auditors",
                out.display(),
                public.display()
            );
        }
        KeyCommand::Id { file } => {
            // A public signing key is text, a private one has its own
            // length; anything else is taken for a master key.
            if let Ok(public) = PublicKey::load(&file) {
                println!("{}", public.fingerprint());
            } else if std::fs::metadata(&file).is_ok_and(|m| m.len() == PRIVATE_FILE_LEN) {
                println!("{}", SigningKey::load(&file)?.public().fingerprint());
            } else {
                println!("{}", MasterKey::load(&file)?.id());
            }
        }
    }
    Ok(())
}
