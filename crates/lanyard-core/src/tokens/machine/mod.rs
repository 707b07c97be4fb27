//! Tokens for a headless agent's own client, without a person or a browser: the OAuth 2.1
//! client credentials grant (SEP-1046; the client authenticated by its secret or by a JWT it
//! signs, RFC 7523 §2.2) and workload identity federation (SEP-1933: the platform's identity
//! token presented with the RFC 7523 §2.1 JWT-bearer grant). No refresh token is issued: a
//! token is renewed by asking again ([`TokenSet::reissuable`]), through the same
//! single-flight path as a refresh (`tokens::fresh`).

pub mod signing_key;
pub mod workload;

use url::Url;

use super::endpoint::{self, ClientCredentials, TokenAuthMethod, TokenError, TokenParams};
pub use super::grant::JWT_BEARER;
use super::grant::{grant_tokens, jwt_bearer_grant};
use super::set::{TokenSet, now};
use crate::discovery::AuthServerMetadata;
use crate::error::UserFacing;
use crate::servers::MachineGrant;
pub use signing_key::{KeyError, SigningKey};
pub use workload::WorkloadError;

/// RFC 7523 §2.2 client assertion type.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(
        "the authorization server {issuer} does not offer the {grant} grant (it lists: {listed})"
    )]
    GrantNotOffered {
        issuer: String,
        grant: &'static str,
        listed: String,
    },
    #[error("the client secret of {server} is not in the keychain")]
    SecretMissing { server: String },
    #[error(transparent)]
    Secret(#[from] super::store::SecretError),
}

impl UserFacing for MachineError {
    fn code(&self) -> &'static str {
        match self {
            MachineError::Key(e) => e.code(),
            MachineError::Workload(e) => e.code(),
            MachineError::Token(TokenError::InvalidClient { .. }) => "machine.client-refused",
            MachineError::Token(TokenError::InvalidGrant { .. }) => "machine.grant-refused",
            MachineError::Token(e) => e.code(),
            MachineError::GrantNotOffered { .. } => "machine.grant-not-offered",
            MachineError::SecretMissing { .. } => "machine.secret-missing",
            MachineError::Secret(e) => e.code(),
        }
    }
    fn next_step(&self) -> String {
        match self {
            MachineError::Key(e) => e.next_step(),
            MachineError::Workload(e) => e.next_step(),
            MachineError::Token(TokenError::InvalidClient { .. }) => "The authorization server refused the client's credentials: check the client id and that its secret (or the public key of its private key, and the key id) is what the admin registered.".into(),
            MachineError::Token(TokenError::InvalidGrant { .. }) => "The authorization server refused the workload identity token: ask its admin to trust the token's issuer and subject for this server (and check the token's audience is the authorization server).".into(),
            MachineError::Token(TokenError::Rejected { error, .. }) if error == "unauthorized_client" || error == "unsupported_grant_type" => "This client may not use this grant at the authorization server: ask its admin to allow it for the client.".into(),
            MachineError::Token(e) => e.next_step(),
            MachineError::GrantNotOffered { .. } => "Ask the server's admin whether machine access is offered; for a person at this computer, use `lanyard add URL` without the machine flags.".into(),
            MachineError::SecretMissing { server } => format!("Add it again: `lanyard remove {server}`, then `lanyard add URL --client-credentials --client-id ID --client-secret-file FILE`."),
            MachineError::Secret(e) => e.next_step(),
        }
    }
}

/// A machine client at request time: its id (absent for workload identity without one), its
/// secret from the keychain (client secret grant), and how it gets tokens.
#[derive(Debug, Clone, Copy)]
pub struct MachineClient<'a> {
    pub client_id: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub grant: &'a MachineGrant,
}

impl MachineClient<'_> {
    /// The grant type the token request uses.
    pub fn grant_type(&self) -> &'static str {
        match self.grant {
            MachineGrant::Workload { .. } => JWT_BEARER,
            _ => "client_credentials",
        }
    }
}

