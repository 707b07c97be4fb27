//! Reading what the server sends: whole JSON bodies and event streams, each capped at
//! [`MAX_MESSAGE`] and cut after [`IDLE`] silence.

use std::time::Duration;

use serde_json::Value;

use super::message::answers;
use crate::mcp::sse::SseParser;

/// The largest JSON body or SSE event the bridge reads from the server (a hostile server must
/// not exhaust the assistant's machine): 16 MiB.
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Longest silence on an answer or an event stream before the bridge gives up on it.
pub(super) const IDLE: Duration = Duration::from_secs(60 * 60);

/// How an event stream ended.
pub(super) struct StreamEnd {
    pub(super) last_id: Option<String>,
    pub(super) retry: Option<Duration>,
    /// `Some(why)` when cut short (too large, silent too long).
    pub(super) cut: Option<String>,
}

/// The JSON-RPC response with `id` in an answer (JSON, batch or event stream).
pub(super) async fn answer_to(mut resp: reqwest::Response, id: &Value) -> Option<Value> {
    let mut found = None;
    if content_type(&resp).starts_with("text/event-stream") {
        read_events(&mut resp, &mut |m| {
            if found.is_none() && answers(&m, id) {
                found = Some(m);
            }
        })
        .await;
        return found;
    }
    match serde_json::from_slice::<Value>(&read_capped(resp).await.ok()?).ok()? {
        Value::Array(items) => items.into_iter().find(|m| m.get("id") == Some(id)),
        m => Some(m).filter(|m| m.get("id") == Some(id)),
    }
}

/// Reads an SSE body, calling `each` for every JSON-RPC message. An event (or a line) over
/// [`MAX_MESSAGE`] ends the stream, as does [`IDLE`] silence.
pub(super) async fn read_events(
    resp: &mut reqwest::Response,
    each: &mut impl FnMut(Value),
) -> StreamEnd {
    let mut sse = SseParser::new(MAX_MESSAGE);
    let cut = loop {
        match tokio::time::timeout(IDLE, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                if sse.feed(&chunk, each).is_err() {
                    break Some(too_large());
                }
            }
            Err(_) => break Some(idle()),
            _ => {
                sse.finish(each);
                break None;
            }
        }
    };
    StreamEnd {
        last_id: sse.last_id().map(str::to_owned),
        retry: sse.retry_ms().map(Duration::from_millis),
        cut,
    }
}

fn too_large() -> String {
    format!(
        "the server sent a message larger than the {} MiB the bridge accepts",
        MAX_MESSAGE / (1024 * 1024)
    )
}

fn idle() -> String {
    format!(
        "the server sent nothing for {} minutes",
        IDLE.as_secs() / 60
    )
}

/// A whole (non-stream) body, at most [`MAX_MESSAGE`] bytes, each read within [`IDLE`].
pub(super) async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_MESSAGE as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(IDLE, resp.chunk()).await {
            Err(_) => return Err(idle()),
            Ok(Err(e)) => return Err(format!("the answer was cut off: {e}")),
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > MAX_MESSAGE {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

pub(super) fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}
