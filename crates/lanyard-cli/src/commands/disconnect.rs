//! `lanyard disconnect NAME [--ide …]`: remove the server's entries that Lanyard wrote (and the
//! containers it created), giving back each file as it was.

/// Remove a server's entries from the assistants' configs.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
    /// Assistants, comma-separated (default: every one it is connected to).
    #[arg(long, value_name = "IDES")]
    pub ide: Option<String>,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let manager = super::connect::manager()?;
    let ides = args
        .ide
        .as_deref()
        .map(lanyard_core::ides::Ide::parse_list)
        .transpose()?;
    let name = args.name.clone();
    let before = manager.records.load()?.connections;
    let (changed, after) = tokio::task::spawn_blocking(move || {
        let changed = manager.disconnect(&name, ides.as_deref())?;
        Ok::<_, lanyard_core::ides::IdeError>((changed, manager.records.load()?.connections))
    })
    .await
    .map_err(|e| lanyard_core::ides::IdeError::Watch(e.to_string()))??;
    // A native-mode client secret no entry uses any more leaves the keychain too.
    let unused = lanyard_core::ides::source::unused_native_secrets(&before, &after);
    if !unused.is_empty() {
        let lanyard = lanyard_core::flow::Lanyard::open()?;
        for key in unused {
            lanyard.secrets().delete(&key)?;
        }
    }
    if changed.is_empty() {
        println!("{} had no Lanyard entries left to remove.", args.name);
    }
    for f in changed {
        println!("Removed {} from {}.", args.name, f.display());
    }
    Ok(())
}
