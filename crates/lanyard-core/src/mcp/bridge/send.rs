//! One request to the server: the protocol headers, the token (refreshed once on 401), and a
//! scope step-up on 403 `insufficient_scope`.

use std::time::Duration;

use serde_json::Value;

use super::state::Bridge;
use crate::mcp::protocol::{self, Request};

/// A request to the server may take as long as its tool runs: the client's total timeout is
/// replaced by this ceiling (the stream is cut only by [`IDLE`](super::body::IDLE) or a
/// broken connection).
const REQUEST_CEILING: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) enum Sent {
    Ok(reqwest::Response),
    /// The server refused the token twice.
    Unauthorized(String),
    /// The session is gone (404 with a session id).
    SessionGone,
    Failed(String),
}

impl Bridge {
    pub(super) async fn header(
        &self,
        rejected: Option<&str>,
    ) -> Result<(String, String), crate::Error> {
        let h = self.creds.header(rejected).await?;
        *self.current.borrow_mut() = Some(h.clone());
        Ok(h)
    }

    pub(super) fn request(
        &self,
        method: reqwest::Method,
        header: &(String, String),
        msg: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let session = self.session.borrow();
        // No total timeout (tool calls may run for minutes, event streams for hours): the
        // client's connect timeout stays, silence is cut by `IDLE` while reading.
        let mut req = self
            .http
            .request(method.clone(), self.url.clone())
            .timeout(REQUEST_CEILING);
        if !header.0.is_empty() {
            req = req.header(header.0.as_str(), header.1.as_str());
        }
        if let Some(proof) = self.dpop_proof(&method, header) {
            req = req.header("DPoP", proof);
        }
        let version = session
            .version
            .clone()
            .or_else(|| msg.and_then(protocol::version_in_meta).map(str::to_owned));
        let kind = match msg {
            Some(m) => Request::Post(m),
            None if method == reqwest::Method::DELETE => Request::Delete,
            None => Request::Get,
        };
        let headers = protocol::headers(
            kind,
            version.as_deref(),
            session.id.as_deref(),
            &self.tools.borrow(),
        );
        req = protocol::apply(req, headers);
        if let Some(m) = msg {
            req = req.json(m);
        }
        req
    }

    /// The `DPoP` header for a request presenting `header`'s token, when it is DPoP-bound. A
    /// proof that cannot be signed is left out (the server's refusal then says so).
    fn dpop_proof(&self, method: &reqwest::Method, header: &(String, String)) -> Option<String> {
        let dpop = self.dpop.as_ref()?;
        let token = crate::tokens::dpop::bound_token(&header.1)?;
        dpop.proof(method.as_str(), &self.url, Some(token))
            .inspect_err(|e| tracing::warn!("bridge: {e}"))
            .ok()
    }

    /// Sends with the current token; on 401 refreshes once and retries.
    pub(super) async fn send(&self, method: reqwest::Method, msg: Option<&Value>) -> Sent {
        let cached = self.current.borrow().clone();
        let mut header = match cached {
            Some(h) => h,
            None => match self.header(None).await {
                Ok(h) => h,
                Err(e) => return Sent::Unauthorized(e.paragraph()),
            },
        };
        if self.dpop.is_none() && crate::tokens::dpop::bound_token(&header.1).is_some() {
            let e = crate::tokens::dpop::DpopError::NoKey {
                url: self.url.to_string(),
            };
            return Sent::Unauthorized(crate::Error::from(e).paragraph());
        }
        let (mut refreshed, mut stepped_up, mut nonce_retried) = (false, false, false);
        loop {
            let had_session = self.session.borrow().id.is_some();
            let resp = match self.request(method.clone(), &header, msg).send().await {
                Ok(r) => r,
                Err(e) => return Sent::Failed(format!("could not reach {}: {e}", self.url)),
            };
            // A new DPoP nonce asked for: the request is sent again with it (not a refresh).
            if protocol::dpop_nonce_retry(self.dpop.as_ref(), &self.url, &resp) && !nonce_retried {
                nonce_retried = true;
                continue;
            }
            match resp.status().as_u16() {
                401 if !refreshed => {
                    refreshed = true;
                    header = match self.header(Some(&header.1)).await {
                        Ok(h) => h,
                        Err(e) => return Sent::Unauthorized(e.paragraph()),
                    };
                }
                401 => {
                    return Sent::Unauthorized(format!(
                        "{} refused the token even after a refresh",
                        self.url
                    ));
                }
                // Scope step-up: once per message; a server still not satisfied gets its 403.
                403 if !stepped_up && let Some(scope) = insufficient_scope(&resp) => {
                    stepped_up = true;
                    header = match self.creds.step_up(&header.1, scope.as_deref()).await {
                        Ok(h) => {
                            *self.current.borrow_mut() = Some(h.clone());
                            h
                        }
                        Err(e) => return Sent::Unauthorized(e.paragraph()),
                    };
                }
                404 if had_session => return Sent::SessionGone,
                _ => return Sent::Ok(resp),
            }
        }
    }
}

/// A 403 whose `WWW-Authenticate` says `insufficient_scope`: the scope it asks for, if any.
fn insufficient_scope(resp: &reqwest::Response) -> Option<Option<String>> {
    let values = crate::mcp::protocol::www_authenticate(resp.headers());
    let c = crate::discovery::BearerChallenge::from_headers(&values)?;
    (c.error.as_deref() == Some("insufficient_scope")).then_some(c.scope)
}
