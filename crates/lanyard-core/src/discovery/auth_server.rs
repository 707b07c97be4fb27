//! Authorization server metadata: RFC 8414 and OpenID Connect discovery, tried in the MCP
//! spec's order; the `issuer` must equal the identifier it was looked up by.

use serde::{Deserialize, Serialize};
use url::Url;

/// Validated authorization server metadata (issuer checked, endpoints parsed and allowed).
/// What a person's sign-in needs on top (authorization code + PKCE S256) is checked by
/// [`AuthServerMetadata::require_code_flow`]: a machine client (client credentials, workload
/// identity) needs none of it, and an AS that only serves machines may lack it (RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthServerMetadata {
    pub issuer: Url,
    /// The issuer identifier exactly as the metadata spells it. Issuer identifiers compare as
    /// strings (RFC 8414 §3.3, RFC 9207 §2.4) and a parsed `Url` adds a trailing slash to a
    /// bare origin, so compare `iss` against [`AuthServerMetadata::issuer_str`], never against
    /// `issuer.as_str()`. Empty in state saved before this field existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_id: String,
    /// Absent when the AS offers no grant that uses it (RFC 8414 §2). A sign-in reads it
    /// through [`CodeFlow`], never from here.
    #[serde(default)]
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Url,
    pub registration_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    /// RFC 8628: where a device code is requested (sign-in without a browser on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<Url>,
    pub scopes_supported: Option<Vec<String>>,
    /// `["code"]` when absent (as before this was checked only for a person's sign-in).
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Option<Vec<String>>,
    /// Empty when absent: then no PKCE for a person's sign-in ([`CodeFlow`]).
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// Defaults to `["client_secret_basic"]` when absent (RFC 8414 §2).
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// CIMD (MCP 2025-11-25+).
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: when true, the authorization response must carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9449 §5.1: the JWS algorithms the AS takes in DPoP proofs (empty: no DPoP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Where this document was read from.
    pub metadata_url: Url,
}

/// What a person's sign-in at this AS needs, found there: the authorization code flow with
/// PKCE S256 at its authorization endpoint. Made only by
/// [`AuthServerMetadata::require_code_flow`], and the authorization request is built from it
/// ([`crate::authorization::AuthRequest`]), so no browser opens at an AS that was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeFlow<'a> {
    authorization_endpoint: &'a Url,
}

impl<'a> CodeFlow<'a> {
    pub fn authorization_endpoint(&self) -> &'a Url {
        self.authorization_endpoint
    }
}

impl AuthServerMetadata {
    /// The issuer identifier as published (falls back to the parsed URL for old state).
    pub fn issuer_str(&self) -> &str {
        if self.issuer_id.is_empty() {
            self.issuer.as_str()
        } else {
            &self.issuer_id
        }
    }

    /// A person's sign-in here (authorization code + PKCE): refused unless `S256` is among
    /// `code_challenge_methods_supported` (the MCP spec: refuse to proceed without it),
    /// `code` among `response_types_supported`, and an authorization endpoint is published.
    /// Every person's sign-in calls this before any registration, browser or token request;
    /// a machine client does not.
    pub fn require_code_flow(&self) -> Result<CodeFlow<'_>, DiscoveryFailure> {
        let url = self.metadata_url.to_string();
        if !self
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
        {
            let listed = &self.code_challenge_methods_supported;
            return Err(DiscoveryFailure::NoPkceS256 {
                issuer: self.issuer_str().to_owned(),
                url,
                methods: (!listed.is_empty()).then(|| listed.clone()),
            });
        }
        let missing = |field: &str, problem: String| DiscoveryFailure::InvalidDocument {
            document: DOC,
            url: url.clone(),
            field: field.to_owned(),
            problem,
        };
        if !self.response_types_supported.iter().any(|t| t == "code") {
            return Err(missing(
                "response_types_supported",
                format!(
                    "does not list \"code\" ({:?}): the authorization code flow is not offered",
                    self.response_types_supported
                ),
            ));
        }
        match &self.authorization_endpoint {
            Some(authorization_endpoint) => Ok(CodeFlow {
                authorization_endpoint,
            }),
            None => Err(missing(
                "authorization_endpoint",
                "is missing: the authorization code flow needs it".into(),
            )),
        }
    }
}

use super::DiscoveryFailure;
use super::fields::{FieldProblem, Fields};
use crate::http::check_url;

const DOC: &str = "authorization server metadata";

