//! `lanyard remove NAME`.

use lanyard_core::api::Lanyard;

/// Stop managing a server: revoke and delete its tokens, forget it.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let out = lanyard.remove(&args.name).await?;
    println!(
        "Removed \"{}\"{}.",
        args.name,
        if out.revoked {
            "; its tokens were revoked"
        } else {
            ""
        }
    );
    Ok(())
}
