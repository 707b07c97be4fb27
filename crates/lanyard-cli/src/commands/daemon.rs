//! `lanyard daemon`: the background refresh engine in the foreground. Logs to stderr; with
//! `--json`, every event is also printed to stdout as one JSON line (for scripts and tests).
//! SIGTERM or SIGINT stop it cleanly: refreshes in flight finish, the status file is written.

use std::io::Write;

use lanyard_core::daemon::{Daemon, Event, RefreshRunner};

/// Keep every managed server's tokens fresh in the background (what the tray app runs).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Print every event (status change, refresh, re-registration) as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Internal: refresh one server now (the engine runs this as a child process, so that a
    /// killed engine never loses a rotated refresh token) and print the outcome as JSON.
    #[arg(long, hide = true, value_name = "NAME")]
    pub refresh_one: Option<String>,
    /// Internal, with --refresh-one: the identity of the token the caller saw
    /// (`lanyard_core::tokens::TokenId`); a different token in the keychain means another
    /// process refreshed already.
    #[arg(long, hide = true, requires = "refresh_one", value_name = "ID")]
    pub seen_token: Option<lanyard_core::tokens::TokenId>,
    /// Internal, with --seen-token: the server refused that token (refresh it whatever its age).
    #[arg(long, hide = true, requires = "seen_token")]
    pub refused: bool,
    /// Refresh inside the daemon process instead of a helper child (not crash-safe).
    #[arg(long, hide = true)]
    pub in_process: bool,
}

/// Run until SIGTERM/SIGINT. Must be called inside a multi-threaded tokio runtime.
pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LANYARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    if let Some(name) = &args.refresh_one {
        use lanyard_core::tokens::fresh::Want;
        let want = args.seen_token.map(|id| {
            if args.refused {
                Want::Refused(id)
            } else {
                Want::Renew(id)
            }
        });
        let outcome = lanyard_core::daemon::refresh_one(name, want).await?;
        // The engine may be gone (killed): the tokens are stored already, a closed pipe is fine.
        if let Ok(line) = serde_json::to_string(&outcome) {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
        return Ok(());
    }
    let runner = match std::env::current_exe() {
        Ok(exe) if !args.in_process => RefreshRunner::Helper { exe },
        _ => RefreshRunner::InProcess,
    };
    let daemon = Daemon::start(runner)?;
    // Keep the assistants' config entries right (issue 5): repair drift, record removals.
    // A refreshed token is written to static-mode entries at once (poke), not at the next pass.
    let ides = lanyard_core::ides::config_watch::spawn_live(|e| {
        tracing::info!("{} in {}: {:?}", e.server, e.file.display(), e.found)
    })
    .map_err(|e| tracing::warn!("IDE config watcher not started: {}", e.what()))
    .ok();
    let mut events = daemon.subscribe();
    let json = args.json;
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let (Event::Refreshed { .. }, Some(watcher)) = (&event, &ides) {
                        watcher.poke();
                    }
                    report(&event, json)
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} events were not shown (too many at once)")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    daemon.shutdown().await;
    printer.abort();
    Ok(())
}

fn report(event: &Event, json: bool) {
    if json && let Ok(line) = serde_json::to_string(event) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    match event {
        Event::Status { server, status } => tracing::info!("{server}: {}", status.label()),
        Event::Refreshed {
            server,
            until,
            at_idp,
        } => tracing::info!(
            "{server}: new token valid until {until}{}",
            if *at_idp {
                ""
            } else {
                " (refreshed by another process)"
            }
        ),
        Event::Reregistered { server, issuer } => {
            tracing::warn!("{server}: registered a new client with {issuer}; sign in again")
        }
        Event::Removed { server } => tracing::info!("{server}: no longer managed"),
    }
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
