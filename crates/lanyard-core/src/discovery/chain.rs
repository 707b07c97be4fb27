//! The discovery chain itself, recording every request as a [`ProbeStep`].

use std::time::Instant;

use url::Url;

use super::resource_metadata::ValidatedResource;
use super::{
    AuthServerMetadata, BearerChallenge, Discovery, DiscoveryError, DiscoveryFailure,
    DiscoveryMode, ProbeStep, Recorder, ResourceMetadata, auth_server, resource_metadata,
};
use crate::http::{Http, HttpResponse, Method, Request};

/// Run the whole chain for `server_url`: unauthenticated request → challenge → Protected
/// Resource Metadata → authorization server metadata (with the MCP 2025-03-26 back-compat
/// when the server publishes no PRM).
pub async fn discover(http: &Http, server_url: &Url) -> Result<Discovery, DiscoveryError> {
    discover_with_mode(http, server_url).await.map(|(d, _)| d)
}

/// [`discover`], also telling which way the authorization server was found.
pub async fn discover_with_mode(
    http: &Http,
    server_url: &Url,
) -> Result<(Discovery, DiscoveryMode), DiscoveryError> {
    let mut rec = Recorder::default();
    let server_url = normalise_server_url(server_url);
    let first = unauthenticated_request(http, &server_url, &mut rec).await?;
    chain(http, &server_url, first, rec).await
}

/// Continue the chain from a challenge already received (e.g. a 401 in the middle of an MCP
/// session, after which the PRM may name another authorization server). Makes no
/// unauthenticated request of its own.
pub async fn discover_after_challenge(
    http: &Http,
    server_url: &Url,
    challenge: Option<BearerChallenge>,
) -> Result<Discovery, DiscoveryError> {
    let server_url = normalise_server_url(server_url);
    let first = First {
        status: 401,
        challenge,
    };
    chain(http, &server_url, first, Recorder::default())
        .await
        .map(|(d, _)| d)
}

/// The URL the user gave, with the fragment dropped (scheme/host case and default port are
/// already normalised by the URL parser).
pub fn normalise_server_url(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    u
}

struct First {
    status: u16,
    challenge: Option<BearerChallenge>,
}

async fn unauthenticated_request(
    http: &Http,
    server_url: &Url,
    rec: &mut Recorder,
) -> Result<First, DiscoveryError> {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "lanyard", "version": env!("CARGO_PKG_VERSION")}}
    });
    // Like every MCP POST, it names its method (SEP-2243). Discovery comes before `mcp` in the
    // module order and does not depend on it, so the header is written here.
    let req = Request::new(Method::POST, server_url.clone())
        .header("Accept", "application/json, text/event-stream")
        .header("Mcp-Method", "initialize")
        .json(&body)
        .discard_body();
    let t = Instant::now();
    match http.send(req).await {
        Err(e) => {
            rec.push(
                "challenge",
                "POST",
                server_url,
                None,
                ms(t),
                false,
                e.to_string(),
            );
            Err(std::mem::take(rec).fail(e))
        }
        Ok(r) => {
            let headers = r.header_all_lossy("www-authenticate");
            let challenge = BearerChallenge::from_headers(&headers);
            let (ok, outcome) = match (&challenge, r.status) {
                (Some(c), 401) => (true, describe_challenge(c)),
                (None, 401) if headers.is_empty() => (
                    true,
                    "401 without WWW-Authenticate: will look for metadata at the well-known URLs".to_owned(),
                ),
                (None, 401) => (
                    true,
                    format!("401 without a Bearer challenge (got {:?}): will look for metadata at the well-known URLs", headers.join(", ")),
                ),
                (_, s) if (200..300).contains(&s) => (
                    true,
                    "answered without a token: will still look for metadata (some servers protect only some methods)".to_owned(),
                ),
                (_, s) => (
                    false,
                    format!("expected 401 with a Bearer challenge, got {s}"),
                ),
            };
            rec.answered("challenge", "POST", server_url, &r, ok, outcome);
            Ok(First {
                status: r.status,
                challenge,
            })
        }
    }
}

fn describe_challenge(c: &BearerChallenge) -> String {
    let mut parts = vec!["Bearer challenge".to_owned()];
    if let Some(v) = &c.resource_metadata {
        parts.push(format!("resource_metadata={v}"));
    }
    if let Some(v) = &c.scope {
        parts.push(format!("scope=\"{v}\""));
    }
    if let Some(v) = &c.error {
        parts.push(format!("error={v}"));
    }
    if let Some(v) = &c.realm {
        parts.push(format!("realm=\"{v}\""));
    }
    parts.join(", ")
}

