//! The one guarded way to the network: size caps, content-type checks, no silent cross-origin
//! redirects, `http://` only for loopback hosts.
//!
//! Every byte that comes back is untrusted. [`Http`] enforces, for every request:
//! - **URL policy** ([`check_url`]): `https://` anywhere, `http://` only for loopback hosts
//!   (`127.0.0.0/8`, `::1`, `localhost`); anything else is refused before connecting.
//! - **Size cap**: a body larger than the request's cap (default [`Limits::max_body`], 1 MiB)
//!   is refused ([`HttpError::TooLarge`]); a declared `Content-Length` over it fails at once.
//! - **Timeouts**: connect and total ([`Limits`]).
//! - **`localhost` names never reach DNS**: `localhost` and `*.localhost` resolve to
//!   127.0.0.1 / ::1 here ([`LoopbackNames`]), so the plain-http allowance for them cannot send
//!   a token off the machine through a resolver that forwards them (RFC 6761 §6.3).
//! - **Redirects are never followed automatically.** [`Http::get_json`] follows *same-origin*
//!   redirects by hand (re-validating each target against the URL policy, at most
//!   [`Limits::max_redirects`]) and refuses a cross-origin one ([`HttpError::CrossOriginRedirect`]).
//!   POSTs never follow redirects: the 3xx comes back to the caller as a response.
//! - **JSON content type**: [`HttpResponse::json`] / [`HttpResponse::json_value`] refuse a body
//!   whose `Content-Type` is not `application/json` or `application/*+json`.
//! - **Trust and proxies** (corporate networks): the system's certificate store plus
//!   `LANYARD_CA_FILE`, `ca.pem` in the config folder and `SSL_CERT_FILE`/`SSL_CERT_DIR`
//!   ([`trust`]); `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, loopback always direct
//!   ([`proxy`]). A refused certificate is named with its issuer and the fix
//!   ([`HttpError::Certificate`]).
//!
//! The API (also used for token, registration and revocation requests):
//! ```ignore
//! let http = Http::new()?;
//! let r = http.get_json(&url).await?;            // GET, Accept: application/json, same-origin redirects
//! if r.is_success() { let v: serde_json::Value = r.json_value()?; }
//! let r = http.post_form(&token_ep, &[("grant_type", "authorization_code"), ...],
//!                        Some(BasicAuth { user: id, password: secret })).await?;
//! let r = http.post_json(&registration_ep, &body, None /* bearer */).await?;
//! let r = http.send(Request::new(Method::DELETE, url).bearer(tok)).await?; // anything else
//! ```
//! Every call returns an [`HttpResponse`] (status, headers, capped body, final URL, elapsed
//! milliseconds) for *any* HTTP status: deciding what a 4xx means is the caller's job. Errors
//! ([`HttpError`]) are transport failures and broken rules, each naming the rule and the URL.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::UserFacing;

mod cert_names;
mod proxy;
mod setting;
mod trust;

pub use trust::CA_FILE_VAR;

pub use reqwest::Method;
pub use reqwest::header::HeaderMap;

/// Limits applied to every request of one [`Http`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body read, in bytes (metadata documents, token responses…).
    pub max_body: usize,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Same-origin redirects followed by [`Http::get_json`].
    pub max_redirects: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

/// Largest body read from an OAuth endpoint (token, registration, revocation) or an MCP server.
pub const MAX_OAUTH_BODY: usize = 4 * 1024 * 1024;

impl Limits {
    /// The limits of token, registration, revocation and MCP requests: a larger body cap
    /// ([`MAX_OAUTH_BODY`]) and a longer total timeout than discovery's.
    pub fn oauth() -> Self {
        Limits {
            max_body: MAX_OAUTH_BODY,
            total_timeout: Duration::from_secs(60),
            ..Limits::default()
        }
    }
}

/// The one reqwest configuration of Lanyard: redirects never followed by reqwest itself
/// (see [`Http::send`]), connect and total timeouts, Lanyard's user agent, the trusted
/// certificates ([`trust`]) and the proxies ([`proxy`]) of the environment.
pub fn build_client(limits: &Limits) -> Result<reqwest::Client, HttpError> {
    let saved_ca = crate::paths::Paths::from_env()
        .ok()
        .map(|p| p.dir().join(trust::SAVED_CA_FILE));
    build_client_with(limits, &setting::env_var, saved_ca.as_deref())
}

