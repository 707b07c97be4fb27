//! The 2025 session's lifecycle beyond `initialize`: a quiet re-initialize when the server
//! forgets the session (404), and DELETE when the bridge ends.

use serde_json::{Value, json};

use super::body::{content_type, read_capped, read_events};
use super::send::Sent;
use super::state::Bridge;

impl Bridge {
    /// Replays the client's `initialize` (its answer is not forwarded) to get a new session.
    pub(super) async fn reinitialize(&self) -> bool {
        let Some(mut init) = self.session.borrow().init.clone() else {
            return false;
        };
        self.session.borrow_mut().id = None;
        init["id"] = json!("lanyard-reinitialize");
        let resp = match self.send(reqwest::Method::POST, Some(&init)).await {
            Sent::Ok(r) if r.status().is_success() => r,
            _ => return false,
        };
        if let Some(id) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session.borrow_mut().id = Some(id.to_owned());
        }
        // Drain the answer (not forwarded: the client already has one).
        if content_type(&resp).starts_with("text/event-stream") {
            let mut resp = resp;
            read_events(&mut resp, &mut |m| self.learn_version(&m)).await;
        } else if let Ok(m) = read_capped(resp)
            .await
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
        {
            self.learn_version(&m);
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        matches!(self.send(reqwest::Method::POST, Some(&note)).await, Sent::Ok(r) if r.status().is_success())
    }

    pub(super) async fn end_session(&self) {
        if self.session.borrow().id.is_none() {
            return;
        }
        let Some(header) = self.current.borrow().clone() else {
            return;
        };
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.request(reqwest::Method::DELETE, &header, None).send(),
        )
        .await;
    }
}
