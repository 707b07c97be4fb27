//! Step 2: a client id, in the MCP spec's priority — pre-registered (`--client-id`), then a
//! Client ID Metadata Document (when the AS advertises `client_id_metadata_document_supported`
//! and a document URL is configured), then RFC 7591 Dynamic Client Registration (when the AS
//! has a `registration_endpoint`), else a clear "ask your admin" error. The choice is made from
//! the AS metadata and, for DCR, from the endpoint's real answer (never from the IdP's name).
//!
//! RFC 7592 management (read / update / delete) lives in [`manage`].

pub mod dcr;
pub mod manage;
pub mod probe;

pub use dcr::{DcrRequest, RegisteredClient, RegistrationError, register};
pub use manage::{delete_registration, read_registration, update_registration};

use url::Url;

use crate::discovery::AuthServerMetadata;

/// What the user configured about the client.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_metadata_url: Option<Url>,
}

/// Which way the client id will be obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPlan {
    PreRegistered {
        client_id: String,
        client_secret: Option<String>,
    },
    MetadataDocument {
        client_id: Url,
    },
    Dynamic {
        registration_endpoint: Url,
    },
}

/// Decide, in the spec's order. `Err` when no way exists.
pub fn plan(
    as_meta: &AuthServerMetadata,
    opts: &ClientOptions,
) -> Result<ClientPlan, RegistrationError> {
    if let Some(id) = opts.client_id.as_ref().filter(|s| !s.is_empty()) {
        return Ok(ClientPlan::PreRegistered {
            client_id: id.clone(),
            client_secret: opts.client_secret.clone().filter(|s| !s.is_empty()),
        });
    }
    if as_meta.client_id_metadata_document_supported
        && let Some(url) = &opts.client_metadata_url
    {
        return Ok(ClientPlan::MetadataDocument {
            client_id: url.clone(),
        });
    }
    if let Some(ep) = &as_meta.registration_endpoint {
        return Ok(ClientPlan::Dynamic {
            registration_endpoint: ep.clone(),
        });
    }
    Err(RegistrationError::NoWay {
        issuer: as_meta.issuer.to_string(),
        cimd_supported: as_meta.client_id_metadata_document_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(dcr: bool, cimd: bool) -> AuthServerMetadata {
        AuthServerMetadata {
            registration_endpoint: dcr.then(|| Url::parse("http://127.0.0.1:1/reg").unwrap()),
            client_id_metadata_document_supported: cimd,
            ..crate::discovery::auth_server::test_metadata("http://127.0.0.1:1")
        }
    }

    #[test]
    fn priority_order() {
        let cimd_url = Url::parse("https://example.com/client.json").unwrap();
        let all = ClientOptions {
            client_id: Some("abc".into()),
            client_secret: None,
            client_metadata_url: Some(cimd_url.clone()),
        };
        assert!(matches!(
            plan(&meta(true, true), &all),
            Ok(ClientPlan::PreRegistered { .. })
        ));
        let no_id = ClientOptions {
            client_id: None,
            ..all.clone()
        };
        assert_eq!(
            plan(&meta(true, true), &no_id).unwrap(),
            ClientPlan::MetadataDocument {
                client_id: cimd_url
            }
        );
        // CIMD configured but not advertised → DCR.
        assert!(matches!(
            plan(&meta(true, false), &no_id),
            Ok(ClientPlan::Dynamic { .. })
        ));
        let e = plan(&meta(false, false), &ClientOptions::default()).unwrap_err();
        assert!(matches!(e, RegistrationError::NoWay { .. }));
        use crate::error::UserFacing;
        assert!(e.next_step().contains("--client-id"));
    }
}
