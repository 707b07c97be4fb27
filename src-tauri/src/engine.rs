//! The tray's background loop: keeps the server list and tray fresh, refreshes tokens shortly
//! before they expire, notifies when a server needs sign-in. Interim: it drives the CLI
//! (`lanyard list --json`, `lanyard token NAME`), which takes the machine-wide refresh lock.

use std::time::Duration;

use chrono::Utc;
use tauri::{AppHandle, Manager};

use crate::cli;
use crate::flow;
use crate::model::{Status, rows_from_list};
use crate::state::AppState;
use crate::tray;

/// Refresh this long before expiry.
const REFRESH_AHEAD_SECS: i64 = 90;

fn poll_interval() -> Duration {
    let secs = std::env::var("LANYARD_TRAY_POLL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    Duration::from_secs(secs.max(1))
}

pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        loop {
            refresh_now(&app).await;
            refresh_expiring(&app).await;
            tokio::time::sleep(poll_interval()).await;
        }
    });
}

/// Re-reads the server list; updates the tray and notifies on a change to "needs sign-in".
pub async fn refresh_now(app: &AppHandle) {
    let state = app.state::<AppState>();
    let v = match cli::json(&["list".into(), "--json".into()]).await {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!("lanyard list failed: {e}");
            return;
        }
    };
    let rows = rows_from_list(&v);
    let before = state.servers();
    for row in &rows {
        let was = before.iter().find(|b| b.name == row.name).map(|b| b.status);
        if row.status == Status::NeedsSignIn && was.is_some_and(|w| w != Status::NeedsSignIn) {
            state.log("sign-in", format!("{} needs sign-in", row.name));
            notify(
                app,
                &format!("{} needs sign-in", row.name),
                "Open the Lanyard menu and choose “Sign in again”.",
            );
        }
        for d in &row.drift {
            if !before
                .iter()
                .any(|b| b.name == row.name && b.drift.contains(d))
            {
                state.log("drift", format!("{}: {d}", row.name));
                notify(
                    app,
                    &format!("{}: {d}", row.name),
                    "Lanyard left the change in place; reconnect from the menu.",
                );
            }
        }
    }
    if state.set_servers(rows) {
        tray::update(app);
    }
}

async fn refresh_expiring(app: &AppHandle) {
    let state = app.state::<AppState>();
    let soon = Utc::now() + chrono::Duration::seconds(REFRESH_AHEAD_SECS);
    let due: Vec<String> = state
        .servers()
        .into_iter()
        .filter(|s| s.status == Status::SignedIn && s.expires_at.is_some_and(|t| t <= soon))
        .map(|s| s.name)
        .collect();
    for name in due {
        state.set_refreshing(&name, true);
        tray::update(app);
        // The token itself is printed on stdout; it is dropped here, never logged.
        match cli::run(&["token".into(), name.clone(), "--json".into()]).await {
            Ok(_) => state.log("refresh", format!("{name}: token refreshed")),
            Err(e) => state.log("error", format!("{name}: refresh failed: {e}")),
        }
        state.set_refreshing(&name, false);
    }
    refresh_now(app).await;
    tray::update(app);
}

/// "Sign in again" for an existing server, through the sign-in window.
pub fn sign_in_again(app: &AppHandle, name: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let args = vec!["login".into(), name.clone(), "--no-browser".into()];
        match flow::run_signin(&app, &name, args, false).await {
            Ok(_) => state.log("sign-in", format!("{name}: signed in again")),
            Err(e) => state.log("error", format!("{name}: sign-in failed: {e}")),
        }
        refresh_now(&app).await;
    });
}

pub fn notify(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}
