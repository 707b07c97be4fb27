//! The token endpoint (code exchange, refresh) and RFC 7009 revocation.

use serde::{Deserialize, Serialize};
use url::Url;

use super::set::{TokenResponse, TokenSet, now};
use crate::error::UserFacing;
use crate::http::{self, BasicAuth, Http, HttpError, HttpResponse};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAuthMethod::None => "none",
            TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
    pub fn parse(s: &str) -> Option<TokenAuthMethod> {
        match s {
            "none" => Some(TokenAuthMethod::None),
            "client_secret_basic" => Some(TokenAuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(TokenAuthMethod::ClientSecretPost),
            _ => None,
        }
    }
    /// The method to use: `none` without a secret; with one, the method the registration
    /// named when the AS supports it, else `client_secret_basic` when listed, else
    /// `client_secret_post` when listed, else basic (the RFC 8414 default).
    pub fn choose(supported: &[String], has_secret: bool, registered: Option<&str>) -> Self {
        if !has_secret {
            return TokenAuthMethod::None;
        }
        let listed = |m: &str| supported.iter().any(|s| s == m);
        if let Some(m) = registered.and_then(TokenAuthMethod::parse)
            && m != TokenAuthMethod::None
            && (listed(m.as_str()) || supported.is_empty())
        {
            return m;
        }
        if listed("client_secret_basic") {
            TokenAuthMethod::ClientSecretBasic
        } else if listed("client_secret_post") {
            TokenAuthMethod::ClientSecretPost
        } else {
            TokenAuthMethod::ClientSecretBasic
        }
    }
}

impl TokenAuthMethod {
    /// The other secret-based method, when the AS lists it: what to try once after the
    /// token endpoint refused this one.
    pub fn alternative(self, supported: &[String]) -> Option<TokenAuthMethod> {
        let other = match self {
            TokenAuthMethod::ClientSecretBasic => TokenAuthMethod::ClientSecretPost,
            TokenAuthMethod::ClientSecretPost => TokenAuthMethod::ClientSecretBasic,
            TokenAuthMethod::None => return None,
        };
        supported
            .iter()
            .any(|m| m == other.as_str())
            .then_some(other)
    }
}

