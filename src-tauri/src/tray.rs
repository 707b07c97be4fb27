//! The tray icon and its menu, rebuilt from the server list whenever it changes.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;

use crate::commands::ASSISTANTS;
use crate::engine;
use crate::model::{ServerRow, Status};
use crate::state::AppState;
use crate::windows;

pub const TRAY_ID: &str = "lanyard";
/// Separates the parts of a server item's id ("srv", name, action[, ide]).
const SEP: char = '\u{1f}';

fn icon(status: Status) -> Image<'static> {
    let bytes: &'static [u8] = match status {
        Status::SignedIn => include_bytes!("../../icons/tray/signed-in.png"),
        Status::Refreshing => include_bytes!("../../icons/tray/refreshing.png"),
        Status::NeedsSignIn => include_bytes!("../../icons/tray/needs-sign-in.png"),
        Status::Unreachable => include_bytes!("../../icons/tray/unreachable.png"),
    };
    // The PNGs are ours and committed; a decoding failure is a build defect caught by tests.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new(&[0, 0, 0, 0], 1, 1))
}

/// The worst state of any server; a tray with no server shows "signed in" (nothing to do).
fn overall(servers: &[ServerRow]) -> Status {
    servers
        .iter()
        .map(|s| s.status)
        .max_by_key(|s| s.severity())
        .unwrap_or(Status::SignedIn)
}

fn server_id(name: &str, action: &str) -> String {
    format!("srv{SEP}{name}{SEP}{action}")
}

fn build_menu(app: &AppHandle, servers: &[ServerRow]) -> tauri::Result<Menu<Wry>> {
    let add = MenuItem::with_id(app, "add", "Add MCP server…", true, None::<&str>)?;
    let mut rows: Vec<Submenu<Wry>> = Vec::new();
    for s in servers {
        let sign_in = MenuItem::with_id(
            app,
            server_id(&s.name, "signin"),
            "Sign in again",
            true,
            None::<&str>,
        )?;
        let mut checks = Vec::new();
        for (id, label) in ASSISTANTS {
            let on = s.connected.iter().any(|c| c == id);
            checks.push(CheckMenuItem::with_id(
                app,
                server_id(&s.name, &format!("ide{SEP}{id}")),
                label,
                true,
                on,
                None::<&str>,
            )?);
        }
        let check_refs: Vec<&dyn IsMenuItem<Wry>> =
            checks.iter().map(|c| c as &dyn IsMenuItem<Wry>).collect();
        let connect = Submenu::with_items(app, "Connect to", true, &check_refs)?;
        let copy = MenuItem::with_id(
            app,
            server_id(&s.name, "copy"),
            "Copy URL",
            true,
            None::<&str>,
        )?;
        let remove = MenuItem::with_id(
            app,
            server_id(&s.name, "remove"),
            "Remove",
            true,
            None::<&str>,
        )?;
        rows.push(Submenu::with_id_and_items(
            app,
            server_id(&s.name, "row"),
            s.label(),
            true,
            &[&sign_in, &connect, &copy, &remove],
        )?);
    }
    let open = MenuItem::with_id(app, "open", "Open Lanyard", true, None::<&str>)?;
    let at_login = app.autolaunch().is_enabled().unwrap_or(false);
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        true,
        at_login,
        None::<&str>,
    )?;
    let remove_all = MenuItem::with_id(
        app,
        "remove-everything",
        "Remove everything and quit…",
        true,
        None::<&str>,
    )?;
    // Linux: cleanup first, then the package manager (Windows has the NSIS hook, macOS nothing).
    let uninstall = MenuItem::with_id(
        app,
        "uninstall",
        "Uninstall Lanyard…",
        cfg!(target_os = "linux"),
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let sep1 = PredefinedMenuItem::separator(app)?;
    let sep2 = PredefinedMenuItem::separator(app)?;
    let mut items: Vec<&dyn IsMenuItem<Wry>> = vec![&add];
    if !rows.is_empty() {
        items.push(&sep1);
        items.extend(rows.iter().map(|r| r as &dyn IsMenuItem<Wry>));
    }
    items.extend([
        &sep2 as &dyn IsMenuItem<Wry>,
        &open,
        &autostart,
        &remove_all,
    ]);
    if cfg!(target_os = "linux") {
        items.push(&uninstall);
    }
    items.push(&quit);
    Menu::with_items(app, &items)
}

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let servers = app.state::<AppState>().servers();
    let menu = build_menu(app, &servers)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(overall(&servers)))
        .tooltip("Lanyard")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Rebuilds the menu and the icon from the current state. Safe to call from any thread.
pub fn update(app: &AppHandle) {
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let servers = handle.state::<AppState>().servers();
        let Some(tray) = handle.tray_by_id(TRAY_ID) else {
            return;
        };
        match build_menu(&handle, &servers) {
            Ok(menu) => {
                let _ = tray.set_menu(Some(menu));
            }
            Err(e) => tracing::warn!("tray menu not rebuilt: {e}"),
        }
        let _ = tray.set_icon(Some(icon(overall(&servers))));
        let tip = match servers.len() {
            0 => "Lanyard — no servers yet".to_owned(),
            _ => servers
                .iter()
                .map(ServerRow::label)
                .collect::<Vec<_>>()
                .join("\n"),
        };
        let _ = tray.set_tooltip(Some(tip));
    });
}

fn on_menu(app: &AppHandle, id: &str) {
    let state = app.state::<AppState>();
    let result = match id {
        "add" => windows::open_wizard(app, None, false),
        "open" => windows::open_dashboard(app, false),
        "remove-everything" => windows::open_dashboard(app, true),
        "uninstall" => windows::open_dashboard_at(app, Some("uninstall")),
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
            update(app);
            Ok(())
        }
        _ => {
            let parts: Vec<&str> = id.split(SEP).collect();
            match parts.as_slice() {
                ["srv", name, "signin"] => {
                    engine::sign_in_again(app, (*name).to_owned());
                    Ok(())
                }
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

fn toggle_connection(app: &AppHandle, name: &str, ide: &str) {
    let connected = app
        .state::<AppState>()
        .servers()
        .iter()
        .any(|s| s.name == name && s.connected.iter().any(|c| c == ide));
    let verb = if connected { "disconnect" } else { "connect" };
    let (app, name, ide) = (app.clone(), name.to_owned(), ide.to_owned());
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match crate::cli::run(&[verb.into(), name.clone(), "--ide".into(), ide.clone()]).await {
            Ok(_) => state.log("connect", format!("{name}: {verb}ed {ide}")),
            Err(e) => state.log("error", format!("{name}: {verb} {ide} failed: {e}")),
        }
        engine::refresh_now(&app).await;
        update(&app);
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
        match crate::core::remove(name.clone()).await {
            Ok(()) => state.log("remove", format!("{name}: removed (tokens revoked)")),
            Err(e) => state.log("error", format!("{name}: remove failed: {e}")),
        }
        engine::refresh_now(&app).await;
        update(&app);
    });
}
