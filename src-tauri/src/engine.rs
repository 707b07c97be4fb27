//! The engine inside the tray process: lanyard-core's refresh engine (`daemon::Daemon`: one
//! timer for every server, refresh ahead of expiry, backoff while the IdP is unreachable,
//! needs-sign-in on `invalid_grant`) plus the tray's view of it: server rows, tray menu and icon,
//! notifications and the activity log.

use std::collections::BTreeMap;
use std::time::Duration;

use lanyard_core::daemon::{Daemon, Event, RefreshRunner, Status as EngineStatus, StatusFile};
use lanyard_core::ides::config_watch::WatchEvent;
use lanyard_core::ides::manage::EntryState;
use tauri::{AppHandle, Manager};

use crate::calls;
use crate::link::Open;
use crate::model::{ServerRow, Status};
use crate::notify;
use crate::state::AppState;
use crate::tray;

fn poll_interval() -> Duration {
    let secs = std::env::var("LANYARD_TRAY_POLL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    Duration::from_secs(secs.max(1))
}

/// Starts the refresh engine and the loop that keeps the tray up to date.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        // Refreshes run in a `lanyard daemon --refresh-one` child when the CLI is installed
        // beside the tray (or named by LANYARD_BIN): a kill mid-refresh then never loses a
        // rotated refresh token.
        let runner = match lanyard_core::ides::source::lanyard_exe() {
            Ok(exe) if exe.is_absolute() && exe.is_file() => RefreshRunner::Helper { exe },
            _ => RefreshRunner::InProcess,
        };
        let mut daemon = match Daemon::start(runner) {
            Ok(d) => {
                state.log("engine", "refresh engine started");
                Some(d)
            }
            Err(e) => {
                // Typically: `lanyard daemon` already runs for this user; its status file is read.
                state.log("engine", format!("refresh engine not started here: {e}"));
                None
            }
        };
        let mut events = daemon.as_ref().map(Daemon::subscribe);
        let (stop_tx, mut stop_rx) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut g) = STOP.lock() {
            *g = Some(stop_tx);
        }
        // The assistant-config watcher runs beside the engine (a `lanyard daemon` that owns the
        // engine runs its own): it repairs our stale entries and reports removals and drift.
        let (watch_tx, mut watch_rx) = tokio::sync::mpsc::unbounded_channel::<WatchEvent>();
        let watcher = if daemon.is_some() {
            match lanyard_core::ides::config_watch::spawn_live(move |e| {
                let _ = watch_tx.send(e.clone());
            }) {
                Ok(w) => Some(w),
                Err(e) => {
                    state.log(
                        "engine",
                        format!("assistant config watcher not started: {}", e.what()),
                    );
                    None
                }
            }
        } else {
            None
        };
        loop {
            let statuses = match &daemon {
                Some(d) => d.statuses(),
                None => status_file().map(|f| f.servers).unwrap_or_default(),
            };
            state.set_statuses(statuses.clone());
            rebuild(&app, statuses).await;
            let stop_ack = {
                let event = async {
                    match events.as_mut() {
                        Some(rx) => rx.recv().await.ok(),
                        None => std::future::pending().await,
                    }
                };
                // Without an engine of its own the tray reads another process's status file, so
                // only then does it look again on a timer; otherwise it sleeps until something happens.
                let poll = async {
                    if daemon.is_some() {
                        std::future::pending::<()>().await
                    } else {
                        tokio::time::sleep(poll_interval()).await
                    }
                };
                let mut stop_ack = None;
                tokio::select! {
                    Some(ack) = stop_rx.recv() => stop_ack = Some(ack),
                    ev = event => if let Some(ev) = ev {
                        if let (Event::Refreshed { .. }, Some(w)) = (&ev, &watcher) {
                            w.poke(); // static-mode entries carry the new token at once
                        }
                        on_event(&app, &ev)
                    },
                    Some(we) = watch_rx.recv() => on_watch_event(&app, &we),
                    _ = state.kick.notified() => {
                        if let Some(d) = &daemon { d.rescan(); }
                    }
                    _ = poll => {}
                }
                stop_ack
            };
            if let Some(ack) = stop_ack {
                drop(watcher);
                if let Some(d) = daemon.take() {
                    d.shutdown().await;
                    state.log("engine", "refresh engine stopped for the cleanup");
                }
                let _ = ack.send(());
                return;
            }
        }
    });
}

type StopAck = tokio::sync::oneshot::Sender<()>;
/// Asks the running engine loop to stop (see [`stop`]); replaced by every [`start`].
static STOP: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<StopAck>>> =
    std::sync::Mutex::new(None);

/// Stops this process's refresh engine and watcher and waits until they are down, so that
/// `lanyard uninstall` neither stops the tray itself (it signals the engine's process) nor races a
/// refresh. [`start`] brings them back when the cleanup left something behind.
pub async fn stop() {
    let tx = STOP.lock().ok().and_then(|mut g| g.take());
    let Some(tx) = tx else { return };
    let (ack, done) = tokio::sync::oneshot::channel();
    if tx.send(ack).is_ok() {
        let _ = done.await;
    }
}

/// What the assistant-config watcher found: repairs go to the activity log; a removal by the
/// user is respected (never undone) and shown by the rebuild's drift check.
fn on_watch_event(app: &AppHandle, e: &WatchEvent) {
    let state = app.state::<AppState>();
    match &e.found {
        EntryState::Drifted { keys } => state.log(
            "repair",
            format!(
                "{} in {}: repaired {}",
                e.server,
                e.ide.label(),
                keys.join(", ")
            ),
        ),
        EntryState::Unreadable { error } => state.log(
            "error",
            format!("{}: cannot read {} ({error})", e.server, e.file.display()),
        ),
        // A removal by the user shows up as drift in the rebuild that follows every event.
        EntryState::Ok
        | EntryState::Missing
        | EntryState::RemovedByUser
        | EntryState::FileMissing => {}
    }
}