/// [`build_client`] with the environment read through `var` and the saved CA bundle at
/// `saved_ca` (trusted when it exists).
fn build_client_with(
    limits: &Limits,
    var: &dyn Fn(&str) -> Option<String>,
    saved_ca: Option<&std::path::Path>,
) -> Result<reqwest::Client, HttpError> {
    install_tls_provider();
    let tls = trust::client_config(var, saved_ca)?;
    let builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
    proxy::apply(builder, var)?
        .dns_resolver(std::sync::Arc::new(LoopbackNames))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::Request {
            url: String::new(),
            detail: e.to_string(),
        })
}

/// reqwest is built with `rustls-no-provider` so that ring is the one crypto provider compiled;
/// reqwest then needs it installed as the process default before a client is built. A second
/// call finds it installed and changes nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The connection pool for token, registration, revocation and MCP requests: [`build_client`]
/// with [`Limits::oauth`]. Callers wrap it in [`Http::over`] (or read streams with
/// [`read_capped`]). There is no fallback: when it cannot be built, the request fails, and no
/// client without these rules is ever used instead.
pub fn oauth_client() -> Result<reqwest::Client, HttpError> {
    build_client(&Limits::oauth())
}

/// A broken rule or a failed transport, always with the URL concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error(
        "refused {url}: plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); anything else must use https://"
    )]
    InsecureUrl { url: String },
    #[error("refused {url}: only https:// (and http:// on loopback) URLs are fetched")]
    UnsupportedScheme { url: String },
    #[error("could not reach {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("could not reach {url}: {refused}")]
    Certificate {
        url: String,
        /// Which certificate, its issuer, why ([`trust::Refused`]).
        refused: String,
        fix: String,
    },
    #[error("Lanyard cannot use the network setting {setting}: {detail}")]
    Setting { setting: String, detail: String },
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("refused the answer of {url}: it is larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: usize },
    #[error(
        "refused the answer of {url}: expected a JSON document (Content-Type application/json), got {content_type:?}"
    )]
    NotJson { url: String, content_type: String },
    #[error("refused the answer of {url}: it is not valid JSON ({detail})")]
    InvalidJson { url: String, detail: String },
    #[error(
        "refused a redirect from {url} to {location}: redirects to another origin are not followed during discovery"
    )]
    CrossOriginRedirect { url: String, location: String },
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: u8 },
    #[error("{url} answered {status} with a missing or unusable Location header")]
    BadRedirect { url: String, status: u16 },
    #[error("could not build the request to {url}: {detail}")]
    Request { url: String, detail: String },
}

impl HttpError {
    /// The URL the error is about.
    pub fn url(&self) -> &str {
        match self {
            HttpError::InsecureUrl { url }
            | HttpError::UnsupportedScheme { url }
            | HttpError::Transport { url, .. }
            | HttpError::Certificate { url, .. }
            | HttpError::Timeout { url, .. }
            | HttpError::TooLarge { url, .. }
            | HttpError::NotJson { url, .. }
            | HttpError::InvalidJson { url, .. }
            | HttpError::CrossOriginRedirect { url, .. }
            | HttpError::TooManyRedirects { url, .. }
            | HttpError::BadRedirect { url, .. }
            | HttpError::Request { url, .. } => url,
            HttpError::Setting { .. } => "",
        }
    }

    /// For a transport failure (network, timeout), what went wrong without the URL: callers
    /// with their own "could not reach" error use it; `None` for a broken rule.
    pub fn network_detail(&self) -> Option<String> {
        match self {
            HttpError::Transport { detail, .. } => Some(detail.clone()),
            // With the fix: callers wrap this in their own "could not reach" error.
            HttpError::Certificate { refused, fix, .. } => Some(format!("{refused}. {fix}")),
            HttpError::Timeout { seconds, .. } => Some(format!("no answer within {seconds} s")),
            _ => None,
        }
    }

