//! `reglink key new|new-signing|id`.

use std::path::PathBuf;

use anyhow::Context;
use reglink_keys::signing::{PRIVATE_FILE_LEN, PUBLIC_FILE_LEN, PublicKey, SigningKey};
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
            // Told apart by length before anything is read: a private
            // signing key only through its permission-checked loader, a
            // public key as text, anything else as a master key (whose
            // loader checks permissions and says what length it expects).
            let len = std::fs::metadata(&file).map(|m| m.len()).ok();
            if len == Some(PRIVATE_FILE_LEN) {
                println!("{}", SigningKey::load(&file)?.public().fingerprint());
            } else if len == Some(PUBLIC_FILE_LEN) {
                println!("{}", PublicKey::load(&file)?.fingerprint());
            } else {
                println!("{}", MasterKey::load(&file)?.id());
            }
        }
    }
    Ok(())
}
