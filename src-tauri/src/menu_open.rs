//! Knowing that the tray menu was opened, before an item is clicked: the desktop's tray host
//! asks the menu to get ready (`com.canonical.dbusmenu` `AboutToShow`, or `Event(id, "opened")`:
//! GNOME's AppIndicator extension and KDE Plasma send both) on the session bus connection that
//! libappindicator shares with this process. A filter on that connection sees the call go by;
//! the tray then starts the windows process with the wizard loaded but hidden (`winproc`), so a
//! click on "Add MCP server…" only has to show it. Linux only; elsewhere nothing is watched.

use tauri::AppHandle;

#[cfg(target_os = "linux")]
pub fn watch(app: &AppHandle, on_open: fn(&AppHandle)) {
    let conn = match gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("no session bus; the menu is not watched: {e}");
            return;
        }
    };
    let app = app.clone();
    // The filter stays for the life of the connection (the process).
    let _filter = conn.add_filter(move |_, msg, incoming| {
        if incoming && opens_the_menu(msg) {
            on_open(&app);
        }
        Some(msg.clone())
    });
}

#[cfg(not(target_os = "linux"))]
pub fn watch(_app: &AppHandle, _on_open: fn(&AppHandle)) {}

#[cfg(target_os = "linux")]
fn opens_the_menu(msg: &gio::DBusMessage) -> bool {
    if msg.message_type() != gio::DBusMessageType::MethodCall
        || msg.interface().as_deref() != Some("com.canonical.dbusmenu")
    {
        return false;
    }
    match msg.member().as_deref() {
        Some("AboutToShow" | "AboutToShowGroup") => true,
        // Event(id, event_id, data, timestamp)
        Some("Event") => msg
            .body()
            .and_then(|b| b.try_child_value(1))
            .and_then(|v| v.str().map(|s| s == "opened"))
            .unwrap_or(false),
        _ => false,
    }
}
