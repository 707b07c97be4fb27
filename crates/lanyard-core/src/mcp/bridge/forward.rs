//! Forwarding one client message: the POST, a new session when the server forgot it, and
//! relaying every message of the answer (JSON, batch or event stream) to the client.

use serde_json::{Value, json};

use super::body::{content_type, read_capped, read_events};
use super::message::{answers, method_of, request_id};
use super::request_state::{MAX_INPUT_ROUNDS, input_required, with_input};
use super::send::Sent;
use super::state::Bridge;

/// What a POST's answer held for the request it carried.
enum Relayed {
    /// The response to the request (everything else in the answer was relayed already).
    Answer(Value),
    /// Nothing to answer (a notification or a response was accepted).
    Nothing,
    /// No response came: why.
    Missing(String),
}

impl Bridge {
    /// Forwards one client message and relays whatever comes back. A 2025 client behind a
    /// 2026-07-28 server cannot answer `input_required` results itself: the bridge puts their
    /// input requests to it as ordinary server-to-client requests and sends the request again
    /// (new id, the answers, the server's `requestState` exactly as received).
    pub(super) async fn forward(&self, msg: Value) {
        let client_id = request_id(&msg);
        let translated = self.session.borrow().envelope.is_some();
        let mut current = msg.clone();
        for _ in 0..MAX_INPUT_ROUNDS {
            let Some(mut answer) = self.exchange(&current, &msg).await else {
                return;
            };
            let Some(result) = input_required(&answer).filter(|_| translated).cloned() else {
                if let Some(id) = &client_id {
                    answer["id"] = id.clone();
                }
                self.emit(answer);
                return;
            };
            let responses = match self.ask_client(result.get("inputRequests")).await {
                Ok(r) => r,
                Err(why) => {
                    self.error_reply(&msg, -32603, format!("Lanyard bridge: {why}"));
                    return;
                }
            };
            current = with_input(&msg, json!(self.fresh_id("retry")), &result, responses);
        }
        self.error_reply(
            &msg,
            -32603,
            format!(
                "Lanyard bridge: the server asked for input more than {MAX_INPUT_ROUNDS} times"
            ),
        );
    }

    /// Sends one message (a new session when the server forgot it) and returns the response
    /// to it; `None` when there is none to give or a failure was already answered — to
    /// `client_msg`, the client's own request (`msg` may be the bridge's retry of it).
    async fn exchange(&self, msg: &Value, client_msg: &Value) -> Option<Value> {
        if self.tools.borrow().unknown_callee(msg).is_some() {
            self.learn_tools(msg).await;
        }
        let mut retried_session = false;
        loop {
            match self.send(reqwest::Method::POST, Some(msg)).await {
                Sent::Ok(resp) => {
                    return match self.relay_post_answer(msg, resp).await {
                        Relayed::Answer(a) => Some(a),
                        Relayed::Nothing => None,
                        Relayed::Missing(why) => {
                            self.error_reply(client_msg, -32603, format!("Lanyard bridge: {why}"));
                            None
                        }
                    };
                }
                Sent::SessionGone if !retried_session && method_of(msg) != Some("initialize") => {
                    retried_session = true;
                    if !self.reinitialize().await {
                        self.error_reply(
                            client_msg,
                            -32001,
                            "the MCP server ended the session and a new one could not be started"
                                .into(),
                        );
                        return None;
                    }
                }
                Sent::SessionGone => {
                    self.error_reply(
                        client_msg,
                        -32001,
                        "the MCP server ended the session".into(),
                    );
                    return None;
                }
                Sent::Unauthorized(why) => {
                    self.error_reply(
                        client_msg,
                        -32001,
                        format!("Lanyard could not authorize to the MCP server: {why}"),
                    );
                    return None;
                }
                Sent::Failed(why) => {
                    self.error_reply(client_msg, -32603, format!("Lanyard bridge: {why}"));
                    return None;
                }
            }
        }
    }

    async fn relay_post_answer(&self, msg: &Value, resp: reqwest::Response) -> Relayed {
        let status = resp.status();
        let is_init = method_of(msg) == Some("initialize");
        if is_init
            && status.is_success()
            && let Some(id) = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.session.borrow_mut().id = Some(id.to_owned());
        }
        if status.as_u16() == 202 || status.as_u16() == 204 {
            return Relayed::Nothing;
        }
        let want = request_id(msg);
        let mut answer = None;
        let mut cut = None;
        if content_type(&resp).starts_with("text/event-stream") {
            let mut resp = resp;
            let end = read_events(&mut resp, &mut |m: Value| {
                if is_init {
                    self.learn_version(&m);
                }
                match &want {
                    Some(id) if answer.is_none() && answers(&m, id) => answer = Some(m),
                    _ => self.emit(m),
                }
            })
            .await;
            cut = end.cut;
            // The stream closed before the answer (the server may end it at will and resend
            // on a GET from where it stopped): resume after the delay it asked for.
            if answer.is_none()
                && cut.is_none()
                && let (Some(id), Some(last)) = (&want, end.last_id)
            {
                answer = self.resume(id, last, end.retry).await;
            }
        } else {
            let bytes = match read_capped(resp).await {
                Ok(b) => b,
                Err(why) => return Relayed::Missing(why),
            };
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Array(items)) => {
                    for m in items {
                        match &want {
                            Some(id) if answer.is_none() && answers(&m, id) => answer = Some(m),
                            _ => self.emit(m),
                        }
                    }
                    if want.is_some() && answer.is_none() {
                        return Relayed::Nothing;
                    }
                }
                Ok(mut m) if m.get("jsonrpc").is_some() => {
                    if is_init {
                        self.learn_version(&m);
                    }
                    match &want {
                        // A refusal not tied to the request (`"id": null`) still answers it.
                        Some(id) if m.get("id").is_none_or(Value::is_null) => {
                            m["id"] = id.clone();
                            answer = Some(m);
                        }
                        Some(_) => answer = Some(m),
                        None => self.emit(m),
                    }
                }
                _ => {}
            }
        }
        match (answer, want) {
            (Some(a), _) => Relayed::Answer(self.inbound(msg, a)),
            (None, None) => Relayed::Nothing,
            (None, Some(_)) => Relayed::Missing(match cut {
                Some(why) => why,
                None if status.is_success() => {
                    "the server's answer had no response to this request".to_owned()
                }
                None => format!("the server answered HTTP {status}"),
            }),
        }
    }
}