impl TokenError {
    /// Whether the token endpoint refused how the client authenticated (as opposed to the
    /// grant): `invalid_client`, `unauthorized_client`, `invalid_request` (e.g. "Missing
    /// client_id") or a bare 400/401. Worth one more try with the other listed method.
    pub fn refused_client_auth(&self) -> bool {
        match self {
            TokenError::InvalidClient { .. } => true,
            TokenError::Rejected { status, error, .. } => {
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

/// The client as the token endpoint sees it.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: TokenAuthMethod,
}

impl ClientCredentials {
    /// Add the client authentication to a form: HTTP Basic (returned, for the request) or
    /// `client_id` (+ `client_secret`) in the form itself.
    pub(super) fn apply<'a>(
        &'a self,
        form: &mut Vec<(&'static str, String)>,
    ) -> Option<BasicAuth<'a>> {
        match (self.method, &self.secret) {
            (TokenAuthMethod::ClientSecretBasic, Some(secret)) => {
                // RFC 6749 §2.3.1 lets the form name the client too, and the Python MCP SDK
                // (and FastMCP on it) refuses a Basic request whose form has no `client_id`;
                // every other AS in the interop matrix accepts the pair when the ids match.
                form.push(("client_id", self.client_id.clone()));
                Some(BasicAuth {
                    user: &self.client_id,
                    password: secret,
                })
            }
            (TokenAuthMethod::ClientSecretPost, Some(secret)) => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", secret.clone()));
                None
            }
            // An empty id: a client named by its assertion (RFC 7523 §3) or none at all
            // (workload identity, SEP-1933).
            _ if self.client_id.is_empty() => None,
            _ => {
                form.push(("client_id", self.client_id.clone()));
                None
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The grant (code or refresh token) is no longer valid.
    #[error("the authorization server {endpoint} refused the grant (invalid_grant{})", desc_suffix(.description))]
    InvalidGrant {
        endpoint: Url,
        description: Option<String>,
    },
    /// The AS said `invalid_client` in a JSON error: the client id is unknown, or its
    /// authentication failed. Only this answer may count as "the client is gone"; a bare 401
    /// (a proxy's login page) or `unauthorized_client` is [`TokenError::Rejected`].
    #[error("the authorization server {endpoint} does not accept this client (invalid_client{})", desc_suffix(.description))]
    InvalidClient {
        endpoint: Url,
        description: Option<String>,
    },
    #[error("the authorization server {endpoint} answered HTTP {status} ({error}{})", desc_suffix(.description))]
    Rejected {
        endpoint: Url,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("could not reach {endpoint}: {detail}")]
    Network { endpoint: Url, detail: String },
    #[error("the token endpoint {endpoint} sent an answer Lanyard cannot use: {detail}")]
    BadResponse { endpoint: Url, detail: String },
    /// No DPoP proof could be made for the request (RFC 9449).
    #[error("Lanyard could not sign the DPoP proof for {endpoint}: {detail}")]
    Proof { endpoint: Url, detail: String },
}

fn desc_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl UserFacing for TokenError {
    fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidGrant { .. } => "token-endpoint.invalid-grant",
            TokenError::InvalidClient { .. } => "token-endpoint.invalid-client",
            TokenError::Rejected { .. } => "token-endpoint.rejected",
            TokenError::Network { .. } => "token-endpoint.network",
            TokenError::BadResponse { .. } => "token-endpoint.bad-response",
            TokenError::Proof { .. } => "token-endpoint.dpop-proof",
        }
    }
    fn next_step(&self) -> String {
        match self {
            TokenError::InvalidGrant { .. } => {
                "Sign in again with `lanyard login NAME` (the sign-in expired or was revoked).".into()
            }
            TokenError::InvalidClient { .. } => "The OAuth client was deleted or disabled at the identity provider; run `lanyard login NAME` to register again, or ask your admin for a client id (`lanyard add URL --client-id ID`).".into(),
            TokenError::Rejected { .. } => "Check the server's identity provider settings with your admin; `lanyard probe URL` shows what Lanyard sees.".into(),
            TokenError::Network { .. } => "Check your network connection and that the identity provider is up, then try again.".into(),
            TokenError::BadResponse { .. } => "This identity provider does not follow OAuth 2.0 (RFC 6749 §5.1); report it to your admin.".into(),
            TokenError::Proof { .. } => "Sign the server in again with `lanyard login NAME` (a new key is made for it).".into(),
        }
    }
}

/// Resource and scope parameters of a token request.
#[derive(Debug, Clone, Default)]
pub struct TokenParams {
    pub resource: Option<String>,
    pub audience: Option<String>,
    /// Sent on refresh only when the server's quirk asks for it.
    pub scope: Option<String>,
    /// The server's DPoP key (RFC 9449): every grant's request then carries a proof.
    pub dpop: Option<super::dpop::Dpop>,
}

/// Exchange an authorization code (RFC 6749 §4.1.3 + PKCE + RFC 8707).
#[allow(clippy::too_many_arguments)] // each is one form field of the request
pub async fn exchange_code(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
    params: &TokenParams,
    requested_scope: Option<&str>,
) -> Result<TokenSet, TokenError> {
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("code_verifier", code_verifier.to_owned()),
    ];
    add_params(&mut form, params);
    let resp = post_form_with(http, token_endpoint, client, form, params.dpop.as_ref()).await?;
    Ok(TokenSet::from_response(resp, now(), requested_scope, None))
}

/// Refresh (RFC 6749 §6), sending `resource` again (RFC 8707 §2.2).
pub async fn refresh(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    refresh_token: &str,
    params: &TokenParams,
    previous_scope: Option<&str>,
) -> Result<TokenSet, TokenError> {
    let mut form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token.to_owned()),
    ];
    add_params(&mut form, params);
    let resp = post_form_with(http, token_endpoint, client, form, params.dpop.as_ref()).await?;
    Ok(TokenSet::from_response(
        resp,
        now(),
        previous_scope,
        Some(refresh_token),
    ))
}

/// What a token endpoint says of a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStanding {
    /// It knows the client (it refused only the made-up grant: `invalid_grant`).
    Known,
    /// It does not know the client any more, or has disabled it (`invalid_client`).
    Unknown,
    /// It could not be reached.
    Unreachable(String),
    /// Its answer tells neither.
    Unclear,
}