pub(crate) fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// What one metadata candidate gave.
enum Fetched {
    Doc(serde_json::Value, Box<HttpResponse>),
    /// Any non-2xx status: try the next candidate.
    Absent,
    /// Fetched but unusable (transport, size, content type, JSON): remembered, next candidate.
    Broken(DiscoveryFailure),
}

async fn fetch_doc(http: &Http, rec: &mut Recorder, step: &str, url: &Url, why: &str) -> Fetched {
    let t = Instant::now();
    if let Err(e) = crate::http::check_url(url) {
        rec.push(
            step,
            "GET",
            url,
            None,
            0,
            false,
            format!("not fetched ({why}): {e}"),
        );
        return Fetched::Broken(e.into());
    }
    match http.get_json(url).await {
        Err(e) => {
            rec.push(step, "GET", url, None, ms(t), false, format!("{why}: {e}"));
            Fetched::Broken(e.into())
        }
        Ok(r) if !r.is_success() => {
            rec.answered(step, "GET", url, &r, false, format!("{why}: not there"));
            Fetched::Absent
        }
        Ok(r) => match r.json_value() {
            Ok(v) => Fetched::Doc(v, Box::new(r)),
            Err(e) => {
                rec.answered(step, "GET", url, &r, false, format!("{why}: {e}"));
                Fetched::Broken(e.into())
            }
        },
    }
}

async fn chain(
    http: &Http,
    server_url: &Url,
    first: First,
    mut rec: Recorder,
) -> Result<(Discovery, DiscoveryMode), DiscoveryError> {
    // Step 2: Protected Resource Metadata.
    let mut broken: Option<DiscoveryFailure> = None;
    let mut prm: Option<ValidatedResource> = None;
    for (url, why) in resource_metadata::candidates(server_url, first.challenge.as_ref()) {
        match fetch_doc(http, &mut rec, "resource metadata", &url, why).await {
            Fetched::Doc(doc, r) => match resource_metadata::validate(&r.url, &doc, server_url) {
                Ok(v) => {
                    let m = &v.metadata;
                    let mut outcome = format!(
                        "{why}: resource {}, authorization servers {}",
                        m.resource,
                        v.authorization_servers_raw.join(", ")
                    );
                    if let Some(s) = m.scopes_supported.as_ref().filter(|s| !s.is_empty()) {
                        outcome.push_str(&format!(", scopes {}", s.join(" ")));
                    }
                    rec.answered("resource metadata", "GET", &url, &r, true, outcome);
                    prm = Some(v);
                    break;
                }
                Err(f) => {
                    rec.answered("resource metadata", "GET", &url, &r, false, f.to_string());
                    return Err(rec.fail(f));
                }
            },
            Fetched::Absent => {}
            Fetched::Broken(f) => {
                broken.get_or_insert(f);
            }
        }
    }

    let Some(prm) = prm else {
        if let Some(f) = broken {
            return Err(rec.fail(f));
        }
        return match first.status {
            401 => legacy(http, server_url, first.challenge, rec).await,
            s if (200..300).contains(&s) => Err(rec.fail(DiscoveryFailure::NotProtected {
                server_url: server_url.to_string(),
            })),
            s => Err(rec.fail(DiscoveryFailure::UnexpectedStatus {
                server_url: server_url.to_string(),
                status: s,
            })),
        };
    };

    // Step 3: authorization server metadata for the first authorization server.
    let issuer_raw = prm.authorization_servers_raw[0].clone();
    let issuer_url = prm.metadata.authorization_servers[0].clone();
    let auth_server = find_auth_server(http, &mut rec, &issuer_url, &issuer_raw, None).await;
    let auth_server = match auth_server {
        Ok(Some(m)) => m,
        Ok(None) => {
            let tried = auth_server::candidates(&issuer_url)
                .into_iter()
                .map(|u| u.to_string())
                .collect();
            return Err(rec.fail(DiscoveryFailure::NoAuthServerMetadata {
                issuer: issuer_raw,
                tried,
            }));
        }
        Err(f) => return Err(rec.fail(f)),
    };
    Ok((
        Discovery {
            server_url: server_url.clone(),
            challenge: first.challenge,
            resource: prm.metadata,
            auth_server,
            steps: rec.steps,
        },
        DiscoveryMode::ResourceMetadata,
    ))
}

