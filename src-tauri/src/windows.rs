//! The windows process's windows, opened on demand and destroyed when closed (the process
//! exits after its last one; see `peer.rs`).

use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

use crate::state::AppState;

pub const WIZARD: &str = "wizard";
pub const DASHBOARD: &str = "dashboard";

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Opens (or focuses) the add wizard, optionally with a server URL filled in and checked.
/// With `from_link` (a `lanyard://add` link, which any web page can open) the wizard contacts
/// nothing until the user confirmed the URL on a screen that says it came from a link.
pub fn open_wizard(
    app: &AppHandle,
    server_url: Option<&str>,
    from_link: bool,
) -> tauri::Result<()> {
    build_wizard(app, server_url, from_link, true)
}

/// How long a wizard loaded ahead of a click (the tray menu opened) waits, hidden, for it.
const PREWARM_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Loads the wizard hidden, so that opening it is only showing it; dropped after
/// [`PREWARM_WAIT`] when nothing showed it.
pub fn prewarm_wizard(app: &AppHandle) -> tauri::Result<()> {
    if app.get_webview_window(WIZARD).is_some() {
        return Ok(());
    }
    build_wizard(app, None, false, false)?;
    let h = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(PREWARM_WAIT).await;
        drop_prewarmed(&h);
    });
    Ok(())
}

/// Drops a wizard that was loaded ahead and never shown.
pub fn drop_prewarmed(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(WIZARD)
        && !w.is_visible().unwrap_or(true)
    {
        let _ = w.destroy();
    }
}

fn build_wizard(
    app: &AppHandle,
    server_url: Option<&str>,
    from_link: bool,
    visible: bool,
) -> tauri::Result<()> {
    let key = if from_link { "link" } else { "url" };
    if let Some(w) = app.get_webview_window(WIZARD) {
        if let Some(u) = server_url {
            // Reload the wizard on the new URL (an event could arrive before the page listens).
            app.state::<AppState>().cancel_flow();
            let mut target = w.url()?;
            target.set_path("/wizard.html");
            target.set_query(Some(&format!("{key}={}", encode(u))));
            w.navigate(target)?;
        }
        if !visible {
            return Ok(());
        }
        w.unminimize()?;
        w.show()?;
        return w.set_focus();
    }
    let page = match server_url {
        Some(u) => format!("wizard.html?{key}={}", encode(u)),
        None => "wizard.html".to_owned(),
    };
    WebviewWindowBuilder::new(app, WIZARD, WebviewUrl::App(page.into()))
        .title("Add MCP server — Lanyard")
        .inner_size(760.0, 700.0)
        .min_inner_size(520.0, 480.0)
        .center()
        .visible(visible)
        .on_page_load(|_, p| tracing::debug!(url = %p.url(), event = ?p.event(), "wizard page"))
        .build()?;
    tracing::debug!("wizard window built");
    Ok(())
}

/// Opens (or focuses) the dashboard at one of its confirmations: "remove-everything" or
/// "uninstall" (the page's hash when it opens, an event of that name when it is open already).
pub fn open_dashboard_at(app: &AppHandle, section: Option<&str>) -> tauri::Result<()> {
    if let Some(w) = app.get_webview_window(DASHBOARD) {
        if let Some(section) = section {
            w.emit(section, ())?;
        }
        w.unminimize()?;
        w.show()?;
        return w.set_focus();
    }
    let page = match section {
        Some(section) => format!("dashboard.html#{section}"),
        None => "dashboard.html".to_owned(),
    };
    WebviewWindowBuilder::new(app, DASHBOARD, WebviewUrl::App(page.into()))
        .title("Lanyard")
        .inner_size(900.0, 640.0)
        .min_inner_size(560.0, 400.0)
        .center()
        .build()?;
    Ok(())
}
