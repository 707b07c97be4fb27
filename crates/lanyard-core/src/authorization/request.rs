//! The authorization request URL and the choice of scopes.

use url::Url;

use crate::discovery::{CodeFlow, Discovery};

/// Everything that goes into the authorization URL.
#[derive(Debug, Clone)]
pub struct AuthRequest<'a> {
    /// The checked code flow (PKCE S256) at the authorization server.
    pub flow: CodeFlow<'a>,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub state: &'a str,
    /// Empty → the `scope` parameter is omitted.
    pub scopes: &'a [String],
    /// RFC 8707 resource; `None` with `--no-resource`.
    pub resource: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub extra: &'a [(String, String)],
}

impl AuthRequest<'_> {
    /// The URL to open in the browser. Parameters already in the endpoint's query are kept.
    pub fn url(&self) -> Url {
        let mut url = self.flow.authorization_endpoint().clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", self.client_id);
            q.append_pair("redirect_uri", self.redirect_uri);
            q.append_pair("code_challenge", self.code_challenge);
            q.append_pair("code_challenge_method", "S256");
            q.append_pair("state", self.state);
            if !self.scopes.is_empty() {
                q.append_pair("scope", &self.scopes.join(" "));
            }
            if let Some(r) = self.resource {
                q.append_pair("resource", r);
            }
            if let Some(a) = self.audience {
                q.append_pair("audience", a);
            }
            for (k, v) in self.extra {
                q.append_pair(k, v);
            }
        }
        url
    }
}

/// Scopes to request: the user's `--scope` when given, else the challenge's `scope`, else PRM
/// `scopes_supported`, else none; plus `offline_access` when the AS lists it (a refresh token
/// is what lets Lanyard keep the server connected), never when it does not.
pub fn choose_scopes(discovery: &Discovery, user: Option<&[String]>) -> Vec<String> {
    let mut scopes: Vec<String> = match user {
        Some(u) if !u.is_empty() => u.to_vec(),
        _ => discovery.scopes_to_request(),
    };
    let as_lists_offline = discovery
        .auth_server
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "offline_access"));
    if as_lists_offline && !scopes.iter().any(|s| s == "offline_access") && !scopes.is_empty() {
        scopes.push("offline_access".into());
    }
    if !as_lists_offline {
        scopes.retain(|s| s != "offline_access" || user.is_some_and(|u| u.contains(s)));
    }
    let mut seen = std::collections::HashSet::new();
    scopes.retain(|s| seen.insert(s.clone()));
    scopes
}

/// The RFC 8707 `resource` value for a resource identifier. `Url` spells a pathless URL with a
/// trailing `/` (`https://mcp.example.com/`), but PRM documents and authorization servers use
/// the form without it (the MCP spec's canonical server URI), and the value must be sent as
/// published: a lone `/` path is dropped.
pub fn resource_param(resource: &Url) -> String {
    let s = resource.as_str();
    if resource.path() == "/" && resource.query().is_none() && resource.fragment().is_none() {
        s.trim_end_matches('/').to_owned()
    } else {
        s.to_owned()
    }
}

/// The union of two scope lists, order kept (step-up re-authorization).
pub fn union_scopes(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Step-up: the current scopes plus those a 403 `insufficient_scope` challenge asks for
/// (its `scope` parameter, space-separated; none when absent).
pub fn step_up_scopes(current: &[String], challenge_scope: Option<&str>) -> Vec<String> {
    let wanted: Vec<String> = challenge_scope
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    union_scopes(current, &wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{AuthServerMetadata, BearerChallenge, ResourceMetadata};

    fn disc(
        challenge_scope: Option<&str>,
        prm: Option<&[&str]>,
        as_scopes: Option<&[&str]>,
    ) -> Discovery {
        let u = |s: &str| Url::parse(s).unwrap();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Discovery {
            server_url: u("http://127.0.0.1:2/mcp"),
            challenge: Some(BearerChallenge {
                scope: challenge_scope.map(str::to_owned),
                ..Default::default()
            }),
            resource: ResourceMetadata {
                resource: u("http://127.0.0.1:2/mcp"),
                authorization_servers: vec![u("http://127.0.0.1:1/")],
                scopes_supported: prm.map(v),
                bearer_methods_supported: None,
                resource_name: None,
                dpop_bound_access_tokens_required: false,
                dpop_signing_alg_values_supported: Vec::new(),
                metadata_url: u("http://127.0.0.1:2/.well-known/oauth-protected-resource"),
            },
            auth_server: AuthServerMetadata {
                authorization_endpoint: Some(u("http://127.0.0.1:1/auth?tenant=x")),
                scopes_supported: as_scopes.map(v),
                ..crate::discovery::auth_server::test_metadata("http://127.0.0.1:1")
            },
            steps: vec![],
        }
    }

    #[test]
    fn scope_order_challenge_then_prm_then_none() {
        assert_eq!(
            choose_scopes(&disc(Some("a b"), Some(&["c"]), None), None),
            ["a", "b"]
        );
        assert_eq!(choose_scopes(&disc(None, Some(&["c"]), None), None), ["c"]);
        assert!(choose_scopes(&disc(None, None, Some(&["offline_access"])), None).is_empty());
        assert_eq!(
            choose_scopes(&disc(Some("a"), None, Some(&["a", "offline_access"])), None),
            ["a", "offline_access"]
        );
        // PRM lists offline_access but the AS does not: dropped.
        assert_eq!(
            choose_scopes(
                &disc(None, Some(&["c", "offline_access"]), Some(&["c"])),
                None
            ),
            ["c"]
        );
        let user = vec!["x".to_string()];
        assert_eq!(
            choose_scopes(&disc(Some("a"), None, None), Some(&user)),
            ["x"]
        );
    }

    #[test]
    fn url_has_pkce_state_resource_and_keeps_endpoint_query() {
        let d = disc(None, None, None);
        let scopes = vec!["a".to_string(), "b".to_string()];
        let extra = vec![("prompt".to_string(), "consent".to_string())];
        let req = AuthRequest {
            flow: d.auth_server.require_code_flow().unwrap(),
            client_id: "cid",
            redirect_uri: "http://127.0.0.1:5/callback",
            code_challenge: "ch",
            state: "st",
            scopes: &scopes,
            resource: Some("http://127.0.0.1:2/mcp"),
            audience: None,
            extra: &extra,
        };
        let url = req.url();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "x");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["scope"], "a b");
        assert_eq!(q["resource"], "http://127.0.0.1:2/mcp");
        assert_eq!(q["prompt"], "consent");
        let none: Vec<String> = vec![];
        let url = AuthRequest {
            scopes: &none,
            resource: None,
            ..req
        }
        .url();
        assert!(!url.query().unwrap().contains("scope="));
        assert!(!url.query().unwrap().contains("resource="));
    }

    #[test]
    fn resource_param_drops_a_lone_slash_only() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            resource_param(&u("http://localhost:3000")),
            "http://localhost:3000"
        );
        assert_eq!(
            resource_param(&u("http://localhost:3000/mcp")),
            "http://localhost:3000/mcp"
        );
        assert_eq!(
            resource_param(&u("http://localhost:3000/mcp/")),
            "http://localhost:3000/mcp/"
        );
    }

    #[test]
    fn union_keeps_order_and_dedups() {
        let a = vec!["x".to_string(), "y".to_string()];
        let b = vec!["y".to_string(), "z".to_string()];
        assert_eq!(union_scopes(&a, &b), ["x", "y", "z"]);
    }
}
