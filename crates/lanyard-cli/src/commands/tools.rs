//! `lanyard tools NAME [--json]`.

use lanyard_core::api::Lanyard;

use crate::output;

/// List a server's tools (the MCP handshake + tools/list with a valid token).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name (see `lanyard list`).
    pub name: String,
    /// Print the tools as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?.with_paste_back(output::paste_back());
    let tools = lanyard.tools(&args.name, &output::progress_quiet).await?;
    if args.json {
        output::json(&tools);
    } else {
        for t in tools {
            match t
                .description
                .as_deref()
                .map(|d| d.lines().next().unwrap_or(""))
            {
                Some(d) if !d.is_empty() => println!("{}\t{d}", t.name),
                _ => println!("{}", t.name),
            }
        }
    }
    Ok(())
}
