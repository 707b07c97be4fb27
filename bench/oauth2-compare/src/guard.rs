//! ADAPTER (counted): the oauth2 crate's `AsyncHttpClient` over Lanyard's one HTTP guard
//! (`lanyard_core::http::Http`: URL policy, size cap, timeouts, no redirects followed, localhost
//! names never through DNS). Every request the crate makes goes through `Http::send`.
//!
//! The crate's errors drop the HTTP status of a non-JSON or empty error body, and Lanyard needs
//! it (a bare 401 is a refused client authentication, a 5xx is not), so the guard keeps the
//! status of the last answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use lanyard_core::http::{Http, HttpError, Method, Request};
use url::Url;

pub struct Guard {
    http: Http,
    last_status: Mutex<Option<u16>>,
    loopback_https_as_http: bool,
}

impl Guard {
    pub fn new(http: Http) -> Guard {
        Guard {
            http,
            last_status: Mutex::new(None),
            loopback_https_as_http: false,
        }
    }

    /// Test-only shim: the crate refuses a revocation URL that is not https (no loopback
    /// exception), and the test world serves plain http on loopback. Given an `https://` URL
    /// of a loopback host, this guard sends it as `http://`.
    pub fn with_loopback_https_as_http(mut self) -> Guard {
        self.loopback_https_as_http = true;
        self
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The status of the last answer (`None` when the request failed before one came).
    pub fn last_status(&self) -> Option<u16> {
        self.last_status.lock().map(|s| *s).unwrap_or(None)
    }

    async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        if let Ok(mut s) = self.last_status.lock() {
            *s = None;
        }
        let mut url = Url::parse(&req.uri().to_string()).map_err(|e| HttpError::Request {
            url: req.uri().to_string(),
            detail: e.to_string(),
        })?;
        if self.loopback_https_as_http
            && url.scheme() == "https"
            && lanyard_core::http::is_loopback(&url)
        {
            let _ = url.set_scheme("http");
        }
        let method = Method::from_bytes(req.method().as_str().as_bytes()).map_err(|e| {
            HttpError::Request {
                url: url.to_string(),
                detail: e.to_string(),
            }
        })?;
        let mut out = Request::new(method, url.clone());
        let mut content_type = None;
        for (name, value) in req.headers() {
            let value = value.to_str().map_err(|e| HttpError::Request {
                url: url.to_string(),
                detail: e.to_string(),
            })?;
            if name == oauth2::http::header::CONTENT_TYPE {
                content_type = Some(value.to_owned());
            } else {
                out = out.header(name.as_str(), value);
            }
        }
        if let Some(ct) = content_type {
            out = out.body(&ct, req.into_body());
        }
        let resp = self.http.send(out).await?;
        if let Ok(mut s) = self.last_status.lock() {
            *s = Some(resp.status);
        }
        let mut builder = oauth2::http::Response::builder().status(resp.status);
        for (name, value) in &resp.headers {
            builder = builder.header(name, value);
        }
        builder.body(resp.body).map_err(|e| HttpError::Request {
            url: url.to_string(),
            detail: e.to_string(),
        })
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for Guard {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