/// Refuse early when the AS lists its grant types and this one is not among them.
pub fn check_offered(
    as_meta: &AuthServerMetadata,
    grant: &'static str,
) -> Result<(), MachineError> {
    match &as_meta.grant_types_supported {
        Some(listed) if !listed.iter().any(|g| g == grant) => Err(MachineError::GrantNotOffered {
            issuer: as_meta.issuer_str().to_owned(),
            grant,
            listed: listed.join(", "),
        }),
        _ => Ok(()),
    }
}

/// A new access token for `client` with `params` (resource, scope), marked
/// [`TokenSet::reissuable`]. Key and workload token files are read here, each time.
pub async fn request_token(
    http: &reqwest::Client,
    as_meta: &AuthServerMetadata,
    client: MachineClient<'_>,
    params: &TokenParams,
) -> Result<TokenSet, MachineError> {
    let endpoint = &as_meta.token_endpoint;
    let id = client.client_id.unwrap_or_default().to_owned();
    let mut set = match client.grant {
        MachineGrant::ClientSecret => {
            let creds = ClientCredentials {
                client_id: id,
                secret: client.secret.map(str::to_owned),
                method: TokenAuthMethod::choose(
                    &as_meta.token_endpoint_auth_methods_supported,
                    true,
                    None,
                ),
            };
            let supported = &as_meta.token_endpoint_auth_methods_supported;
            match client_credentials_grant(http, endpoint, &creds, Vec::new(), params).await {
                Err(e) if e.refused_client_auth() => match creds.method.alternative(supported) {
                    Some(method) => {
                        let other = ClientCredentials { method, ..creds };
                        client_credentials_grant(http, endpoint, &other, Vec::new(), params).await?
                    }
                    None => return Err(e.into()),
                },
                other => other?,
            }
        }
        MachineGrant::PrivateKeyJwt { key_file, key_id } => {
            let key = SigningKey::from_pem_file(key_file)?;
            let assertion =
                key.client_assertion(&id, as_meta.issuer_str(), key_id.as_deref(), now())?;
            // SEP-1046: the client is named by the assertion's `sub`, no `client_id` field.
            let creds = ClientCredentials {
                client_id: String::new(),
                secret: None,
                method: TokenAuthMethod::None,
            };
            let extra = vec![
                ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
                ("client_assertion", assertion),
            ];
            client_credentials_grant(http, endpoint, &creds, extra, params).await?
        }
        MachineGrant::Workload { token_file } => {
            let assertion = workload::read_token(token_file, now())?;
            let creds = ClientCredentials {
                client_id: id,
                secret: None,
                method: TokenAuthMethod::None,
            };
            jwt_bearer_grant(http, endpoint, &creds, &assertion, params).await?
        }
    };
    // Renewed by the grant itself: a refresh token an AS hands out anyway (OAuth 2.1 §4.2 says it
    // should not) would send the renewal down the refresh path, where a private key cannot go.
    set.refresh_token = None;
    set.reissuable = true;
    Ok(set)
}

