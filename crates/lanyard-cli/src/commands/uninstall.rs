//! `lanyard uninstall [--dry-run] [--yes] [--json]`: revoke every token, delete every OAuth
//! client this machine registered, remove every assistant entry, keychain item, the autostart
//! entry and the state. Idempotent and resumable (see `lanyard_core::cleanup`).

use std::io::{BufRead, IsTerminal, Write};

use lanyard_core::cleanup::{
    Cleanup, CleanupError, Outcome, Plan, Purpose, Report, Step, StepPhase,
};

use crate::output;

/// Remove everything Lanyard did on this machine, at the identity providers too.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only list what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan or the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let cleanup = Cleanup::for_user()?;
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
    match execute(&cleanup, &plan, json).await {
        Ok(_) => {
            if !json {
                println!("Lanyard removed everything it had on this machine.");
            }
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
    if s.phase != StepPhase::Finished {
        return;
    }
    let Some(o) = &s.outcome else { return };
    println!("[{}/{}] {}: {}", s.index, s.total, o.label(), s.description);
    if let Some(d) = o.detail() {
        let show = matches!(
            o,
            Outcome::Failed { .. }
                | Outcome::LeftForAdmin { .. }
                | Outcome::Kept { .. }
                | Outcome::AlreadyGone { .. }
        );
        if show {
            println!("      {d}");
        }
    }
}
