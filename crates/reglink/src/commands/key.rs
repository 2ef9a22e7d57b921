//! `reglink key new|id`.

use anyhow::Context;
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
        KeyCommand::Id { file } => {
            let key = MasterKey::load(&file)?;
            println!("{}", key.id());
        }
    }
    Ok(())
}
