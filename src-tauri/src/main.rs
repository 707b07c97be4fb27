//! Lanyard's tray app: a thin Tauri shell over lanyard-core, which it calls in-process.
//!
//! Started at login or by hand it shows only the tray icon; the wizard, dashboard and sign-in
//! windows are created on demand and destroyed when closed, so an idle tray holds no webview.
//! A second launch (or a `lanyard://add?url=…` link) hands its arguments to the running one.
//!
//! Modules depend one way, from the entry points down to plain data (a module uses only those
//! listed after it; none uses one before it):
//!
//! - `main` → `commands` (what the UI may invoke), `menu` (what tray items do)
//! - → `engine` (refresh engine loop, server rows, "sign in again")
//! - → `calls` (every call into lanyard-core, off the UI thread), `tray` (icon and menu view),
//!   `notify` (desktop notifications)
//! - → `signin` (the sign-in window), `timeline` (the wizard's timeline events)
//! - → `windows` (wizard and dashboard windows, window labels)
//! - → `state` (in-memory state, the cancel switch, preferences)
//! - → `model` (what crosses to the UI; `ui/src/types.gen.ts` is generated from it)
//! - `appimage`, `gl`: leaves, used from anywhere.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod appimage;
#[cfg(test)]
mod bindings;
mod calls;
mod commands;
mod engine;
mod gl;
mod menu;
mod model;
mod notify;
mod signin;
mod state;
mod timeline;
mod tray;
mod windows;

use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tauri_plugin_autostart::MacosLauncher;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::AppState;

/// What a launch asks for, from its arguments.
#[derive(Debug, PartialEq)]
enum Request {
    /// `--add [URL]` (typed by the user: checked at once).
    Add(Option<String>),
    /// `lanyard://add?url=…`: any web page can open it, so nothing is contacted before the
    /// user confirmed the URL (issue 12).
    AddFromLink(Option<String>),
    /// `--dashboard`, or a plain second launch.
    Dashboard,
    Nothing,
}

fn parse_deep_link(link: &str) -> Option<Request> {
    let u = url::Url::parse(link).ok()?;
    if u.scheme() != "lanyard" {
        return None;
    }
    // `lanyard://add?url=…` parses with host "add"; `lanyard:add?url=…` with path "add".
    let verb = u.host_str().unwrap_or_else(|| u.path()).trim_matches('/');
    if verb != "add" {
        return None;
    }
    let target = u
        .query_pairs()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.into_owned());
    // Only web URLs are handed to the wizard; anything else opens it empty.
    let target =
        target.filter(|t| url::Url::parse(t).is_ok_and(|t| matches!(t.scheme(), "https" | "http")));
    Some(Request::AddFromLink(target))
}

fn parse_args(args: &[String], second_launch: bool) -> Request {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if let Some(r) = parse_deep_link(a) {
            return r;
        }
        match a.as_str() {
            "--add" => return Request::Add(it.next().filter(|u| !u.starts_with("--")).cloned()),
            "--dashboard" => return Request::Dashboard,
            _ => {}
        }
    }
    if second_launch {
        Request::Dashboard
    } else {
        Request::Nothing
    }
}

fn handle(app: &AppHandle, req: Request) {
    tracing::info!(?req, "launch request");
    let r = match req {
        Request::Add(url) => windows::open_wizard(app, url.as_deref(), false),
        Request::AddFromLink(url) => windows::open_wizard(app, url.as_deref(), true),
        Request::Dashboard => windows::open_dashboard(app, false),
        Request::Nothing => Ok(()),
    };
    if let Err(e) = r {
        app.state::<AppState>()
            .log("error", format!("could not open a window: {e}"));
    }
}

