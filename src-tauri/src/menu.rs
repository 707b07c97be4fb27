//! What the tray menu's items do.

use lanyard_core::ides::Ide;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;

use crate::calls;
use crate::engine;
use crate::link::Open;
use crate::state::AppState;
use crate::tray::{self, SEP};
use crate::winproc;

/// Handles a click on the tray menu item `id` (see [`tray::create`]).
pub fn on_menu(app: &AppHandle, id: &str) {
    let state = app.state::<AppState>();
    let result = match id {
        "add" => open(
            app,
            Open::Wizard {
                url: None,
                from_link: false,
            },
        ),
        "open" => open(app, Open::Dashboard { section: None }),
        "import" => open(app, Open::Import { registry: None }),
        "remove-everything" => open(
            app,
            Open::Dashboard {
                section: Some("remove-everything".into()),
            },
        ),
        "uninstall" => open(
            app,
            Open::Dashboard {
                section: Some("uninstall".into()),
            },
        ),
        "quit" => {
            app.exit(0);
            Ok(())
        }
        "autostart" => {
            let al = app.autolaunch();
            let r = if al.is_enabled().unwrap_or(false) {
                al.disable()
            } else {
                al.enable()
            };
            if let Err(e) = r {
                state.log("error", format!("Start at login: {e}"));
            }
            tray::update(app);
            Ok(())
        }
        _ => {
            let parts: Vec<&str> = id.split(SEP).collect();
            match parts.as_slice() {
                ["srv", name, "signin"] => open(
                    app,
                    Open::SignIn {
                        server: (*name).to_owned(),
                    },
                ),
                ["srv", name, "ide", ide] => {
                    toggle_connection(app, name, ide);
                    Ok(())
                }
                ["srv", name, "copy"] => {
                    copy_url(app, name);
                    Ok(())
                }
                ["srv", name, "remove"] => {
                    remove(app, name);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    };
    if let Err(e) = result {
        state.log("error", format!("menu: {e}"));
    }
}

fn open(app: &AppHandle, what: Open) -> Result<(), String> {
    winproc::open(app, what)
}

fn toggle_connection(app: &AppHandle, name: &str, ide: &str) {
    let Ok(ide) = Ide::parse(ide) else {
        return;
    };
    let connected = app
        .state::<AppState>()
        .servers()
        .iter()
        .any(|s| s.name == name && s.connected.iter().any(|c| c == ide.id()));
    let verb = if connected { "disconnect" } else { "connect" };
    let (app, name) = (app.clone(), name.to_owned());
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let done = if connected {
            calls::disconnect(name.clone(), vec![ide]).await
        } else {
            calls::connect(name.clone(), vec![ide]).await
        };
        match done {
            Ok(()) => state.log("connect", format!("{name}: {verb}ed {ide}")),
            Err(e) => state.log("error", format!("{name}: {verb} {ide} failed: {e}")),
        }
        engine::refresh_now(&app).await;
        tray::update(&app);
    });
}

fn copy_url(app: &AppHandle, name: &str) {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    let state = app.state::<AppState>();
    if let Some(s) = state.servers().into_iter().find(|s| s.name == name)
        && let Err(e) = app.clipboard().write_text(s.url)
    {
        state.log("error", format!("Copy URL: {e}"));
    }
}

fn remove(app: &AppHandle, name: &str) {
    let (app, name) = (app.clone(), name.to_owned());
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match calls::remove(name.clone()).await {
            Ok(()) => state.log("remove", format!("{name}: removed (tokens revoked)")),
            Err(e) => state.log("error", format!("{name}: remove failed: {e}")),
        }
        engine::refresh_now(&app).await;
        tray::update(&app);
    });
}