/// Where to look for an issuer's metadata, in the MCP spec's order (2025-11-25 §2.3.2):
/// with a path component `/p`: RFC 8414 path-insert `/.well-known/oauth-authorization-server/p`,
/// OIDC path-insert `/.well-known/openid-configuration/p`, OIDC path-append
/// `/p/.well-known/openid-configuration`; without one: RFC 8414 then OIDC at the root.
pub fn candidates(issuer: &Url) -> Vec<Url> {
    let mut base = issuer.clone();
    base.set_query(None);
    base.set_fragment(None);
    let path = issuer.path().trim_end_matches('/').to_owned();
    let at = |p: String| {
        let mut u = base.clone();
        u.set_path(&p);
        u
    };
    if path.is_empty() {
        vec![
            at("/.well-known/oauth-authorization-server".into()),
            at("/.well-known/openid-configuration".into()),
        ]
    } else {
        vec![
            at(format!("/.well-known/oauth-authorization-server{path}")),
            at(format!("/.well-known/openid-configuration{path}")),
            at(format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

fn endpoint(
    doc_url: &Url,
    f: &Fields<'_>,
    field: &str,
    required: bool,
) -> Result<Option<Url>, DiscoveryFailure> {
    let bad = |p: FieldProblem| invalid(doc_url, p);
    let u = if required {
        Some(f.req_url(field).map_err(bad)?)
    } else {
        f.opt_url(field).map_err(bad)?
    };
    if let Some(u) = &u
        && check_url(u).is_err()
    {
        return Err(DiscoveryFailure::InsecureEndpoint {
            document: DOC,
            url: doc_url.to_string(),
            field: field.to_owned(),
            value: u.to_string(),
        });
    }
    Ok(u)
}

fn invalid(doc_url: &Url, p: FieldProblem) -> DiscoveryFailure {
    DiscoveryFailure::InvalidDocument {
        document: DOC,
        url: doc_url.to_string(),
        field: p.field,
        problem: p.problem,
    }
}

/// Validate a metadata document read from `doc_url` for the issuer identifier `expected`
/// (compared as an exact string, RFC 8414 §3.3 / OIDC Discovery §4.3). `also_accept` lists
/// other spellings accepted (used only by the 2025-03-26 back-compat, where the issuer is the
/// server's origin, with or without a trailing slash).
pub fn validate(
    doc_url: &Url,
    doc: &serde_json::Value,
    expected: &str,
    also_accept: &[&str],
) -> Result<AuthServerMetadata, DiscoveryFailure> {
    let bad = |p: FieldProblem| invalid(doc_url, p);
    let f = Fields::new(doc).map_err(bad)?;
    let found = f.req_str("issuer").map_err(bad)?;
    if found != expected && !also_accept.contains(&found) {
        return Err(DiscoveryFailure::IssuerMismatch {
            url: doc_url.to_string(),
            expected: expected.to_owned(),
            found: found.to_owned(),
        });
    }
    let issuer = super::fields::parse_url("issuer", found).map_err(bad)?;
    // What only a person's sign-in needs (PKCE S256, the code flow, its endpoint) is read but
    // not required here: `require_code_flow`.
    let methods = f
        .opt_str_array("code_challenge_methods_supported")
        .map_err(bad)?;
    let response_types = f
        .opt_str_array("response_types_supported")
        .map_err(bad)?
        .unwrap_or_else(|| vec!["code".into()]);
    let authorization_endpoint = endpoint(doc_url, &f, "authorization_endpoint", false)?;
    let token_endpoint =
        endpoint(doc_url, &f, "token_endpoint", true)?.unwrap_or_else(|| issuer.clone());
    Ok(AuthServerMetadata {
        authorization_endpoint,
        token_endpoint,
        registration_endpoint: endpoint(doc_url, &f, "registration_endpoint", false)?,
        revocation_endpoint: endpoint(doc_url, &f, "revocation_endpoint", false)?,
        device_authorization_endpoint: endpoint(
            doc_url,
            &f,
            "device_authorization_endpoint",
            false,
        )?,
        scopes_supported: f.opt_str_array("scopes_supported").map_err(bad)?,
        response_types_supported: response_types,
        grant_types_supported: f.opt_str_array("grant_types_supported").map_err(bad)?,
        code_challenge_methods_supported: methods.unwrap_or_default(),
        token_endpoint_auth_methods_supported: f
            .opt_str_array("token_endpoint_auth_methods_supported")
            .map_err(bad)?
            .unwrap_or_else(|| vec!["client_secret_basic".into()]),
        revocation_endpoint_auth_methods_supported: f
            .opt_str_array("revocation_endpoint_auth_methods_supported")
            .map_err(bad)?,
        client_id_metadata_document_supported: f
            .opt_bool("client_id_metadata_document_supported")
            .map_err(bad)?
            .unwrap_or(false),
        authorization_response_iss_parameter_supported: f
            .opt_bool("authorization_response_iss_parameter_supported")
            .map_err(bad)?
            .unwrap_or(false),
        // Read leniently: a malformed value only means no DPoP, never a refused server.
        dpop_signing_alg_values_supported: f
            .opt_str_array("dpop_signing_alg_values_supported")
            .ok()
            .flatten()
            .unwrap_or_default(),
        issuer,
        issuer_id: found.to_owned(),
        metadata_url: doc_url.clone(),
    })
}

/// MCP 2025-03-26 back-compat: the metadata at the server's origin. That revision tied the
/// authorization server to the server's origin, not to an issuer identifier, so the document's
/// `issuer` is accepted when it lies on that same origin (it may carry a path, e.g. `/oauth`);
/// every other rule applies unchanged.
pub fn validate_legacy(
    doc_url: &Url,
    doc: &serde_json::Value,
    server_url: &Url,
) -> Result<AuthServerMetadata, DiscoveryFailure> {
    let bad = |p: FieldProblem| invalid(doc_url, p);
    let f = Fields::new(doc).map_err(bad)?;
    let found = f.req_str("issuer").map_err(bad)?;
    let same_origin = Url::parse(found).is_ok_and(|u| u.origin() == server_url.origin());
    if !same_origin {
        return Err(DiscoveryFailure::IssuerMismatch {
            url: doc_url.to_string(),
            expected: server_url.origin().ascii_serialization(),
            found: found.to_owned(),
        });
    }
    validate(doc_url, doc, found, &[])
}

/// MCP 2025-03-26 §2.3.3 fallback for servers without metadata: the default endpoints
/// `/authorize`, `/token`, `/register` at the server's origin. PKCE S256 is assumed (the
/// 2025-03-26 spec makes it mandatory for every server).
pub fn legacy_default_endpoints(server_url: &Url) -> AuthServerMetadata {
    let at = |p: &str| {
        let mut u = server_url.clone();
        u.set_path(p);
        u.set_query(None);
        u.set_fragment(None);
        u
    };
    AuthServerMetadata {
        issuer: at("/"),
        issuer_id: server_url.origin().ascii_serialization(),
        authorization_endpoint: Some(at("/authorize")),
        token_endpoint: at("/token"),
        registration_endpoint: Some(at("/register")),
        revocation_endpoint: None,
        device_authorization_endpoint: None,
        scopes_supported: None,
        response_types_supported: vec!["code".into()],
        grant_types_supported: None,
        code_challenge_methods_supported: vec!["S256".into()],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic".into(),
            "client_secret_post".into(),
            "none".into(),
        ],
        revocation_endpoint_auth_methods_supported: None,
        client_id_metadata_document_supported: false,
        authorization_response_iss_parameter_supported: false,
        dpop_signing_alg_values_supported: Vec::new(),
        metadata_url: at("/.well-known/oauth-authorization-server"),
    }
}

/// A minimal AS for unit tests: public clients only, S256, no registration or revocation
/// endpoint, at `origin` (e.g. `http://127.0.0.1:1`, a closed port).
#[cfg(test)]
pub(crate) fn test_metadata(origin: &str) -> AuthServerMetadata {
    let at = |p: &str| Url::parse(&format!("{origin}{p}")).expect("test origin");
    AuthServerMetadata {
        issuer: at("/"),
        issuer_id: origin.to_owned(),
        authorization_endpoint: Some(at("/auth")),
        token_endpoint: at("/token"),
        registration_endpoint: None,
        revocation_endpoint: None,
        device_authorization_endpoint: None,
        scopes_supported: None,
        response_types_supported: vec!["code".into()],
        grant_types_supported: None,
        code_challenge_methods_supported: vec!["S256".into()],
        token_endpoint_auth_methods_supported: vec!["none".into()],
        revocation_endpoint_auth_methods_supported: None,
        client_id_metadata_document_supported: false,
        authorization_response_iss_parameter_supported: false,
        dpop_signing_alg_values_supported: Vec::new(),
        metadata_url: at("/.well-known/openid-configuration"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strs(v: Vec<Url>) -> Vec<String> {
        v.into_iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn candidate_order() {
        assert_eq!(
            strs(candidates(&u("https://idp.example.com/realms/acme"))),
            vec![
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/acme",
                "https://idp.example.com/.well-known/openid-configuration/realms/acme",
                "https://idp.example.com/realms/acme/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            strs(candidates(&u("https://idp.example.com"))),
            vec![
                "https://idp.example.com/.well-known/oauth-authorization-server",
                "https://idp.example.com/.well-known/openid-configuration",
            ]
        );
        assert_eq!(candidates(&u("https://idp.example.com/tenant/")).len(), 3);
    }

    fn good() -> serde_json::Value {
        json!({
            "issuer": "https://idp.example.com/realms/acme",
            "authorization_endpoint": "https://idp.example.com/realms/acme/auth",
            "token_endpoint": "https://idp.example.com/realms/acme/token",
            "registration_endpoint": "https://idp.example.com/realms/acme/clients-registrations/openid-connect",
            "response_types_supported": ["code", "id_token"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "scopes_supported": ["openid", "offline_access"],
        })
    }

    #[test]
    fn accepts_a_good_document() {
        let m = validate(
            &u("https://idp.example.com/x"),
            &good(),
            "https://idp.example.com/realms/acme",
            &[],
        )
        .unwrap();
        assert_eq!(
            m.token_endpoint_auth_methods_supported,
            vec!["client_secret_basic"]
        );
        assert!(!m.client_id_metadata_document_supported);
        assert!(m.registration_endpoint.is_some());
    }

    #[test]
    fn refusals() {
        let d = u("https://idp.example.com/x");
        let iss = "https://idp.example.com/realms/acme";
        // Issuer compared exactly: a trailing slash or case change is a mismatch.
        for other in [
            "https://idp.example.com/realms/acme/",
            "https://IDP.example.com/realms/acme",
            "https://attacker.example.com",
        ] {
            let mut doc = good();
            doc["issuer"] = json!(other);
            assert!(
                matches!(
                    validate(&d, &doc, iss, &[]),
                    Err(DiscoveryFailure::IssuerMismatch { .. })
                ),
                "{other}"
            );
        }
        let mut doc = good();
        doc["token_endpoint"] = json!("http://idp.example.com/token");
        assert!(
            matches!(validate(&d, &doc, iss, &[]), Err(DiscoveryFailure::InsecureEndpoint { ref field, .. }) if field == "token_endpoint")
        );
        let mut doc = good();
        doc["registration_endpoint"] = json!("http://10.1.2.3/register");
        assert!(matches!(
            validate(&d, &doc, iss, &[]),
            Err(DiscoveryFailure::InsecureEndpoint { .. })
        ));
        let mut doc = good();
        doc["authorization_endpoint"] = json!("http://idp.example.com/auth");
        assert!(
            matches!(validate(&d, &doc, iss, &[]), Err(DiscoveryFailure::InsecureEndpoint { ref field, .. }) if field == "authorization_endpoint")
        );
        for (field, value) in [
            ("authorization_endpoint", json!(42)),
            ("token_endpoint", json!(["https://x"])),
            ("code_challenge_methods_supported", json!("S256")),
            ("client_id_metadata_document_supported", json!("true")),
            ("response_types_supported", json!("code")),
            ("issuer", json!(42)),
        ] {
            let mut doc = good();
            doc[field] = value;
            match validate(&d, &doc, iss, &[]) {
                Err(DiscoveryFailure::InvalidDocument { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    fn judged(doc: &serde_json::Value) -> AuthServerMetadata {
        validate(
            &u("https://idp.example.com/x"),
            doc,
            "https://idp.example.com/realms/acme",
            &[],
        )
        .expect("accepted for a machine client")
    }

    #[test]
    fn a_persons_sign_in_gets_the_authorization_endpoint_of_a_pkce_s256_code_flow() {
        let m = judged(&good());
        let flow = m.require_code_flow().expect("code flow");
        assert_eq!(
            flow.authorization_endpoint().as_str(),
            "https://idp.example.com/realms/acme/auth"
        );
        // RFC 8414 §2: response_types_supported absent reads as the code flow.
        let mut doc = good();
        doc.as_object_mut()
            .unwrap()
            .remove("response_types_supported");
        assert!(judged(&doc).require_code_flow().is_ok());
    }

    #[test]
    fn an_as_for_machines_only_is_accepted_but_refused_for_a_persons_sign_in() {
        // Client credentials only: no PKCE, no code flow, no authorization endpoint.
        let mut doc = good();
        let o = doc.as_object_mut().unwrap();
        o.remove("code_challenge_methods_supported");
        o.remove("authorization_endpoint");
        o.insert("response_types_supported".into(), json!([]));
        o.insert(
            "grant_types_supported".into(),
            json!(["client_credentials"]),
        );
        let m = judged(&doc);
        assert_eq!(m.authorization_endpoint, None);
        let refused = m.require_code_flow().unwrap_err();
        assert!(
            matches!(refused, DiscoveryFailure::NoPkceS256 { methods: None, ref url, .. } if url == "https://idp.example.com/x"),
            "{refused:?}"
        );
        assert_eq!(
            crate::error::UserFacing::code(&refused),
            "discovery.no-pkce-s256"
        );
    }

    #[test]
    fn oidc_metadata_without_pkce_methods_serves_machines_not_people() {
        // Microsoft Entra ID's OpenID configuration: a code flow, no code_challenge_methods_supported.
        let mut doc = good();
        doc.as_object_mut()
            .unwrap()
            .remove("code_challenge_methods_supported");
        assert!(matches!(
            judged(&doc).require_code_flow(),
            Err(DiscoveryFailure::NoPkceS256 { methods: None, .. })
        ));
        doc["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(matches!(
            judged(&doc).require_code_flow(),
            Err(DiscoveryFailure::NoPkceS256 { methods: Some(ref m), .. }) if m == &["plain"]
        ));
    }

    #[test]
    fn a_persons_sign_in_needs_the_code_response_type_and_the_authorization_endpoint() {
        for (field, value) in [
            ("response_types_supported", json!(["token"])),
            ("authorization_endpoint", json!(null)),
        ] {
            let mut doc = good();
            doc[field] = value;
            match judged(&doc).require_code_flow() {
                Err(DiscoveryFailure::InvalidDocument { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn saved_metadata_from_before_reads_its_authorization_endpoint_and_newer_may_lack_it() {
        let m = judged(&good());
        let mut saved = serde_json::to_value(&m).unwrap();
        assert_eq!(
            saved["authorization_endpoint"],
            "https://idp.example.com/realms/acme/auth"
        );
        let back: AuthServerMetadata = serde_json::from_value(saved.clone()).unwrap();
        assert_eq!(back, m);
        let o = saved.as_object_mut().unwrap();
        o.remove("authorization_endpoint");
        o.remove("code_challenge_methods_supported");
        o.remove("response_types_supported");
        let back: AuthServerMetadata = serde_json::from_value(saved).unwrap();
        assert_eq!(back.authorization_endpoint, None);
        assert!(back.require_code_flow().is_err());
    }

    #[test]
    fn loopback_http_is_fine() {
        let doc = json!({"issuer": "http://127.0.0.1:9000", "authorization_endpoint": "http://127.0.0.1:9000/a",
            "token_endpoint": "http://localhost:9000/t", "code_challenge_methods_supported": ["S256"]});
        assert!(
            validate(
                &u("http://127.0.0.1:9000/.well-known/oauth-authorization-server"),
                &doc,
                "http://127.0.0.1:9000",
                &[]
            )
            .is_ok()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Any mutation of one field to any JSON value is judged without a panic, and whatever
        /// is accepted keeps the invariants.
        #[test]
        fn mutated_documents_never_panic(
            field in prop::sample::select(vec!["issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint",
                "code_challenge_methods_supported", "scopes_supported", "token_endpoint_auth_methods_supported",
                "client_id_metadata_document_supported", "response_types_supported"]),
            value in prop_oneof![Just(json!(null)), any::<bool>().prop_map(|b| json!(b)), any::<i32>().prop_map(|n| json!(n)),
                "[ -~]{0,30}".prop_map(|s| json!(s)), prop::collection::vec("[ -~]{0,12}", 0..3).prop_map(|v| json!(v))],
        ) {
            let mut doc = good();
            doc[field] = value;
            if let Ok(m) = validate(&u("https://idp.example.com/x"), &doc, "https://idp.example.com/realms/acme", &[]) {
                prop_assert!(check_url(&m.token_endpoint).is_ok());
                if let Some(a) = &m.authorization_endpoint {
                    prop_assert!(check_url(a).is_ok());
                }
                if let Ok(flow) = m.require_code_flow() {
                    prop_assert!(m.code_challenge_methods_supported.iter().any(|m| m == "S256"));
                    prop_assert!(m.response_types_supported.iter().any(|t| t == "code"));
                    prop_assert!(check_url(flow.authorization_endpoint()).is_ok());
                }
            }
        }
    }
}
