//! Server-provided nonces (RFC 9449 §8, §9): the last `DPoP-Nonce` of each origin (the
//! authorization server and the MCP server each give their own), and how their refusals look.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use crate::discovery::challenge::parse_challenges;

/// The last nonce each origin gave.
#[derive(Debug, Default)]
pub struct Nonces(Mutex<HashMap<String, String>>);

impl Nonces {
    pub fn get(&self, url: &Url) -> Option<String> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&origin(url)).cloned())
    }

    /// Store `nonce` for `url`'s origin; true when it differs from the one held.
    pub fn put(&self, url: &Url, nonce: &str) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return false;
        };
        m.insert(origin(url), nonce.to_owned()).as_deref() != Some(nonce)
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The token endpoint's refusal that asks for a nonce: 400 `{"error":"use_dpop_nonce"}`.
pub fn token_endpoint_asks_for_nonce(status: u16, body: &[u8]) -> bool {
    status == 400 && crate::http::oauth_error(body).is_some_and(|(e, _)| e == "use_dpop_nonce")
}

/// The MCP server's refusal that asks for a nonce: 401 with a `DPoP` challenge whose error
/// is `use_dpop_nonce`.
pub fn resource_asks_for_nonce<S: AsRef<str>>(status: u16, www_authenticate: &[S]) -> bool {
    status == 401
        && www_authenticate
            .iter()
            .flat_map(|v| parse_challenges(v.as_ref()))
            .any(|c| {
                c.scheme.eq_ignore_ascii_case("dpop") && c.param("error") == Some("use_dpop_nonce")
            })
}
