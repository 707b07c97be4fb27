//! The ID-JAG redeemed at the server's authorization server with the RFC 7523 JWT bearer grant
//! (`grant_type` `urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion`), the client
//! authenticated as registered there. An authorization server takes ID-JAGs when its metadata
//! lists that grant type.

use super::JWT_BEARER;
use super::error::EnterpriseError;
use super::exchange::IdJag;
use crate::discovery::AuthServerMetadata;
use crate::tokens::grant::jwt_bearer_grant;
use crate::tokens::{ClientCredentials, TokenParams, TokenSet};

/// Whether the authorization server says it takes the JWT bearer grant.
pub fn accepts_id_jag(meta: &AuthServerMetadata) -> bool {
    meta.grant_types_supported
        .as_ref()
        .is_some_and(|g| g.iter().any(|t| t == JWT_BEARER))
}

/// What the redemption asks for besides the assertion.
pub struct Request<'a> {
    pub idp: &'a str,
    /// RFC 8707 resource (the MCP spec wants it in every token request).
    pub resource: Option<&'a str>,
    pub scopes: &'a [String],
}

/// Present `jag` at `meta`'s token endpoint for an access token.
pub async fn redeem(
    http: &reqwest::Client,
    meta: &AuthServerMetadata,
    client: &ClientCredentials,
    jag: &IdJag,
    req: &Request<'_>,
) -> Result<TokenSet, EnterpriseError> {
    if !accepts_id_jag(meta) {
        return Err(EnterpriseError::NotAccepted {
            issuer: meta.issuer_str().to_owned(),
            grant: JWT_BEARER,
        });
    }
    let params = TokenParams {
        resource: req.resource.map(str::to_owned),
        scope: (!req.scopes.is_empty()).then(|| req.scopes.join(" ")),
        ..TokenParams::default()
    };
    let mut tokens = jwt_bearer_grant(http, &meta.token_endpoint, client, &jag.assertion, &params)
        .await
        .map_err(|source| EnterpriseError::RedeemRefused {
            issuer: meta.issuer_str().to_owned(),
            idp: req.idp.to_owned(),
            source,
        })?;
    // No refresh token is needed: a new ID-JAG renews it while the IdP session lives, so the
    // engine renews it ahead of its expiry like a refreshable one.
    tokens.reissuable = true;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_server_takes_id_jags_only_when_it_lists_the_jwt_bearer_grant() {
        let mut m = crate::discovery::auth_server::test_metadata("http://127.0.0.1:1");
        m.grant_types_supported = None;
        assert!(!accepts_id_jag(&m));
        m.grant_types_supported = Some(vec!["authorization_code".into()]);
        assert!(!accepts_id_jag(&m));
        m.grant_types_supported = Some(vec!["authorization_code".into(), JWT_BEARER.into()]);
        assert!(accepts_id_jag(&m));
    }
}
