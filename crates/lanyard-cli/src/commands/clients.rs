//! `lanyard clients [--json]` and `lanyard clients prune [--json]`: this machine's OAuth client
//! registrations, and deleting the ones no server uses (RFC 7592).

use lanyard_core::cleanup::{Cleanup, Purpose};

use crate::commands::uninstall::{execute, plan_json};
use crate::output;

/// List the OAuth clients this machine registered (issuer, client id, created, last used,
/// servers using it); `prune` deletes the unused ones.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Delete the registrations no server uses (RFC 7592 DELETE at the identity provider).
    Prune {
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let cleanup = Cleanup::for_user()?;
    match args.action {
        None => list(&cleanup, args.json),
        Some(Action::Prune { dry_run }) => {
            let plan = cleanup.plan(Purpose::Prune)?;
            if dry_run {
                if args.json {
                    output::json(&plan_json(&plan));
                } else {
                    crate::commands::uninstall::print_plan(&plan, "Lanyard would delete:");
                }
                return Ok(());
            }
            if plan.is_empty() {
                if args.json {
                    output::json(&serde_json::json!({"steps": [], "left": 0, "complete": true}));
                } else {
                    println!(
                        "No unused registrations: every client Lanyard registered is used by a server."
                    );
                }
                return Ok(());
            }
            crate::commands::uninstall::finish(
                execute(&cleanup, &plan, args.json).await,
                args.json,
                "Lanyard deleted every unused registration.",
            )
        }
    }
}

fn list(cleanup: &Cleanup, json: bool) -> lanyard_core::Result<()> {
    let clients = cleanup.clients()?;
    if json {
        output::json(&clients);
        return Ok(());
    }
    if clients.is_empty() {
        println!("Lanyard registered no OAuth client from this machine.");
        return Ok(());
    }
    for c in clients {
        println!("{}\t{}", c.client_id, c.issuer);
        let used = match c.last_used_at {
            Some(t) => output::ago(t),
            None => "never".into(),
        };
        println!(
            "  created {}  last used {}  servers: {}{}{}",
            output::ago(c.created_at),
            used,
            if c.servers.is_empty() {
                "none (`lanyard clients prune` deletes it)".to_string()
            } else {
                c.servers.join(", ")
            },
            if c.deletable {
                ""
            } else {
                "  (no RFC 7592: only an admin can delete it)"
            },
            if c.dead {
                "  (the identity provider no longer knows it)"
            } else {
                ""
            },
        );
    }
    Ok(())
}
