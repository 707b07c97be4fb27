//! The tray icon and its menu, rebuilt from the server list whenever it changes. What a click
//! on an item does is `menu.rs`'s (handed to [`create`]); item ids are made by [`server_id`].

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;

use lanyard_core::ides::Ide;

use crate::model::{ServerRow, Status};
use crate::state::AppState;

pub const TRAY_ID: &str = "lanyard";
/// Separates the parts of a server item's id ("srv", name, action[, ide]).
pub const SEP: char = '\u{1f}';

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
    let import = MenuItem::with_id(
        app,
        "import",
        "Import from your gateway…",
        true,
        None::<&str>,
    )?;
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
        for ide in Ide::ALL {
            let on = s.connected.iter().any(|c| c == ide.id());
            checks.push(CheckMenuItem::with_id(
                app,
                server_id(&s.name, &format!("ide{SEP}{}", ide.id())),
                ide.label(),
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
    let mut items: Vec<&dyn IsMenuItem<Wry>> = vec![&add, &import];
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

/// Shows the tray icon; `on_menu` gets the id of every clicked item.
pub fn create(app: &AppHandle, on_menu: fn(&AppHandle, &str)) -> tauri::Result<()> {
    let servers = app.state::<AppState>().servers();
    let menu = build_menu(app, &servers)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(overall(&servers)))
        .tooltip("Lanyard")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| on_menu(app, event.id().as_ref()))
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
