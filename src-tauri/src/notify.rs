//! Desktop notifications: plain ones, and "NAME needs sign-in", which acts when clicked.

use tauri::AppHandle;

pub fn show(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// "NAME needs sign-in"; `on_click` runs when the user clicks it.
/// On Linux it goes straight to org.freedesktop.Notifications with a default action (the
/// notification plugin has no click actions there); a thread waits for the click or the close.
#[cfg(target_os = "linux")]
pub fn needs_sign_in(app: &AppHandle, server: &str, on_click: impl FnOnce() + Send + 'static) {
    let shown = notify_rust::Notification::new()
        .appname("Lanyard")
        .summary(&format!("{server} needs sign-in"))
        .body("Click to sign in again.")
        .action("default", "Sign in")
        .show();
    match shown {
        Ok(handle) => {
            let spawned = std::thread::Builder::new()
                .name("notification".into())
                .spawn(move || {
                    let mut on_click = Some(on_click);
                    handle.wait_for_action(|action| {
                        if action == "default"
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
            show(
                app,
                &format!("{server} needs sign-in"),
                "Open the Lanyard menu and choose “Sign in again”.",
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn needs_sign_in(app: &AppHandle, server: &str, _on_click: impl FnOnce() + Send + 'static) {
    show(
        app,
        &format!("{server} needs sign-in"),
        "Open the Lanyard menu and choose “Sign in again”.",
    );
}