/// OAuth 2.1 §4.2 client credentials grant with `resource` (RFC 8707) and `scope`; `extra`
/// carries a client assertion.
pub async fn client_credentials_grant(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientCredentials,
    extra: Vec<(&'static str, String)>,
    params: &TokenParams,
) -> Result<TokenSet, TokenError> {
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    form.extend(extra);
    grant_tokens(http, token_endpoint, client, form, params).await
}

/// A new token for a saved machine server (its secret from the keychain, its key or workload
/// token from their files), with the server's resource and scopes. `None` when the server is
/// not a machine client.
pub async fn for_server(
    http: &reqwest::Client,
    server: &crate::servers::Server,
    secrets: &dyn super::store::SecretStore,
) -> Option<Result<TokenSet, MachineError>> {
    let crate::servers::ClientSource::Machine {
        client_id,
        has_secret,
        grant,
    } = &server.client
    else {
        return None;
    };
    Some(
        async {
            let secret = if *has_secret {
                let s = secrets.get(&super::store::server_secret_key(&server.name))?;
                Some(s.ok_or_else(|| MachineError::SecretMissing {
                    server: server.name.clone(),
                })?)
            } else {
                None
            };
            let client = MachineClient {
                client_id: client_id.as_deref(),
                secret: secret.as_deref(),
                grant,
            };
            request_token(http, &server.auth_server, client, &params(server)).await
        }
        .await,
    )
}

/// A machine server's token request parameters: resource (unless `no_resource`), audience,
/// and its scopes on every request (there is no earlier grant to inherit them from).
pub fn params(server: &crate::servers::Server) -> TokenParams {
    TokenParams {
        resource: (!server.quirks.no_resource)
            .then(|| crate::authorization::resource_param(&server.resource)),
        audience: server.quirks.audience.clone(),
        scope: (!server.scopes.is_empty()).then(|| server.scopes.join(" ")),
        ..TokenParams::default()
    }
}

/// Whether `server`'s client authenticates with a signed assertion (`private_key_jwt`): the
/// plain [`ClientCredentials`] of revocation and of the client probe cannot speak for it.
pub fn signs_its_requests(server: &crate::servers::Server) -> bool {
    matches!(
        server.client,
        crate::servers::ClientSource::Machine {
            grant: MachineGrant::PrivateKeyJwt { .. },
            ..
        }
    )
}

/// RFC 7009 revocation of `token` for a `private_key_jwt` client: authenticated by a fresh
/// client assertion in the form, as at the token endpoint. `None` for every other client.
pub async fn revoke_signed(
    http: &reqwest::Client,
    server: &crate::servers::Server,
    revocation_endpoint: &Url,
    token: &str,
    hint: &str,
) -> Option<Result<(), TokenError>> {
    let crate::servers::ClientSource::Machine {
        client_id,
        grant: MachineGrant::PrivateKeyJwt { key_file, key_id },
        ..
    } = &server.client
    else {
        return None;
    };
    let assertion = SigningKey::from_pem_file(key_file).and_then(|k| {
        k.client_assertion(
            client_id.as_deref().unwrap_or_default(),
            server.auth_server.issuer_str(),
            key_id.as_deref(),
            now(),
        )
    });
    let assertion = match assertion {
        Ok(a) => a,
        // Nothing was sent: the client cannot authenticate without its key.
        Err(e) => {
            return Some(Err(TokenError::Rejected {
                endpoint: revocation_endpoint.clone(),
                status: 400,
                error: "no client assertion (not sent)".into(),
                description: Some(e.to_string()),
            }));
        }
    };
    let form = vec![
        ("token", token.to_owned()),
        ("token_type_hint", hint.to_owned()),
        ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
        ("client_assertion", assertion),
    ];
    let named_by_assertion = ClientCredentials {
        client_id: String::new(),
        secret: None,
        method: TokenAuthMethod::None,
    };
    Some(
        match endpoint::send_form(http, revocation_endpoint, &named_by_assertion, form).await {
            Ok(resp) if resp.is_success() => Ok(()),
            Ok(resp) => Err(endpoint::classify(
                revocation_endpoint,
                resp.status,
                &resp.body,
            )),
            Err(e) => Err(e),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_the_authorization_server_does_not_list_is_refused_before_any_request() {
        let mut meta = crate::discovery::auth_server::test_metadata("http://127.0.0.1:9");
        meta.grant_types_supported = Some(vec!["authorization_code".into()]);
        let e = check_offered(&meta, JWT_BEARER).unwrap_err();
        assert_eq!(e.code(), "machine.grant-not-offered");
        assert!(e.to_string().contains("authorization_code"), "{e}");
        meta.grant_types_supported = Some(vec!["client_credentials".into()]);
        assert!(check_offered(&meta, "client_credentials").is_ok());
        // Not listed at all: the AS may still take it (RFC 8414 makes the field optional).
        meta.grant_types_supported = None;
        assert!(check_offered(&meta, JWT_BEARER).is_ok());
    }

    #[test]
    fn a_machine_server_asks_for_its_scopes_and_resource_on_every_request() {
        let mut server = crate::servers::test_server("s");
        server.scopes = vec!["mcp:tools".into(), "mcp:read".into()];
        let p = params(&server);
        assert_eq!(p.scope.as_deref(), Some("mcp:tools mcp:read"));
        assert_eq!(p.resource.as_deref(), Some("http://127.0.0.1:9/mcp"));
        server.quirks.no_resource = true;
        server.scopes.clear();
        let p = params(&server);
        assert_eq!((p.scope, p.resource), (None, None));
    }
}
