//! One sign-in with the oauth2 crate against a live MCP server: Lanyard's own discovery, DCR
//! request and loopback listener (so that only the token endpoint differs), then the crate's
//! authorization URL + PKCE, code exchange and refresh, every request through the guard.

use lanyard_core::authorization::{Listener, choose_scopes, resource_param};
use lanyard_core::discovery::discover;
use lanyard_core::http::{Http, Limits, Method, Request, build_client};
use lanyard_core::registration::dcr::{DcrRequest, register};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use std::time::Duration;
use url::Url;

use crate::adapter::{self, AdaptedClient, ReadyClient};
use crate::guard::Guard;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The crate as documented: `BasicClient`, the registered method as its `AuthType`,
    /// `resource` as an extra parameter.
    Plain,
    /// The crate plus `adapter.rs`.
    Adapted,
}

/// Which client authentication to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// What Lanyard registers (`DcrRequest::for_this_machine`).
    AsLanyard,
    /// `client_secret_basic` (a pre-registered confidential client, or an AS listing only it).
    Basic,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub method: String,
    pub exchange: Option<Result<String, String>>,
    pub refresh: Option<Result<String, String>>,
    /// RFC 7009 revocation of the latest refresh token, checked by a refresh with it.
    pub revoke: Option<Result<String, String>>,
    /// The MCP server accepted the refreshed (else the first) access token.
    pub mcp_accepts: Option<bool>,
    pub setup_error: Option<String>,
}

struct Setup {
    guard: Guard,
    token_endpoint: Url,
    auth_endpoint: Url,
    listed: Vec<String>,
    client_id: String,
    secret: Option<String>,
    method: String,
    redirect_uri: String,
    resource: String,
    scopes: Vec<String>,
    listener: Listener,
    revocation_endpoint: Option<Url>,
    revocation_listed: Vec<String>,
    issuer: String,
    iss_supported: bool,
}

async fn setup(
    mcp_url: &Url,
    variant: Variant,
    registration: Registration,
) -> Result<Setup, String> {
    let client = build_client(&Limits::oauth()).map_err(|e| e.to_string())?;
    let http = Http::over(client.clone());
    let disc = discover(&http, mcp_url).await.map_err(|e| e.to_string())?;
    let listener = Listener::bind(0).await.map_err(|e| e.to_string())?;
    let redirect_uri = listener.redirect_uri();
    let asm = &disc.auth_server;
    let listed = asm.token_endpoint_auth_methods_supported.clone();
    let mut req = DcrRequest::for_this_machine(vec![redirect_uri.clone()], &listed);
    if registration == Registration::Basic {
        if !listed.iter().any(|m| m == "client_secret_basic") {
            return Err("the AS does not list client_secret_basic".into());
        }
        req.token_endpoint_auth_method = "client_secret_basic".into();
    }
    let endpoint = asm
        .registration_endpoint
        .as_ref()
        .ok_or("no registration endpoint")?;
    let reg = register(&client, endpoint, &req)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Setup {
        guard: match variant {
            Variant::Plain => Guard::new(http),
            Variant::Adapted => Guard::new(http).with_loopback_https_as_http(),
        },
        token_endpoint: asm.token_endpoint.clone(),
        auth_endpoint: asm.authorization_endpoint.clone(),
        listed,
        client_id: reg.client_id,
        secret: reg.client_secret,
        method: reg.token_endpoint_auth_method,
        redirect_uri,
        resource: resource_param(&disc.resource.resource),
        scopes: choose_scopes(&disc, None),
        listener,
        revocation_endpoint: asm.revocation_endpoint.clone(),
        revocation_listed: lanyard_core::tokens::revoke::revocation_methods(asm).to_vec(),
        issuer: asm.issuer_str().to_owned(),
        iss_supported: asm.authorization_response_iss_parameter_supported,
    })
}

