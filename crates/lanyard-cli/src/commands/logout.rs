//! `lanyard logout NAME`.

use lanyard_core::api::Lanyard;

/// Revoke a server's tokens at its identity provider (RFC 7009) and forget them.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let out = lanyard.logout(&args.name).await?;
    if let Some(still) = &out.still_valid {
        println!(
            "Signed out of \"{}\" on this machine (its tokens were deleted here), but {still}.",
            args.name
        );
    } else if out.revoked {
        println!(
            "Signed out of \"{}\"; its tokens were revoked at the identity provider.",
            args.name
        );
    } else {
        println!(
            "Signed out of \"{}\"; its tokens were deleted here ({}).",
            args.name,
            out.note.as_deref().unwrap_or("not revoked")
        );
    }
    Ok(())
}
