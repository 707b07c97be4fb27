//! The commands the UI may call (each one is listed in build.rs's app manifest and granted in
//! capabilities/default.json to the wizard and dashboard windows only).

use serde::Serialize;
use serde_json::Value;
use tauri::{AppHandle, Manager, State};

use crate::cli;
use crate::core::{self, AddRequest, ProbeSummary};
use crate::engine;
use crate::flow::{self, TimelineStep};
use crate::model::{Activity, ServerRow, UiError};
use crate::state::AppState;
use crate::windows;

/// Runs the discovery chain and streams its steps into the wizard's timeline.
#[tauri::command]
pub async fn probe(app: AppHandle, url: String) -> Result<ProbeSummary, UiError> {
    core::probe(&app, url).await
}

#[derive(Debug, Serialize)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
}

fn tool_infos(tools: Vec<lanyard_core::mcp::Tool>) -> Vec<ToolInfo> {
    tools
        .into_iter()
        .map(|t| ToolInfo {
            name: t.name,
            description: t.description.unwrap_or_default(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct AddResult {
    pub name: String,
    pub tools: Vec<ToolInfo>,
}

/// Registers (or reuses) a client, signs in in the sign-in window, makes the first tool call.
#[tauri::command]
pub async fn add_server(app: AppHandle, req: AddRequest) -> Result<AddResult, UiError> {
    let state = app.state::<AppState>();
    match core::add(&app, req).await {
        Ok(out) => {
            state.log(
                "sign-in",
                format!(
                    "{}: added, signed in with {} client {}",
                    out.name, out.client_source, out.client_id
                ),
            );
            flow::emit(
                &app,
                TimelineStep::new(
                    "first tool call",
                    "ok",
                    format!("{} tool(s)", out.tools.len()),
                ),
            );
            engine::refresh_now(&app).await;
            Ok(AddResult {
                name: out.name,
                tools: tool_infos(out.tools),
            })
        }
        Err(e) => {
            if e.kind != "cancelled" {
                let step = if e.kind == "needs-client-id" {
                    "client id"
                } else {
                    "sign in"
                };
                flow::emit(&app, TimelineStep::new(step, "failed", e.to_string()));
                state.log("error", e.to_string());
            }
            Err(e)
        }
    }
}

#[tauri::command]
pub async fn tools(name: String) -> Result<Vec<ToolInfo>, UiError> {
    core::tools(name).await.map(tool_infos)
}

/// An AI assistant Lanyard can configure.
#[derive(Debug, Serialize)]
pub struct Assistant {
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub connected: bool,
}

pub const ASSISTANTS: [(&str, &str); 3] = [
    ("cursor", "Cursor"),
    ("claude", "Claude Code"),
    ("codex", "Codex"),
];

/// Detected assistants (`lanyard ides --json`), each marked connected for `server` when given.
#[tauri::command]
pub async fn assistants(server: Option<String>) -> Result<Vec<Assistant>, UiError> {
    let v = cli::json(&["ides".into(), "--json".into()]).await.ok();
    let list = |key: &str| -> Vec<Value> {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (found, connections) = (list("assistants"), list("connections"));
    Ok(ASSISTANTS
        .iter()
        .map(|(id, label)| {
            let installed = match found
                .iter()
                .find(|e| e.get("ide").and_then(Value::as_str) == Some(*id))
            {
                Some(e) => e.get("installed").and_then(Value::as_bool).unwrap_or(false),
                None => detect_locally(id),
            };
            let connected = server.as_deref().is_some_and(|s| {
                connections.iter().any(|c| {
                    c.get("server").and_then(Value::as_str) == Some(s)
                        && c.get("ide").and_then(Value::as_str) == Some(*id)
                })
            });
            Assistant {
                id: (*id).into(),
                name: (*label).into(),
                installed,
                connected,
            }
        })
        .collect())
}

/// Fallback when `lanyard ides` is unavailable: the assistants' config homes.
fn detect_locally(id: &str) -> bool {
    let Some(home) = std::env::var_os("HOME").map(std::path::PathBuf::from) else {
        return false;
    };
    match id {
        "cursor" => home.join(".cursor").exists(),
        "claude" => home.join(".claude.json").exists(),
        "codex" => std::env::var_os("CODEX_HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or(home.join(".codex"))
            .exists(),
        _ => false,
    }
}

/// Writes the configs of the chosen assistants (`lanyard connect NAME --ide a,b`).
#[tauri::command]
pub async fn connect(app: AppHandle, name: String, ides: Vec<String>) -> Result<(), UiError> {
    let ides: Vec<String> = ides
        .into_iter()
        .filter(|i| ASSISTANTS.iter().any(|(id, _)| *id == i.as_str()))
        .collect();
    if ides.is_empty() {
        return Ok(());
    }
    cli::run(&[
        "connect".into(),
        name.clone(),
        "--ide".into(),
        ides.join(","),
    ])
    .await?;
    app.state::<AppState>().log(
        "connect",
        format!("{name}: connected to {}", ides.join(", ")),
    );
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
    windows::open_wizard(&app, url.as_deref())
        .map_err(|e| UiError::new("window", e.to_string(), ""))
}

#[tauri::command]
pub fn cancel_flow(app: AppHandle) {
    flow::cancel(&app);
}

/// "Remove everything and quit…": `lanyard uninstall --yes` (revoke tokens, delete this
/// machine's OAuth clients, remove assistant entries, keychain items, state), then the autostart
/// entry, then quit. When something is left (e.g. an IdP is down) the tray stays and says what.
#[tauri::command]
pub async fn remove_everything(app: AppHandle) -> Result<String, UiError> {
    use tauri_plugin_autostart::ManagerExt as _;
    let state = app.state::<AppState>();
    let out = cli::run(&["uninstall".into(), "--yes".into()]).await;
    let _ = app.autolaunch().disable();
    match out {
        Ok(text) => {
            state.log("remove", "removed everything; quitting");
            let quit = app.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                quit.exit(0);
            });
            Ok(text)
        }
        Err(e) => {
            state.log("error", format!("remove everything: {e}"));
            Err(e)
        }
    }
}

/// Continue the sign-in in progress in the system browser (remembered for that server).
#[tauri::command]
pub fn use_system_browser(app: AppHandle) -> Result<(), UiError> {
    crate::signin::use_system_browser(&app).map_err(|e| UiError::new("no-signin", e, ""))
}
