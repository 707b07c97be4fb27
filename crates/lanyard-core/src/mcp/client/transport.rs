//! One JSON-RPC message over Streamable HTTP: the protocol headers, same-origin redirects,
//! JSON, batch or event-stream answers (size-capped), and how a failed answer becomes an
//! [`McpError`].

use serde_json::{Value, json};

use super::connection::{McpClient, Negotiated};
use super::error::McpError;
use crate::discovery::BearerChallenge;
use crate::http;
use crate::mcp::protocol::{self, Request};
use crate::mcp::sse::SseParser;

impl McpClient {
    pub(super) fn base(&self, body: &Value) -> Result<reqwest::RequestBuilder, McpError> {
        let mut req = self.http.post(self.url.clone());
        if !self.header_name.is_empty() {
            req = req.header(self.header_name.as_str(), self.header_value.as_str());
        }
        if let Some(proof) = self.dpop_proof()? {
            req = req.header("DPoP", proof);
        }
        let version = match &self.negotiated {
            Negotiated::Legacy(v) | Negotiated::Modern(v) => Some(v.as_str()),
            Negotiated::None => None,
        };
        let headers = protocol::headers(
            Request::Post(body),
            version,
            self.session_id.as_deref(),
            &self.tools,
        );
        Ok(protocol::apply(req, headers))
    }

    /// The `DPoP` header for a POST to the endpoint, when the token is DPoP-bound.
    fn dpop_proof(&self) -> Result<Option<String>, McpError> {
        let (Some(dpop), Some(token)) = (
            &self.dpop,
            crate::tokens::dpop::bound_token(&self.header_value),
        ) else {
            return Ok(None);
        };
        dpop.proof("POST", &self.url, Some(token))
            .map(Some)
            .map_err(|e| McpError::Proof {
                url: self.url.clone(),
                detail: e.to_string(),
            })
    }

    /// POST one message. A same-origin 307/308 (Starlette's slash redirect: what people paste
    /// ends in `/mcp/`) is followed with the same method, body and credential, and the endpoint
    /// is settled there for the rest of the connection; another origin is refused, the token
    /// never sent there.
    pub(super) async fn post(&mut self, body: &Value) -> Result<reqwest::Response, McpError> {
        const MAX_HOPS: usize = 3;
        let mut nonce_retried = false;
        for _ in 0..MAX_HOPS {
            let mut resp = self
                .base(body)?
                .json(body)
                .send()
                .await
                .map_err(|e| self.net_err(&e))?;
            if !nonce_retried && protocol::dpop_nonce_retry(self.dpop.as_ref(), &self.url, &resp) {
                nonce_retried = true;
                resp = self
                    .base(body)?
                    .json(body)
                    .send()
                    .await
                    .map_err(|e| self.net_err(&e))?;
                protocol::dpop_nonce_retry(self.dpop.as_ref(), &self.url, &resp);
            }
            if !matches!(resp.status().as_u16(), 307 | 308) {
                return Ok(resp);
            }
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let target = self.url.join(&location).ok().filter(|t| {
                t.origin() == self.url.origin() && matches!(t.scheme(), "http" | "https")
            });
            match target {
                Some(t) if t != self.url => {
                    tracing::info!("{} moved to {t}", self.url);
                    self.url = t;
                }
                _ => {
                    return Err(McpError::CrossOriginRedirect {
                        url: self.url.clone(),
                        location,
                    });
                }
            }
        }
        Err(self.proto(format!("more than {MAX_HOPS} redirects")))
    }

