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

mod build;
mod cert_names;
mod client;
mod error;
mod proxy;
mod request;
mod response;
mod setting;
mod transport;
mod trust;
mod url_policy;

pub use build::{Limits, MAX_OAUTH_BODY, build_client, install_tls_provider, oauth_client};
pub use client::Http;
pub use error::HttpError;
pub use request::{BasicAuth, Redirects, Request};
pub use response::{HttpResponse, excerpt, is_json_media_type, oauth_error};
pub use transport::{describe_transport, read_capped};
pub use trust::CA_FILE_VAR;
pub use url_policy::{
    LoopbackNames, check_url, is_loopback, is_loopback_host, is_loopback_ip, same_origin,
};

pub use reqwest::Method;
pub use reqwest::header::HeaderMap;

#[cfg(test)]
mod tests;
