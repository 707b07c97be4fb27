//! What the flow is doing, reported as it happens: progress lines (CLI), the tray's timeline.

use serde::Serialize;

/// What the flow is doing, for progress lines (CLI) and the tray's timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Progress {
    Discovering {
        url: String,
    },
    Discovered {
        issuer: String,
        resource: String,
    },
    Registering {
        endpoint: String,
    },
    ClientReady {
        client_id: String,
        source: &'static str,
        reused: bool,
    },
    /// The browser was started on this URL.
    BrowserOpened {
        url: String,
    },
    /// No browser (`--no-browser`, or it could not start): the user must open this URL.
    OpenThisUrl {
        url: String,
    },
    /// Device authorization grant (RFC 8628): the user enters `user_code` at
    /// `verification_uri` on any device (or opens `verification_uri_complete`).
    EnterCode {
        verification_uri: String,
        verification_uri_complete: Option<String>,
        user_code: String,
        expires_in: u64,
    },
    ExchangingCode,
    CallingServer,
    StepUp {
        scopes: Vec<String>,
    },
    Saved {
        name: String,
    },
}

pub(crate) type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);
