//! Token requests of the assertion grants: RFC 8693 token exchange and RFC 7523 JWT bearer
//! (enterprise-managed authorization, [`crate::enterprise`]). Sent and refused like every
//! other token request ([`super::endpoint`]); the answer is returned as JSON, because a token
//! exchange answer is no bearer token response (`token_type` `N_A`, `issued_token_type`).

use url::Url;

use super::endpoint::{ClientCredentials, TokenError, classify, send_form};

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
