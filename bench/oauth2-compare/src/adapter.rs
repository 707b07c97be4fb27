//! ADAPTER (counted): what Lanyard would have to write around the oauth2 crate to keep the
//! behaviour its token endpoint has today (crates/lanyard-core/src/tokens/endpoint.rs and
//! set.rs): a lenient token response, Basic that also names the client in the form, one retry
//! with the other listed client authentication, the error classes Lanyard's callers branch on,
//! and a refresh answer without a refresh token keeping the old one.

use std::time::Duration;

use lanyard_core::http::HttpError;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError,
    RevocationErrorResponseType, Scope, StandardRevocableToken, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::guard::Guard;

/// RFC 6749 §5.1 as the field sends it: `token_type` missing (taken as Bearer) or in any case,
/// `expires_in` as a number, a float or a numeric string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LenientTokenResponse {
    access_token: AccessToken,
    #[serde(
        default = "bearer",
        deserialize_with = "oauth2::helpers::deserialize_untagged_enum_case_insensitive"
    )]
    token_type: BasicTokenType,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        default,
        rename = "scope",
        deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec"
    )]
    scopes: Option<Vec<Scope>>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl TokenResponse for LenientTokenResponse {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        let secs = match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0)
                    .map(|f| f.min(u64::MAX as f64) as u64)
            }),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }?;
        Some(Duration::from_secs(secs))
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token
            .as_ref()
            .filter(|r| !r.secret().is_empty())
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// `BasicClient` with the lenient token response.
pub type AdaptedClient<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasIntrospectionUrl = EndpointNotSet,
    HasRevocationUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
> = oauth2::Client<
    BasicErrorResponse,
    LenientTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
>;

/// An [`AdaptedClient`] with its authorization and token endpoints set.
pub type ReadyClient =
    AdaptedClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The classes Lanyard's callers branch on (`tokens::endpoint::TokenError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    InvalidGrant,
    InvalidClient,
    Rejected { status: u16, error: String },
    Network(String),
    BadResponse(String),
}

impl Refusal {
    /// `TokenError::refused_client_auth`: worth one more try with the other listed method.
    pub fn refused_client_auth(&self) -> bool {
        match self {
            Refusal::InvalidClient => true,
            Refusal::Rejected { status, error } => {
                matches!(status, 400 | 401)
                    && matches!(
                        error.as_str(),
                        "unauthorized_client" | "invalid_request" | "no OAuth error"
                    )
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::InvalidGrant => write!(f, "invalid_grant"),
            Refusal::InvalidClient => write!(f, "invalid_client"),
            Refusal::Rejected { status, error } => write!(f, "HTTP {status} ({error})"),
            Refusal::Network(d) => write!(f, "network: {d}"),
            Refusal::BadResponse(d) => write!(f, "unusable answer: {d}"),
        }
    }
}

type CrateError = RequestTokenError<HttpError, BasicErrorResponse>;

/// The crate's error, with the status the guard saw, as Lanyard's class. A 2xx other than 200
/// carrying a token (the crate accepts 200 only) is parsed here.
pub fn classify(e: CrateError, status: Option<u16>) -> Result<LenientTokenResponse, Refusal> {
    let status_or = |d: String| match status {
        Some(s) if s >= 300 => Refusal::Rejected {
            status: s,
            error: "no OAuth error".into(),
        },
        _ => Refusal::BadResponse(d),
    };
    Err(match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => Refusal::InvalidGrant,
            BasicErrorResponseType::InvalidClient => Refusal::InvalidClient,
            other => Refusal::Rejected {
                status: status.unwrap_or(0),
                error: other.to_string(),
            },
        },
        RequestTokenError::Request(h) => match h.network_detail() {
            Some(d) => Refusal::Network(d),
            None => Refusal::BadResponse(h.to_string()),
        },
        RequestTokenError::Parse(p, body) => {
            if let Some(200..=299) = status
                && let Ok(t) = serde_json::from_slice::<LenientTokenResponse>(&body)
            {
                return Ok(t);
            }
            status_or(p.to_string())
        }
        RequestTokenError::Other(d) => status_or(d),
    })
}

