//! What crosses to the UI: server rows, activity, timeline steps, the wizard's probe summary,
//! requests and answers of the commands, and errors with a code. Every type here derives
//! [`TS`]: `ui/src/types.gen.ts` is generated from them (see `bindings.rs`), so the UI's types
//! are these.

use chrono::{DateTime, Local, TimeZone, Utc};
use lanyard_core::api::ServerView;
use lanyard_core::daemon::Status as EngineStatus;
use lanyard_core::discovery::DiscoveryMode;
use lanyard_core::error::UserFacing;
use lanyard_core::ides::{EntryState, Ide, IdeStatus};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A server's state as the tray shows it; also picks the tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    SignedIn,
    Refreshing,
    NeedsSignIn,
    Unreachable,
}

impl Status {
    /// Worst first: the tray icon shows the worst state of any server.
    pub fn severity(self) -> u8 {
        match self {
            Status::SignedIn => 0,
            Status::Refreshing => 1,
            Status::NeedsSignIn => 2,
            Status::Unreachable => 3,
        }
    }
}

/// One managed server, as the tray and the dashboard show it.
#[derive(Debug, Clone, Serialize, PartialEq, TS, Deserialize)]
pub struct ServerRow {
    pub name: String,
    pub url: String,
    pub issuer: Option<String>,
    /// "DCR", "CIMD" or "pre-registered".
    pub client_id_source: Option<String>,
    pub client_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the next sign-in will be needed: the token's expiry when the engine cannot refresh
    /// it (the IdP gave no refresh token). `None`: not foreseen (it refreshes by itself), or
    /// needed now (`status` says which).
    pub sign_in_by: Option<DateTime<Utc>>,
    /// "via login.example.com as you@example.com": the tokens come through a company IdP
    /// session (enterprise-managed authorization), which renews them; `None`: its own sign-in.
    pub via: Option<String>,
    pub status: Status,
    /// Assistant ids ("cursor", "claude", "codex") this server is connected to.
    pub connected: Vec<String>,
    /// Human-readable drift warnings ("disconnected in Cursor", …).
    pub drift: Vec<String>,
}

impl ServerRow {
    /// The tray menu's row text: "name — signed in until 14:05".
    pub fn label(&self) -> String {
        let state = match self.status {
            Status::SignedIn => match self.expires_at {
                Some(t) => format!(
                    "signed in until {}",
                    t.with_timezone(&Local).format("%H:%M")
                ),
                None => "signed in".to_owned(),
            },
            Status::Refreshing => "refreshing".to_owned(),
            Status::NeedsSignIn => "needs sign-in".to_owned(),
            Status::Unreachable => "IdP unreachable".to_owned(),
        };
        format!("{} — {}", self.name, state)
    }

    /// One row from the core's view of a server, the refresh engine's status for it (when the
    /// engine runs) and the assistants' connections (`ides::actions::connections`).
    pub fn from_core(
        view: &ServerView,
        engine: Option<&EngineStatus>,
        connections: &[IdeStatus],
    ) -> ServerRow {
        let view_expiry = view
            .expires_at
            .and_then(|s| Utc.timestamp_opt(s, 0).single());
        let (status, expires_at) = match engine {
            Some(EngineStatus::Fresh { until, .. }) => (Status::SignedIn, Some(*until)),
            Some(EngineStatus::NoExpiry) => (Status::SignedIn, None),
            Some(EngineStatus::Refreshing { until }) => (Status::Refreshing, until.or(view_expiry)),
            Some(EngineStatus::Unreachable { until, .. }) => {
                (Status::Unreachable, until.or(view_expiry))
            }
            Some(EngineStatus::NeedsSignIn { .. }) => (Status::NeedsSignIn, view_expiry),
            Some(EngineStatus::Error { .. }) => (Status::Unreachable, view_expiry),
            None => match view.status.as_str() {
                "ok" => (Status::SignedIn, view_expiry),
                "expired" => (Status::Refreshing, view_expiry),
                _ => (Status::NeedsSignIn, view_expiry),
            },
        };
        let sign_in_by = match engine {
            Some(EngineStatus::Fresh {
                until,
                next_refresh,
            }) if next_refresh >= until => Some(*until),
            _ => None,
        };
        let mut connected = Vec::new();
        let mut drift = Vec::new();
        for c in connections.iter().filter(|c| c.server == view.name) {
            let (id, label) = (c.ide.id().to_owned(), c.ide.label());
            match &c.state {
                EntryState::Ok => connected.push(id),
                EntryState::Drifted { .. } => {
                    connected.push(id);
                    drift.push(format!("changed in {label}"));
                }
                EntryState::Unreadable { .. } => {
                    drift.push(format!("{label}'s config is unreadable"))
                }
                EntryState::RemovedByUser | EntryState::Missing | EntryState::FileMissing => {
                    drift.push(format!("disconnected in {label}"))
                }
            }
        }
        ServerRow {
            name: view.name.clone(),
            url: view.url.clone(),
            issuer: Some(view.issuer.clone()),
            client_id_source: Some(view.client_source.clone()),
            client_id: view.client_id.clone(),
            expires_at,
            sign_in_by,
            via: view.via.clone(),
            status,
            connected,
            drift,
        }
    }
}

