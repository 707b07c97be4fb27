//! The commands the UI may call (each one is listed in build.rs's app manifest and granted in
//! capabilities/default.json to the wizard and dashboard windows only).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::{AppHandle, Manager, State};

use crate::cli;
use crate::engine;
use crate::flow::{self, TimelineStep};
use crate::model::{Activity, ServerRow, UiError};
use crate::state::AppState;
use crate::windows;

/// What the wizard needs to know after discovery, before signing in.
#[derive(Debug, Serialize)]
pub struct ProbeSummary {
    pub steps: Vec<TimelineStep>,
    pub issuer: Option<String>,
    pub resource_name: Option<String>,
    /// "available", "disabled" (the registration endpoint refuses anonymous registration),
    /// "absent" (no registration endpoint) or "unknown".
    pub dcr: String,
    pub cimd: bool,
    pub error: Option<UiError>,
}

fn first<'a>(v: &'a Value, paths: &[&[&str]]) -> Option<&'a Value> {
    paths
        .iter()
        .find_map(|p| p.iter().try_fold(v, |v, k| v.get(*k)))
}

fn summarize(v: &Value) -> ProbeSummary {
    let steps: Vec<TimelineStep> = first(v, &[&["steps"], &["discovery", "steps"]])
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(TimelineStep::from_probe).collect())
        .unwrap_or_default();
    let auth = first(
        v,
        &[
            &["auth_server"],
            &["discovery", "auth_server"],
            &["authorization_server"],
        ],
    );
    let issuer = auth
        .and_then(|a| a.get("issuer"))
        .or_else(|| v.get("issuer"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let resource_name = first(
        v,
        &[
            &["resource", "resource_name"],
            &["discovery", "resource", "resource_name"],
        ],
    )
    .and_then(Value::as_str)
    .map(str::to_owned);
    let reg_step = steps
        .iter()
        .rev()
        .find(|s| s.step.to_ascii_lowercase().contains("regist"));
    let has_endpoint = auth
        .and_then(|a| a.get("registration_endpoint"))
        .is_some_and(|e| !e.is_null());
    let dcr = match reg_step {
        Some(s) if s.state == "ok" => "available",
        Some(_) => "disabled",
        None if has_endpoint => "available",
        None if auth.is_some() => "absent",
        None => "unknown",
    };
    let cimd = auth
        .and_then(|a| a.get("client_id_metadata_document_supported"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    ProbeSummary {
        steps,
        issuer,
        resource_name,
        dcr: dcr.into(),
        cimd,
        error: None,
    }
}

/// Runs the discovery chain (`lanyard probe URL --json --try-register`) and streams its steps
/// into the wizard's timeline.
#[tauri::command]
pub async fn probe(app: AppHandle, url: String) -> Result<ProbeSummary, UiError> {
    let url = url.trim().to_owned();
    url::Url::parse(&url).map_err(|e| {
        UiError::new(
            "bad-url",
            format!("“{url}” is not a URL: {e}"),
            "Paste the server's full URL, e.g. https://gateway.example.com/mcp.",
        )
    })?;
    flow::emit(
        &app,
        TimelineStep::new("challenge", "running", format!("GET {url}")),
    );
    let args: Vec<String> = vec![
        "probe".into(),
        url.clone(),
        "--json".into(),
        "--try-register".into(),
    ];
    let (ok, stdout, stderr) = cli::output(&args).await?;
    let parsed: Option<Value> = serde_json::from_str(stdout.trim()).ok();
    let mut summary = parsed
        .as_ref()
        .map(summarize)
        .unwrap_or_else(|| summarize(&Value::Null));
    for s in &summary.steps {
        flow::emit(&app, s.clone());
    }
    if !ok {
        let msg = if stderr.trim().is_empty() {
            stdout.clone()
        } else {
            stderr.clone()
        };
        let err = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(|e| {
                Some(UiError::new(
                    "failed",
                    e.get("what")
                        .or_else(|| e.get("message"))
                        .and_then(Value::as_str)?
                        .to_owned(),
                    e.get("next_step")
                        .or_else(|| e.get("next"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ))
            })
            .unwrap_or_else(|| UiError::from_cli_message(&cli::classify(&msg), &msg));
        if summary.steps.is_empty() {
            flow::emit(
                &app,
                TimelineStep::new("challenge", "failed", err.what.clone()),
            );
        }
        summary.error = Some(err);
    }
    Ok(summary)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddRequest {
    pub url: String,
    pub name: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    #[serde(default)]
    pub no_resource: bool,
}

#[derive(Debug, Serialize)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct AddResult {
    pub name: String,
    pub tools: Vec<ToolInfo>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Registers (or reuses) a client, signs in in the sign-in window, makes the first tool call.
#[tauri::command]
pub async fn add_server(app: AppHandle, req: AddRequest) -> Result<AddResult, UiError> {
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UiError::new(
            "bad-name",
            "The name must be one word (letters, digits, - or _).",
            "",
        ));
    }
    let mut args: Vec<String> = vec![
        "add".into(),
        req.url.trim().into(),
        "--name".into(),
        name.clone(),
        "--no-browser".into(),
    ];
    if let Some(id) = nonempty(&req.client_id) {
        args.extend(["--client-id".into(), id.into()]);
        if let Some(secret) = nonempty(&req.client_secret) {
            args.extend(["--client-secret".into(), secret.into()]);
        }
    }
    if let Some(scope) = nonempty(&req.scope) {
        args.extend(["--scope".into(), scope.into()]);
    }
    if req.no_resource {
        args.push("--no-resource".into());
    }
    let state = app.state::<AppState>();
    flow::emit(
        &app,
        TimelineStep::new(
            "client id",
            "running",
            "Choosing a client id: pre-registered, CIMD or dynamic registration",
        ),
    );
    match flow::run_signin(&app, &name, args, true).await {
        Ok(_) => {
            state.log("sign-in", format!("{name}: added and signed in"));
            flow::emit(
                &app,
                TimelineStep::new("sign in", "ok", "Signed in; tokens stored in the keychain"),
            );
        }
        Err(e) => {
            let step = if e.kind == "needs-client-id" {
                "client id"
            } else {
                "sign in"
            };
            flow::emit(&app, TimelineStep::new(step, "failed", e.to_string()));
            state.log("error", format!("{name}: {e}"));
            return Err(e);
        }
    }
    flow::emit(
        &app,
        TimelineStep::new("first tool call", "running", "initialize + tools/list"),
    );
    let tools = match list_tools(&name).await {
        Ok(t) => {
            flow::emit(
                &app,
                TimelineStep::new("first tool call", "ok", format!("{} tool(s)", t.len())),
            );
            t
        }
        Err(e) => {
            flow::emit(
                &app,
                TimelineStep::new("first tool call", "failed", e.to_string()),
            );
            return Err(e);
        }
    };
    engine::refresh_now(&app).await;
    Ok(AddResult { name, tools })
}

async fn list_tools(name: &str) -> Result<Vec<ToolInfo>, UiError> {
    let v = cli::json(&["tools".into(), name.into(), "--json".into()]).await?;
    let arr = match &v {
        Value::Array(a) => a.clone(),
        _ => v
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    Ok(arr
        .iter()
        .filter_map(|t| {
            Some(ToolInfo {
                name: t.get("name")?.as_str()?.to_owned(),
                description: t
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect())
}

#[tauri::command]
pub async fn tools(name: String) -> Result<Vec<ToolInfo>, UiError> {
    list_tools(&name).await
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
    let entries: Vec<Value> = match &v {
        Some(Value::Array(a)) => a.clone(),
        Some(o) => o
            .get("ides")
            .or_else(|| o.get("assistants"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(ASSISTANTS
        .iter()
        .map(|(id, label)| {
            let e = entries.iter().find(|e| {
                e.get("id")
                    .or_else(|| e.get("ide"))
                    .or_else(|| e.get("name"))
                    .and_then(Value::as_str)
                    .is_some_and(|n| {
                        let n = n.to_ascii_lowercase();
                        n == *id || n.starts_with(id)
                    })
            });
            let installed = match e {
                Some(e) => e
                    .get("installed")
                    .or_else(|| e.get("detected"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                None => detect_locally(id),
            };
            let connected = match (e, &server) {
                (Some(e), Some(s)) => e
                    .get("servers")
                    .or_else(|| e.get("connected"))
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter().any(|x| {
                            x.as_str() == Some(s.as_str())
                                || x.get("name").and_then(Value::as_str) == Some(s.as_str())
                        })
                    }),
                _ => false,
            };
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
        "claude" => {
            home.join(".claude.json").exists() || std::env::var_os("CLAUDE_CONFIG_DIR").is_some()
        }
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

/// "Sign in again": `lanyard login NAME` through the sign-in window; returns at once.
#[tauri::command]
pub fn sign_in_again(app: AppHandle, name: String) {
    engine::sign_in_again(&app, name);
}

#[tauri::command]
pub fn open_wizard(app: AppHandle, url: Option<String>) -> Result<(), UiError> {
    windows::open_wizard(&app, url.as_deref())
        .map_err(|e| UiError::new("window", e.to_string(), ""))
}

/// Continue the sign-in in progress in the system browser (remembered for that server).
#[tauri::command]
pub fn use_system_browser(app: AppHandle) -> Result<(), UiError> {
    crate::signin::use_system_browser(&app).map_err(|e| UiError::new("no-signin", e, ""))
}

#[tauri::command]
pub fn cancel_flow(app: AppHandle) {
    flow::cancel(&app);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_reads_probe_json() {
        let v = json!({
            "server_url": "http://127.0.0.1:1/mcp",
            "resource": { "resource_name": "Demo" },
            "auth_server": { "issuer": "http://127.0.0.1:2", "registration_endpoint": "http://127.0.0.1:2/reg" },
            "steps": [{ "step": "challenge", "method": "GET", "url": "u", "status": 401, "millis": 3, "outcome": "Bearer", "ok": true }]
        });
        let s = summarize(&v);
        assert_eq!(s.issuer.as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(s.dcr, "available");
        assert_eq!(s.steps[0].status, Some(401));
        assert_eq!(s.resource_name.as_deref(), Some("Demo"));
    }
}
