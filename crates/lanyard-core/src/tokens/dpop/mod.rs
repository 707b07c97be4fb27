//! DPoP (RFC 9449; MCP extension SEP-1932): a server's tokens bound to a key pair on this
//! machine, so an access or refresh token copied out of a log or an assistant's config is
//! useless elsewhere.
//!
//! - [`key`]: one ES256 key pair per server, kept in the keychain next to its tokens (and
//!   deleted with them), created at sign-in when the MCP server takes DPoP and its
//!   authorization server takes `ES256` proofs ([`stance`]).
//! - [`proof`]: the `DPoP` header of one request (`htm`, `htu` without query or fragment,
//!   `iat`, a fresh `jti`, `ath` when a token is presented, the server's nonce when it gave one).
//! - [`nonce`]: the nonces servers hand out (`DPoP-Nonce`) and their `use_dpop_nonce` refusals
//!   (400 from the token endpoint, 401 `WWW-Authenticate: DPoP` from the MCP server): one retry.
//!
//! The token endpoint's requests carry a proof when [`TokenParams::dpop`](super::TokenParams)
//! is set (`endpoint::post_form_with`, every grant).
//!
//! Whether a server uses DPoP is whether a key is stored for it: tokens obtained with a proof
//! are refreshed and presented with the same key (`Authorization: DPoP …` + proof).

pub mod error;
pub mod key;
pub mod nonce;
pub mod proof;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use url::Url;

pub use error::DpopError;
pub use key::DpopKey;
pub use nonce::{Nonces, resource_asks_for_nonce, token_endpoint_asks_for_nonce};
pub use proof::ALG;

use super::store::{self, SecretStore};

/// A server's key and the nonces its servers gave: what every request of that server needs to
/// carry a proof. Cheap to clone (shared).
#[derive(Clone)]
pub struct Dpop {
    key: Arc<DpopKey>,
    nonces: Arc<Nonces>,
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpop")
            .field("jkt", &self.key.thumbprint())
            .finish_non_exhaustive()
    }
}

impl Dpop {
    pub fn new(key: DpopKey) -> Dpop {
        Dpop {
            key: Arc::new(key),
            nonces: Arc::new(Nonces::default()),
        }
    }

    pub fn key(&self) -> &DpopKey {
        &self.key
    }

    /// The `DPoP` header value for one request: `method` to `url`, presenting `access_token`
    /// when given (its hash goes in `ath`), with the nonce `url`'s server gave last.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<String, DpopError> {
        let nonce = self.nonces.get(url);
        proof::sign(&self.key, method, url, access_token, nonce.as_deref())
    }

    /// Remember the `DPoP-Nonce` a server at `url` answered with (any answer may carry a new
    /// one, RFC 9449 §8.2). True when it is new (a retry with it can succeed).
    pub fn learn_nonce(&self, url: &Url, header: Option<&str>) -> bool {
        match header.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => self.nonces.put(url, n),
            None => false,
        }
    }
}

/// What a server says of DPoP, from its discovery: the MCP server (Protected Resource
/// Metadata, RFC 9728 §2; a `DPoP` challenge, RFC 9449 §7.1) and its authorization server
/// (`dpop_signing_alg_values_supported`, RFC 9449 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stance {
    /// The MCP server gives no sign of taking DPoP: Bearer (an AS that merely offers DPoP,
    /// as oidc-provider and Keycloak do by default, is not enough: a Bearer-only resource
    /// would refuse the `DPoP` scheme).
    Bearer,
    /// Both take it: tokens are requested with a proof and bound to this machine's key.
    Dpop,
}

/// Whether a sign-in uses DPoP: when the MCP server takes DPoP-bound tokens (requires them,
/// lists proof algorithms in its metadata, or challenges with the `DPoP` scheme) and the
/// authorization server takes `ES256` proofs (or lists no algorithms: the metadata field is
/// optional). A server that requires DPoP behind an AS listing only other algorithms is
/// refused: its tokens could not be used.
pub fn stance(disc: &crate::discovery::Discovery) -> Result<Stance, DpopError> {
    let prm = &disc.resource;
    let required = prm.dpop_bound_access_tokens_required;
    let resource_takes = required
        || !prm.dpop_signing_alg_values_supported.is_empty()
        || disc.challenge.as_ref().is_some_and(|c| c.dpop);
    let resource_es256 = prm.dpop_signing_alg_values_supported.is_empty()
        || prm
            .dpop_signing_alg_values_supported
            .iter()
            .any(|a| a == ALG);
    let listed = &disc.auth_server.dpop_signing_alg_values_supported;
    let as_es256 = listed.is_empty() || listed.iter().any(|a| a == ALG);
    if !resource_takes {
        return Ok(Stance::Bearer);
    }
    if as_es256 && resource_es256 {
        return Ok(Stance::Dpop);
    }
    if required {
        return Err(DpopError::Unsupported {
            issuer: disc.auth_server.issuer_str().to_owned(),
            listed: listed.join(", "),
        });
    }
    Ok(Stance::Bearer)
}

/// The server's stored key, when it uses DPoP.
pub fn for_server(secrets: &dyn SecretStore, server: &str) -> Result<Option<Dpop>, DpopError> {
    Ok(DpopKey::load(secrets, server)?.map(Dpop::new))
}

/// The key for a sign-in to `server` when it uses DPoP ([`stance`]): its stored one, else a
/// new one (saved by the caller with the tokens, [`DpopKey::save`]).
pub fn for_sign_in(
    secrets: &dyn SecretStore,
    server: &str,
    disc: &crate::discovery::Discovery,
) -> Result<Option<Dpop>, DpopError> {
    if stance(disc)? == Stance::Bearer {
        return Ok(None);
    }
    if let Some(key) = DpopKey::load(secrets, server)? {
        return Ok(Some(Dpop::new(key)));
    }
    Ok(Some(Dpop::new(DpopKey::generate()?)))
}

/// Forget a server's key (sign-out, removal, a failed first sign-in).
pub fn forget(secrets: &dyn SecretStore, server: &str) -> Result<(), store::SecretError> {
    secrets.delete(&store::dpop_key(server))
}

/// The access token of an `Authorization: DPoP <token>` value (scheme in any case).
pub fn bound_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("dpop").then(|| token.trim())
}