/// One line of the dashboard's activity log.
#[derive(Debug, Clone, Serialize, TS, Deserialize)]
pub struct Activity {
    pub at: DateTime<Utc>,
    /// "refresh", "repair", "sign-in", "error", …
    pub kind: String,
    pub message: String,
}

/// An error as the UI shows it: what failed and what to do next. `code` is what the UI
/// branches on: a core error's [`UserFacing::code`] (`registration.dcr-disabled`, …) or one of
/// the tray's own (`tray.cancelled`, …).
#[derive(Debug, Clone, Serialize, TS, Deserialize)]
pub struct UiError {
    pub code: String,
    pub what: String,
    pub next: String,
}

impl UiError {
    pub fn new(code: &str, what: impl Into<String>, next: impl Into<String>) -> Self {
        UiError {
            code: code.to_owned(),
            what: what.into(),
            next: next.into(),
        }
    }

    /// The sign-in flow was cancelled (the wizard closed, or another flow started).
    pub fn cancelled() -> Self {
        UiError::new("tray.cancelled", "Sign-in cancelled.", "")
    }
}

impl<E: UserFacing + ?Sized> From<&E> for UiError {
    fn from(e: &E) -> Self {
        UiError::new(e.code(), e.what(), e.next_step())
    }
}

impl From<lanyard_core::Error> for UiError {
    fn from(e: lanyard_core::Error) -> Self {
        UiError::new(e.code(), e.what(), e.next_step())
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.next.is_empty() {
            f.write_str(&self.what)
        } else {
            write!(f, "{} {}", self.what, self.next)
        }
    }
}

/// How far a step of the wizard's timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Running,
    Ok,
    Failed,
}

/// One row of the wizard's timeline. The discovery steps carry what `lanyard probe` reports.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TimelineStep {
    /// "challenge", "resource metadata", "authorization server", "client id", "sign in",
    /// "first tool call", or a discovery step's own name.
    pub step: String,
    pub state: StepState,
    pub detail: String,
    #[ts(optional = nullable)]
    pub method: Option<String>,
    #[ts(optional = nullable)]
    pub url: Option<String>,
    #[ts(optional = nullable)]
    pub status: Option<u16>,
    #[ts(optional = nullable)]
    pub millis: Option<u64>,
}

impl TimelineStep {
    pub fn new(step: &str, state: StepState, detail: impl Into<String>) -> Self {
        TimelineStep {
            step: step.into(),
            state,
            detail: detail.into(),
            method: None,
            url: None,
            status: None,
            millis: None,
        }
    }
}

/// Whether the authorization server advertises dynamic client registration. Whether it
/// accepts an anonymous registration only shows at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Dcr {
    Available,
    Absent,
    /// Discovery failed before the authorization server was known.
    Unknown,
}

/// Where the authorization server came from (the core's `discovery::DiscoveryMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMode {
    ResourceMetadata,
    LegacyOriginMetadata,
    LegacyDefaultEndpoints,
}

impl From<DiscoveryMode> for ProbeMode {
    fn from(m: DiscoveryMode) -> Self {
        match m {
            DiscoveryMode::ResourceMetadata => ProbeMode::ResourceMetadata,
            DiscoveryMode::LegacyOriginMetadata => ProbeMode::LegacyOriginMetadata,
            DiscoveryMode::LegacyDefaultEndpoints => ProbeMode::LegacyDefaultEndpoints,
        }
    }
}

/// What the wizard needs after discovery, before signing in.
#[derive(Debug, Serialize, TS)]
pub struct ProbeSummary {
    pub steps: Vec<TimelineStep>,
    pub issuer: Option<String>,
    /// The endpoints the user confirms with the issuer (carried into `add`, which aborts when
    /// discovery then says otherwise).
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    /// "evil.example will receive tokens from your sign-in at idp.corp …" when the issuer
    /// already signs Lanyard in to servers of another origin (`flow::shared_issuer`).
    pub issuer_warning: Option<String>,
    pub resource_name: Option<String>,
    pub dcr: Dcr,
    pub cimd: bool,
    pub mode: Option<ProbeMode>,
    pub error: Option<UiError>,
}

/// The wizard's "Sign in": the server and what the user confirmed after the check.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddRequest {
    pub url: String,
    pub name: String,
    #[ts(optional = nullable)]
    pub client_id: Option<String>,
    #[ts(optional = nullable)]
    pub client_secret: Option<String>,
    #[ts(optional = nullable)]
    pub scope: Option<String>,
    #[ts(optional = nullable)]
    pub no_resource: Option<bool>,
    /// What the user confirmed after the check (the probe's issuer and endpoints): `add`
    /// aborts when discovery then differs.
    #[ts(optional = nullable)]
    pub expect_issuer: Option<String>,
    #[ts(optional = nullable)]
    pub expect_authorization_endpoint: Option<String>,
    #[ts(optional = nullable)]
    pub expect_token_endpoint: Option<String>,
}

