//! The commands the UI may call (each one is listed in build.rs's app manifest and granted in
//! capabilities/default.json to the wizard and dashboard windows only).

use lanyard_core::ides::Ide;
use tauri::{AppHandle, Manager, State};

use crate::calls;
use crate::engine;
use crate::model::{
    Activity, AddRequest, AddResult, Assistant, ProbeSummary, ServerRow, StepState, TimelineStep,
    ToolInfo, UiError, UninstallResult,
};
use crate::state::AppState;
use crate::timeline;
use crate::windows;

/// Runs the discovery chain and streams its steps into the wizard's timeline.
#[tauri::command]
pub async fn probe(app: AppHandle, url: String) -> Result<ProbeSummary, UiError> {
    calls::probe(&app, url).await
}

/// The name the wizard proposes for a server URL (the core's rule; "" for a non-URL).
#[tauri::command]
pub fn suggest_name(url: String) -> String {
    calls::suggest_name(&url)
}

/// Registers (or reuses) a client, signs in in the sign-in window, makes the first tool call.
#[tauri::command]
pub async fn add_server(app: AppHandle, req: AddRequest) -> Result<AddResult, UiError> {
    let state = app.state::<AppState>();
    match calls::add(&app, req).await {
        Ok(out) => {
            state.log(
                "sign-in",
                format!(
                    "{}: added, signed in with {} client {}",
                    out.name, out.client_source, out.client_id
                ),
            );
            timeline::emit(
                &app,
                TimelineStep::new(
                    "first tool call",
                    StepState::Ok,
                    format!("{} tool(s)", out.tools.len()),
                ),
            );
            engine::refresh_now(&app).await;
            Ok(AddResult {
                name: out.name,
                tools: out.tools.into_iter().map(ToolInfo::from).collect(),
            })
        }
        Err(e) => {
            if e.code != UiError::cancelled().code {
                let step = if e.code.starts_with("registration.") {
                    "client id"
                } else {
                    "sign in"
                };
                timeline::emit(
                    &app,
                    TimelineStep::new(step, StepState::Failed, e.to_string()),
                );
                state.log("error", e.to_string());
            }
            Err(e)
        }
    }
}

#[tauri::command]
pub async fn tools(name: String) -> Result<Vec<ToolInfo>, UiError> {
    calls::tools(name).await
}

/// Every assistant, each marked connected for `server` when given.
#[tauri::command]
pub async fn assistants(server: Option<String>) -> Result<Vec<Assistant>, UiError> {
    calls::assistants(server).await
}

/// Writes the configs of the chosen assistants (ids: "cursor", "claude", "codex").
#[tauri::command]
pub async fn connect(app: AppHandle, name: String, ides: Vec<String>) -> Result<(), UiError> {
    let ides: Vec<Ide> = ides.iter().filter_map(|i| Ide::parse(i).ok()).collect();
    if ides.is_empty() {
        return Ok(());
    }
    let list: Vec<&str> = ides.iter().map(|i| i.id()).collect();
    let list = list.join(", ");
    calls::connect(name.clone(), ides).await?;
    app.state::<AppState>()
        .log("connect", format!("{name}: connected to {list}"));
    engine::refresh_now(&app).await;
    Ok(())
}

#[tauri::command]
pub async fn servers(app: AppHandle) -> Result<Vec<ServerRow>, UiError> {
    engine::refresh_now(&app).await;
    Ok(app.state::<AppState>().servers())
}

#[tauri::command]
pub fn activity(state: State<'_, AppState>) -> Vec<Activity> {
    state.activity()
}

/// "Sign in again": through the sign-in window; returns at once.
#[tauri::command]
pub fn sign_in_again(app: AppHandle, name: String) {
    engine::sign_in_again(&app, name);
}

#[tauri::command]
pub fn open_wizard(app: AppHandle, url: Option<String>) -> Result<(), UiError> {
    windows::open_wizard(&app, url.as_deref(), false).map_err(|e| {
        UiError::new(
            "tray.window",
            format!("could not open the wizard: {e}"),
            "Try again from the tray menu.",
        )
    })
}

#[tauri::command]
pub fn cancel_flow(state: State<'_, AppState>) {
    state.cancel_flow();
}

/// The cleanup both "Remove everything and quit…" and "Uninstall Lanyard…" run: this process's
/// engine stops first (the cleanup would otherwise find it running and race its refreshes),
/// then the uninstall (revoke tokens, delete this machine's OAuth clients, remove assistant
/// entries, keychain items, state), then the autostart entry. When something is left (e.g. an
/// IdP is down) the engine starts again and the error says what.
async fn clean_up(app: &AppHandle, what: &str) -> Result<String, UiError> {
    use tauri_plugin_autostart::ManagerExt as _;
    let state = app.state::<AppState>();
    engine::stop().await;
    let out = calls::uninstall().await;
    let _ = app.autolaunch().disable();
    if let Err(e) = &out {
        state.log("error", format!("{what}: {e}"));
        engine::start(app.clone());
    }
    out
}

