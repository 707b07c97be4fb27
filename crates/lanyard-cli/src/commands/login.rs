//! `lanyard login NAME`.

use lanyard_core::api::Lanyard;

use crate::output;

/// Sign in to a saved server again (registers a new client when the old one was deleted).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in with a code entered on another device (RFC 8628 device grant; chosen anyway
    /// when this machine has no display and the identity provider offers it).
    #[arg(long, conflicts_with = "no_browser")]
    pub device: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?.with_paste_back(output::paste_back());
    if args.device {
        lanyard
            .login_by_device(&args.name, &output::progress)
            .await?;
    } else {
        lanyard
            .login(&args.name, args.no_browser, &output::progress)
            .await?;
    }
    println!("Signed in to \"{}\".", args.name);
    Ok(())
}