/// Asks the token endpoint whether it still knows `client`, without any grant of the user's:
/// a refresh with a made-up token is refused with `invalid_client` (RFC 6749 §5.2) when the
/// client is unknown and with `invalid_grant` when only the token is. For IdPs that give no RFC
/// 7592 management endpoint, and for a 7592 answer that cannot tell a deleted client from a
/// stale registration token.
pub async fn client_standing(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
) -> ClientStanding {
    let made_up = format!("lanyard-probe-{}", crate::paths::random_hex(8));
    match refresh(
        http,
        token_endpoint,
        client,
        &made_up,
        &TokenParams::default(),
        None,
    )
    .await
    {
        // Only the explicit answer: `unauthorized_client` (a client without the refresh grant)
        // and a bare 401 (a proxy's login page) say nothing about whether the client exists.
        Err(TokenError::InvalidClient { .. }) => ClientStanding::Unknown,
        Err(TokenError::InvalidGrant { .. }) => ClientStanding::Known,
        Err(TokenError::Network { detail, .. }) => ClientStanding::Unreachable(detail),
        _ => ClientStanding::Unclear,
    }
}

pub(super) fn add_params(form: &mut Vec<(&'static str, String)>, params: &TokenParams) {
    if let Some(r) = &params.resource {
        form.push(("resource", r.clone()));
    }
    if let Some(a) = &params.audience {
        form.push(("audience", a.clone()));
    }
    if let Some(s) = &params.scope {
        form.push(("scope", s.clone()));
    }
}

/// POST a form through the guarded client, the client authenticated as it registered.
pub(super) async fn send_form(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    mut form: Vec<(&'static str, String)>,
) -> Result<HttpResponse, TokenError> {
    let basic = client.apply(&mut form);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Http::over(http.clone())
        .post_form(endpoint, &pairs, basic)
        .await
        .map_err(|e| http_err(endpoint, e))
}

/// [`send_form`] with a DPoP proof (RFC 9449 §5), once more with the nonce the authorization
/// server asks for (§8: 400 `use_dpop_nonce` with a new `DPoP-Nonce`).
async fn send_form_dpop(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    mut form: Vec<(&'static str, String)>,
    dpop: &super::dpop::Dpop,
) -> Result<HttpResponse, TokenError> {
    let basic = client.apply(&mut form);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let guarded = Http::over(http.clone());
    let mut retried = false;
    loop {
        let proof = dpop
            .proof("POST", endpoint, None)
            .map_err(|e| TokenError::Proof {
                endpoint: endpoint.clone(),
                detail: e.to_string(),
            })?;
        let mut req = crate::http::Request::new(crate::http::Method::POST, endpoint.clone())
            .header("Accept", "application/json")
            .header("DPoP", &proof)
            .form(&pairs);
        if let Some(b) = basic {
            req = req.basic(b);
        }
        let resp = guarded.send(req).await.map_err(|e| http_err(endpoint, e))?;
        let new_nonce = dpop.learn_nonce(endpoint, resp.header("dpop-nonce"));
        if !retried
            && new_nonce
            && super::dpop::token_endpoint_asks_for_nonce(resp.status, &resp.body)
        {
            retried = true;
            continue;
        }
        return Ok(resp);
    }
}

/// A transport failure is [`TokenError::Network`]; a broken rule (size cap, insecure URL,
/// redirect) is an answer Lanyard cannot use.
fn http_err(endpoint: &Url, e: HttpError) -> TokenError {
    let endpoint = endpoint.clone();
    match e.network_detail() {
        Some(detail) => TokenError::Network { endpoint, detail },
        None => TokenError::BadResponse {
            endpoint,
            detail: e.to_string(),
        },
    }
}

/// A token request without DPoP (the machine grants: client credentials and workload identity;
/// every grant of a server that may use DPoP goes through [`post_form_with`]).
pub(super) async fn post_form(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    form: Vec<(&'static str, String)>,
) -> Result<TokenResponse, TokenError> {
    post_form_with(http, endpoint, client, form, None).await
}

/// [`post_form`] for a grant's token request: with a DPoP proof when the server uses DPoP
/// (pass `TokenParams::dpop`).
pub(super) async fn post_form_with(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &ClientCredentials,
    form: Vec<(&'static str, String)>,
    dpop: Option<&super::dpop::Dpop>,
) -> Result<TokenResponse, TokenError> {
    let resp = match dpop {
        Some(d) => send_form_dpop(http, endpoint, client, form, d).await?,
        None => send_form(http, endpoint, client, form).await?,
    };
    if !resp.is_success() {
        return Err(classify(endpoint, resp.status, &resp.body));
    }
    // RFC 6749 §5.1: the token response is application/json.
    let parsed: TokenResponse = resp.json().map_err(|e| TokenError::BadResponse {
        endpoint: endpoint.clone(),
        detail: format!("not a token response ({e})"),
    })?;
    if parsed.access_token.is_empty() {
        return Err(TokenError::BadResponse {
            endpoint: endpoint.clone(),
            detail: "empty access_token".into(),
        });
    }
    if let Some(t) = &parsed.token_type
        && !t.eq_ignore_ascii_case("bearer")
        && !t.eq_ignore_ascii_case("dpop")
    {
        return Err(TokenError::BadResponse {
            endpoint: endpoint.clone(),
            detail: format!("token_type \"{t}\" is not Bearer"),
        });
    }
    Ok(parsed)
}

pub(super) fn classify(endpoint: &Url, status: u16, body: &[u8]) -> TokenError {
    match http::oauth_error(body) {
        Some((e, description)) if e == "invalid_grant" => TokenError::InvalidGrant {
            endpoint: endpoint.clone(),
            description,
        },
        Some((e, description)) if e == "invalid_client" => TokenError::InvalidClient {
            endpoint: endpoint.clone(),
            description,
        },
        Some((error, description)) => TokenError::Rejected {
            endpoint: endpoint.clone(),
            status,
            error,
            description,
        },
        None => TokenError::Rejected {
            endpoint: endpoint.clone(),
            status,
            error: "no OAuth error".into(),
            description: Some(http::excerpt(body)),
        },
    }
}

/// [`revoke`], and when the endpoint refuses how the client authenticated, once more with the
/// other secret-based method it lists (`listed`): the Python MCP SDK's revocation endpoint takes
/// Basic only with `client_secret` in the form too, i.e. it really wants `client_secret_post`.
pub async fn revoke_with_fallback(
    http: &reqwest::Client,
    revocation_endpoint: &Url,
    client: &ClientCredentials,
    listed: &[String],
    token: &str,
    hint: &str,
) -> Result<(), TokenError> {
    let first = match revoke(http, revocation_endpoint, client, token, hint).await {
        Err(e) if e.refused_client_auth() => e,
        other => return other,
    };
    let Some(method) = client.method.alternative(listed) else {
        return Err(first);
    };
    let other = ClientCredentials {
        method,
        ..client.clone()
    };
    match revoke(http, revocation_endpoint, &other, token, hint).await {
        Ok(()) => Ok(()),
        // The first refusal says what the IdP wants; the second only repeats it differently.
        Err(e) if e.refused_client_auth() => Err(first),
        Err(e) => Err(e),
    }
}

/// RFC 7009: revoke a token. A 200 (also for unknown tokens) is success.
pub async fn revoke(
    http: &reqwest::Client,
    revocation_endpoint: &Url,
    client: &ClientCredentials,
    token: &str,
    hint: &str,
) -> Result<(), TokenError> {
    let form = vec![
        ("token", token.to_owned()),
        ("token_type_hint", hint.to_owned()),
    ];
    let resp = send_form(http, revocation_endpoint, client, form).await?;
    if resp.is_success() {
        return Ok(());
    }
    Err(classify(revocation_endpoint, resp.status, &resp.body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn auth_method_choice() {
        use TokenAuthMethod::{ClientSecretBasic, ClientSecretPost};
        assert_eq!(
            TokenAuthMethod::choose(&v(&["client_secret_basic"]), false, None),
            TokenAuthMethod::None
        );
        assert_eq!(
            TokenAuthMethod::choose(&v(&["client_secret_post"]), true, None),
            ClientSecretPost
        );
        assert_eq!(
            TokenAuthMethod::choose(
                &v(&["client_secret_post", "client_secret_basic"]),
                true,
                None
            ),
            ClientSecretBasic
        );
        assert_eq!(
            TokenAuthMethod::choose(
                &v(&["client_secret_post", "client_secret_basic"]),
                true,
                Some("client_secret_post")
            ),
            ClientSecretPost
        );
        assert_eq!(TokenAuthMethod::choose(&[], true, None), ClientSecretBasic);
    }

    #[test]
    fn the_alternative_method_is_the_other_listed_secret_method() {
        use TokenAuthMethod::{ClientSecretBasic, ClientSecretPost};
        let both = v(&["client_secret_post", "client_secret_basic"]);
        assert_eq!(ClientSecretBasic.alternative(&both), Some(ClientSecretPost));
        assert_eq!(ClientSecretPost.alternative(&both), Some(ClientSecretBasic));
        assert_eq!(
            ClientSecretBasic.alternative(&v(&["client_secret_basic"])),
            None
        );
        assert_eq!(TokenAuthMethod::None.alternative(&both), None);
    }

    #[test]
    fn client_auth_refusals_are_told_from_grant_refusals() {
        let u = Url::parse("http://127.0.0.1/token").unwrap();
        for (status, body) in [
            (
                401,
                &br#"{"error":"invalid_client","error_description":"Missing client_id"}"#[..],
            ),
            (401, &br#"{"error":"unauthorized_client"}"#[..]),
            (400, &br#"{"error":"invalid_request"}"#[..]),
            (401, &b""[..]),
        ] {
            assert!(classify(&u, status, body).refused_client_auth(), "{status}");
        }
        assert!(!classify(&u, 400, br#"{"error":"invalid_grant"}"#).refused_client_auth());
        assert!(!classify(&u, 503, b"down").refused_client_auth());
    }

    #[test]
    fn basic_auth_also_names_the_client_in_the_form() {
        let creds = ClientCredentials {
            client_id: "c1".into(),
            secret: Some("s3cret".into()),
            method: TokenAuthMethod::ClientSecretBasic,
        };
        let mut form = vec![("grant_type", "refresh_token".to_owned())];
        let basic = creds.apply(&mut form).expect("Basic credentials");
        assert_eq!((basic.user, basic.password), ("c1", "s3cret"));
        assert!(form.contains(&("client_id", "c1".to_owned())));
        assert!(!form.iter().any(|(k, _)| *k == "client_secret"));

        let post = ClientCredentials {
            method: TokenAuthMethod::ClientSecretPost,
            ..creds
        };
        let mut form = Vec::new();
        assert!(post.apply(&mut form).is_none());
        assert!(form.contains(&("client_id", "c1".to_owned())));
        assert!(form.contains(&("client_secret", "s3cret".to_owned())));
    }

    #[test]
    fn error_classification() {
        let u = Url::parse("http://127.0.0.1/token").unwrap();
        assert!(matches!(
            classify(&u, 400, br#"{"error":"invalid_grant"}"#),
            TokenError::InvalidGrant { .. }
        ));
        assert!(matches!(
            classify(&u, 401, br#"{"error":"invalid_client"}"#),
            TokenError::InvalidClient { .. }
        ));
        // Only an explicit JSON `invalid_client` says the client is gone: a proxy's bare 401
        // and `unauthorized_client` (a grant this client may not use) are refusals.
        assert!(matches!(
            classify(&u, 401, b"nope"),
            TokenError::Rejected { status: 401, .. }
        ));
        assert!(matches!(
            classify(&u, 401, b"<html><body>Sign in</body></html>"),
            TokenError::Rejected { status: 401, .. }
        ));
        assert!(matches!(
            classify(&u, 400, br#"{"error":"unauthorized_client"}"#),
            TokenError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            classify(&u, 500, b"<html>"),
            TokenError::Rejected { status: 500, .. }
        ));
    }

    proptest::proptest! {
        /// Any error body with any status (JSON or not): a classification, never a panic, and
        /// "the client is gone" only for an explicit `invalid_client`.
        #[test]
        fn any_error_answer_is_classified_and_only_invalid_client_kills_the_client(
            status in 400u16..600,
            body in proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                ("\\PC{0,30}", proptest::option::of("\\PC{0,30}")).prop_map(|(e, d)| {
                    serde_json::json!({"error": e, "error_description": d}).to_string().into_bytes()
                }),
            ],
        ) {
            let u = Url::parse("http://127.0.0.1/token").unwrap();
            let e = classify(&u, status, &body);
            if matches!(e, TokenError::InvalidClient { .. }) {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                proptest::prop_assert_eq!(v["error"].as_str(), Some("invalid_client"));
            }
            let _ = e.to_string();
        }
    }
}
