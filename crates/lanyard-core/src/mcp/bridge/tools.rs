//! The tools' `x-mcp-header` designations: learned from `tools/list` answers on their way to
//! the client, or from a listing of the bridge's own before a call of a tool not seen yet.

use serde_json::{Value, json};

use super::body::answer_to;
use super::message::method_of;
use super::send::Sent;
use super::state::Bridge;

impl Bridge {
    /// Learns the tools' `x-mcp-header` annotations with a `tools/list` of the bridge's own
    /// (not relayed), for a call of a tool no listing has shown yet — a client may call
    /// without listing, or before its listing was answered. It carries the call's `_meta`
    /// envelope, so it is valid in whatever revision the call is.
    pub(super) async fn learn_tools(&self, call: &Value) {
        let mut cursor: Option<Value> = None;
        for _ in 0..20 {
            let mut params = json!({});
            if let Some(meta) = call.pointer("/params/_meta").and_then(Value::as_object) {
                let envelope: serde_json::Map<String, Value> = meta
                    .iter()
                    .filter(|(k, _)| k.starts_with("io.modelcontextprotocol/"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !envelope.is_empty() {
                    params["_meta"] = Value::Object(envelope);
                }
            }
            if let Some(c) = cursor.take() {
                params["cursor"] = c;
            }
            let list = json!({"jsonrpc": "2.0", "id": self.fresh_id("tools"),
                "method": "tools/list", "params": params});
            let Sent::Ok(resp) = self.send(reqwest::Method::POST, Some(&list)).await else {
                return;
            };
            if !resp.status().is_success() {
                return;
            }
            let Some(mut answer) = answer_to(resp, &list["id"]).await else {
                return;
            };
            let Some(result) = answer.get_mut("result") else {
                return;
            };
            self.tools.borrow_mut().learn(result);
            cursor = result
                .get("nextCursor")
                .filter(|c| c.as_str().is_some_and(|c| !c.is_empty()))
                .cloned();
            if cursor.is_none() {
                return;
            }
        }
    }

    /// A response on its way to the client: a `tools/list` result loses the tools whose
    /// `x-mcp-header` annotations are malformed (and teaches the bridge the others').
    pub(super) fn inbound(&self, request: &Value, mut m: Value) -> Value {
        if method_of(request) == Some("tools/list")
            && let Some(result) = m.get_mut("result")
        {
            for r in self.tools.borrow_mut().learn(result) {
                tracing::warn!("bridge: tool \"{}\" left out: {}", r.tool, r.why);
            }
        }
        m
    }
}
