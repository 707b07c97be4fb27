//! `lanyard store`: which store keeps the tokens — the OS keychain, or (opted in, for machines
//! without a Secret Service) a file only the user can read.

use lanyard_core::api::FlowError;
use lanyard_core::paths::Paths;
use lanyard_core::tokens::file_store::FileStore;
use lanyard_core::tokens::store_choice::{self, StoreKind};

/// The risk of the file store, said before and after opting in.
const FILE_RISK: &str = "Tokens will be kept in plain text in a file only your user can read (0600). Anyone who can read your files (root, a backup, a copied disk) can use them until they expire or are revoked; a keychain would keep them encrypted and tied to your session.";

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Keep tokens in a file only your user can read (for machines without a keychain).
    UseFile {
        /// Confirms you read the risk: tokens in plain text in a 0600 file.
        #[arg(long)]
        i_understand_the_risk: bool,
    },
    /// Keep tokens in the OS keychain again (the default).
    UseKeychain,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let paths = Paths::from_env()?;
    match args.action {
        None => {
            let kind = store_choice::chosen(&paths)?;
            match kind {
                StoreKind::Keychain => println!("Tokens are kept in the OS keychain."),
                StoreKind::File => println!(
                    "Tokens are kept in {} (the opt-in file store). {FILE_RISK}",
                    FileStore::path(&paths).display()
                ),
            }
        }
        Some(Action::UseFile {
            i_understand_the_risk: false,
        }) => {
            return Err(FlowError::BadFlag(format!(
                "{FILE_RISK} To opt in, run `lanyard store use-file --i-understand-the-risk`"
            ))
            .into());
        }
        Some(Action::UseFile { .. }) => {
            store_choice::remember(&paths, StoreKind::File)?;
            println!(
                "Tokens will be kept in {}. {FILE_RISK} Servers signed in before keep their tokens in the keychain: run `lanyard login NAME` for each.",
                FileStore::path(&paths).display()
            );
        }
        Some(Action::UseKeychain) => {
            store_choice::remember(&paths, StoreKind::Keychain)?;
            println!(
                "Tokens will be kept in the OS keychain. Servers signed in with the file store need `lanyard login NAME` again; then delete {}.",
                FileStore::path(&paths).display()
            );
        }
    }
    Ok(())
}