fn plain_client(
    s: &Setup,
    method: &str,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    String,
> {
    let mut c = BasicClient::new(ClientId::new(s.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(s.auth_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(s.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::new(s.redirect_uri.clone()).map_err(|e| e.to_string())?)
        .set_auth_type(adapter::auth_type(method));
    if let Some(secret) = &s.secret {
        c = c.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(c)
}

fn adapted_client(s: &Setup, method: &str) -> Result<ReadyClient, String> {
    let mut c = AdaptedClient::new(ClientId::new(s.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(s.auth_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(s.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::new(s.redirect_uri.clone()).map_err(|e| e.to_string())?)
        .set_auth_type(adapter::auth_type(method));
    if let Some(secret) = &s.secret {
        c = c.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(c)
}

/// The crate's error as the crate reports it (its variant and text; the HTTP status is not
/// part of it).
pub fn describe<RE: std::error::Error + 'static, TE: oauth2::ErrorResponse + 'static>(
    e: &RequestTokenError<RE, TE>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => format!("ServerResponse({r})"),
        RequestTokenError::Request(r) => format!("Request({r})"),
        RequestTokenError::Parse(p, _) => format!("Parse({p})"),
        RequestTokenError::Other(o) => format!("Other({o})"),
    }
}

fn summary<T: TokenResponse>(t: &T) -> String {
    format!(
        "expires_in {}, refresh token {}",
        t.expires_in()
            .map(|d| format!("{} s", d.as_secs()))
            .unwrap_or_else(|| "absent".into()),
        if t.refresh_token().is_some() {
            "yes"
        } else {
            "no"
        }
    )
}

/// Sign in with the crate (authorization URL, browser, callback), exchange, refresh.
pub async fn run(mcp_url: &Url, variant: Variant, registration: Registration) -> Outcome {
    let mut out = Outcome::default();
    let s = match setup(mcp_url, variant, registration).await {
        Ok(s) => s,
        Err(e) => {
            out.setup_error = Some(e);
            return out;
        }
    };
    out.method = s.method.clone();
    let code = match authorize(&s).await {
        Ok(c) => c,
        Err(e) => {
            out.setup_error = Some(format!("authorization: {e}"));
            return out;
        }
    };
    let (verifier, code) = code;
    let (access, refresh) = match variant {
        Variant::Plain => plain(&s, &verifier, &code, &mut out).await,
        Variant::Adapted => adapted(&s, &verifier, &code, &mut out).await,
    };
    if let Some(token) = access {
        out.mcp_accepts = Some(mcp_accepts(&s.guard, mcp_url, &token).await);
    }
    if let Some(rt) = refresh {
        out.revoke = Some(revoke(&s, variant, &rt).await);
    }
    out
}

async fn authorize(s: &Setup) -> Result<(String, String), String> {
    let client = plain_client(s, &s.method)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("resource", s.resource.clone());
    for sc in &s.scopes {
        req = req.add_scope(Scope::new(sc.clone()));
    }
    let (url, state) = req.url();
    lanyard_core::authorization::browser::open(url.as_str())?;
    let cb = s
        .listener
        .wait(
            state.secret(),
            &s.issuer,
            s.iss_supported,
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((verifier.secret().clone(), cb.code))
}

async fn plain(
    s: &Setup,
    verifier: &str,
    code: &str,
    out: &mut Outcome,
) -> (Option<String>, Option<String>) {
    let client = match plain_client(s, &s.method) {
        Ok(c) => c,
        Err(e) => {
            out.exchange = Some(Err(e));
            return (None, None);
        }
    };
    let first = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .add_extra_param("resource", s.resource.clone())
        .request_async(&s.guard)
        .await;
    let t = match first {
        Ok(t) => t,
        Err(e) => {
            out.exchange = Some(Err(describe(&e)));
            return (None, None);
        }
    };
    out.exchange = Some(Ok(summary(&t)));
    let Some(rt) = t.refresh_token().cloned() else {
        out.refresh = Some(Err("no refresh token issued".into()));
        return (Some(t.access_token().secret().clone()), None);
    };
    let second = client
        .exchange_refresh_token(&rt)
        .add_extra_param("resource", s.resource.clone())
        .request_async(&s.guard)
        .await;
    match second {
        Ok(n) => {
            out.refresh = Some(Ok(summary(&n)));
            (
                Some(n.access_token().secret().clone()),
                n.refresh_token().map(|r| r.secret().clone()),
            )
        }
        Err(e) => {
            out.refresh = Some(Err(describe(&e)));
            (Some(t.access_token().secret().clone()), None)
        }
    }
}

async fn adapted(
    s: &Setup,
    verifier: &str,
    code: &str,
    out: &mut Outcome,
) -> (Option<String>, Option<String>) {
    let has_secret = s.secret.is_some();
    let (first, method) = adapter::with_fallback(&s.method, &s.listed, |m| async move {
        let client = adapted_client(s, m).map_err(adapter::Refusal::BadResponse)?;
        adapter::token_request(&client, has_secret, &s.guard, |id_in_form| {
            let mut req = client
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
                .add_extra_param("resource", s.resource.clone());
            if let Some((k, v)) = id_in_form {
                req = req.add_extra_param(k, v);
            }
            req.request_async(&s.guard)
        })
        .await
    })
    .await;
    out.method = method.clone();
    let t = match first {
        Ok(t) => t,
        Err(e) => {
            out.exchange = Some(Err(e.to_string()));
            return (None, None);
        }
    };
    out.exchange = Some(Ok(summary(&t)));
    let Some(rt) = t.refresh_token().map(|r| r.secret().clone()) else {
        out.refresh = Some(Err("no refresh token issued".into()));
        return (Some(t.access_token().secret().clone()), None);
    };
    let method = method.split(' ').next().unwrap_or("none").to_owned();
    let rt_ = RefreshToken::new(rt.clone());
    let second = adapter::with_fallback(&method, &s.listed, |m| {
        let rt_ = &rt_;
        async move {
            let client = adapted_client(s, m).map_err(adapter::Refusal::BadResponse)?;
            adapter::token_request(&client, has_secret, &s.guard, |id_in_form| {
                let mut req = client
                    .exchange_refresh_token(rt_)
                    .add_extra_param("resource", s.resource.clone());
                if let Some((k, v)) = id_in_form {
                    req = req.add_extra_param(k, v);
                }
                req.request_async(&s.guard)
            })
            .await
        }
    })
    .await
    .0;
    match second {
        Ok(n) => {
            out.refresh = Some(Ok(summary(&n)));
            let kept = adapter::keep_refresh_token(&n, &rt);
            (Some(n.access_token().secret().clone()), Some(kept))
        }
        Err(e) => {
            out.refresh = Some(Err(e.to_string()));
            (Some(t.access_token().secret().clone()), None)
        }
    }
}

/// Revoke `rt` with the crate (as documented, or with the adapter's fallback), then prove it
/// with a refresh that must now be refused.
async fn revoke(s: &Setup, variant: Variant, rt: &str) -> Result<String, String> {
    let ep = s
        .revocation_endpoint
        .clone()
        .ok_or("no revocation endpoint")?;
    let token = || StandardRevocableToken::RefreshToken(RefreshToken::new(rt.to_owned()));
    let mut method = s.method.clone();
    match variant {
        Variant::Plain => {
            let c = plain_client(s, &s.method)?.set_revocation_url(RevocationUrl::from_url(ep));
            c.revoke_token(token())
                .map_err(|e| e.to_string())?
                .request_async(&s.guard)
                .await
                .map_err(|e| describe(&e))?;
        }
        Variant::Adapted => {
            let mut ep = ep;
            if lanyard_core::http::is_loopback(&ep) {
                let _ = ep.set_scheme("https");
            }
            let has_secret = s.secret.is_some();
            let (r, used) = adapter::with_fallback(&s.method, &s.revocation_listed, |m| {
                let ep = ep.clone();
                async move {
                    let c = adapted_client(s, m)
                        .map_err(adapter::Refusal::BadResponse)?
                        .set_revocation_url(RevocationUrl::from_url(ep));
                    let mut req = c
                        .revoke_token(token())
                        .map_err(|e| adapter::Refusal::BadResponse(e.to_string()))?;
                    if matches!(c.auth_type(), oauth2::AuthType::BasicAuth) && has_secret {
                        req = req.add_extra_param("client_id", s.client_id.clone());
                    }
                    req.request_async(&s.guard)
                        .await
                        .map_err(|e| adapter::classify_revocation(e, s.guard.last_status()))
                }
            })
            .await;
            r.map_err(|e| format!("{e} (tried {used})"))?;
            method = used;
        }
    }
    let again = plain_client(s, &method)?
        .exchange_refresh_token(&RefreshToken::new(rt.to_owned()))
        .request_async(&s.guard)
        .await;
    match again {
        Err(RequestTokenError::ServerResponse(r))
            if *r.error() == oauth2::basic::BasicErrorResponseType::InvalidGrant =>
        {
            Ok(format!("{method}; then refused: invalid_grant"))
        }
        Err(e) => Ok(format!("{method}; then refused: {}", describe(&e))),
        Ok(_) => Err("answered 200 but the refresh token still works".into()),
    }
}

/// Whether the MCP server takes `token`: an `initialize` that is not answered 401/403.
async fn mcp_accepts(guard: &Guard, mcp_url: &Url, token: &str) -> bool {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "oauth2-compare", "version": "0"}}
    });
    let req = Request::new(Method::POST, mcp_url.clone())
        .bearer(token)
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .discard_body();
    match guard.http().send(req).await {
        Ok(r) => !matches!(r.status, 401 | 403),
        Err(_) => false,
    }
}
