//! [`Request`], the one request shape [`Http::send`](super::Http::send) takes, with its small
//! builder methods (headers, Basic and bearer credentials, form and JSON bodies, redirects,
//! body cap).

use url::Url;

use super::Method;

/// `user:password` for HTTP Basic (RFC 6749 §2.3.1 form-encodes both first).
#[derive(Debug, Clone, Copy)]
pub struct BasicAuth<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

/// How redirects of one request are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Return the 3xx to the caller.
    None,
    /// Follow same-origin redirects (re-validated), refuse cross-origin ones.
    SameOrigin,
}

/// One request, for [`Http::send`](super::Http::send). Built with the small builder methods.
#[derive(Debug)]
pub struct Request {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<(String, Vec<u8>)>,
    pub(super) redirects: Redirects,
    pub(super) max_body: Option<usize>,
    pub(super) discard_body: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            redirects: Redirects::None,
            max_body: None,
            discard_body: false,
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }
    pub fn basic(self, auth: BasicAuth<'_>) -> Self {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!("{}:{}", enc(auth.user), enc(auth.password));
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        self.header("Authorization", &format!("Basic {b64}"))
    }
    pub fn body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.body = Some((content_type.to_owned(), bytes));
        self
    }
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body("application/x-www-form-urlencoded", body.into_bytes())
    }
    pub fn json(self, value: &serde_json::Value) -> Self {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.body("application/json", bytes)
    }
    pub fn redirects(mut self, r: Redirects) -> Self {
        self.redirects = r;
        self
    }
    /// Override the client's body cap for this request.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }
    /// Do not read the body at all (status and headers only): for answers that may be an
    /// endless event stream, e.g. the unauthenticated MCP request of discovery.
    pub fn discard_body(mut self) -> Self {
        self.discard_body = true;
        self
    }
    pub fn url(&self) -> &Url {
        &self.url
    }
}
