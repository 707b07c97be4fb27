//! The wizard's timeline: steps of the running check or sign-in, sent to the wizard window.

use tauri::{AppHandle, Emitter};

use crate::model::TimelineStep;
use crate::windows::WIZARD;

pub fn emit(app: &AppHandle, step: TimelineStep) {
    let _ = app.emit_to(WIZARD, "timeline", step);
}
