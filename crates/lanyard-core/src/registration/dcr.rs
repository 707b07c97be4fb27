//! RFC 7591 Dynamic Client Registration, and the classification of its refusals.

use serde::Serialize;
use url::Url;

use crate::error::UserFacing;
use crate::http::{self, Http};

/// The registration request Lanyard sends (a native public client on loopback).
#[derive(Debug, Clone, Serialize)]
pub struct DcrRequest {
    pub application_type: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub software_id: String,
    pub software_version: String,
}

impl DcrRequest {
    /// Lanyard's registration for this machine: `application_type: native`, public client
    /// (`none`) unless the AS does not support it, code + refresh grants.
    pub fn for_this_machine(
        redirect_uris: Vec<String>,
        auth_methods_supported: &[String],
    ) -> DcrRequest {
        let method = if auth_methods_supported.is_empty()
            || auth_methods_supported.iter().any(|m| m == "none")
        {
            "none"
        } else if auth_methods_supported
            .iter()
            .any(|m| m == "client_secret_post")
        {
            // Before Basic when both are listed: every server of the interop matrix takes it,
            // and the Python MCP SDK (FastMCP too) accepts a revocation from a client only in
            // the form (its revocation request must carry `client_secret`), so a Basic client
            // could never revoke there. It is also what the TypeScript SDK registers.
            "client_secret_post"
        } else if auth_methods_supported
            .iter()
            .any(|m| m == "client_secret_basic")
        {
            "client_secret_basic"
        } else {
            "none"
        };
        DcrRequest {
            application_type: "native".into(),
            client_name: format!("Lanyard on {}", hostname()),
            redirect_uris,
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            token_endpoint_auth_method: method.into(),
            software_id: "dev.lanyard.cli".into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl DcrRequest {
    /// Also ask for the grants beyond code + refresh that Lanyard uses when the AS lists them
    /// (`grant_types_supported`): the RFC 8628 device grant. An unlisted grant is never asked
    /// for, since some IdPs refuse a registration that names one they do not know.
    pub fn with_grants_listed(mut self, supported: Option<&[String]>) -> DcrRequest {
        let device = crate::authorization::device::GRANT_TYPE;
        if supported.is_some_and(|s| s.iter().any(|g| g == device)) {
            self.grant_types.push(device.into());
        }
        self
    }
}

/// This machine's short host name.
pub fn hostname() -> String {
    let h = gethostname::gethostname().to_string_lossy().into_owned();
    let h = h.split('.').next().unwrap_or("").trim().to_owned();
    if h.is_empty() {
        "this computer".into()
    } else {
        h
    }
}

/// What the AS answered (RFC 7591 §3.2.1).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub registration_client_uri: Option<Url>,
    pub registration_access_token: Option<String>,
    /// The whole answer, secrets removed (kept for RFC 7592 updates).
    pub metadata: serde_json::Value,
}

impl RegisteredClient {
    pub(crate) fn from_json(v: serde_json::Value, fallback_method: &str) -> Result<Self, String> {
        let obj = v.as_object().ok_or("the answer is not a JSON object")?;
        let client_id = obj
            .get("client_id")
            .and_then(|c| c.as_str())
            .filter(|c| !c.is_empty())
            .ok_or("the answer has no client_id")?
            .to_owned();
        let s = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let registration_client_uri = match s("registration_client_uri") {
            Some(u) => Some(Url::parse(&u).map_err(|e| format!("registration_client_uri: {e}"))?),
            None => None,
        };
        let redirect_uris = obj
            .get("redirect_uris")
            .and_then(|r| r.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut metadata = v.clone();
        if let Some(m) = metadata.as_object_mut() {
            m.remove("client_secret");
            m.remove("registration_access_token");
        }
        Ok(RegisteredClient {
            client_id,
            client_secret: s("client_secret").filter(|x| !x.is_empty()),
            token_endpoint_auth_method: s("token_endpoint_auth_method")
                .unwrap_or_else(|| fallback_method.to_owned()),
            redirect_uris,
            registration_client_uri,
            registration_access_token: s("registration_access_token").filter(|x| !x.is_empty()),
            metadata,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the authorization server {issuer} offers no way for Lanyard to get a client id (no dynamic client registration{})", if *.cimd_supported { ", and no client metadata document URL was given" } else { "" })]
    NoWay {
        issuer: String,
        cimd_supported: bool,
    },
    #[error("dynamic client registration is disabled on this IdP: {endpoint} answered HTTP {status}{}", desc(.description))]
    DcrDisabled {
        endpoint: Url,
        status: u16,
        description: Option<String>,
    },
    #[error("the IdP's \"Trusted Hosts\" policy refused Lanyard's registration at {endpoint}: anonymous registration is only allowed from hosts the realm trusts{}", desc(.description))]
    TrustedHosts {
        endpoint: Url,
        description: Option<String>,
    },
    #[error("the IdP's \"Allowed Client Scopes\" policy refused Lanyard's registration at {endpoint}: the registration asked for a client scope the realm does not allow{}", desc(.description))]
    AllowedClientScopes {
        endpoint: Url,
        description: Option<String>,
    },
    #[error("the IdP's \"Max Clients Limit\" policy refused Lanyard's registration at {endpoint}: the realm has reached its maximum number of clients{}", desc(.description))]
    MaxClients {
        endpoint: Url,
        description: Option<String>,
    },
    #[error("the IdP refused Lanyard's registration at {endpoint}: HTTP {status} ({error}{})", desc(.description))]
    Rejected {
        endpoint: Url,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("could not reach the registration endpoint {endpoint}: {detail}")]
    Network { endpoint: Url, detail: String },
    #[error("the registration endpoint {endpoint} sent an answer Lanyard cannot use: {detail}")]
    BadResponse { endpoint: Url, detail: String },
    #[error("RFC 7592 management of client {client_id} at {endpoint} failed: {detail}")]
    Management {
        endpoint: Url,
        client_id: String,
        status: Option<u16>,
        detail: String,
    },
}

fn desc(d: &Option<String>) -> String {
    d.as_ref()
        .map(|d| format!(" (\"{d}\")"))
        .unwrap_or_default()
}

const CLIENT_ID_REMEDY: &str = "Ask your admin for a client id (a public client allowing loopback redirects to http://127.0.0.1), then run `lanyard add URL --client-id ID`.";

impl UserFacing for RegistrationError {
    fn code(&self) -> &'static str {
        match self {
            RegistrationError::NoWay { .. } => "registration.no-way",
            RegistrationError::DcrDisabled { .. } => "registration.dcr-disabled",
            RegistrationError::TrustedHosts { .. } => "registration.trusted-hosts",
            RegistrationError::AllowedClientScopes { .. } => "registration.allowed-client-scopes",
            RegistrationError::MaxClients { .. } => "registration.max-clients",
            RegistrationError::Rejected { .. } => "registration.rejected",
            RegistrationError::Network { .. } => "registration.network",
            RegistrationError::BadResponse { .. } => "registration.bad-response",
            RegistrationError::Management { .. } => "registration.management",
        }
    }
    fn next_step(&self) -> String {
        match self {
            RegistrationError::NoWay { .. } | RegistrationError::DcrDisabled { .. } => {
                CLIENT_ID_REMEDY.into()
            }
            RegistrationError::TrustedHosts { .. } => format!(
                "Your admin can add this machine to the realm's Trusted Hosts policy (Clients → Client registration → Anonymous access policies), or — simpler — {}",
                lower_first(CLIENT_ID_REMEDY)
            ),
            RegistrationError::AllowedClientScopes { .. } => format!(
                "Your admin can allow the requested client scopes in the realm's 'Allowed Client Scopes' registration policy; otherwise {}",
                lower_first(CLIENT_ID_REMEDY)
            ),
            RegistrationError::MaxClients { .. } => format!(
                "The realm is full of stale registered clients: ask your admin to delete unused ones (or raise the 'Max Clients Limit'), or {}",
                lower_first(CLIENT_ID_REMEDY)
            ),
            RegistrationError::Rejected { .. } => format!(
                "Show this message to your admin; `lanyard probe URL --try-register` shows the full exchange. {CLIENT_ID_REMEDY}"
            ),
            RegistrationError::Network { .. } => {
                "Check your network connection and that the identity provider is up, then try again."
                    .into()
            }
            RegistrationError::BadResponse { .. } => format!(
                "This identity provider does not follow RFC 7591; report it to your admin. {CLIENT_ID_REMEDY}"
            ),
            RegistrationError::Management { .. } => "The registration may already be gone at the identity provider; if not, ask your admin to delete the client by hand.".into(),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Turn a refusal of the registration endpoint into the error that explains it.
pub fn classify_refusal(endpoint: &Url, status: u16, body: &[u8]) -> RegistrationError {
    let (error, description) = match http::oauth_error(body) {
        Some((e, d)) => (Some(e), d),
        None => (None, None),
    };
    let text = description.clone().unwrap_or_default();
    let endpoint = endpoint.clone();
    if text.contains("'Trusted Hosts'") || text.contains("Host not trusted") {
        return RegistrationError::TrustedHosts {
            endpoint,
            description,
        };
    }
    if text.contains("'Allowed Client Scopes'")
        || text.contains("Not permitted to use specified clientScope")
    {
        return RegistrationError::AllowedClientScopes {
            endpoint,
            description,
        };
    }
    if text.contains("'Max Clients Limit'") {
        return RegistrationError::MaxClients {
            endpoint,
            description,
        };
    }
    if status == 401 || status == 403 {
        return RegistrationError::DcrDisabled {
            endpoint,
            status,
            description: description.or_else(|| error.clone()),
        };
    }
    RegistrationError::Rejected {
        endpoint,
        status,
        error: error.unwrap_or_else(|| "no OAuth error".into()),
        description: description.or_else(|| Some(http::excerpt(body)).filter(|s| !s.is_empty())),
    }
}

/// POST the registration (RFC 7591 §3.1).
pub async fn register(
    http: &reqwest::Client,
    endpoint: &Url,
    request: &DcrRequest,
) -> Result<RegisteredClient, RegistrationError> {
    let body = serde_json::to_value(request).map_err(|e| RegistrationError::BadResponse {
        endpoint: endpoint.clone(),
        detail: format!("could not encode the request ({e})"),
    })?;
    let resp = Http::over(http.clone())
        .post_json(endpoint, &body, None)
        .await
        .map_err(|e| match e.network_detail() {
            Some(detail) => RegistrationError::Network {
                endpoint: endpoint.clone(),
                detail,
            },
            None => RegistrationError::BadResponse {
                endpoint: endpoint.clone(),
                detail: e.to_string(),
            },
        })?;
    if !resp.is_success() {
        return Err(classify_refusal(endpoint, resp.status, &resp.body));
    }
    // RFC 7591 §3.2.1: the registration response is application/json.
    let v: serde_json::Value = resp.json().map_err(|e| RegistrationError::BadResponse {
        endpoint: endpoint.clone(),
        detail: e.to_string(),
    })?;
    RegisteredClient::from_json(v, &request.token_endpoint_auth_method).map_err(|detail| {
        RegistrationError::BadResponse {
            endpoint: endpoint.clone(),
            detail,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Url {
        Url::parse("http://127.0.0.1:8080/realms/r/clients-registrations/openid-connect").unwrap()
    }

    #[test]
    fn keycloak_policies_each_get_their_own_explanation() {
        let th = br#"{"error":"insufficient_scope","error_description":"Policy 'Trusted Hosts' rejected request to client-registration service. Details: Host not trusted."}"#;
        assert!(matches!(
            classify_refusal(&ep(), 403, th),
            RegistrationError::TrustedHosts { .. }
        ));
        let acs = br#"{"error":"insufficient_scope","error_description":"Policy 'Allowed Client Scopes' rejected request to client-registration service. Details: Not permitted to use specified clientScope"}"#;
        assert!(matches!(
            classify_refusal(&ep(), 403, acs),
            RegistrationError::AllowedClientScopes { .. }
        ));
        let mc = br#"{"error":"insufficient_scope","error_description":"Policy 'Max Clients Limit' rejected request to client-registration service. Details: It's allowed to have max 200 clients per realm"}"#;
        assert!(matches!(
            classify_refusal(&ep(), 403, mc),
            RegistrationError::MaxClients { .. }
        ));
    }

    #[test]
    fn generic_401_403_is_dcr_disabled_with_client_id_remedy() {
        for status in [401, 403] {
            let e = classify_refusal(&ep(), status, br#"{"error":"invalid_token"}"#);
            assert!(matches!(e, RegistrationError::DcrDisabled { .. }), "{e:?}");
            assert!(e.to_string().contains("disabled on this IdP"));
            assert!(e.next_step().contains("--client-id"));
        }
        let e = classify_refusal(
            &ep(),
            400,
            br#"{"error":"invalid_redirect_uri","error_description":"bad"}"#,
        );
        assert!(matches!(e, RegistrationError::Rejected { status: 400, .. }));
    }

    #[test]
    fn the_device_grant_is_registered_only_when_the_as_lists_it() {
        let base = || DcrRequest::for_this_machine(vec![], &["none".into()]);
        let listed = vec![
            "authorization_code".to_owned(),
            crate::authorization::device::GRANT_TYPE.to_owned(),
        ];
        assert_eq!(
            base().with_grants_listed(Some(&listed)).grant_types,
            [
                "authorization_code",
                "refresh_token",
                crate::authorization::device::GRANT_TYPE
            ]
        );
        assert_eq!(
            base()
                .with_grants_listed(Some(&["authorization_code".to_owned()]))
                .grant_types,
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(
            base().with_grants_listed(None).grant_types,
            ["authorization_code", "refresh_token"]
        );
    }

    #[test]
    fn request_is_native_public_with_loopback_redirect() {
        let r = DcrRequest::for_this_machine(
            vec!["http://127.0.0.1:1/callback".into()],
            &["none".into()],
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["application_type"], "native");
        assert_eq!(v["token_endpoint_auth_method"], "none");
        assert_eq!(
            v["grant_types"],
            serde_json::json!(["authorization_code", "refresh_token"])
        );
        assert!(
            v["client_name"]
                .as_str()
                .unwrap()
                .starts_with("Lanyard on ")
        );
        let r = DcrRequest::for_this_machine(vec![], &["client_secret_post".into()]);
        assert_eq!(r.token_endpoint_auth_method, "client_secret_post");
        // FastMCP and the Python SDK list both; only `client_secret_post` lets them revoke.
        let both = ["client_secret_post".into(), "client_secret_basic".into()];
        let r = DcrRequest::for_this_machine(vec![], &both);
        assert_eq!(r.token_endpoint_auth_method, "client_secret_post");
        let basic = ["client_secret_basic".into()];
        let r = DcrRequest::for_this_machine(vec![], &basic);
        assert_eq!(r.token_endpoint_auth_method, "client_secret_basic");
    }

    #[test]
    fn answer_parsing_keeps_management_data_and_strips_secrets() {
        let v = serde_json::json!({"client_id":"c1","client_secret":"s","registration_access_token":"t",
            "registration_client_uri":"http://127.0.0.1/reg/c1","redirect_uris":["http://127.0.0.1:5/callback"]});
        let c = RegisteredClient::from_json(v, "none").unwrap();
        assert_eq!(c.client_id, "c1");
        assert_eq!(c.client_secret.as_deref(), Some("s"));
        assert_eq!(c.registration_access_token.as_deref(), Some("t"));
        assert!(c.metadata.get("client_secret").is_none());
        assert_eq!(c.token_endpoint_auth_method, "none");
        assert!(RegisteredClient::from_json(serde_json::json!({}), "none").is_err());
    }

    use proptest::prelude::*;

    /// JSON shaped like registration answers: the real keys with values of any type.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,30}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::from("http://127.0.0.1/cb")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "client_id",
                            "client_secret",
                            "registration_client_uri",
                            "registration_access_token",
                            "redirect_uris",
                            "token_endpoint_auth_method",
                            "client_secret_expires_at",
                            "error",
                            "error_description",
                        ]),
                        inner,
                    ),
                    0..6,
                )
                .prop_map(|kv| {
                    serde_json::Value::Object(
                        kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// A registration (or RFC 7592 read) answer of any shape is judged, never panicked on;
        /// an accepted one has a client id and keeps no secret in its stored metadata.
        #[test]
        fn any_registration_answer_is_judged_not_panicked(doc in arb_json()) {
            if let Ok(c) = RegisteredClient::from_json(doc, "none") {
                prop_assert!(!c.client_id.is_empty());
                prop_assert!(c.metadata.get("client_secret").is_none());
                prop_assert!(c.metadata.get("registration_access_token").is_none());
            }
        }

        /// Any refusal body (bytes) is classified, never panicked on.
        #[test]
        fn any_refusal_body_is_classified(status in 400u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = classify_refusal(&ep(), status, &body);
        }
    }
}
