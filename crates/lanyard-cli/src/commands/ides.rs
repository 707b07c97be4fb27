//! `lanyard ides [--json] [--watch]`: the assistants found on this machine, what Lanyard
//! connected where, and whether each entry is still as Lanyard wrote it. `--watch` keeps the
//! entries right until interrupted (the daemon runs the same watcher beside the refresh engine,
//! which also rewrites static-mode tokens after each refresh; alone, the watcher only reacts to
//! file changes).

use lanyard_core::ides::Ide;
use lanyard_core::ides::actions::{self, Overview};
use lanyard_core::ides::manage::EntryState;
use lanyard_core::ides::source::LiveSource;

use crate::output;

/// Show detected assistants, connections and drift.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Watch the configs and repair Lanyard's entries until interrupted (`lanyard daemon` does
    /// this too, and also rewrites static-mode tokens after each refresh).
    #[arg(long)]
    pub watch: bool,
}

fn describe(s: &EntryState, ide: Ide) -> String {
    match s {
        EntryState::Ok => "connected".into(),
        EntryState::Drifted { keys } => format!("drifted ({})", keys.join(", ")),
        EntryState::RemovedByUser | EntryState::Missing => {
            format!("disconnected in {}", ide.label())
        }
        EntryState::Unreadable { error } => format!("unreadable: {error}"),
        EntryState::FileMissing => "config file missing".into(),
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let manager = actions::manager()?;
    let source = LiveSource::open()?;
    if args.watch {
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let shutdown = async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return shutdown.await,
                };
            tokio::select! { _ = shutdown => {}, _ = term.recv() => {} }
        };
        eprintln!(
            "Watching the assistants' configs (Ctrl-C to stop). Static-mode tokens are rewritten \
             after refreshes by `lanyard daemon` (or the tray), which runs this watcher too."
        );
        lanyard_core::ides::config_watch::run(
            manager,
            &source,
            lanyard_core::ides::config_watch::WatchOptions::default(),
            |e| {
                eprintln!(
                    "{} in {}: {}",
                    e.server,
                    e.file.display(),
                    match &e.found {
                        EntryState::Drifted { keys } => format!("repaired ({})", keys.join(", ")),
                        other => describe(other, e.ide),
                    }
                )
            },
            tokio::sync::mpsc::unbounded_channel().1,
            shutdown,
        )
        .await?;
        return Ok(());
    }

    let assistants = actions::assistants(&manager);
    let connections = actions::connections(&manager, &source).await?;
    if args.json {
        output::json(&Overview {
            assistants,
            connections,
        });
        return Ok(());
    }
    let width = Ide::ALL
        .map(|i| i.label().len())
        .into_iter()
        .max()
        .unwrap_or(0);
    for a in &assistants {
        println!(
            "{:<width$} {:<14} {}",
            a.name,
            if a.installed {
                "installed"
            } else {
                "not found"
            },
            a.user_config
        );
    }
    if connections.is_empty() {
        let found: Vec<&str> = assistants
            .iter()
            .filter(|a| a.installed)
            .map(|a| a.ide.id())
            .collect();
        let ides = if found.is_empty() {
            Ide::ALL.map(Ide::id).join(",")
        } else {
            found.join(",")
        };
        println!("\nNothing connected yet: `lanyard connect NAME --ide {ides}`.");
    } else {
        println!();
        for c in &connections {
            println!(
                "{:<16} {:<width$} {:<7} {:<28} {}",
                c.server,
                c.ide.label(),
                c.mode.id(),
                describe(&c.state, c.ide),
                c.file.display()
            );
        }
    }
    Ok(())
}