    /// True for failures that say nothing about the server's documents (network, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            HttpError::Transport { .. } | HttpError::Certificate { .. } | HttpError::Timeout { .. }
        )
    }
}

impl UserFacing for HttpError {
    fn code(&self) -> &'static str {
        match self {
            HttpError::InsecureUrl { .. } => "http.insecure-url",
            HttpError::UnsupportedScheme { .. } => "http.unsupported-scheme",
            HttpError::Transport { .. } => "http.transport",
            HttpError::Certificate { .. } => "http.certificate",
            HttpError::Setting { .. } => "http.setting",
            HttpError::Timeout { .. } => "http.timeout",
            HttpError::TooLarge { .. } => "http.too-large",
            HttpError::NotJson { .. } => "http.not-json",
            HttpError::InvalidJson { .. } => "http.invalid-json",
            HttpError::CrossOriginRedirect { .. } => "http.cross-origin-redirect",
            HttpError::TooManyRedirects { .. } => "http.too-many-redirects",
            HttpError::BadRedirect { .. } => "http.bad-redirect",
            HttpError::Request { .. } => "http.request",
        }
    }
    fn next_step(&self) -> String {
        match self {
            HttpError::InsecureUrl { .. } | HttpError::UnsupportedScheme { .. } => {
                "The server's admin must publish https:// URLs; Lanyard never sends credentials over plain http to another machine.".into()
            }
            HttpError::Transport { .. } | HttpError::Timeout { .. } => {
                "Check the URL, your network and proxy, and that the server is up; then try again.".into()
            }
            HttpError::Certificate { fix, .. } => format!("{fix}."),
            HttpError::Setting { setting, .. } => format!(
                "Fix or unset {}, then try again (README: Corporate networks).",
                setting.split('=').next().unwrap_or(setting)
            ),
            HttpError::TooLarge { .. }
            | HttpError::NotJson { .. }
            | HttpError::InvalidJson { .. } => {
                "The server's admin must serve this document as JSON (application/json) of a sensible size; run `lanyard probe URL` and show them the output.".into()
            }
            HttpError::CrossOriginRedirect { .. }
            | HttpError::TooManyRedirects { .. }
            | HttpError::BadRedirect { .. } => {
                "The server's admin must serve the metadata at its well-known URL without redirecting elsewhere; run `lanyard probe URL` and show them the output.".into()
            }
            HttpError::Request { .. } => "This is a bug in Lanyard; please report it.".into(),
        }
    }
}

impl From<setting::SettingError> for HttpError {
    fn from(e: setting::SettingError) -> Self {
        HttpError::Setting {
            setting: e.setting,
            detail: e.detail,
        }
    }
}

/// `localhost` or a name under it (trailing dot and case ignored).
fn is_localhost_name(d: &str) -> bool {
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// The resolver of every client [`build_client`] makes: `localhost` names are answered with
/// the loopback addresses without asking anyone; every other name goes to the system resolver.
pub struct LoopbackNames;

impl reqwest::dns::Resolve for LoopbackNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = if is_localhost_name(&host) {
                vec![
                    (std::net::Ipv4Addr::LOCALHOST, 0).into(),
                    (std::net::Ipv6Addr::LOCALHOST, 0).into(),
                ]
            } else {
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect()
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// True for hosts that never leave this machine: `127.0.0.0/8`, `::1`, `localhost`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => is_localhost_name(d),
    }
}

/// True when the URL's host is a loopback host (see [`is_loopback_host`]).
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback_host(&h))
}

/// The URL policy: `https://` with a host, or `http://` to a loopback host.
pub fn check_url(url: &Url) -> Result<(), HttpError> {
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(HttpError::InsecureUrl {
            url: url.to_string(),
        }),
        _ => Err(HttpError::UnsupportedScheme {
            url: url.to_string(),
        }),
    }
}

/// Same scheme, host and port (after the `url` crate's normalisation: lower-case host,
/// default port elided).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

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

