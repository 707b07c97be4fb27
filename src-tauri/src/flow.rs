//! The wizard's timeline and the sign-in flows (add, sign in again), driven through the CLI
//! bridge: the CLI holds the PKCE verifier and the loopback listener; the tray shows the steps,
//! opens the sign-in window at the URL the CLI prints (`--no-browser`) and closes it at the end.

use serde::Serialize;
use serde_json::Value;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::watch;

use crate::cli;
use crate::model::UiError;
use crate::signin;
use crate::state::AppState;
use crate::windows::WIZARD;

/// One row of the wizard's timeline. The discovery steps carry what `lanyard probe` reports.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TimelineStep {
    /// "challenge", "resource metadata", "authorization server", "client id", "sign in", "first tool call"
    pub step: String,
    /// "running", "ok", "failed", "skipped", "waiting"
    pub state: String,
    pub detail: String,
    pub method: Option<String>,
    pub url: Option<String>,
    pub status: Option<u16>,
    pub millis: Option<u64>,
}

impl TimelineStep {
    pub fn new(step: &str, state: &str, detail: impl Into<String>) -> Self {
        TimelineStep {
            step: step.into(),
            state: state.into(),
            detail: detail.into(),
            ..Default::default()
        }
    }

    /// From a `ProbeStep` as `lanyard probe --json` prints it (lanyard_core::discovery::ProbeStep).
    pub fn from_probe(v: &Value) -> Option<Self> {
        let step = v.get("step")?.as_str()?.to_owned();
        let ok = v.get("ok").and_then(Value::as_bool).unwrap_or(false);
        Some(TimelineStep {
            step,
            state: if ok { "ok" } else { "failed" }.into(),
            detail: v
                .get("outcome")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            method: v.get("method").and_then(Value::as_str).map(str::to_owned),
            url: v.get("url").and_then(Value::as_str).map(str::to_owned),
            status: v
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            millis: v.get("millis").and_then(Value::as_u64),
        })
    }
}

pub fn emit(app: &AppHandle, step: TimelineStep) {
    let _ = app.emit_to(WIZARD, "timeline", step);
}

/// Installs a fresh cancel switch (closing the wizard flips it) and returns its receiver.
fn cancel_switch(app: &AppHandle) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let state = app.state::<AppState>();
    let mut slot = state.cancel.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = slot.replace(tx) {
        let _ = old.send(true);
    }
    rx
}

/// Cancels the running flow, if any (its CLI child is killed).
pub fn cancel(app: &AppHandle) {
    let state = app.state::<AppState>();
    let slot = state
        .cancel
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(tx) = slot {
        let _ = tx.send(true);
    }
}

/// Runs a signing-in CLI command (`add … --no-browser` or `login NAME --no-browser`): opens the
/// sign-in window at the URL it prints, waits for it to finish, emits timeline steps when
/// `timeline` is set. Returns the CLI's output lines.
pub async fn run_signin(
    app: &AppHandle,
    server: &str,
    args: Vec<String>,
    timeline: bool,
) -> Result<Vec<String>, UiError> {
    let mut cancelled = cancel_switch(app);
    let mut run = cli::spawn_streaming(&args)?;
    let mut lines = Vec::new();
    let mut opened = false;
    let status = loop {
        tokio::select! {
            line = run.lines.recv() => match line {
                Some(l) => {
                    if !opened && let Some(u) = cli::authorization_url(&l) {
                        opened = true;
                        if timeline {
                            emit(app, TimelineStep::new("client id", "ok", client_id_detail(&lines, &u)));
                            emit(app, TimelineStep::new("sign in", "running", format!("Waiting for you to sign in at {}", u.host_str().unwrap_or("the IdP"))));
                        }
                        let (app2, server2) = (app.clone(), server.to_owned());
                        let _ = app.run_on_main_thread(move || {
                            if let Err(e) = signin::open(&app2, &server2, u) {
                                app2.state::<AppState>().log("error", e);
                            }
                        });
                    }
                    lines.push(l);
                }
                None => break run.child.wait().await,
            },
            _ = cancelled.changed() => {
                let _ = run.child.kill().await;
                signin::close(app);
                return Err(UiError::new("cancelled", "Sign-in cancelled.", ""));
            }
        }
    };
    signin::close(app);
    match status {
        Ok(s) if s.success() => Ok(lines),
        Ok(_) => {
            // The CLI's last paragraph is its error message.
            let msg = last_paragraph(&lines);
            Err(UiError::from_cli_message(&cli::classify(&msg), &msg))
        }
        Err(e) => Err(UiError::new(
            "failed",
            format!("lanyard did not finish: {e}"),
            "",
        )),
    }
}

fn client_id_detail(lines: &[String], auth: &url::Url) -> String {
    let said = lines.iter().rev().find(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("client")
            && (l.contains("regist") || l.contains("cimd") || l.contains("pre-registered"))
    });
    match said {
        Some(l) => l.trim().to_owned(),
        None => match auth.query_pairs().find(|(k, _)| k == "client_id") {
            Some((_, id)) => format!("client id {id}"),
            None => "client id ready".into(),
        },
    }
}

fn last_paragraph(lines: &[String]) -> String {
    let text: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = text
        .iter()
        .rposition(|l| l.starts_with("error") || l.starts_with("Error"))
        .unwrap_or(text.len().saturating_sub(2));
    text[start..].join("\n")
}
