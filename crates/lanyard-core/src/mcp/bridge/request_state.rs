//! SEP-2322 for a 2025 client behind a 2026-07-28 server: an `input_required` result's input
//! requests are put to the client as ordinary server-to-client requests, and the request is
//! sent again with their answers and the server's `requestState` untouched.

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::body::IDLE;
use super::state::Bridge;

/// A 2026-07-28 result asking for more input first (SEP-2322): `inputRequests` to put to the
/// client, and the request to send again with their answers.
pub(super) fn input_required(answer: &Value) -> Option<&Value> {
    let result = answer.get("result")?;
    (result.get("resultType").and_then(Value::as_str) == Some("input_required")).then_some(result)
}

/// How many rounds of input a request may ask for before the bridge gives up on it.
pub(super) const MAX_INPUT_ROUNDS: usize = 8;

/// The client's request sent again under `id`, with the answers to the server's input
/// requests and the server's `requestState` exactly as received.
pub(super) fn with_input(msg: &Value, id: Value, result: &Value, responses: Value) -> Value {
    let mut retry = msg.clone();
    retry["id"] = id;
    if let Some(p) = retry.get_mut("params").and_then(Value::as_object_mut) {
        p.insert("inputResponses".into(), responses);
        match result.get("requestState") {
            Some(state) => p.insert("requestState".into(), state.clone()),
            None => p.remove("requestState"),
        };
    }
    retry
}

impl Bridge {
    /// Puts a result's `inputRequests` (key → `{method, params}`) to the client, one by one,
    /// and returns `inputResponses` (key → the client's result).
    pub(super) async fn ask_client(&self, requests: Option<&Value>) -> Result<Value, String> {
        let Some(requests) = requests.and_then(Value::as_object) else {
            return Err("the server asked for input without saying which".into());
        };
        let mut responses = serde_json::Map::new();
        for (key, r) in requests {
            let Some(method) = r.get("method").and_then(Value::as_str) else {
                return Err(format!(
                    "the server's input request \"{key}\" names no method"
                ));
            };
            if self.input_closed.get() {
                return Err(format!("the assistant closed its input before {method}"));
            }
            let id = self.fresh_id("input");
            let (tx, rx) = oneshot::channel();
            self.pending.borrow_mut().insert(id.clone(), tx);
            let mut ask = json!({"jsonrpc": "2.0", "id": id, "method": method});
            if let Some(p) = r.get("params") {
                ask["params"] = p.clone();
            }
            self.emit(ask);
            let reply = match tokio::time::timeout(IDLE, rx).await {
                Ok(Ok(reply)) => reply,
                _ => {
                    self.pending.borrow_mut().remove(&id);
                    return Err(format!("the assistant did not answer {method}"));
                }
            };
            match reply.get("result") {
                Some(result) => {
                    responses.insert(key.clone(), result.clone());
                }
                None => {
                    let why = reply
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no result");
                    return Err(format!("the assistant refused {method}: {why}"));
                }
            }
        }
        Ok(Value::Object(responses))
    }
}
