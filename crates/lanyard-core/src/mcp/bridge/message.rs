//! The JSON-RPC shapes the bridge tells apart: requests, notifications and responses.

use serde_json::Value;

pub(super) fn method_of(msg: &Value) -> Option<&str> {
    msg.get("method").and_then(Value::as_str)
}

/// A request (as opposed to a notification or a response) has both `method` and `id`.
pub(super) fn request_id(msg: &Value) -> Option<Value> {
    if msg.get("method").is_some() {
        msg.get("id").cloned()
    } else {
        None
    }
}

/// A response (no `method`) to the request with `id`.
pub(super) fn answers(m: &Value, id: &Value) -> bool {
    m.get("id") == Some(id) && m.get("method").is_none()
}
