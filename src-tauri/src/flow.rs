//! The wizard's timeline events and the cancel switch of the running sign-in flow.

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::watch;

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
}

pub fn emit(app: &AppHandle, step: TimelineStep) {
    let _ = app.emit_to(WIZARD, "timeline", step);
}

/// Installs a fresh cancel switch (closing the wizard flips it) and returns its receiver.
/// A flow already running is cancelled: one sign-in at a time.
pub fn cancel_switch(app: &AppHandle) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let state = app.state::<AppState>();
    let mut slot = state.cancel.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = slot.replace(tx) {
        let _ = old.send(true);
    }
    rx
}

/// Cancels the running flow, if any (its loopback listener stops).
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
