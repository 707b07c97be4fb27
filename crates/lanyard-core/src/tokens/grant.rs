//! Token requests of the grants that start without a token of Lanyard's own: OAuth 2.1 client
//! credentials, RFC 7523 JWT bearer (workload identity, and ID-JAG redemption in
//! [`crate::enterprise`]) and RFC 8693 token exchange. Sent and refused like every other token
//! request ([`super::endpoint`]); a token exchange answer is returned as JSON, because it is no
//! bearer token response (`token_type` `N_A`, `issued_token_type`).

use url::Url;

use super::endpoint::{self, ClientCredentials, TokenError, TokenParams, classify, send_form};
use super::set::{TokenSet, now};

/// RFC 7523 §2.1 grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// POST `form` to `endpoint` with `client`'s authentication; the success answer as JSON.
pub async fn grant_json(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    form: Vec<(&'static str, String)>,
) -> Result<serde_json::Value, TokenError> {
    let resp = send_form(http, endpoint, client, form).await?;
    if !resp.is_success() {
        return Err(classify(endpoint, resp.status, &resp.body));
    }
    resp.json().map_err(|e| TokenError::BadResponse {
        endpoint: endpoint.clone(),
        detail: format!("not a JSON token response ({e})"),
    })
}

/// The grant's `form` with `params`' resource (RFC 8707), audience and scope, without DPoP; the
/// answer a token response, with no refresh token of an earlier grant to carry over.
pub async fn grant_tokens(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    mut form: Vec<(&'static str, String)>,
    params: &TokenParams,
) -> Result<TokenSet, TokenError> {
    endpoint::add_params(&mut form, params);
    let resp = endpoint::post_form(http, token_endpoint, client, form).await?;
    Ok(TokenSet::from_response(
        resp,
        now(),
        params.scope.as_deref(),
        None,
    ))
}

/// RFC 7523 §2.1 JWT-bearer grant: `assertion` with `resource` and `scope`; the client named
/// (`client_id`, or its own authentication) only when it has an id.
pub async fn jwt_bearer_grant(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    assertion: &str,
    params: &TokenParams,
) -> Result<TokenSet, TokenError> {
    let form = vec![
        ("grant_type", JWT_BEARER.to_owned()),
        ("assertion", assertion.to_owned()),
    ];
    grant_tokens(http, token_endpoint, client, form, params).await
}