#[derive(Debug, Serialize, TS)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
}

impl From<lanyard_core::mcp::Tool> for ToolInfo {
    fn from(t: lanyard_core::mcp::Tool) -> Self {
        ToolInfo {
            name: t.name,
            description: t.description.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, TS)]
pub struct AddResult {
    pub name: String,
    pub tools: Vec<ToolInfo>,
}

/// An AI assistant Lanyard can configure.
#[derive(Debug, Serialize, TS)]
pub struct Assistant {
    /// "cursor", "claude", "codex".
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub connected: bool,
}

impl Assistant {
    pub fn new(ide: Ide, installed: bool, connected: bool) -> Self {
        Assistant {
            id: ide.id().to_owned(),
            name: ide.label().to_owned(),
            installed,
            connected,
        }
    }
}

/// What "Uninstall Lanyard…" found after the cleanup: how to remove the program itself.
#[derive(Debug, Serialize, TS, Deserialize)]
pub struct UninstallResult {
    /// The cleanup's report.
    pub report: String,
    /// The Debian package holding this binary (`dpkg -S`), when installed from the `.deb`.
    pub package: Option<String>,
    /// The command that removes the program, for the user to run (never run by the tray).
    pub remove_command: Option<String>,
    /// `pkexec` exists: the dashboard may offer to run `apt-get remove` through it.
    pub can_pkexec: bool,
    /// What to do when no package manager owns the program (AppImage, a copied binary).
    pub manual: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_core::ides::Mode;
    use lanyard_core::servers::Quirks;

    fn view(status: &str, expires_at: Option<i64>) -> ServerView {
        ServerView {
            name: "gw".into(),
            url: "https://gw.example/mcp".into(),
            resource: "https://gw.example/mcp".into(),
            issuer: "https://idp.example".into(),
            client_source: "DCR".into(),
            client_id: Some("abc".into()),
            scopes: vec![],
            status: status.into(),
            status_reason: None,
            expires_at,
            quirks: Quirks::default(),
            via: None,
        }
    }

    #[test]
    fn the_engine_status_wins_over_the_stored_view() {
        let until = Utc.timestamp_opt(4_000_000_000, 0).single().unwrap();
        let fresh = EngineStatus::Fresh {
            until,
            next_refresh: until,
        };
        let row = ServerRow::from_core(&view("expired", Some(1)), Some(&fresh), &[]);
        assert_eq!(row.status, Status::SignedIn);
        assert_eq!(row.expires_at, Some(until));
        assert!(row.label().starts_with("gw — signed in until "));
        let gone = EngineStatus::NeedsSignIn {
            reason: "revoked".into(),
        };
        assert_eq!(
            ServerRow::from_core(&view("ok", None), Some(&gone), &[]).label(),
            "gw — needs sign-in"
        );
    }

    #[test]
    fn a_server_served_by_a_company_idp_says_through_whom() {
        let mut v = view("ok", None);
        assert_eq!(ServerRow::from_core(&v, None, &[]).via, None);
        v.via = Some("via login.example.com as alice@example.com".into());
        assert_eq!(
            ServerRow::from_core(&v, None, &[]).via.as_deref(),
            Some("via login.example.com as alice@example.com")
        );
    }

    #[test]
    fn a_sign_in_is_foreseen_only_for_a_token_that_cannot_be_refreshed() {
        let until = Utc.timestamp_opt(4_000_000_000, 0).single().unwrap();
        let status = |next_refresh| EngineStatus::Fresh {
            until,
            next_refresh,
        };
        let row = |s: &EngineStatus| ServerRow::from_core(&view("ok", None), Some(s), &[]);
        assert_eq!(row(&status(until)).sign_in_by, Some(until));
        let earlier = until - chrono::Duration::minutes(5);
        assert_eq!(row(&status(earlier)).sign_in_by, None);
        assert_eq!(row(&EngineStatus::NoExpiry).sign_in_by, None);
    }

    #[test]
    fn without_an_engine_the_view_decides() {
        assert_eq!(
            ServerRow::from_core(&view("ok", None), None, &[]).status,
            Status::SignedIn
        );
        assert_eq!(
            ServerRow::from_core(&view("no_tokens", None), None, &[]).status,
            Status::NeedsSignIn
        );
    }

    #[test]
    fn connections_become_assistants_and_drift() {
        let conn = |server: &str, ide: Ide, state: EntryState| IdeStatus {
            server: server.into(),
            ide,
            mode: Mode::Helper,
            file: "/home/u/.config".into(),
            state,
        };
        let conns = [
            conn("gw", Ide::Cursor, EntryState::Ok),
            conn("gw", Ide::Claude, EntryState::RemovedByUser),
            conn("other", Ide::Codex, EntryState::Ok),
        ];
        let row = ServerRow::from_core(&view("ok", None), None, &conns);
        assert_eq!(row.connected, vec!["cursor".to_string()]);
        assert_eq!(row.drift, vec!["disconnected in Claude Code".to_string()]);
    }
}
