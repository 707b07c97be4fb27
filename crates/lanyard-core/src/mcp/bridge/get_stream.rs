//! GET event streams: the stream of server-initiated messages (2025 sessions), and resuming a
//! POST's stream with `Last-Event-ID` after the server's `retry:` (SEP-1699).

use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use super::body::{IDLE, MAX_MESSAGE, content_type, read_events};
use super::message::answers;
use super::state::Bridge;
use crate::mcp::sse::SseParser;

/// How many times a POST's event stream is resumed (GET with `Last-Event-ID`) for its answer.
const MAX_RESUMES: usize = 5;
/// The wait before resuming when the server named none (`retry:`), and the longest honoured.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

impl Bridge {
    /// Resumes a POST's event stream with GET and `Last-Event-ID` until the response to `id`
    /// arrives (other messages are relayed), waiting the server's `retry:` before each try.
    pub(super) async fn resume(
        &self,
        id: &Value,
        mut last_id: String,
        mut retry: Option<Duration>,
    ) -> Option<Value> {
        for _ in 0..MAX_RESUMES {
            tokio::time::sleep(retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY)).await;
            let header = self.current.borrow().clone()?;
            let resp = self
                .request(reqwest::Method::GET, &header, None)
                .header("Last-Event-ID", last_id.as_str())
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() || !content_type(&resp).starts_with("text/event-stream")
            {
                return None;
            }
            let mut resp = resp;
            let mut sse = SseParser::new(MAX_MESSAGE);
            let mut found = None;
            loop {
                let chunk = match tokio::time::timeout(IDLE, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => chunk,
                    Ok(_) => break,
                    Err(_) => return None,
                };
                let fed = sse.feed(&chunk, &mut |m: Value| {
                    if found.is_none() && answers(&m, id) {
                        found = Some(m);
                    } else {
                        self.emit(m);
                    }
                });
                if fed.is_err() {
                    return None;
                }
                if found.is_some() {
                    return found;
                }
            }
            sse.finish(&mut |m: Value| {
                if found.is_none() && answers(&m, id) {
                    found = Some(m);
                } else {
                    self.emit(m);
                }
            });
            if found.is_some() {
                return found;
            }
            last_id = sse.last_id().map(str::to_owned).unwrap_or(last_id);
            retry = sse.retry_ms().map(Duration::from_millis).or(retry);
        }
        None
    }

    /// The GET stream for server-initiated messages (2025 revisions with a session only).
    pub(super) fn start_get_stream(self: Rc<Self>) {
        {
            let mut s = self.session.borrow_mut();
            let modern = s.version.as_deref().is_some_and(|v| v >= "2026-01-01");
            if s.get_stream_started || modern {
                return;
            }
            s.get_stream_started = true;
        }
        let this = self.clone();
        let stream = tokio::task::spawn_local(async move {
            let mut last_event: Option<String> = None;
            let mut retry = Duration::from_millis(500);
            for _ in 0..100 {
                let header = match this.current.borrow().clone() {
                    Some(h) => h,
                    None => return,
                };
                let mut req = this.request(reqwest::Method::GET, &header, None);
                if let Some(id) = &last_event {
                    req = req.header("Last-Event-ID", id.as_str());
                }
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(_) => return,
                };
                match resp.status().as_u16() {
                    200 if content_type(&resp).starts_with("text/event-stream") => {
                        let mut resp = resp;
                        let end = read_events(&mut resp, &mut |m| this.emit(m)).await;
                        if let Some(id) = end.last_id {
                            last_event = Some(id);
                        }
                        if let Some(r) = end.retry {
                            retry = r.min(MAX_RETRY);
                        }
                    }
                    401 => {
                        if this.header(Some(&header.1)).await.is_err() {
                            return;
                        }
                    }
                    // 405: no stream offered; anything else: give up quietly.
                    _ => return,
                }
                tokio::time::sleep(retry).await;
            }
        });
        *self.get_stream.borrow_mut() = Some(stream);
    }
}