/// Notes what running from an AppImage set up.
fn log_adopted(app: &AppHandle, adopted: &appimage::Adopted) {
    let state = app.state::<AppState>();
    match adopted {
        appimage::Adopted::NotAnImage => {}
        appimage::Adopted::Failed(e) => state.log("error", format!("AppImage set-up: {e}")),
        appimage::Adopted::Cli { cli, link } => {
            let on_path = match link {
                Some(l) => format!(", on PATH as {}", l.display()),
                None => " (the name `lanyard` on PATH is taken; assistants use the copy)".into(),
            };
            state.log(
                "appimage",
                format!("command-line tool at {}{on_path}", cli.display()),
            );
            register_image(app);
        }
    }
}

/// Registers the image for `lanyard://` links (a package's desktop entry does that for the
/// .deb) and, when the image was moved since "Start at login" was turned on (Downloads →
/// ~/Applications), points the login item at where it is now.
fn register_image(app: &AppHandle) {
    let state = app.state::<AppState>();
    #[cfg(target_os = "linux")]
    if let Err(e) = app.deep_link().register_all() {
        state.log("error", format!("could not register lanyard:// links: {e}"));
    }
    if let Some(image) = appimage::running_image() {
        use tauri_plugin_autostart::ManagerExt as _;
        let login = app.autolaunch();
        if login.is_enabled().unwrap_or(false)
            && !appimage::login_item_names(&image.file)
            && let Err(e) = login.enable()
        {
            state.log("error", format!("could not update the login item: {e}"));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("lanyard-tray {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    // Before GTK starts and before any thread exists: no GL probe at startup (see gl.rs).
    gl::skip_gl_probe();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LANYARD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Still single-threaded: may set LANYARD_BIN (see appimage.rs).
    let adopted = appimage::adopt();

    let app = tauri::Builder::default()
        // First, so a second launch exits before doing anything else.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            handle(app, parse_args(&argv, true));
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec!["--autostart"]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(AppState::default())
        .invoke_handler(tauri::generate_handler![
            commands::probe,
            commands::suggest_name,
            commands::add_server,
            commands::tools,
            commands::assistants,
            commands::connect,
            commands::servers,
            commands::activity,
            commands::sign_in_again,
            commands::open_wizard,
            commands::cancel_flow,
            commands::use_system_browser,
            commands::remove_everything,
            commands::uninstall_lanyard,
            commands::finish_uninstall,
        ])
        .setup(move |app| {
            let h = app.handle().clone();
            log_adopted(&h, &adopted);
            tray::create(&h, menu::on_menu)?;
            // macOS delivers links as events; elsewhere they arrive as arguments (above).
            let link_app = h.clone();
            app.deep_link().on_open_url(move |event| {
                for u in event.urls() {
                    if let Some(r) = parse_deep_link(u.as_str()) {
                        handle(&link_app, r);
                    }
                }
            });
            handle(&h, parse_args(&args, false));
            engine::start(h);
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Lanyard could not start its tray: {e}");
            std::process::exit(1);
        });

    app.run(|app, event| match event {
        // Closing the last window leaves the tray running; only "Quit" exits.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::WindowEvent {
            label,
            event: WindowEvent::Destroyed,
            ..
        } if label == windows::WIZARD => {
            app.state::<AppState>().cancel_flow();
        }
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deep_links_open_the_wizard_with_web_urls_only() {
        assert_eq!(
            parse_args(
                &s(&["x", "lanyard://add?url=https%3A%2F%2Fgw.example%2Fmcp"]),
                false
            ),
            Request::AddFromLink(Some("https://gw.example/mcp".into()))
        );
        assert_eq!(
            parse_args(&s(&["x", "lanyard://add?url=file:///etc/passwd"]), false),
            Request::AddFromLink(None)
        );
        assert_eq!(
            parse_args(&s(&["x", "lanyard://remove?url=https://x"]), true),
            Request::Dashboard
        );
    }

    #[test]
    fn plain_second_launch_opens_the_dashboard() {
        assert_eq!(parse_args(&s(&["x"]), true), Request::Dashboard);
        assert_eq!(
            parse_args(&s(&["x", "--autostart"]), false),
            Request::Nothing
        );
        assert_eq!(parse_args(&s(&["x", "--add"]), false), Request::Add(None));
    }
}
