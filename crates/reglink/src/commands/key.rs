//! `reglink key new|new-signing|new-keyholder|new-linker|id`.

use std::path::PathBuf;

use anyhow::Context;
use reglink_keys::signing::{PRIVATE_FILE_LEN, PUBLIC_FILE_LEN, PublicKey, SigningKey};
use reglink_pseudo::MasterKey;
use reglink_pseudo::transcrypt::keys::{
    KEYHOLDER_FILE_LEN, KEYHOLDER_PUBLIC_FILE_LEN, LINKER_FILE_LEN, LINKER_PUBLIC_FILE_LEN,
};
use reglink_pseudo::transcrypt::{KeyHolderKey, KeyHolderPublicKey, LinkerKey, LinkerPublicKey};

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
            let public = with_pub(&out);
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
        KeyCommand::NewKeyholder { out } => {
            let public = with_pub(&out);
            let key = KeyHolderKey::generate()?;
            key.write_new_files(&out, &public)
                .with_context(|| "could not create the key holder's key files".to_string())?;
            println!("created the key holder's key {} (mode 0600)", out.display());
            println!("created its public key {}", public.display());
            println!("fingerprint: {}", key.public().fingerprint());
            println!(
                "hand {} and the fingerprint to the linker and every source; keep {} where only the key holder can reach it",
                public.display(),
                out.display()
            );
        }
        KeyCommand::NewLinker { out } => {
            let public = with_pub(&out);
            let key = LinkerKey::generate()?;
            key.write_new_files(&out, &public)
                .with_context(|| "could not create the linker's key files".to_string())?;
            println!("created the linker's key {} (mode 0600)", out.display());
            println!("created its public key {}", public.display());
            println!("fingerprint: {}", key.public().fingerprint());
            println!(
                "hand {} and the fingerprint to every source and to the key holder",
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
            } else if len == Some(KEYHOLDER_FILE_LEN) {
                println!("{}", KeyHolderKey::load(&file)?.public().fingerprint());
            } else if len == Some(KEYHOLDER_PUBLIC_FILE_LEN) {
                println!("{}", KeyHolderPublicKey::load(&file)?.fingerprint());
            } else if len == Some(LINKER_FILE_LEN) {
                println!("{}", LinkerKey::load(&file)?.public().fingerprint());
            } else if len == Some(LINKER_PUBLIC_FILE_LEN) {
                println!("{}", LinkerPublicKey::load(&file)?.fingerprint());
            } else {
                println!("{}", MasterKey::load(&file)?.id());
            }
        }
    }
    Ok(())
}

/// `KEY.pub` beside `KEY`.
fn with_pub(out: &std::path::Path) -> PathBuf {
    let mut public = out.as_os_str().to_owned();
    public.push(".pub");
    PathBuf::from(public)
}
