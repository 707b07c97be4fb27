//! Lanyard's tray app: a thin Tauri shell over lanyard-core, which it calls in-process.
//!
//! Started at login or by hand it shows only the tray icon and runs the refresh engine. The
//! wizard, dashboard and sign-in windows run in a second process, this binary started with
//! `--windows-role` on demand, which exits when its last window closes: WebKit's web context
//! and network process stay for the life of the process that created them, so they go with it
//! (`winproc.rs` starts it, `peer.rs` is its end of the link, `link.rs` the messages).
//! A second launch (or a `lanyard://add?url=…` link) hands its arguments to the running one.
//!
//! Modules depend one way, from the entry points down to plain data (a module uses only those
//! listed after it; none uses one before it):
//!
//! - `main` → `commands` (what the UI may invoke, in the windows process), `menu` (what tray
//!   items do), `winproc` (the tray's end of the windows process), `peer` (the windows
//!   process's end), `cleanup` (remove everything / uninstall, run by the tray), `import`
//!   ("Import from your gateway…": its window's commands, the tray's watch of registries)
//! - → `engine` (refresh engine loop, server rows)
//! - → `calls` (every call into lanyard-core, off the UI thread), `tray` (icon and menu view),
//!   `notify` (desktop notifications)
//! - → `signin` (the sign-in window), `timeline` (the wizard's timeline events)
//! - → `windows` (wizard and dashboard windows, window labels)
//! - → `state` (in-memory state, the cancel switch, preferences)
//! - → `link` (the messages between the two processes)
//! - → `model` (what crosses to the UI; `ui/src/types.gen.ts` is generated from it)
//! - `appimage`, `gl`, `menu_open` (the tray host opening the menu): leaves.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod appimage;
#[cfg(test)]
mod bindings;
mod calls;
mod cleanup;
mod commands;
mod engine;
mod gl;
mod import;
mod link;
mod menu;
mod menu_open;
mod model;
mod notify;
mod peer;
mod signin;
mod state;
mod timeline;
mod tray;
mod windows;
mod winproc;

use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tauri_plugin_autostart::MacosLauncher;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::link::{Open, ToTray};
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
    let what = match req {
        Request::Add(url) => Open::Wizard {
            url,
            from_link: false,
        },
        Request::AddFromLink(url) => Open::Wizard {
            url,
            from_link: true,
        },
        Request::Dashboard => Open::Dashboard { section: None },
        Request::Nothing => return,
    };
    open_window(app, what);
}

/// In the tray: opens a window in the windows process.
fn open_window(app: &AppHandle, what: Open) {
    if let Err(e) = winproc::open(app, what) {
        app.state::<AppState>()
            .log("error", format!("could not open a window: {e}"));
    }
}

/// In the windows process: what the tray asked for.
fn on_open(app: &AppHandle, what: Open) {
    tracing::debug!(?what, "open");
    let wizard = matches!(what, Open::Wizard { .. } | Open::Prewarm);
    let r = match what {
        Open::Wizard { url, from_link } => windows::open_wizard(app, url.as_deref(), from_link),
        Open::Dashboard { section } => windows::open_dashboard_at(app, section.as_deref()),
        Open::SignIn { server } => {
            commands::run_sign_in_again(app, server);
            Ok(())
        }
        Open::Prewarm => windows::prewarm_wizard(app),
        Open::Import { registry } => import::open_window(app, registry.as_deref()),
    };
    if !wizard {
        // A wizard loaded for a click that went elsewhere.
        windows::drop_prewarmed(app);
    }
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

fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
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
    if args.get(1).is_some_and(|a| a == link::WINDOWS_ROLE) {
        run_windows();
    } else {
        run_tray(args);
    }
}

/// The resident tray: icon, menu, engine, notifications; no webview.
fn run_tray(args: Vec<String>) {
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
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(AppState::default())
        .manage(winproc::WindowsProcess::default())
        .setup(move |app| {
            let h = app.handle().clone();
            h.state::<AppState>().set_opener(open_window);
            log_adopted(&h, &adopted);
            tray::create(&h, menu::on_menu)?;
            menu_open::watch(&h, winproc::prewarm);
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
            import::watch(h.clone());
            engine::start(h);
            Ok(())
        })
        .build(context())
        .unwrap_or_else(|e| {
            eprintln!("Lanyard could not start its tray: {e}");
            std::process::exit(1);
        });

    app.run(|_app, event| {
        // Only "Quit" exits (the tray has no windows; this is belt and braces).
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit()
        }
    });
}

/// The windows process, started by the tray (`winproc.rs`): the wizard, dashboard and sign-in
/// windows, the commands they call, and the link to the tray on stdin/stdout.
fn run_windows() {
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .manage(AppState::default())
        .manage(peer::Peer::new())
        .invoke_handler(tauri::generate_handler![
            commands::probe,
            commands::suggest_name,
            commands::add_server,
            commands::tools,
            commands::assistants,
            commands::connect,
            commands::disconnect,
            commands::servers,
            commands::activity,
            commands::sign_in_again,
            commands::open_wizard,
            commands::cancel_flow,
            commands::use_system_browser,
            commands::remove_everything,
            commands::uninstall_lanyard,
            commands::finish_uninstall,
            import::import_list,
            import::import_registries,
            import::import_check,
            import::import_add,
        ])
        .setup(|app| {
            let h = app.handle().clone();
            let up = h.clone();
            h.state::<AppState>().forward_log(move |kind, message| {
                up.state::<peer::Peer>().send(&ToTray::Log {
                    kind: kind.to_owned(),
                    message: message.to_owned(),
                })
            });
            peer::listen(h, on_open)?;
            tracing::debug!("windows process ready");
            Ok(())
        })
        .build(context())
        .unwrap_or_else(|e| {
            eprintln!("Lanyard could not open its windows: {e}");
            std::process::exit(1);
        });

    app.run(|app, event| match event {
        // The last window closed: the tray decides (peer::check_idle asks it).
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::WindowEvent {
            label,
            event: WindowEvent::Destroyed,
            ..
        } => {
            if label == windows::WIZARD || label == import::IMPORT {
                app.state::<AppState>().cancel_flow();
            }
            if label == signin::SIGNIN {
                signin::closed_by_user(app);
            }
            peer::check_idle(app, Some(&label));
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
