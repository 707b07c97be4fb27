//! The DPoP proof JWT (RFC 9449 §4.2): header `typ` `dpop+jwt`, `alg` ES256 and the public
//! `jwk`; claims `jti`, `htm`, `htu`, `iat`, and `ath` (base64url SHA-256 of the access token)
//! when one is presented, `nonce` when the server gave one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::error::DpopError;
use super::key::DpopKey;

/// The one signing algorithm Lanyard proves with.
pub const ALG: &str = "ES256";

/// `htu`: the request URI without query and fragment (RFC 9449 §4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

pub(super) fn sign(
    key: &DpopKey,
    method: &str,
    url: &Url,
    access_token: Option<&str>,
    nonce: Option<&str>,
) -> Result<String, DpopError> {
    let header = json!({"typ": "dpop+jwt", "alg": ALG, "jwk": key.public_jwk()});
    let mut claims = json!({
        "jti": key.random_id()?,
        "htm": method.to_ascii_uppercase(),
        "htu": htu(url),
        "iat": crate::tokens::set::now(),
    });
    if let Some(t) = access_token {
        claims["ath"] = json!(ath(t));
    }
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}
