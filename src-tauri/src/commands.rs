//! The commands the UI may call (each one is listed in build.rs's app manifest and granted in
//! capabilities/default.json to the wizard and dashboard windows only). They run in the windows
//! process: core calls in-process, the tray's state (server rows with the engine's statuses,
//! the activity log, the cleanup) through the link (`peer.rs`).

use lanyard_core::ides::Ide;
use tauri::{AppHandle, Manager, State};

use crate::calls;
use crate::link::Call;
use crate::model::{
    Activity, AddRequest, AddResult, Assistant, ProbeSummary, ServerRow, StepState, TimelineStep,
    ToolInfo, UiError, UninstallResult,
};
use crate::peer;
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
    let _busy = peer::busy(&app);
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
            peer::changed(&app);
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
    peer::changed(&app);
    Ok(())
}

/// The dashboard's per-assistant switch turned off: removes the server's entry from the
/// assistant's config.
#[tauri::command]
pub async fn disconnect(app: AppHandle, name: String, ide: String) -> Result<(), UiError> {
    let ide = Ide::parse(&ide).map_err(|e| UiError::from(&e))?;
    calls::disconnect(name.clone(), vec![ide]).await?;
    app.state::<AppState>().log(
        "connect",
        format!("{name}: disconnected from {}", ide.label()),
    );
    peer::changed(&app);
    Ok(())
}

/// The server rows, with the tray's engine statuses (the tray rescans first).
#[tauri::command]
pub async fn servers(app: AppHandle) -> Result<Vec<ServerRow>, UiError> {
    peer::ask(&app, Call::Servers).await
}

#[tauri::command]
pub async fn activity(app: AppHandle) -> Result<Vec<Activity>, UiError> {
    peer::ask(&app, Call::Activity).await
}

/// "Sign in again": through the sign-in window; returns at once.
#[tauri::command]
pub fn sign_in_again(app: AppHandle, name: String) {
    run_sign_in_again(&app, name);
}

/// Signs in again to a saved server (sign-in window or system browser); the process stays
/// while it runs, even with no window open.
pub fn run_sign_in_again(app: &AppHandle, name: String) {
    let busy = peer::busy(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match calls::login(&app, name.clone()).await {
            Ok(()) => state.log("sign-in", format!("{name}: signed in again")),
            Err(e) if e.code == UiError::cancelled().code => {}
            Err(e) => state.log("error", format!("{name}: sign-in failed: {e}")),
        }
        peer::changed(&app);
        drop(busy);
    });
}

/// "Remove everything and quit…": the tray stops its engine, cleans up and quits.
#[tauri::command]
pub async fn remove_everything(app: AppHandle) -> Result<String, UiError> {
    peer::ask(&app, Call::RemoveEverything).await
}

/// "Uninstall Lanyard…" (Linux), step 1, in the tray: the cleanup, then how to remove the program.
#[tauri::command]
pub async fn uninstall_lanyard(app: AppHandle) -> Result<UninstallResult, UiError> {
    peer::ask(&app, Call::UninstallLanyard).await
}

/// "Uninstall Lanyard…", step 2, in the tray (see `cleanup::finish_uninstall`); then it quits.
#[tauri::command]
pub async fn finish_uninstall(app: AppHandle, remove_package: bool) -> Result<String, UiError> {
    peer::ask(&app, Call::FinishUninstall { remove_package }).await
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
