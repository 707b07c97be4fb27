//! The requests of the RFC 8628 device authorization grant: the device code from the device
//! authorization endpoint (client authenticated as at the token endpoint, `scope`, RFC 8707
//! `resource`), and one poll of the token endpoint with the device code. When to poll is
//! `authorization::device`'s.

use url::Url;

use super::endpoint::{
    ClientCredentials, TokenError, TokenParams, add_params, classify, post_form_with, send_form,
};
use super::set::{TokenSet, now};
use crate::authorization::device::{DeviceAuthorization, DeviceError, GRANT_TYPE, Poll};
use crate::http::HttpResponse;

/// RFC 8628 §3.1–3.2: ask for a device code and a user code. A refusal is the endpoint's
/// error as the token endpoint's would be, for the caller to retry with the other client
/// authentication when it refused this one.
pub async fn request_device_code(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    scope: Option<&str>,
    params: &TokenParams,
) -> Result<HttpResponse, TokenError> {
    let mut form = Vec::new();
    if let Some(s) = scope {
        form.push(("scope", s.to_owned()));
    }
    add_params(&mut form, params);
    let resp = send_form(http, endpoint, client, form).await?;
    if !resp.is_success() {
        return Err(classify(endpoint, resp.status, &resp.body));
    }
    Ok(resp)
}

/// The device authorization endpoint's answer read.
pub fn read_device_code(endpoint: &Url, resp: &HttpResponse) -> crate::Result<DeviceAuthorization> {
    resp.json::<DeviceAuthorization>().map_err(|e| {
        DeviceError::BadResponse {
            endpoint: endpoint.clone(),
            detail: e.to_string(),
        }
        .into()
    })
}

/// RFC 8628 §3.4–3.5: one poll of the token endpoint with the device code (and `resource`
/// again, RFC 8707 §2.2). An error other than the grant's own answers is the token endpoint's,
/// for the caller to retry with the other client authentication when it refused this one.
pub async fn poll_once(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    device_code: &str,
    params: &TokenParams,
    requested_scope: Option<&str>,
) -> Result<Poll<TokenSet>, TokenError> {
    let mut form = vec![
        ("grant_type", GRANT_TYPE.to_owned()),
        ("device_code", device_code.to_owned()),
    ];
    add_params(&mut form, params);
    match post_form_with(http, token_endpoint, client, form, params.dpop.as_ref()).await {
        Ok(resp) => Ok(Poll::Tokens(TokenSet::from_response(
            resp,
            now(),
            requested_scope,
            None,
        ))),
        Err(e) => answer(e),
    }
}

fn answer(e: TokenError) -> Result<Poll<TokenSet>, TokenError> {
    Ok(match e {
        TokenError::Rejected { ref error, .. } if error == "authorization_pending" => Poll::Pending,
        TokenError::Rejected { ref error, .. } if error == "slow_down" => Poll::SlowDown,
        TokenError::Rejected {
            ref error,
            description,
            ..
        } if error == "access_denied" => Poll::Denied(description),
        TokenError::Rejected { ref error, .. } if error == "expired_token" => Poll::Expired,
        // A dropped connection while the user is still approving: back off like `slow_down`
        // (RFC 8628 §3.5) rather than lose the sign-in; the code's expiry bounds the retries.
        TokenError::Network { .. } => Poll::SlowDown,
        other => return Err(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(body: &str) -> Result<Poll<TokenSet>, TokenError> {
        let u = Url::parse("http://127.0.0.1:1/token").unwrap();
        answer(classify(&u, 400, body.as_bytes()))
    }

    #[test]
    fn each_device_grant_error_is_its_own_poll_answer() {
        assert!(matches!(
            answer_to(r#"{"error":"authorization_pending"}"#),
            Ok(Poll::Pending)
        ));
        assert!(matches!(
            answer_to(r#"{"error":"slow_down"}"#),
            Ok(Poll::SlowDown)
        ));
        assert!(matches!(
            answer_to(r#"{"error":"access_denied","error_description":"no"}"#),
            Ok(Poll::Denied(Some(d))) if d == "no"
        ));
        assert!(matches!(
            answer_to(r#"{"error":"expired_token"}"#),
            Ok(Poll::Expired)
        ));
        assert!(matches!(
            answer_to(r#"{"error":"invalid_grant"}"#),
            Err(TokenError::InvalidGrant { .. })
        ));
        // A refused client authentication is the caller's to retry with the other method.
        assert!(matches!(
            answer_to(r#"{"error":"invalid_client"}"#),
            Err(e) if e.refused_client_auth()
        ));
    }
}