/// Try the issuer's metadata URLs in order. `Ok(None)`: none answered.
async fn find_auth_server(
    http: &Http,
    rec: &mut Recorder,
    issuer_url: &Url,
    issuer_raw: &str,
    legacy_server: Option<&Url>,
) -> Result<Option<AuthServerMetadata>, DiscoveryFailure> {
    let mut broken: Option<DiscoveryFailure> = None;
    let cands = if legacy_server.is_none() {
        auth_server::candidates(issuer_url)
    } else {
        // Back-compat: RFC 8414 at the origin only.
        auth_server::candidates(issuer_url)
            .into_iter()
            .take(1)
            .collect()
    };
    for url in cands {
        let why = if url.path().contains("openid-configuration") {
            "OpenID Connect discovery"
        } else {
            "RFC 8414 metadata"
        };
        match fetch_doc(http, rec, "authorization server", &url, why).await {
            Fetched::Doc(doc, r) => {
                let checked = match legacy_server {
                    Some(server_url) => auth_server::validate_legacy(&r.url, &doc, server_url),
                    None => auth_server::validate(&r.url, &doc, issuer_raw, &[]),
                };
                return match checked {
                    Ok(m) => {
                        rec.answered(
                            "authorization server",
                            "GET",
                            &url,
                            &r,
                            true,
                            describe_as(&m),
                        );
                        Ok(Some(m))
                    }
                    Err(f) => {
                        rec.answered(
                            "authorization server",
                            "GET",
                            &url,
                            &r,
                            false,
                            f.to_string(),
                        );
                        Err(f)
                    }
                };
            }
            Fetched::Absent => {}
            Fetched::Broken(f) => {
                broken.get_or_insert(f);
            }
        }
    }
    match broken {
        Some(f) => Err(f),
        None => Ok(None),
    }
}

fn describe_as(m: &AuthServerMetadata) -> String {
    let pkce = if m.code_challenge_methods_supported.is_empty() {
        "none listed".to_owned()
    } else {
        m.code_challenge_methods_supported.join("/")
    };
    let mut s = format!(
        "issuer {}, PKCE {pkce}, token auth {}",
        m.issuer,
        m.token_endpoint_auth_methods_supported.join("/")
    );
    let mut reg = Vec::new();
    if m.client_id_metadata_document_supported {
        reg.push("CIMD".to_owned());
    }
    if m.registration_endpoint.is_some() {
        reg.push("DCR".to_owned());
    }
    if reg.is_empty() {
        s.push_str(", registration: pre-registered client ids only");
    } else {
        s.push_str(&format!(", registration: {}", reg.join(" + ")));
    }
    s
}

/// MCP 2025-03-26: no PRM, so the server's origin is the authorization server.
async fn legacy(
    http: &Http,
    server_url: &Url,
    challenge: Option<BearerChallenge>,
    mut rec: Recorder,
) -> Result<(Discovery, DiscoveryMode), DiscoveryError> {
    let mut origin = server_url.clone();
    origin.set_path("/");
    origin.set_query(None);
    let origin_str = server_url.origin().ascii_serialization();
    let found = find_auth_server(http, &mut rec, &origin, &origin_str, Some(server_url)).await;
    let (auth_server, mode) = match found {
        Ok(Some(m)) => (m, DiscoveryMode::LegacyOriginMetadata),
        Ok(None) => {
            let m = auth_server::legacy_default_endpoints(server_url);
            rec.steps.push(ProbeStep {
                step: "authorization server".into(),
                method: "-".into(),
                url: origin.to_string(),
                status: None,
                millis: 0,
                outcome: format!(
                    "no metadata: MCP 2025-03-26 fallback to the default endpoints {}, {}, {}",
                    m.authorization_endpoint
                        .as_ref()
                        .map(Url::as_str)
                        .unwrap_or("-"),
                    m.token_endpoint,
                    m.registration_endpoint
                        .as_ref()
                        .map(Url::as_str)
                        .unwrap_or("-")
                ),
                ok: true,
            });
            (m, DiscoveryMode::LegacyDefaultEndpoints)
        }
        Err(f) => return Err(rec.fail(f)),
    };
    let mut prm_url = origin.clone();
    prm_url.set_path("/.well-known/oauth-protected-resource");
    let resource = ResourceMetadata {
        resource: server_url.clone(),
        authorization_servers: vec![auth_server.issuer.clone()],
        scopes_supported: None,
        bearer_methods_supported: None,
        resource_name: None,
        dpop_bound_access_tokens_required: false,
        dpop_signing_alg_values_supported: Vec::new(),
        metadata_url: prm_url,
    };
    Ok((
        Discovery {
            server_url: server_url.clone(),
            challenge,
            resource,
            auth_server,
            steps: rec.steps,
        },
        mode,
    ))
}
