//! TEMPORARY: a minimal discovery chain so the rest of the flow can run end to end until
//! `discovery::discover` (the discovery engineer's, with the guarded HTTP client, full RFC 9110
//! challenge parsing and every validation rule) lands. Only `discover_step` in `flow/mod.rs`
//! calls this; delete the file when switching over.

use std::time::Instant;

use url::Url;

use crate::discovery::{
    AuthServerMetadata, BearerChallenge, Discovery, ProbeStep, ResourceMetadata,
};
use crate::error::UserFacing;
use crate::net;

#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct StopgapDiscoveryError {
    what: String,
    next: String,
}

impl UserFacing for StopgapDiscoveryError {
    fn next_step(&self) -> String {
        self.next.clone()
    }
}

fn fail(what: impl Into<String>, next: &str) -> StopgapDiscoveryError {
    StopgapDiscoveryError {
        what: what.into(),
        next: next.into(),
    }
}

const ADMIN: &str = "Show `lanyard probe URL` to the server's admin.";

async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    steps: &mut Vec<ProbeStep>,
    step: &str,
) -> Option<serde_json::Value> {
    let t = Instant::now();
    let resp = http
        .get(url.clone())
        .header("Accept", "application/json")
        .send()
        .await;
    let (status, body) = match resp {
        Ok(r) => {
            let s = r.status().as_u16();
            (Some(s), net::read_capped(r, 1024 * 1024).await.ok())
        }
        Err(_) => (None, None),
    };
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let v = if ok {
        body.and_then(|b| serde_json::from_slice(&b).ok())
    } else {
        None
    };
    steps.push(ProbeStep {
        step: step.into(),
        method: "GET".into(),
        url: url.to_string(),
        status,
        millis: t.elapsed().as_millis() as u64,
        outcome: if v.is_some() {
            "found".into()
        } else {
            "not usable".into()
        },
        ok: v.is_some(),
    });
    v
}

fn strs(v: &serde_json::Value, k: &str) -> Option<Vec<String>> {
    v.get(k)?.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    })
}

fn url_of(v: &serde_json::Value, k: &str) -> Option<Url> {
    v.get(k)?.as_str().and_then(|s| Url::parse(s).ok())
}