/// After a removal: quit once the user has seen the result. The windows close first and the
/// tray's data folder is deleted again, because an open webview writes it anew after the
/// cleanup deleted it.
fn quit_soon(app: &AppHandle) {
    let quit = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        for w in quit.webview_windows().into_values() {
            let _ = w.destroy();
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if let Ok(cleanup) = lanyard_core::cleanup::Cleanup::for_user()
            && let outcome @ lanyard_core::cleanup::Outcome::Failed { .. } =
                cleanup.delete_tray_data_again()
        {
            tracing::warn!("the tray's data folder stays: {outcome:?}");
        }
        quit.exit(0);
    });
}

/// "Remove everything and quit…": the cleanup, then quit.
#[tauri::command]
pub async fn remove_everything(app: AppHandle) -> Result<String, UiError> {
    let text = clean_up(&app, "remove everything").await?;
    app.state::<AppState>()
        .log("remove", "removed everything; quitting");
    quit_soon(&app);
    Ok(text)
}

/// "Uninstall Lanyard…" (Linux), step 1: the cleanup, then how to remove the program.
/// The tray stays until the user chose (see [`finish_uninstall`]).
#[tauri::command]
pub async fn uninstall_lanyard(app: AppHandle) -> Result<UninstallResult, UiError> {
    let report = clean_up(&app, "uninstall").await?;
    let package = package::owner().await;
    let manual = match (&package, crate::appimage::running_image()) {
        (Some(_), _) => None,
        (None, Some(img)) => Some(format!("Delete the AppImage file: {}", img.file.display())),
        (None, None) => std::env::current_exe()
            .ok()
            .map(|p| format!("Delete the program files ({}).", p.display())),
    };
    app.state::<AppState>().log(
        "remove",
        "removed everything; the program itself is left to remove",
    );
    Ok(UninstallResult {
        report,
        remove_command: package.as_ref().map(|p| format!("sudo apt remove {p}")),
        can_pkexec: package.is_some() && package::has_pkexec(),
        package,
        manual,
    })
}

/// "Uninstall Lanyard…", step 2: with `remove_package`, `pkexec apt-get remove -y PKG` (the
/// package is looked up again here, never taken from the page; pkexec asks for the password);
/// then quit. Without it, just quit.
#[tauri::command]
pub async fn finish_uninstall(app: AppHandle, remove_package: bool) -> Result<String, UiError> {
    let mut text = String::new();
    if remove_package {
        let Some(pkg) = package::owner().await else {
            return Err(UiError::new(
                "tray.no-package",
                "Lanyard was not installed from a Debian package",
                "Delete the program files by hand.",
            ));
        };
        let by_hand = format!("Run `sudo apt remove {pkg}` in a terminal.");
        if !package::has_pkexec() {
            return Err(UiError::new(
                "tray.no-pkexec",
                "pkexec is not installed",
                by_hand,
            ));
        }
        let out = tokio::process::Command::new("pkexec")
            .args(["apt-get", "remove", "-y", &pkg])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| {
                UiError::new(
                    "tray.pkexec",
                    format!("could not run pkexec: {e}"),
                    &by_hand,
                )
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(UiError::new(
                "tray.pkexec",
                format!("removing the package failed ({}): {err}", out.status),
                by_hand,
            ));
        }
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        app.state::<AppState>()
            .log("remove", format!("package {pkg} removed"));
    }
    quit_soon(&app);
    Ok(text)
}

/// Which package manager owns this program (Linux `.deb` only).
mod package {
    /// The Debian package that installed this executable: `dpkg -S PATH` prints `PKG: PATH`
    /// (or `PKG:ARCH: PATH`). `None` without dpkg, or when no package owns the file.
    pub async fn owner() -> Option<String> {
        let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
        let out = tokio::process::Command::new("dpkg")
            .arg("-S")
            .arg(&exe)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .ok()?;
        if !out.status.success() {
            return None;
        }
        parse(
            &String::from_utf8_lossy(&out.stdout),
            &exe.to_string_lossy(),
        )
    }

    pub fn parse(out: &str, exe: &str) -> Option<String> {
        out.lines()
            .filter(|l| !l.starts_with("diversion "))
            .find_map(|l| l.strip_suffix(exe)?.strip_suffix(": "))
            .and_then(|pkgs| pkgs.split(", ").next())
            .map(|p| p.split(':').next().unwrap_or(p).to_owned())
            .filter(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
            })
    }

    pub fn has_pkexec() -> bool {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("pkexec").is_file()))
    }

    #[cfg(test)]
    mod tests {
        use super::parse;

        #[test]
        fn reads_the_owning_package() {
            let exe = "/usr/bin/lanyard-tray";
            assert_eq!(
                parse("lanyard: /usr/bin/lanyard-tray\n", exe).as_deref(),
                Some("lanyard")
            );
            assert_eq!(
                parse("lanyard:amd64: /usr/bin/lanyard-tray\n", exe).as_deref(),
                Some("lanyard")
            );
            assert_eq!(
                parse("dpkg-query: no path found matching pattern\n", exe),
                None
            );
            assert_eq!(parse("evil; rm -rf: /usr/bin/lanyard-tray\n", exe), None);
        }
    }
}

/// Continue the sign-in in progress in the system browser (remembered for that server).
#[tauri::command]
pub fn use_system_browser(app: AppHandle) -> Result<(), UiError> {
    crate::signin::use_system_browser(&app).map_err(|e| {
        UiError::new(
            "tray.no-sign-in",
            e,
            "Start the sign-in again; the switch applies to the sign-in in progress.",
        )
    })
}
