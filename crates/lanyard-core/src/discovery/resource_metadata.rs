//! RFC 9728 Protected Resource Metadata: where to find it and what makes it valid.

use serde::{Deserialize, Serialize};
use url::Url;

/// A validated PRM document: `resource` already matched the server URL (RFC 9728 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    pub resource: Url,
    /// Never empty after validation.
    pub authorization_servers: Vec<Url>,
    pub scopes_supported: Option<Vec<String>>,
    pub bearer_methods_supported: Option<Vec<String>>,
    pub resource_name: Option<String>,
    /// RFC 9728 §2: the resource takes only DPoP-bound access tokens (RFC 9449).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens_required: bool,
    /// RFC 9728 §2: the JWS algorithms the resource takes in DPoP proofs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Where this document was read from.
    pub metadata_url: Url,
}

use super::fields::{Fields, parse_url};
use super::{BearerChallenge, DiscoveryFailure};
use crate::http::check_url;

const DOC: &str = "Protected Resource Metadata";

/// Where to look for the PRM of `server_url`, in the MCP spec's order, each with why:
/// the challenge's `resource_metadata`, else the path-aware well-known
/// (`/.well-known/oauth-protected-resource/<path>`), then the root one.
pub fn candidates(
    server_url: &Url,
    challenge: Option<&BearerChallenge>,
) -> Vec<(Url, &'static str)> {
    let mut out: Vec<(Url, &'static str)> = Vec::new();
    if let Some(u) = challenge
        .and_then(|c| c.resource_metadata.as_deref())
        .and_then(|s| Url::parse(s.trim()).ok())
    {
        out.push((u, "named by the WWW-Authenticate challenge"));
    }
    let mut origin = server_url.clone();
    origin.set_query(None);
    origin.set_fragment(None);
    let path = server_url.path().trim_end_matches('/');
    if !path.is_empty() {
        let mut u = origin.clone();
        u.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
        out.push((u, "path-aware well-known URL (RFC 9728 §3.1)"));
    }
    let mut u = origin;
    u.set_path("/.well-known/oauth-protected-resource");
    out.push((u, "root well-known URL (RFC 9728 §3.1)"));
    let mut seen = Vec::new();
    out.retain(|(u, _)| {
        let fresh = !seen.contains(u);
        seen.push(u.clone());
        fresh
    });
    out
}

/// RFC 9728 §3.3, read the way MCP clients do: same origin (scheme, host and port after
/// normalisation: case, default port), and the server URL's path equals the resource's path
/// or lies below it (segment-wise; a trailing slash does not matter). A resource with a query
/// must match the query exactly; a resource with a fragment never matches.
pub fn resource_matches(resource: &Url, server_url: &Url) -> bool {
    if resource.fragment().is_some() || resource.origin() != server_url.origin() {
        return false;
    }
    if resource.query().is_some() && resource.query() != server_url.query() {
        return false;
    }
    let r = resource.path().trim_end_matches('/');
    let s = server_url.path().trim_end_matches('/');
    s == r || (s.starts_with(r) && s.as_bytes().get(r.len()) == Some(&b'/'))
}

/// A checked PRM plus the `authorization_servers` exactly as spelt in the document (issuer
/// identifiers are compared as strings, never after URL normalisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedResource {
    pub metadata: ResourceMetadata,
    pub authorization_servers_raw: Vec<String>,
}