pub async fn discover(
    http: &reqwest::Client,
    server_url: &Url,
) -> Result<Discovery, StopgapDiscoveryError> {
    let mut steps = Vec::new();
    // 1. Unauthenticated request → challenge.
    let body = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"lanyard","version":env!("CARGO_PKG_VERSION")}}});
    let t = Instant::now();
    let resp = http
        .post(server_url.clone())
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            fail(
                format!("could not reach {server_url}: {}", net::describe(&e)),
                "Check the URL and your network.",
            )
        })?;
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    steps.push(ProbeStep {
        step: "challenge".into(),
        method: "POST".into(),
        url: server_url.to_string(),
        status: Some(status),
        millis: t.elapsed().as_millis() as u64,
        outcome: www.clone(),
        ok: status == 401,
    });
    let challenge = (!www.is_empty()).then(|| BearerChallenge {
        realm: crate::mcp::client_auth_param(&www, "realm"),
        resource_metadata: crate::mcp::client_auth_param(&www, "resource_metadata"),
        scope: crate::mcp::client_auth_param(&www, "scope"),
        error: crate::mcp::client_auth_param(&www, "error"),
        error_description: crate::mcp::client_auth_param(&www, "error_description"),
    });

    // 2. PRM.
    let mut candidates = Vec::new();
    if let Some(u) = challenge
        .as_ref()
        .and_then(|c| c.resource_metadata.as_ref())
        .and_then(|u| Url::parse(u).ok())
    {
        candidates.push(u);
    }
    let path = server_url.path().trim_end_matches('/');
    let mut origin = server_url.clone();
    origin.set_query(None);
    origin.set_fragment(None);
    if !path.is_empty() {
        let mut u = origin.clone();
        u.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
        candidates.push(u);
    }
    let mut u = origin.clone();
    u.set_path("/.well-known/oauth-protected-resource");
    candidates.push(u);
    let mut prm = None;
    for c in candidates {
        if let Some(v) = get_json(http, &c, &mut steps, "resource metadata").await {
            prm = Some((v, c));
            break;
        }
    }
    let (prm, prm_url) = prm.ok_or_else(|| {
        fail(
            format!("{server_url} publishes no Protected Resource Metadata (RFC 9728)"),
            ADMIN,
        )
    })?;
    let resource = url_of(&prm, "resource").ok_or_else(|| {
        fail(
            "the Protected Resource Metadata has no valid `resource`",
            ADMIN,
        )
    })?;
    let norm = |u: &Url| u.as_str().trim_end_matches('/').to_owned();
    if norm(&resource) != norm(server_url) {
        return Err(fail(
            format!(
                "the Protected Resource Metadata's resource {resource} does not match {server_url} (RFC 9728 §3.3)"
            ),
            ADMIN,
        ));
    }
    let servers: Vec<Url> = strs(&prm, "authorization_servers")
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Url::parse(s).ok())
        .collect();
    let issuer = servers.first().cloned().ok_or_else(|| {
        fail(
            "the Protected Resource Metadata names no authorization server",
            ADMIN,
        )
    })?;

    // 3. AS metadata.
    let ipath = issuer.path().trim_end_matches('/').to_owned();
    let mut cands = Vec::new();
    for (wk, insert) in [
        ("oauth-authorization-server", true),
        ("openid-configuration", true),
        ("openid-configuration", false),
    ] {
        let mut u = issuer.clone();
        if insert {
            u.set_path(&format!("/.well-known/{wk}{ipath}"));
        } else {
            if ipath.is_empty() {
                continue;
            }
            u.set_path(&format!("{ipath}/.well-known/{wk}"));
        }
        if !cands.contains(&u) {
            cands.push(u);
        }
    }
    let mut found = None;
    for c in cands {
        if let Some(v) = get_json(http, &c, &mut steps, "authorization server").await {
            found = Some((v, c));
            break;
        }
    }
    let (m, murl) = found.ok_or_else(|| {
        fail(
            format!("no authorization server metadata found for {issuer}"),
            ADMIN,
        )
    })?;
    let got_issuer = m.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
    if got_issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(fail(
            format!(
                "the authorization server metadata says issuer \"{got_issuer}\", not {issuer} (RFC 8414 §3.3)"
            ),
            ADMIN,
        ));
    }
    let pkce = strs(&m, "code_challenge_methods_supported").unwrap_or_default();
    if !pkce.iter().any(|p| p == "S256") {
        return Err(fail(
            format!("the authorization server {issuer} does not support PKCE S256"),
            "Ask your admin to enable PKCE S256; Lanyard refuses to sign in without it.",
        ));
    }
    let auth_server = AuthServerMetadata {
        issuer: Url::parse(got_issuer).map_err(|_| fail("bad issuer", ADMIN))?,
        authorization_endpoint: url_of(&m, "authorization_endpoint")
            .ok_or_else(|| fail("no authorization_endpoint", ADMIN))?,
        token_endpoint: url_of(&m, "token_endpoint")
            .ok_or_else(|| fail("no token_endpoint", ADMIN))?,
        registration_endpoint: url_of(&m, "registration_endpoint"),
        revocation_endpoint: url_of(&m, "revocation_endpoint"),
        scopes_supported: strs(&m, "scopes_supported"),
        response_types_supported: strs(&m, "response_types_supported").unwrap_or_default(),
        grant_types_supported: strs(&m, "grant_types_supported"),
        code_challenge_methods_supported: pkce,
        token_endpoint_auth_methods_supported: strs(&m, "token_endpoint_auth_methods_supported")
            .unwrap_or_else(|| vec!["client_secret_basic".into()]),
        revocation_endpoint_auth_methods_supported: strs(
            &m,
            "revocation_endpoint_auth_methods_supported",
        ),
        client_id_metadata_document_supported: m
            .get("client_id_metadata_document_supported")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        authorization_response_iss_parameter_supported: m
            .get("authorization_response_iss_parameter_supported")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        metadata_url: murl,
    };
    Ok(Discovery {
        server_url: server_url.clone(),
        challenge,
        resource: ResourceMetadata {
            resource,
            authorization_servers: servers,
            scopes_supported: strs(&prm, "scopes_supported"),
            bearer_methods_supported: strs(&prm, "bearer_methods_supported"),
            resource_name: prm
                .get("resource_name")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            metadata_url: prm_url,
        },
        auth_server,
        steps,
    })
}
