//! `lanyard add URL`: discover, register, sign in, first tool call, save.

use lanyard_core::api::Lanyard;

use super::common::SignInFlags;
use crate::output;

/// Add an MCP server: discover, register, sign in, first tool call (tools/list), save.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The MCP server's URL, e.g. https://gateway.example.com/mcp
    pub url: String,
    #[command(flatten)]
    pub flags: SignInFlags,
    #[command(flatten)]
    pub machine: super::machine::MachineFlags,
    #[command(flatten)]
    pub idp: super::idp::IdpFlags,
    /// Abort before any registration or sign-in unless discovery names this authorization
    /// server (the issuer `lanyard probe URL` showed you).
    #[arg(long, value_name = "ISSUER")]
    pub expect_issuer: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Then connect it to AI coding assistants, comma-separated ids (cursor, claude, codex, vscode, windsurf, zed, claude-desktop, gemini, copilot, opencode, amp) or all; default modes.
    #[arg(long, value_name = "IDES")]
    pub connect: Option<String>,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let mut opts = args.flags.to_options()?;
    opts.confirmed = args
        .expect_issuer
        .map(lanyard_core::api::Confirmed::issuer);
    let lanyard = Lanyard::open()?
        .with_paste_back(output::paste_back())
        .with_idp(args.idp.choice());
    let out = match args.machine.to_options(&args.flags)? {
        Some(machine) => {
            lanyard
                .add_machine(&args.url, opts, machine, &output::progress)
                .await?
        }
        None => lanyard.add(&args.url, opts, &output::progress).await?,
    };
    if args.json {
        output::json(&out);
    } else {
        super::idp::say_path(&out.sign_in);
        println!(
            "Added \"{}\" ({}): signed in at {} with {} client {}; {} tool(s); token expires {}.",
            out.name,
            out.url,
            out.issuer,
            out.client_source,
            out.client_id,
            out.tools.len(),
            output::relative(out.expires_at)
        );
    }
    if let Some(ides) = args.connect {
        let target = super::connect::Target {
            ide: Some(ides),
            ..Default::default()
        };
        let reports = super::connect::connect(&out.name, &target).await?;
        if !args.json {
            super::connect::print(&out.name, &reports);
        }
    }
    Ok(())
}
