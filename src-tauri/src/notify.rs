//! Desktop notifications: plain ones, and those about a state change that needs the user, which
//! carry an action that opens the right window.
//!
//! On Linux those go straight to org.freedesktop.Notifications (the notification plugin has no
//! actions there) with two actions: "default" (a click on the notification's body) and a
//! labelled button ("Sign in", "Open Lanyard"); either runs `on_click`. A thread waits for the
//! click or the close. Without a notification server, or elsewhere, a plain notification says
//! where the same thing is in the tray menu (the plugin cannot call back on macOS and Windows
//! desktop notifications either).

use tauri::AppHandle;

pub fn show(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// A notification that needs the user.
pub struct Needs<'a> {
    pub title: &'a str,
    pub body: &'a str,
    /// The button's label: what clicking does ("Sign in", "Open Lanyard").
    pub action: &'a str,
    /// Where the same is in the tray menu, for a notification without actions.
    pub fallback: &'a str,
}

/// Shows `n`; `on_click` runs when the user clicks it or its button.
#[cfg(target_os = "linux")]
pub fn needs_user(app: &AppHandle, n: Needs<'_>, on_click: impl FnOnce() + Send + 'static) {
    let shown = notify_rust::Notification::new()
        .appname("Lanyard")
        .summary(n.title)
        .body(n.body)
        .action("default", n.action)
        .action("open", n.action)
        .show();
    match shown {
        Ok(handle) => {
            let spawned = std::thread::Builder::new()
                .name("notification".into())
                .spawn(move || {
                    let mut on_click = Some(on_click);
                    handle.wait_for_action(|action| {
                        if matches!(action, "default" | "open")
                            && let Some(f) = on_click.take()
                        {
                            f();
                        }
                    })
                });
            if let Err(e) = spawned {
                tracing::debug!("notification action not watched: {e}");
            }
        }
        Err(e) => {
            tracing::debug!("notification server unavailable ({e}); plain notification");
            show(app, n.title, n.fallback);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn needs_user(app: &AppHandle, n: Needs<'_>, _on_click: impl FnOnce() + Send + 'static) {
    show(app, n.title, n.fallback);
}
