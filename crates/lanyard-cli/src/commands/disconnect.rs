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
    let ides = args
        .ide
        .as_deref()
        .map(lanyard_core::ides::Ide::parse_list)
        .transpose()?;
    let changed = lanyard_core::ides::actions::disconnect(&args.name, ides).await?;
    if changed.is_empty() {
        println!("{} had no Lanyard entries left to remove.", args.name);
    }
    for f in changed {
        println!("Removed {} from {}.", args.name, f.display());
    }
    Ok(())
}
