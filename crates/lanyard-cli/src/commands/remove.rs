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
    match (&out.still_valid, out.revoked) {
        // The server is forgotten either way; what the IdP would not revoke is the user's to know.
        (Some(still), _) => println!(
            "Removed \"{}\" (its tokens were deleted here), but {still}.",
            args.name
        ),
        (None, true) => println!(
            "Removed \"{}\"; its tokens were revoked at the identity provider.",
            args.name
        ),
        (None, false) => println!(
            "Removed \"{}\"; its tokens were deleted here ({}).",
            args.name,
            out.note.as_deref().unwrap_or("not revoked")
        ),
    }
    Ok(())
}
