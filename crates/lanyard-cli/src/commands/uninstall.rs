//! `lanyard uninstall [--dry-run] [--yes] [--force] [--json]`: revoke every token, delete every
//! OAuth client this machine registered, remove every assistant entry, keychain item, the
//! autostart entry and the state. Idempotent and resumable (see `lanyard_core::cleanup`).
//!
//! Exit codes: 0 everything done; 3 done on this machine, what stays at identity providers is
//! listed (tokens an IdP refused to revoke, clients only an admin can delete); 1 something on
//! this machine is left (run again).

use std::io::{BufRead, IsTerminal, Write};

use lanyard_core::cleanup::{
    Cleanup, CleanupError, EXIT_REMOTE_LEFTOVERS, Plan, Purpose, Report, Step,
};

use crate::output;

/// Remove everything Lanyard did on this machine, at the identity providers too.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Exit codes:
  0  everything is done, here and at the identity providers
  3  everything on this machine is done; what stays at identity providers is listed
     (tokens an identity provider refused to revoke, with how long they stay valid;
     clients only its admin can delete, with client id and issuer). Running again finds
     nothing left.
  1  something on this machine is left (an item failed or was kept): fix what it says
     and run the command again; it continues where it stopped.
A refused revocation does not stop the uninstall; an unreachable identity provider does,
unless --force is given. See docs/uninstall.md.")]
pub struct Args {
    /// Only list what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Finish on this machine even when an identity provider cannot be reached: tokens that
    /// could not be revoked and clients that could not be deleted are forgotten here and
    /// listed as left at the identity provider (exit code 3).
    #[arg(long)]
    pub force: bool,
    /// Print the plan or the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let cleanup = Cleanup::for_user()?.with_force(args.force);
    let plan = cleanup.plan(Purpose::Uninstall)?;
    if args.dry_run {
        if args.json {
            output::json(&plan_json(&plan));
        } else {
            print_plan(&plan, "Lanyard would do this (nothing was changed):");
        }
        return Ok(());
    }
    if plan.is_empty() {
        if args.json {
            output::json(&serde_json::json!({"steps": [], "left": 0, "complete": true}));
        } else {
            println!("Nothing to clean up: Lanyard has nothing left on this machine.");
        }
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CleanupError::NotConfirmed.into());
        }
        print_plan(&plan, "Lanyard will do this:");
        eprint!("Remove all of this? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            return Err(CleanupError::Declined.into());
        }
    }
    let json = args.json;
    finish(
        execute(&cleanup, &plan, json).await,
        json,
        "Lanyard removed everything it had on this machine.",
    )
}

/// The end of a run: `Ok` and exit 0 when nothing is left; the leftovers at identity providers
/// printed as a note (not an error) with exit code 3; an error (exit 1) when something on this
/// machine is left.
pub(crate) fn finish(
    result: Result<Report, CleanupError>,
    json: bool,
    all_done: &str,
) -> lanyard_core::Result<()> {
    match result {
        Ok(_) => {
            if !json {
                println!("{all_done}");
            }
            Ok(())
        }
        Err(CleanupError::RemoteLeftovers { items }) => {
            if !json {
                println!(
                    "note: everything on this machine is done. What stays at the identity provider (Lanyard has forgotten it; nothing more it can do):"
                );
                for i in &items {
                    println!("  - {i}");
                }
                println!(
                    "Send client ids to your identity provider's admin, who can delete them; tokens stay usable until they expire."
                );
            }
            crate::output::set_exit_code(EXIT_REMOTE_LEFTOVERS);
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn plan_json(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "engine_running": plan.engine_running,
        "items": plan.items.iter().map(|i| {
            let mut v = serde_json::to_value(i).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("description".into(), i.describe().into());
            }
            v
        }).collect::<Vec<_>>(),
    })
}

pub(crate) fn print_plan(plan: &Plan, heading: &str) {
    if plan.is_empty() {
        println!("Nothing to clean up.");
        return;
    }
    println!("{heading}");
    for (i, item) in plan.items.iter().enumerate() {
        println!("  {}. {}", i + 1, item.describe());
    }
    if plan.engine_running {
        println!("(The Lanyard tray or daemon is running: quit it first.)");
    }
}

/// Run a plan: a line per finished item on a terminal, the whole report as JSON with `--json`;
/// `Err` when an item did not finish.
pub(crate) async fn execute(
    cleanup: &Cleanup,
    plan: &Plan,
    json: bool,
) -> Result<Report, CleanupError> {
    let report = cleanup
        .execute(plan, &move |s: &Step| {
            if !json {
                print_step(s)
            }
        })
        .await;
    if json {
        output::json(&report);
    }
    report.into_result()
}

/// One line per finished item: `[2/7] done: Delete the OAuth client … (detail)`.
pub(crate) fn print_step(s: &Step) {
    if let Some(line) = s.report_line() {
        println!("{line}");
    }
}
