//! The client's `initialize`: a `server/discover` probe decides the revision. A server that
//! speaks 2026-07-28 alone gets a 2025 client translated — `initialize` answered here, each
//! later message wrapped in the `_meta` envelope; any other gets the `initialize` itself.

use serde_json::{Value, json};

use super::body::{answer_to, read_capped};
use super::message::{method_of, request_id};
use super::send::Sent;
use super::state::Bridge;
use crate::mcp::protocol::{self, LEGACY_VERSIONS, MODERN_VERSION};

impl Bridge {
    /// `server/discover` with the client's envelope: its result when the server answered
    /// one. A refusal of the version that lists 2026-07-28 as supported is asked once more.
    /// `Err(why)` when the server refused the token.
    pub(super) async fn discover(&self, envelope: &Value) -> Result<Option<Value>, String> {
        for attempt in 0..2 {
            let probe = json!({"jsonrpc": "2.0", "id": self.fresh_id("discover"),
                "method": "server/discover", "params": {"_meta": envelope}});
            match self.send(reqwest::Method::POST, Some(&probe)).await {
                Sent::Ok(resp) if resp.status().is_success() => {
                    return Ok(answer_to(resp, &probe["id"])
                        .await
                        .and_then(|m| m.get("result").cloned()));
                }
                Sent::Ok(resp) if resp.status().as_u16() == 400 && attempt == 0 => {
                    let refusal = read_capped(resp)
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                    if !refusal.is_some_and(|r| protocol::refused_version_but_speaks_modern(&r)) {
                        return Ok(None);
                    }
                }
                Sent::Unauthorized(why) => return Err(why),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The client's `initialize`: probe with `server/discover` first; a server that speaks only
    /// 2026-07-28 gets the modern lifecycle (answered here), any other the `initialize` itself.
    pub(super) async fn initialize(&self, init: Value) {
        let params = init.get("params").cloned().unwrap_or(Value::Null);
        let client_info = params
            .get("clientInfo")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(
                || json!({"name": "lanyard-bridge", "version": env!("CARGO_PKG_VERSION")}),
            );
        // The client's own capabilities: the bridge relays what they cover (elicitation,
        // sampling, roots) as the revision's input requests.
        let capabilities = params
            .get("capabilities")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        let envelope = protocol::envelope(client_info, capabilities);
        let discovered = match self.discover(&envelope).await {
            Ok(d) => d,
            Err(why) => {
                self.error_reply(
                    &init,
                    -32001,
                    format!("Lanyard could not authorize to the MCP server: {why}"),
                );
                return;
            }
        };
        // Only a server that speaks 2026-07-28 alone: one that also speaks a 2025 revision
        // gives the 2025 client a real session (its capabilities, the GET stream, server
        // notifications), which the translation cannot.
        let Some(result) = discovered.filter(|r| {
            let v = protocol::supported_versions(r);
            v.contains(&MODERN_VERSION) && !v.iter().any(|v| LEGACY_VERSIONS.contains(v))
        }) else {
            self.forward(init).await;
            return;
        };
        {
            let mut s = self.session.borrow_mut();
            s.version = Some(MODERN_VERSION.to_owned());
            s.envelope = Some(envelope);
        }
        let asked = params.get("protocolVersion").and_then(Value::as_str);
        let version = asked
            .filter(|v| LEGACY_VERSIONS.contains(v))
            .unwrap_or(LEGACY_VERSIONS[0]);
        let server_info = protocol::server_info(&result)
            .unwrap_or_else(|| json!({"name": self.url.as_str(), "version": "unknown"}));
        let mut answer = json!({
            "protocolVersion": version,
            "capabilities": result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
            "serverInfo": server_info,
        });
        if let Some(i) = result.get("instructions").filter(|i| i.is_string()) {
            answer["instructions"] = i.clone();
        }
        if let Some(id) = request_id(&init) {
            self.emit(json!({"jsonrpc": "2.0", "id": id, "result": answer}));
        }
    }

    /// A 2025 client's message for a 2026-07-28 server: `None` when the bridge answered or
    /// dropped it, else the message with the `_meta` envelope. Unchanged in any other session.
    pub(super) fn translate(&self, mut msg: Value) -> Option<Value> {
        let Some(envelope) = self.session.borrow().envelope.clone() else {
            return Some(msg);
        };
        match method_of(&msg) {
            Some("notifications/initialized") => return None,
            Some("ping") => {
                if let Some(id) = request_id(&msg) {
                    self.emit(json!({"jsonrpc": "2.0", "id": id, "result": {}}));
                }
                return None;
            }
            Some(_) => {}
            None => return Some(msg),
        }
        protocol::wrap(&mut msg, &envelope);
        Some(msg)
    }
}