/// Validate a PRM document fetched from `doc_url` for `server_url`.
pub fn validate(
    doc_url: &Url,
    doc: &serde_json::Value,
    server_url: &Url,
) -> Result<ValidatedResource, DiscoveryFailure> {
    let bad = |p: super::fields::FieldProblem| DiscoveryFailure::InvalidDocument {
        document: DOC,
        url: doc_url.to_string(),
        field: p.field,
        problem: p.problem,
    };
    let f = Fields::new(doc).map_err(bad)?;
    let resource = f.req_url("resource").map_err(bad)?;
    if !resource_matches(&resource, server_url) {
        return Err(DiscoveryFailure::ResourceMismatch {
            url: doc_url.to_string(),
            resource: resource.to_string(),
            server_url: server_url.to_string(),
        });
    }
    let raw = f
        .opt_str_array("authorization_servers")
        .map_err(bad)?
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(bad(super::fields::FieldProblem {
            field: "authorization_servers".into(),
            problem: "is missing or empty: the gateway names no authorization server".into(),
        }));
    }
    let mut servers = Vec::with_capacity(raw.len());
    for s in &raw {
        let u = parse_url("authorization_servers", s).map_err(bad)?;
        if check_url(&u).is_err() {
            return Err(DiscoveryFailure::InsecureEndpoint {
                document: DOC,
                url: doc_url.to_string(),
                field: "authorization_servers".into(),
                value: s.clone(),
            });
        }
        servers.push(u);
    }
    Ok(ValidatedResource {
        metadata: ResourceMetadata {
            resource,
            authorization_servers: servers,
            scopes_supported: f.opt_str_array("scopes_supported").map_err(bad)?,
            bearer_methods_supported: f.opt_str_array("bearer_methods_supported").map_err(bad)?,
            resource_name: f.opt_str("resource_name").map_err(bad)?.map(str::to_owned),
            // Read leniently: a malformed value only means no DPoP, never a refused server.
            dpop_bound_access_tokens_required: f
                .opt_bool("dpop_bound_access_tokens_required")
                .ok()
                .flatten()
                .unwrap_or(false),
            dpop_signing_alg_values_supported: f
                .opt_str_array("dpop_signing_alg_values_supported")
                .ok()
                .flatten()
                .unwrap_or_default(),
            metadata_url: doc_url.clone(),
        },
        authorization_servers_raw: raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn candidate_order() {
        let c = BearerChallenge {
            resource_metadata: Some("https://gw.example.com/custom/prm.json".into()),
            ..Default::default()
        };
        let got: Vec<String> = candidates(&u("https://gw.example.com/tools/mcp/?x=1"), Some(&c))
            .into_iter()
            .map(|(u, _)| u.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "https://gw.example.com/custom/prm.json",
                "https://gw.example.com/.well-known/oauth-protected-resource/tools/mcp",
                "https://gw.example.com/.well-known/oauth-protected-resource",
            ]
        );
        let got = candidates(&u("https://gw.example.com/"), None);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn resource_matching() {
        let s = u("https://GW.example.com:443/mcp");
        for ok in [
            "https://gw.example.com/mcp",
            "https://gw.example.com/mcp/",
            "https://gw.example.com",
            "https://gw.example.com/",
            "HTTPS://gw.EXAMPLE.com:443/mcp",
        ] {
            assert!(resource_matches(&u(ok), &s), "{ok}");
        }
        for bad in [
            "https://evil.example.com/mcp",
            "http://gw.example.com/mcp",
            "https://gw.example.com:8443/mcp",
            "https://gw.example.com/mc",
            "https://gw.example.com/mcp2",
            "https://gw.example.com/other",
            "https://gw.example.com/mcp#frag",
            "https://gw.example.com/mcp?tenant=a",
        ] {
            assert!(!resource_matches(&u(bad), &s), "{bad}");
        }
    }

    #[test]
    fn validation_rules() {
        let doc_url = u("https://gw.example.com/.well-known/oauth-protected-resource/mcp");
        let server = u("https://gw.example.com/mcp");
        let ok = json!({"resource": "https://gw.example.com/mcp",
            "authorization_servers": ["https://idp.example.com/realms/x"],
            "scopes_supported": ["openid", "offline_access"]});
        let v = validate(&doc_url, &ok, &server).unwrap();
        assert_eq!(
            v.authorization_servers_raw,
            vec!["https://idp.example.com/realms/x"]
        );
        assert_eq!(v.metadata.scopes_supported.unwrap().len(), 2);

        let mismatch = json!({"resource": "https://evil.example.com/mcp", "authorization_servers": ["https://idp.example.com"]});
        assert!(matches!(
            validate(&doc_url, &mismatch, &server),
            Err(DiscoveryFailure::ResourceMismatch { .. })
        ));

        for (doc, field) in [
            (
                json!({"authorization_servers": ["https://idp"]}),
                "resource",
            ),
            (
                json!({"resource": 5, "authorization_servers": ["https://idp"]}),
                "resource",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp"}),
                "authorization_servers",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp", "authorization_servers": []}),
                "authorization_servers",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp", "authorization_servers": "https://idp"}),
                "authorization_servers",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp", "authorization_servers": [1]}),
                "authorization_servers",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp", "authorization_servers": ["not a url"]}),
                "authorization_servers",
            ),
            (
                json!({"resource": "https://gw.example.com/mcp", "authorization_servers": ["https://idp"], "scopes_supported": "openid"}),
                "scopes_supported",
            ),
            (json!(["resource"]), "(document)"),
        ] {
            match validate(&doc_url, &doc, &server) {
                Err(DiscoveryFailure::InvalidDocument { field: f, .. }) => {
                    assert_eq!(f, field, "{doc}")
                }
                other => panic!("{doc}: {other:?}"),
            }
        }
        let insecure = json!({"resource": "https://gw.example.com/mcp", "authorization_servers": ["http://idp.example.com"]});
        assert!(matches!(
            validate(&doc_url, &insecure, &server),
            Err(DiscoveryFailure::InsecureEndpoint { .. })
        ));
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z:/.]{0,30}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::from("https://gw.example.com/mcp")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "resource",
                            "authorization_servers",
                            "scopes_supported",
                            "resource_name",
                            "x"
                        ]),
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| serde_json::Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Any JSON gives a result (never a panic), and an accepted document always satisfies
        /// the rules.
        #[test]
        fn any_json_is_judged_not_panicked(doc in arb_json()) {
            let server = u("https://gw.example.com/mcp");
            if let Ok(v) = validate(&u("https://gw.example.com/.well-known/oauth-protected-resource"), &doc, &server) {
                prop_assert!(resource_matches(&v.metadata.resource, &server));
                prop_assert!(!v.metadata.authorization_servers.is_empty());
            }
        }

        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let _ = validate(&u("https://a/x"), &doc, &u("https://a/mcp"));
            }
        }
    }
}
