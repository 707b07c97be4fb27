//! [`Http`], the guarded client: every request under the URL policy, the body cap, the
//! redirect rules, with its failures described.

use std::time::Instant;

use url::Url;

use super::Method;
use super::build::{Limits, build_client};
use super::error::HttpError;
use super::request::{BasicAuth, Redirects, Request};
use super::response::HttpResponse;
use super::transport::{describe_transport, read_capped};
use super::trust;
use super::url_policy::{check_url, same_origin};

/// The guarded client. Cheap to clone (shares the connection pool).
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    limits: Limits,
}

impl Http {
    /// A client with [`Limits::default`].
    pub fn new() -> Result<Self, HttpError> {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Result<Self, HttpError> {
        let client = build_client(&limits)?;
        Ok(Http { client, limits })
    }

    /// The guarded client over a connection pool built by [`build_client`] (e.g. the one
    /// [`oauth_client`](super::oauth_client) hands to the token, registration and cleanup
    /// code), with [`Limits::oauth`]. A client that follows redirects by itself is caught: an
    /// answer from another URL than the one asked is refused ([`HttpError::BadRedirect`]).
    pub fn over(client: reqwest::Client) -> Self {
        Http {
            client,
            limits: Limits::oauth(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// GET with `Accept: application/json`, following same-origin redirects. The answer
    /// comes back for any status; call [`HttpResponse::json`] to check and parse it.
    pub async fn get_json(&self, url: &Url) -> Result<HttpResponse, HttpError> {
        self.send(
            Request::new(Method::GET, url.clone())
                .header("Accept", "application/json")
                .redirects(Redirects::SameOrigin),
        )
        .await
    }

    /// POST `application/x-www-form-urlencoded` (token, revocation requests), optionally with
    /// HTTP Basic client authentication. Redirects are not followed.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<BasicAuth<'_>>,
    ) -> Result<HttpResponse, HttpError> {
        let mut req = Request::new(Method::POST, url.clone())
            .header("Accept", "application/json")
            .form(form);
        if let Some(b) = basic {
            req = req.basic(b);
        }
        self.send(req).await
    }

    /// POST a JSON body (registration requests), optionally with a bearer token.
    /// Redirects are not followed.
    pub async fn post_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
        bearer: Option<&str>,
    ) -> Result<HttpResponse, HttpError> {
        let mut req = Request::new(Method::POST, url.clone())
            .header("Accept", "application/json")
            .json(body);
        if let Some(t) = bearer {
            req = req.bearer(t);
        }
        self.send(req).await
    }

    /// Any request, under every rule of this module.
    pub async fn send(&self, req: Request) -> Result<HttpResponse, HttpError> {
        let started = Instant::now();
        let cap = req.max_body.unwrap_or(self.limits.max_body);
        let mut url = req.url.clone();
        let mut redirected_from = Vec::new();
        loop {
            check_url(&url)?;
            let mut rb = self.client.request(req.method.clone(), url.clone());
            for (k, v) in &req.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if let Some((ct, bytes)) = &req.body {
                rb = rb.header("Content-Type", ct.as_str()).body(bytes.clone());
            }
            let resp = rb.send().await.map_err(|e| self.describe(&url, &e))?;
            let status = resp.status().as_u16();
            if resp.url() != &url {
                // Only a client built outside `build_client` follows redirects by itself.
                return Err(HttpError::BadRedirect {
                    url: url.to_string(),
                    status,
                });
            }
            if req.redirects == Redirects::SameOrigin
                && matches!(status, 301 | 302 | 303 | 307 | 308)
            {
                let next = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .ok_or_else(|| HttpError::BadRedirect {
                        url: url.to_string(),
                        status,
                    })?;
                if !same_origin(&url, &next) {
                    return Err(HttpError::CrossOriginRedirect {
                        url: url.to_string(),
                        location: next.to_string(),
                    });
                }
                if redirected_from.len() >= usize::from(self.limits.max_redirects) {
                    return Err(HttpError::TooManyRedirects {
                        url: req.url.to_string(),
                        max: self.limits.max_redirects,
                    });
                }
                redirected_from.push(std::mem::replace(&mut url, next));
                continue;
            }
            let headers = resp.headers().clone();
            let body = if req.discard_body {
                Vec::new()
            } else {
                read_capped(resp, cap, &url).await?
            };
            return Ok(HttpResponse {
                url,
                status,
                headers,
                body,
                millis: started.elapsed().as_millis() as u64,
                redirected_from,
            });
        }
    }

    fn describe(&self, url: &Url, e: &reqwest::Error) -> HttpError {
        if let Some(refused) = trust::refusal(e) {
            return HttpError::Certificate {
                url: url.to_string(),
                refused: refused.to_string(),
                fix: refused.fix(),
            };
        }
        if e.is_timeout() {
            return HttpError::Timeout {
                url: url.to_string(),
                seconds: self.limits.total_timeout.as_secs(),
            };
        }
        HttpError::Transport {
            url: url.to_string(),
            detail: describe_transport(e),
        }
    }
}