/// One request, for [`Http::send`]. Built with the small builder methods.
#[derive(Debug)]
pub struct Request {
    method: Method,
    url: Url,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
    redirects: Redirects,
    max_body: Option<usize>,
    discard_body: bool,
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

/// An answer of any status, body already read (and capped).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The URL that answered (after same-origin redirects).
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Time from the first byte sent to the last byte read, over all redirect hops.
    pub millis: u64,
    /// The URLs redirected through, in order (empty when none).
    pub redirected_from: Vec<Url>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The first value of a header, when it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every value of a header (e.g. several `WWW-Authenticate` lines), text ones only.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
    /// Every value of a header, non-ASCII bytes (obs-text) decoded lossily instead of
    /// dropping the whole value (a realm with an umlaut must not hide a challenge).
    pub fn header_all_lossy(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
    /// The media type without parameters, lower-cased (`""` when absent).
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
    /// `application/json` or `application/<x>+json`.
    pub fn is_json(&self) -> bool {
        is_json_media_type(&self.media_type())
    }
    /// The body as JSON, after the content-type check.
    pub fn json_value(&self) -> Result<serde_json::Value, HttpError> {
        self.json()
    }
    /// The body parsed into `T`, after the content-type check.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        if !self.is_json() {
            return Err(HttpError::NotJson {
                url: self.url.to_string(),
                content_type: self.header("content-type").unwrap_or("none").to_owned(),
            });
        }
        serde_json::from_slice(&self.body).map_err(|e| HttpError::InvalidJson {
            url: self.url.to_string(),
            detail: e.to_string(),
        })
    }
    /// A short, printable excerpt of the body for messages.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// `application/json` or `application/<x>+json` (parameters already stripped, lower-case).
pub fn is_json_media_type(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

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
    /// [`oauth_client`] hands to the token, registration and cleanup code), with
    /// [`Limits::oauth`]. A client that follows redirects by itself is caught: an answer from
    /// another URL than the one asked is refused ([`HttpError::BadRedirect`]).
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

/// A reqwest error as one sentence, its whole source chain included (for callers that speak
/// to reqwest directly, e.g. the MCP event stream).
pub fn describe_transport(e: &reqwest::Error) -> String {
    if let Some(refused) = trust::refusal(e) {
        format!("{refused}. {}", refused.fix())
    } else if let Some(tls) = trust::tls_error(e) {
        format!("the TLS handshake failed ({tls})")
    } else if e.is_timeout() {
        "the request timed out".to_owned()
    } else if e.is_connect() {
        let mut cause = None;
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            cause = Some(inner.to_string());
            src = inner.source();
        }
        let cause = cause.map(|c| format!(": {c}")).unwrap_or_default();
        let through = e
            .url()
            .filter(|u| !is_loopback(u))
            .and_then(|u| proxy::configured(u.scheme(), &setting::env_var))
            .map(|p| format!("; {p} is set, so the request went through that proxy unless NO_PROXY names the host"))
            .unwrap_or_default();
        format!("the connection failed{cause} (server down, wrong port or unreachable{through})")
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    }
}

/// A short, printable excerpt of a body for messages (control characters dropped, 200
/// characters at most).
pub fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.trim().to_owned()
}

/// An OAuth error body (`error`, `error_description`; RFC 6749 §5.2), when the bytes are one.
/// Read whatever the content type: it only classifies a refusal.
pub fn oauth_error(body: &[u8]) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = v.get("error")?.as_str()?.to_owned();
    let desc = v
        .get("error_description")
        .and_then(|d| d.as_str())
        .map(str::to_owned);
    Some((error, desc))
}