    pub(super) async fn notify(&mut self, method: &str) -> Result<(), McpError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let resp = self.post(&body).await?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(self.status_err(resp).await)
    }

    /// Send one request; the result and the session id header, if any.
    pub(super) async fn request_raw(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(Value, Option<String>), McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Negotiated::Modern(_) = &self.negotiated {
            protocol::wrap(
                &mut body,
                &protocol::envelope(protocol::lanyard_client_info(), json!({})),
            );
        }
        let resp = self.post(&body).await?;
        let status = resp.status().as_u16();
        if status == 400 {
            return Err(self.bad_request(method, resp).await);
        }
        if !(200..300).contains(&status) {
            return Err(self.status_err(resp).await);
        }
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let message = if ctype.starts_with("text/event-stream") {
            self.read_sse(resp, id).await?
        } else {
            let bytes = http::read_capped(resp, http::MAX_OAUTH_BODY, &self.url)
                .await
                .map_err(|e| self.proto(e.to_string()))?;
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| self.proto(format!("{method} answer is not JSON ({e})")))?;
            match v {
                Value::Array(items) => items
                    .into_iter()
                    .find(|m| m.get("id") == Some(&json!(id)))
                    .ok_or_else(|| self.proto(format!("no answer to {method} in the batch")))?,
                other => other,
            }
        };
        self.result_of(method, message).map(|r| (r, session))
    }

    pub(super) fn result_of(&self, method: &str, message: Value) -> Result<Value, McpError> {
        if let Some(err) = message.get("error") {
            return Err(McpError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: err.get("code").and_then(|c| c.as_i64()).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        message
            .get("result")
            .cloned()
            .ok_or_else(|| self.proto(format!("the answer to {method} has no result")))
    }

    /// Read SSE events until the response with `id` arrives (notifications are skipped); the
    /// whole stream at most [`http::MAX_OAUTH_BODY`] bytes.
    pub(super) async fn read_sse(
        &self,
        mut resp: reqwest::Response,
        id: i64,
    ) -> Result<Value, McpError> {
        let is_answer = |v: &Value| {
            v.get("id") == Some(&json!(id))
                && (v.get("result").is_some() || v.get("error").is_some())
        };
        let mut sse = SseParser::new(http::MAX_OAUTH_BODY);
        let mut total = 0usize;
        loop {
            let mut events = Vec::new();
            let mut each = |v: Value| events.push(v);
            let ended = match resp.chunk().await.map_err(|e| self.net_err(&e))? {
                Some(chunk) => {
                    total += chunk.len();
                    if total > http::MAX_OAUTH_BODY || sse.feed(&chunk, &mut each).is_err() {
                        return Err(self.proto("the event stream exceeded the size limit".into()));
                    }
                    false
                }
                // Stream ended: a last event without its blank line still counts.
                None => {
                    sse.finish(&mut each);
                    true
                }
            };
            if let Some(v) = events.into_iter().find(is_answer) {
                return Ok(v);
            }
            if ended {
                return Err(self.proto("the event stream ended without an answer".into()));
            }
        }
    }

    /// HTTP 400: a JSON-RPC error in the body (a refused protocol version) is reported as such,
    /// anything else as the HTTP status.
    pub(super) async fn bad_request(&self, method: &str, resp: reqwest::Response) -> McpError {
        let body = http::read_capped(resp, 64 * 1024, &self.url)
            .await
            .unwrap_or_default();
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if protocol::refused_version_but_speaks_modern(&v) => McpError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: protocol::UNSUPPORTED_VERSION,
                message: v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
            _ => McpError::Http {
                url: self.url.clone(),
                status: 400,
                body: http::excerpt(&body),
            },
        }
    }

    pub(super) fn net_err(&self, e: &reqwest::Error) -> McpError {
        McpError::Network {
            url: self.url.clone(),
            detail: http::describe_transport(e),
        }
    }
    pub(super) fn proto(&self, detail: String) -> McpError {
        McpError::Protocol {
            url: self.url.clone(),
            detail,
        }
    }

    pub(super) async fn status_err(&self, resp: reqwest::Response) -> McpError {
        let status = resp.status().as_u16();
        let values = crate::mcp::protocol::www_authenticate(resp.headers());
        let www = Some(values.join(", ")).filter(|w| !w.is_empty());
        let challenge = BearerChallenge::from_headers(&values);
        let body = http::read_capped(resp, 64 * 1024, &self.url)
            .await
            .unwrap_or_default();
        if status == 401 {
            return McpError::Unauthorized {
                url: self.url.clone(),
                www_authenticate: www,
            };
        }
        if status == 403
            && let Some(c) = challenge.filter(|c| c.error.as_deref() == Some("insufficient_scope"))
        {
            return McpError::InsufficientScope {
                url: self.url.clone(),
                scope: c.scope,
                www_authenticate: www,
            };
        }
        McpError::Http {
            url: self.url.clone(),
            status,
            body: http::excerpt(&body),
        }
    }
}