/// Lanyard's check after parsing: a non-empty access token of type Bearer (or DPoP).
pub fn check(t: LenientTokenResponse) -> Result<LenientTokenResponse, Refusal> {
    if t.access_token.secret().is_empty() {
        return Err(Refusal::BadResponse("empty access_token".into()));
    }
    let kind = t.token_type.as_ref().to_ascii_lowercase();
    if kind != "bearer" && kind != "dpop" {
        return Err(Refusal::BadResponse(format!(
            "token_type \"{kind}\" is not Bearer"
        )));
    }
    Ok(t)
}

/// The client authentication for `method` ("client_secret_basic", "client_secret_post",
/// "none"), as the crate's client-wide setting.
pub fn auth_type(method: &str) -> AuthType {
    match method {
        "client_secret_basic" => AuthType::BasicAuth,
        _ => AuthType::RequestBody,
    }
}

/// The other secret-based method, when listed.
pub fn alternative(method: &str, listed: &[String]) -> Option<&'static str> {
    let other = match method {
        "client_secret_basic" => "client_secret_post",
        "client_secret_post" => "client_secret_basic",
        _ => return None,
    };
    listed.iter().any(|m| m == other).then_some(other)
}

/// One token request the Lanyard way: `client_id` in the form with Basic too (the Python SDK
/// refuses Basic without it), the crate's error classified, the token checked.
pub async fn token_request<F, Fut>(
    client: &ReadyClient,
    has_secret: bool,
    guard: &Guard,
    send: F,
) -> Result<LenientTokenResponse, Refusal>
where
    F: FnOnce(Option<(&'static str, String)>) -> Fut,
    Fut: std::future::Future<Output = Result<LenientTokenResponse, CrateError>>,
{
    let id_in_form = (matches!(client.auth_type(), AuthType::BasicAuth) && has_secret)
        .then(|| ("client_id", client.client_id().to_string()));
    let answer = match send(id_in_form).await {
        Ok(t) => Ok(t),
        Err(e) => classify(e, guard.last_status()),
    };
    answer.and_then(check)
}

/// `first`, and when the client authentication was refused, once more with the other listed
/// method (`signin.rs` does this for the code exchange, `revoke_with_fallback` for revocation).
pub async fn with_fallback<T, F, Fut>(
    method: &str,
    listed: &[String],
    attempt: F,
) -> (Result<T, Refusal>, String)
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = Result<T, Refusal>>,
{
    let method: &'static str = match method {
        "client_secret_basic" => "client_secret_basic",
        "client_secret_post" => "client_secret_post",
        _ => "none",
    };
    let first = attempt(method).await;
    match &first {
        Err(e) if e.refused_client_auth() => {}
        _ => return (first, method.to_owned()),
    }
    let Some(other) = alternative(method, listed) else {
        return (first, method.to_owned());
    };
    match attempt(other).await {
        Ok(t) => (Ok(t), other.to_owned()),
        // The first refusal is the one reported (as `revoke_with_fallback` does); the label
        // keeps the second.
        Err(second) => (first, format!("{method}, then {other}: {second}")),
    }
}

/// A revocation refusal as Lanyard's class (RFC 7009 §2.2.1 adds `unsupported_token_type`).
pub fn classify_revocation(
    e: RequestTokenError<HttpError, BasicRevocationErrorResponse>,
    status: Option<u16>,
) -> Refusal {
    let basic = |b: &BasicErrorResponseType| match b {
        BasicErrorResponseType::InvalidGrant => Refusal::InvalidGrant,
        BasicErrorResponseType::InvalidClient => Refusal::InvalidClient,
        other => Refusal::Rejected {
            status: status.unwrap_or(0),
            error: other.to_string(),
        },
    };
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            RevocationErrorResponseType::Basic(b) => basic(b),
            RevocationErrorResponseType::UnsupportedTokenType => Refusal::Rejected {
                status: status.unwrap_or(0),
                error: "unsupported_token_type".into(),
            },
        },
        RequestTokenError::Request(h) => match h.network_detail() {
            Some(d) => Refusal::Network(d),
            None => Refusal::BadResponse(h.to_string()),
        },
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => Refusal::Rejected {
            status: status.unwrap_or(0),
            error: "no OAuth error".into(),
        },
    }
}

/// A refresh answer without a refresh token keeps the one used (RFC 6749 §6).
pub fn keep_refresh_token(t: &LenientTokenResponse, used: &str) -> String {
    t.refresh_token()
        .map(|r| r.secret().clone())
        .unwrap_or_else(|| used.to_owned())
}