/// Read a response body, refusing more than `cap` bytes (by `Content-Length` at once, else by
/// counting). For callers that speak to reqwest directly; [`Http::send`] does it for its own.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
    url: &Url,
) -> Result<Vec<u8>, HttpError> {
    let too_large = || HttpError::TooLarge {
        url: url.to_string(),
        limit: cap,
    };
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| HttpError::Transport {
        url: url.to_string(),
        detail: describe_transport(&e),
    })? {
        if out.len() + chunk.len() > cap {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `IpAddr` loopback check, for callers holding a socket address.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn url_policy() {
        for ok in [
            "https://idp.example.com/x",
            "http://127.0.0.1:8080/",
            "http://127.9.9.9/",
            "http://[::1]:3000/mcp",
            "http://localhost:1/",
            "http://LOCALHOST./",
            "http://a.localhost/",
        ] {
            assert!(check_url(&u(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "http://128.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(check_url(&u(bad)), Err(HttpError::InsecureUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_url(&u("ftp://x/")),
            Err(HttpError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            check_url(&u("file:///etc/passwd")),
            Err(HttpError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &u("https://A.com/x"),
            &u("https://a.com:443/y")
        ));
        assert!(!same_origin(&u("https://a.com/x"), &u("http://a.com/x")));
        assert!(!same_origin(&u("https://a.com/x"), &u("https://b.a.com/x")));
        assert!(!same_origin(
            &u("https://a.com/x"),
            &u("https://a.com:8443/x")
        ));
    }

    /// A canned HTTP/1.1 server on loopback: `answer(path)` gives the whole response.
    async fn canned(answer: fn(&str, u16) -> Vec<u8>) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let _ = s.write_all(&answer(&path, port)).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        port
    }

    fn resp(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn routes(path: &str, port: u16) -> Vec<u8> {
        let json = "Content-Type: application/json\r\n";
        match path {
            "/doc" => resp("200 OK", json, br#"{"a":1}"#),
            "/html" => resp("200 OK", "Content-Type: text/html\r\n", b"<p>hi</p>"),
            "/same" => resp("302 Found", "Location: /doc\r\n", b""),
            "/cross" => resp(
                "302 Found",
                &format!("Location: http://localhost:{port}/doc\r\n"),
                b"",
            ),
            "/insecure" => resp("302 Found", "Location: http://example.com/doc\r\n", b""),
            "/loop" => resp("302 Found", "Location: /loop\r\n", b""),
            "/big" => resp("200 OK", json, &vec![b' '; 4096]),
            "/chunked" => {
                let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
                for _ in 0..8 {
                    r.extend_from_slice(b"400\r\n");
                    r.extend_from_slice(&[b' '; 1024]);
                    r.extend_from_slice(b"\r\n");
                }
                r.extend_from_slice(b"0\r\n\r\n");
                r
            }
            _ => resp("404 Not Found", json, b"{}"),
        }
    }

    /// `*.localhost` is trusted for plain http by name, so it must reach loopback without DNS
    /// (a resolver could send it anywhere): a made-up name under localhost reaches the local
    /// server, whatever the system resolver knows.
    #[tokio::test]
    async fn localhost_names_resolve_to_loopback_without_dns() {
        let port = canned(routes).await;
        let http = Http::new().unwrap();
        for host in ["lanyard-test-4f2c.localhost", "a.b.LOCALHOST.", "localhost"] {
            let r = http
                .get_json(&u(&format!("http://{host}:{port}/doc")))
                .await
                .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(r.json_value().unwrap()["a"], 1, "{host}");
        }
    }

    #[tokio::test]
    async fn guarded_requests_on_loopback() {
        let port = canned(routes).await;
        let at = |p: &str| u(&format!("http://127.0.0.1:{port}{p}"));
        let http = Http::with_limits(Limits {
            max_body: 2048,
            ..Limits::default()
        })
        .unwrap();

        let r = http.get_json(&at("/doc")).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json_value().unwrap()["a"], 1);

        // Same-origin redirect: followed, re-validated, recorded.
        let r = http.get_json(&at("/same")).await.unwrap();
        assert_eq!((r.status, r.url.path()), (200, "/doc"));
        assert_eq!(r.redirected_from, vec![at("/same")]);
        // POSTs never follow.
        let r = http
            .post_form(&at("/same"), &[("a", "b")], None)
            .await
            .unwrap();
        assert_eq!(r.status, 302);

        assert!(matches!(
            http.get_json(&at("/cross")).await,
            Err(HttpError::CrossOriginRedirect { .. })
        ));
        assert!(matches!(
            http.get_json(&at("/insecure")).await,
            Err(HttpError::CrossOriginRedirect { .. })
        ));
        assert!(matches!(
            http.get_json(&at("/loop")).await,
            Err(HttpError::TooManyRedirects { .. })
        ));
        // Size cap, by Content-Length and by counting a chunked stream.
        assert!(matches!(
            http.get_json(&at("/big")).await,
            Err(HttpError::TooLarge { limit: 2048, .. })
        ));
        assert!(matches!(
            http.get_json(&at("/chunked")).await,
            Err(HttpError::TooLarge { .. })
        ));
        // Content type.
        let r = http.get_json(&at("/html")).await.unwrap();
        assert!(matches!(r.json_value(), Err(HttpError::NotJson { .. })));
        // Status comes back as is; the body of a discarded request is not read.
        assert_eq!(http.get_json(&at("/nothing")).await.unwrap().status, 404);
        let r = http
            .send(Request::new(Method::GET, at("/big")).discard_body())
            .await
            .unwrap();
        assert!(r.body.is_empty());
        // The URL policy is applied before connecting.
        assert!(matches!(
            http.get_json(&u("http://example.com/x")).await,
            Err(HttpError::InsecureUrl { .. })
        ));
    }

    /// A proxy that records the first line of every connection and answers 502.
    async fn recording_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut s = tokio::io::BufReader::new(s);
                    let mut line = String::new();
                    let _ = s.read_line(&mut line).await;
                    record.lock().unwrap().push(line.trim().to_owned());
                    let _ = s
                        .get_mut()
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                        .await;
                });
            }
        });
        (url, seen)
    }

    fn vars(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    /// Plain http is allowed to loopback hosts because it never leaves the machine; a proxy
    /// would take it off the machine, so loopback is never proxied, whatever the variables say.
    #[tokio::test]
    async fn loopback_hosts_are_reached_directly_whatever_the_proxy_variables_say() {
        let port = canned(routes).await;
        let (proxy, seen) = recording_proxy().await;
        let env = vars(
            ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"]
                .into_iter()
                .map(|k| (k, proxy.clone()))
                .collect(),
        );
        let http = Http::over(build_client_with(&Limits::default(), &env, None).unwrap());
        for host in [
            "127.0.0.1",
            "127.0.0.1.",
            "localhost",
            "LOCALHOST.",
            "a.b.localhost",
        ] {
            let r = http
                .get_json(&u(&format!("http://{host}:{port}/doc")))
                .await
                .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(r.json_value().unwrap()["a"], 1, "{host}");
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "{:?}",
            seen.lock().unwrap()
        );
    }

    #[tokio::test]
    async fn other_hosts_are_tunnelled_through_https_proxy() {
        let (proxy, seen) = recording_proxy().await;
        let env = vars(vec![("https_proxy", proxy)]);
        let http = Http::over(build_client_with(&Limits::default(), &env, None).unwrap());
        let e = http
            .get_json(&u("https://lanyard-test.invalid:8443/x"))
            .await
            .unwrap_err();
        assert!(e.is_transport(), "{e}");
        assert_eq!(
            seen.lock().unwrap().first().map(String::as_str),
            Some("CONNECT lanyard-test.invalid:8443 HTTP/1.1")
        );
    }

    #[test]
    fn an_unusable_ca_file_or_proxy_fails_the_client_naming_the_setting() {
        for (var, value, named) in [
            (
                "LANYARD_CA_FILE",
                "/nonexistent/ca.pem",
                "LANYARD_CA_FILE=/nonexistent/ca.pem",
            ),
            ("ALL_PROXY", "socks5://p:1080", "ALL_PROXY=socks5://p:1080"),
        ] {
            let env = vars(vec![(var, value.to_owned())]);
            match build_client_with(&Limits::default(), &env, None) {
                Err(e @ HttpError::Setting { .. }) => {
                    assert!(e.to_string().contains(named), "{e}");
                    assert_eq!(e.code(), "http.setting");
                    assert!(e.next_step().contains(var), "{}", e.next_step());
                }
                other => panic!("{var}: {:?}", other.map(|_| "a client")),
            }
        }
    }

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/jwk-set+json"));
        assert!(!is_json_media_type("text/html"));
        assert!(!is_json_media_type("text/json"));
        assert!(!is_json_media_type(""));
    }
}
