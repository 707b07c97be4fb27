//! RFC 7592 client configuration: read, update (e.g. new loopback redirect URI), delete
//! (cleanup). Every call authenticates with the registration access token.

use url::Url;

use super::dcr::{RegisteredClient, RegistrationError};
use crate::http::{self, Http, Method, Request};

fn mgmt_err(
    endpoint: &Url,
    client_id: &str,
    status: Option<u16>,
    detail: String,
) -> RegistrationError {
    RegistrationError::Management {
        endpoint: endpoint.clone(),
        client_id: client_id.to_owned(),
        status,
        detail,
    }
}

/// One RFC 7592 request through the guarded client, authenticated with the registration
/// access token.
async fn send(
    http: &reqwest::Client,
    req: Request,
    token: &str,
    client_id: &str,
) -> Result<(u16, Vec<u8>), RegistrationError> {
    let uri = req.url().clone();
    let resp = Http::over(http.clone())
        .send(req.bearer(token).header("Accept", "application/json"))
        .await
        .map_err(|e| {
            let detail = e.network_detail().unwrap_or_else(|| e.to_string());
            mgmt_err(&uri, client_id, None, detail)
        })?;
    Ok((resp.status, resp.body))
}

fn parse(
    uri: &Url,
    client_id: &str,
    status: u16,
    body: &[u8],
    method: &str,
) -> Result<RegisteredClient, RegistrationError> {
    if !(200..300).contains(&status) {
        return Err(mgmt_err(
            uri,
            client_id,
            Some(status),
            format!("HTTP {status}: {}", http::excerpt(body)),
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| mgmt_err(uri, client_id, Some(status), format!("not JSON ({e})")))?;
    RegisteredClient::from_json(v, method).map_err(|d| mgmt_err(uri, client_id, Some(status), d))
}

/// GET the current client configuration.
pub async fn read_registration(
    http: &reqwest::Client,
    registration_client_uri: &Url,
    registration_access_token: &str,
    client_id: &str,
) -> Result<RegisteredClient, RegistrationError> {
    let req = Request::new(Method::GET, registration_client_uri.clone());
    let (status, body) = send(http, req, registration_access_token, client_id).await?;
    parse(registration_client_uri, client_id, status, &body, "none")
}

/// PUT the full metadata with new `redirect_uris` (RFC 7592 §2.2 needs the whole document,
/// `client_id` included). The answer may carry a rotated registration access token.
pub async fn update_registration(
    http: &reqwest::Client,
    registration_client_uri: &Url,
    registration_access_token: &str,
    current_metadata: &serde_json::Value,
    client_id: &str,
    redirect_uris: &[String],
) -> Result<RegisteredClient, RegistrationError> {
    let mut doc = current_metadata.clone();
    if let Some(obj) = doc.as_object_mut() {
        // Read-only or server-managed fields must not be sent back.
        for k in [
            "registration_access_token",
            "registration_client_uri",
            "client_secret_expires_at",
            "client_id_issued_at",
            "client_secret",
        ] {
            obj.remove(k);
        }
        obj.insert("client_id".into(), client_id.into());
        obj.insert("redirect_uris".into(), serde_json::json!(redirect_uris));
    }
    let req = Request::new(Method::PUT, registration_client_uri.clone()).json(&doc);
    let (status, body) = send(http, req, registration_access_token, client_id).await?;
    parse(registration_client_uri, client_id, status, &body, "none")
}

/// DELETE the client (204 expected; 401/404 afterwards means it is already gone, which is also
/// reported as success).
pub async fn delete_registration(
    http: &reqwest::Client,
    registration_client_uri: &Url,
    registration_access_token: &str,
    client_id: &str,
) -> Result<(), RegistrationError> {
    let req = Request::new(Method::DELETE, registration_client_uri.clone());
    let (status, body) = send(http, req, registration_access_token, client_id).await?;
    match status {
        200..=299 | 404 | 410 => Ok(()),
        _ => Err(mgmt_err(
            registration_client_uri,
            client_id,
            Some(status),
            format!("HTTP {status}: {}", http::excerpt(&body)),
        )),
    }
}