fn status_file() -> Option<StatusFile> {
    let paths = lanyard_core::paths::Paths::from_env().ok()?;
    StatusFile::read(paths.dir())
}

fn on_event(app: &AppHandle, ev: &Event) {
    let state = app.state::<AppState>();
    match ev {
        Event::Status {
            server,
            status: EngineStatus::NeedsSignIn { reason },
        } => {
            state.log("sign-in", format!("{server} needs sign-in: {reason}"));
            notify_needs_sign_in(app, server);
        }
        Event::Status {
            server,
            status: EngineStatus::Unreachable { reason, until, .. },
        } => {
            state.log(
                "error",
                format!("{server}: identity provider unreachable ({reason})"),
            );
            // Once per outage: the engine retries (and reports) with backoff.
            if state.first_alert(server) {
                let body = match until {
                    Some(t) => format!(
                        "Its identity provider cannot be reached ({reason}). Lanyard keeps trying; the token in hand works until {}.",
                        t.with_timezone(&chrono::Local).format("%H:%M")
                    ),
                    None => format!(
                        "Its identity provider cannot be reached ({reason}). Lanyard keeps trying."
                    ),
                };
                notify_opening(
                    app,
                    notify::Needs {
                        title: &format!("{server}: token refresh failing"),
                        body: &body,
                        action: "Open Lanyard",
                        fallback: "Lanyard keeps trying; “Open Lanyard” in the tray menu shows the state.",
                    },
                    Open::Dashboard { section: None },
                );
            }
        }
        // A refresh between two failed ones does not end the outage; a fresh token does.
        Event::Status {
            server,
            status: EngineStatus::Fresh { .. } | EngineStatus::NoExpiry,
        } => state.clear_alert(server),
        Event::Status { .. } => {}
        Event::Refreshed { server, at_idp, .. } => {
            state.clear_alert(server);
            state.log(
                "refresh",
                if *at_idp {
                    format!("{server}: token refreshed")
                } else {
                    format!("{server}: picked up a token refreshed elsewhere")
                },
            )
        }
        Event::Reregistered { server, issuer } => {
            state.log(
                "repair",
                format!("{server}: the OAuth client at {issuer} was deleted; registered a new one"),
            );
            notify_opening(
                app,
                notify::Needs {
                    title: &format!("{server} needs sign-in"),
                    body: "Its OAuth client was deleted at the identity provider; Lanyard registered a new one.",
                    action: "Sign in",
                    fallback: "Open the Lanyard menu and choose “Sign in again”.",
                },
                Open::SignIn {
                    server: server.clone(),
                },
            );
        }
        Event::Removed { server } => state.log("remove", format!("{server} is no longer managed")),
    }
}

/// Reads servers and the assistants' connections (core), updates the tray when anything
/// changed and notifies about new drift.
async fn rebuild(app: &AppHandle, statuses: BTreeMap<String, EngineStatus>) {
    let state = app.state::<AppState>();
    let views = match calls::list().await {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!("server list unavailable: {e}");
            return;
        }
    };
    let connections = if views.is_empty() {
        Vec::new()
    } else {
        calls::connections().await.unwrap_or_else(|e| {
            tracing::debug!("assistant connections unavailable: {e}");
            Vec::new()
        })
    };
    let rows: Vec<ServerRow> = views
        .iter()
        .map(|v| ServerRow::from_core(v, statuses.get(&v.name), &connections))
        .collect();
    let before = state.servers();
    for row in &rows {
        for d in &row.drift {
            if !before
                .iter()
                .any(|b| b.name == row.name && b.drift.contains(d))
            {
                state.log("drift", format!("{}: {d}", row.name));
                notify_opening(
                    app,
                    notify::Needs {
                        title: &format!("{}: {d}", row.name),
                        body: "Changed by hand: Lanyard left it so. Its switch in Lanyard's window connects it again.",
                        action: "Open Lanyard",
                        fallback: "Lanyard left the change in place; reconnect from the menu.",
                    },
                    Open::Dashboard { section: None },
                );
            }
        }
        let was = before.iter().find(|b| b.name == row.name).map(|b| b.status);
        if row.status == Status::NeedsSignIn
            && was.is_some_and(|w| w != Status::NeedsSignIn)
            && !statuses.contains_key(&row.name)
        {
            notify_needs_sign_in(app, &row.name);
        }
    }
    if state.set_servers(rows) {
        tray::update(app);
    }
}

/// Re-read everything now (after add, sign-in, connect, remove) and let the engine rescan.
pub async fn refresh_now(app: &AppHandle) {
    let state = app.state::<AppState>();
    state.kick.notify_one();
    rebuild(app, state.statuses()).await;
}

/// "NAME needs sign-in"; clicking it signs in again (through the sign-in window).
fn notify_needs_sign_in(app: &AppHandle, server: &str) {
    notify_opening(
        app,
        notify::Needs {
            title: &format!("{server} needs sign-in"),
            body: "Click to sign in again.",
            action: "Sign in",
            fallback: "Open the Lanyard menu and choose “Sign in again”.",
        },
        Open::SignIn {
            server: server.to_owned(),
        },
    );
}

/// A notification whose click opens `window` (in the windows process).
fn notify_opening(app: &AppHandle, n: notify::Needs<'_>, window: Open) {
    let click_app = app.clone();
    notify::needs_user(app, n, move || {
        click_app
            .state::<AppState>()
            .open_window(&click_app, window)
    });
}
