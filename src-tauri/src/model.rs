//! What the tray shows: server rows with a status, the activity log, errors for the UI.

use chrono::{DateTime, Local, TimeZone, Utc};
use lanyard_core::daemon::Status as EngineStatus;
use lanyard_core::flow::ServerView;
use serde::Serialize;
use serde_json::Value;

/// A server's state as the tray shows it; also picks the tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerRow {
    pub name: String,
    pub url: String,
    pub issuer: Option<String>,
    /// "DCR", "CIMD" or "pre-registered".
    pub client_id_source: Option<String>,
    pub client_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
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
    /// engine runs) and the assistants' connections (`lanyard ides --json` "connections").
    pub fn from_core(
        view: &ServerView,
        engine: Option<&EngineStatus>,
        connections: &[Value],
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
        let mut connected = Vec::new();
        let mut drift = Vec::new();
        for c in connections
            .iter()
            .filter(|c| c.get("server").and_then(Value::as_str) == Some(view.name.as_str()))
        {
            let Some(ide) = c.get("ide").and_then(Value::as_str) else {
                continue;
            };
            let label = match ide {
                "cursor" => "Cursor",
                "claude" => "Claude Code",
                "codex" => "Codex",
                other => other,
            };
            match c
                .get("state")
                .and_then(|s| s.get("state"))
                .and_then(Value::as_str)
                .unwrap_or("ok")
            {
                "ok" => connected.push(ide.to_owned()),
                "drifted" => {
                    connected.push(ide.to_owned());
                    drift.push(format!("changed in {label}"));
                }
                "unreadable" => drift.push(format!("{label}'s config is unreadable")),
                _ => drift.push(format!("disconnected in {label}")),
            }
        }
        ServerRow {
            name: view.name.clone(),
            url: view.url.clone(),
            issuer: Some(view.issuer.clone()),
            client_id_source: Some(view.client_source.clone()),
            client_id: view.client_id.clone(),
            expires_at,
            status,
            connected,
            drift,
        }
    }
}

/// One line of the dashboard's activity log.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub at: DateTime<Utc>,
    /// "refresh", "repair", "sign-in", "error", …
    pub kind: String,
    pub message: String,
}

/// An error as the UI shows it: what failed and what to do next; `kind` lets the wizard branch
/// (e.g. `needs-client-id` when the IdP refuses dynamic registration).
#[derive(Debug, Clone, Serialize)]
pub struct UiError {
    pub kind: String,
    pub what: String,
    pub next: String,
}

impl UiError {
    pub fn new(kind: &str, what: impl Into<String>, next: impl Into<String>) -> Self {
        UiError {
            kind: kind.to_owned(),
            what: what.into(),
            next: next.into(),
        }
    }

    /// Splits the CLI's one-paragraph message: first line what failed, the rest what to do.
    pub fn from_cli_message(kind: &str, message: &str) -> Self {
        let msg = message.trim();
        let (what, next) = match msg.split_once('\n') {
            Some((w, n)) => (w.trim(), n.trim()),
            None => (msg, ""),
        };
        let what = what.strip_prefix("error: ").unwrap_or(what);
        UiError::new(kind, what, next)
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

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_core::servers::Quirks;
    use serde_json::json;

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
        let conns = [
            json!({ "server": "gw", "ide": "cursor", "state": { "state": "ok" } }),
            json!({ "server": "gw", "ide": "claude", "state": { "state": "removed_by_user" } }),
            json!({ "server": "other", "ide": "codex", "state": { "state": "ok" } }),
        ];
        let row = ServerRow::from_core(&view("ok", None), None, &conns);
        assert_eq!(row.connected, vec!["cursor".to_string()]);
        assert_eq!(row.drift, vec!["disconnected in Claude Code".to_string()]);
    }

    #[test]
    fn cli_message_splits_into_what_and_next() {
        let e = UiError::from_cli_message(
            "x",
            "error: DCR is disabled on this IdP\nAsk your admin for a client id.",
        );
        assert_eq!(e.what, "DCR is disabled on this IdP");
        assert_eq!(e.next, "Ask your admin for a client id.");
    }
}
