//! What the tray shows: server rows with a status, the activity log, errors for the UI.

use chrono::{DateTime, Local, TimeZone, Utc};
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

    fn from_text(s: &str) -> Option<Status> {
        let s = s.to_ascii_lowercase().replace(['_', ' '], "-");
        if s.contains("need") || s.contains("expired") || s.contains("sign-in-required") {
            Some(Status::NeedsSignIn)
        } else if s.contains("unreach")
            || s.contains("offline")
            || s.contains("down")
            || s == "error"
        {
            Some(Status::Unreachable)
        } else if s.contains("refresh") {
            Some(Status::Refreshing)
        } else if s.contains("signed-in")
            || s == "ok"
            || s.contains("valid")
            || s.contains("active")
            || s.contains("fresh")
            || s.contains("no-expiry")
        {
            Some(Status::SignedIn)
        } else {
            None
        }
    }
}

/// One managed server, as `lanyard list --json` describes it.
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

    /// Reads one entry of `lanyard list --json`. The CLI's shape is matched loosely (several
    /// key spellings) so the tray keeps working while the CLI's output settles.
    pub fn from_json(v: &Value) -> Option<ServerRow> {
        let text = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|k| match v.get(*k)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        };
        let name = text(&["name", "id"])?;
        let url = text(&["url", "server_url", "resource"]).unwrap_or_default();
        let expires_at = [
            "expires_at",
            "token_expires_at",
            "access_token_expires_at",
            "expiry",
        ]
        .iter()
        .find_map(|k| v.get(*k).and_then(parse_time))
        .or_else(|| {
            v.get("token")
                .and_then(|t| t.get("expires_at"))
                .and_then(parse_time)
        })
        // lanyard_core::daemon::Status serialises as {"state": "fresh", "until": …}.
        .or_else(|| {
            v.get("status")
                .and_then(|t| t.get("until"))
                .and_then(parse_time)
        });
        let status_obj = v
            .get("status")
            .and_then(|s| s.get("state"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let status = text(&["status", "state"])
            .or(status_obj)
            .and_then(|s| Status::from_text(&s))
            .unwrap_or(match expires_at {
                Some(t) if t > Utc::now() => Status::SignedIn,
                _ => Status::NeedsSignIn,
            });
        let client_id_source = text(&["client_id_source", "client_source", "registration"])
            .or_else(|| {
                v.get("client")
                    .and_then(|c| c.get("source"))
                    .and_then(|s| s.as_str())
                    .map(str::to_owned)
            });
        let client_id = text(&["client_id"]).or_else(|| {
            v.get("client")
                .and_then(|c| c.get("client_id"))
                .and_then(|s| s.as_str())
                .map(str::to_owned)
        });
        let connected = match v
            .get("connected")
            .or_else(|| v.get("ides"))
            .or_else(|| v.get("assistants"))
        {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| {
                    x.as_str().map(str::to_owned).or_else(|| {
                        x.get("ide")
                            .or_else(|| x.get("id"))
                            .and_then(|s| s.as_str())
                            .map(str::to_owned)
                    })
                })
                .collect(),
            Some(Value::Object(m)) => m
                .iter()
                .filter(|(_, on)| on.as_bool().unwrap_or(true))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        let drift = match v.get("drift") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Some(ServerRow {
            name,
            url,
            issuer: text(&["issuer"]),
            client_id_source,
            client_id,
            expires_at,
            status,
            connected,
            drift,
        })
    }
}

/// RFC 3339 text or Unix seconds.
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single()),
        _ => None,
    }
}

/// `lanyard list --json` may print an array or an object holding `servers`.
pub fn rows_from_list(v: &Value) -> Vec<ServerRow> {
    let items = match v {
        Value::Array(a) => a.as_slice(),
        Value::Object(_) => v
            .get("servers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        _ => &[],
    };
    items.iter().filter_map(ServerRow::from_json).collect()
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
    use serde_json::json;

    #[test]
    fn reads_list_rows_in_either_shape() {
        let a = json!([{ "name": "gw", "url": "https://gw/mcp", "status": "needs_sign_in" }]);
        let b = json!({ "servers": [{ "name": "gw", "url": "https://gw/mcp", "expires_at": "2999-01-01T00:00:00Z" }] });
        assert_eq!(rows_from_list(&a)[0].status, Status::NeedsSignIn);
        let row = &rows_from_list(&b)[0];
        assert_eq!(row.status, Status::SignedIn);
        assert!(row.label().starts_with("gw — signed in until "));
    }

    #[test]
    fn reads_the_daemon_status_object() {
        let v = json!([{ "name": "gw", "status": { "state": "fresh", "until": "2999-01-01T00:00:00Z", "next_refresh": "2999-01-01T00:00:00Z" } },
                       { "name": "b", "status": { "state": "needs_sign_in", "reason": "revoked" } },
                       { "name": "c", "status": { "state": "unreachable", "since": "2000-01-01T00:00:00Z" } }]);
        let rows = rows_from_list(&v);
        assert_eq!(rows[0].status, Status::SignedIn);
        assert!(rows[0].expires_at.is_some());
        assert_eq!(rows[1].status, Status::NeedsSignIn);
        assert_eq!(rows[2].status, Status::Unreachable);
    }

    #[test]
    fn rows_without_a_name_are_skipped() {
        assert!(rows_from_list(&json!([{ "url": "x" }, 3, null])).is_empty());
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
