//! The interactive part shared by add, login and ephemeral calls: a client id, the browser
//! round trip, the code exchange, and MCP operations with step-up re-authorization.

use serde_json::Value;
use url::Url;

use super::FlowError;
use super::progress::{Progress, ProgressFn};
use crate::Error;
use crate::authorization::callback::timeout_from_env;
use crate::authorization::pkce::{Pkce, random_state};
use crate::authorization::request::step_up_scopes;
use crate::authorization::{AuthRequest, Listener, PasteBack, browser, paste};
use crate::discovery::AuthServerMetadata;
use crate::mcp::{McpClient, McpError, Tool};
use crate::registration::{self, ClientOptions, ClientPlan, DcrRequest};
use crate::servers::{ClientSource, Quirks, Registration, State, StateFile};
use crate::tokens::endpoint::TokenError;
use crate::tokens::endpoint::{self, TokenParams};
use crate::tokens::store::{self, SecretStore};
use crate::tokens::{ClientCredentials, ClientStanding, TokenAuthMethod, TokenSet};

/// Most re-authorizations for more scopes in one operation (never a loop).
pub const MAX_STEP_UPS: usize = 2;

/// The client id obtained for a sign-in.
pub(crate) struct ObtainedClient {
    pub creds: ClientCredentials,
    pub source: ClientSource,
    /// Registered by this very sign-in (so a failed `add` deletes it again).
    pub registered_now: bool,
}

/// Get the client id in the spec's priority. A new dynamic registration is written at once:
/// its secrets to `secrets`, its record to `state_file` (when persistent).
pub(crate) async fn obtain_client(
    http: &reqwest::Client,
    as_meta: &AuthServerMetadata,
    opts: &ClientOptions,
    redirect_uri: &str,
    state_file: Option<&StateFile>,
    secrets: &dyn SecretStore,
    progress: ProgressFn<'_>,
) -> Result<ObtainedClient, Error> {
    let supported = &as_meta.token_endpoint_auth_methods_supported;
    match registration::plan(as_meta, opts)? {
        ClientPlan::PreRegistered {
            client_id,
            client_secret,
        } => {
            let method = TokenAuthMethod::choose(supported, client_secret.is_some(), None);
            progress(Progress::ClientReady {
                client_id: client_id.clone(),
                source: "pre-registered",
                reused: true,
            });
            Ok(ObtainedClient {
                registered_now: false,
                source: ClientSource::PreRegistered {
                    client_id: client_id.clone(),
                    has_secret: client_secret.is_some(),
                },
                creds: ClientCredentials {
                    client_id,
                    secret: client_secret,
                    method,
                },
            })
        }
        ClientPlan::MetadataDocument { client_id } => {
            progress(Progress::ClientReady {
                client_id: client_id.to_string(),
                source: "client-id-metadata-document",
                reused: true,
            });
            Ok(ObtainedClient {
                creds: ClientCredentials {
                    client_id: client_id.to_string(),
                    secret: None,
                    method: TokenAuthMethod::None,
                },
                source: ClientSource::MetadataDocument { client_id },
                registered_now: false,
            })
        }
        ClientPlan::Dynamic {
            registration_endpoint,
        } => {
            // One registration per issuer and machine: reuse it when alive.
            let existing = match state_file {
                Some(f) => f.load()?.registration(&as_meta.issuer).cloned(),
                None => None,
            };
            let existing = match existing.filter(|r| !r.dead) {
                Some(reg)
                    if still_registered(
                        http,
                        &reg,
                        secrets,
                        &as_meta.token_endpoint,
                        supported,
                    )
                    .await
                        == Some(false) =>
                {
                    // An admin deleted it (pruning scripts do): register anew, never replay it.
                    tracing::info!("registration {} is gone at {}", reg.client_id, reg.issuer);
                    None
                }
                other => other,
            };
            if let Some(reg) = existing {
                let reg = ensure_redirect(http, reg, redirect_uri, state_file, secrets).await;
                let creds =
                    crate::tokens::fresh::registration_credentials(&reg, supported, secrets)?;
                progress(Progress::ClientReady {
                    client_id: reg.client_id.clone(),
                    source: "dynamic-registration",
                    reused: true,
                });
                return Ok(ObtainedClient {
                    creds,
                    source: ClientSource::Dynamic,
                    registered_now: false,
                });
            }
            progress(Progress::Registering {
                endpoint: registration_endpoint.to_string(),
            });
            let request = DcrRequest::for_this_machine(vec![redirect_uri.to_owned()], supported)
                .with_grants_listed(as_meta.grant_types_supported.as_deref());
            let client = registration::register(http, &registration_endpoint, &request).await?;
            let reg = keep_registration(
                secrets,
                &as_meta.issuer,
                &client,
                vec![redirect_uri.to_owned()],
            )?;
            if let Some(f) = state_file {
                f.update(|st: &mut State| {
                    st.put_registration(reg.clone());
                    Ok::<_, Error>(())
                })?;
            }
            progress(Progress::ClientReady {
                client_id: client.client_id.clone(),
                source: "dynamic-registration",
                reused: false,
            });
            let method = TokenAuthMethod::choose(
                supported,
                client.client_secret.is_some(),
                Some(&client.token_endpoint_auth_method),
            );
            Ok(ObtainedClient {
                creds: ClientCredentials {
                    client_id: client.client_id,
                    secret: client.client_secret,
                    method,
                },
                source: ClientSource::Dynamic,
                registered_now: true,
            })
        }
    }
}

/// Whether the AS still knows a registration: the RFC 7592 read when the IdP gave a management
/// endpoint (`Some(false)` on 401/403/404), else the token endpoint's word on the client id
/// (without it, a deleted client would only show as an error page in the browser, at an
/// authorization request that never comes back). `None` when it cannot be told (network).
async fn still_registered(
    http: &reqwest::Client,
    reg: &Registration,
    secrets: &dyn SecretStore,
    token_endpoint: &Url,
    supported: &[String],
) -> Option<bool> {
    let token = match (
        &reg.registration_client_uri,
        reg.has_registration_access_token,
    ) {
        (Some(uri), true) => secrets
            .get(&store::registration_token_key(reg.issuer.as_str()))
            .ok()
            .flatten()
            .map(|t| (uri, t)),
        _ => None,
    };
    if let Some((uri, token)) = token {
        return match registration::read_registration(http, uri, &token, &reg.client_id).await {
            Ok(read) => {
                // RFC 7592 §2.1: a read may rotate the registration access token, and the
                // client MUST use the new one (the old one may stop working at once; keeping it
                // would make the next check think the client is gone and orphan it).
                if let Some(new) = read.registration_access_token.filter(|t| *t != token)
                    && let Err(e) =
                        secrets.set(&store::registration_token_key(reg.issuer.as_str()), &new)
                {
                    tracing::warn!("could not store the rotated registration access token: {e}");
                }
                Some(true)
            }
            Err(crate::registration::RegistrationError::Management {
                status: Some(401 | 403 | 404),
                ..
            }) => Some(false),
            Err(_) => None,
        };
    }
    let creds = crate::tokens::fresh::registration_credentials(reg, supported, secrets).ok()?;
    match crate::tokens::client_standing(http, token_endpoint, &creds).await {
        ClientStanding::Known => Some(true),
        ClientStanding::Unknown => Some(false),
        ClientStanding::Unreachable(_) | ClientStanding::Unclear => None,
    }
}

/// When the loopback port changed, tell the AS through RFC 7592 (best effort: `native`
/// clients on most IdPs accept any loopback port anyway).
async fn ensure_redirect(
    http: &reqwest::Client,
    reg: Registration,
    redirect_uri: &str,
    state_file: Option<&StateFile>,
    secrets: &dyn SecretStore,
) -> Registration {
    if reg.redirect_uris.iter().any(|u| u == redirect_uri) {
        return reg;
    }
    let (Some(uri), true) = (
        &reg.registration_client_uri,
        reg.has_registration_access_token,
    ) else {
        return reg;
    };
    let issuer = reg.issuer.as_str().to_owned();
    let Ok(Some(token)) = secrets.get(&store::registration_token_key(&issuer)) else {
        return reg;
    };
    let mut uris = reg.redirect_uris.clone();
    uris.push(redirect_uri.to_owned());
    match registration::update_registration(http, uri, &token, &reg.metadata, &reg.client_id, &uris)
        .await
    {
        Ok(updated) => {
            if let Some(t) = &updated.registration_access_token
                && secrets
                    .set(&store::registration_token_key(&issuer), t)
                    .is_err()
            {
                return reg;
            }
            let mut new = reg.clone();
            new.metadata = updated.metadata;
            new.redirect_uris = if updated.redirect_uris.is_empty() {
                uris
            } else {
                updated.redirect_uris
            };
            if let Some(f) = state_file {
                let _ = f.update(|st: &mut State| {
                    st.put_registration(new.clone());
                    Ok::<_, Error>(())
                });
            }
            new
        }
        Err(e) => {
            tracing::warn!("could not update the registration's redirect URIs: {e}");
            reg
        }
    }
}

/// Everything needed for one browser round trip.
pub(crate) struct AuthContext<'a> {
    pub http: &'a reqwest::Client,
    /// Where a dynamic registration's working authentication method is remembered.
    pub state_file: Option<&'a StateFile>,
    pub as_meta: &'a AuthServerMetadata,
    pub creds: &'a ClientCredentials,
    pub listener: &'a Listener,
    pub resource: &'a Url,
    pub quirks: &'a Quirks,
    pub no_browser: bool,
    /// Whether to sign in by the device authorization grant instead of the browser round trip.
    pub device: crate::authorization::device::DeviceGrant,
    /// Where a pasted redirect address can come from when the browser cannot reach the listener.
    pub paste: Option<&'a PasteBack>,
    /// The server's DPoP key, when it uses DPoP (RFC 9449; `tokens::dpop::stance`).
    pub dpop: Option<crate::tokens::dpop::Dpop>,
    pub progress: ProgressFn<'a>,
}

impl AuthContext<'_> {
    /// Authorization code + PKCE S256 + state + resource → tokens.
    pub async fn authorize(&self, scopes: &[String]) -> Result<TokenSet, Error> {
        if let Some(done) = self.by_device(scopes).await {
            return done;
        }
        let flow = self.as_meta.require_code_flow()?;
        let pkce = Pkce::new();
        let state = random_state();
        let redirect_uri = self.listener.redirect_uri();
        let resource =
            (!self.quirks.no_resource).then(|| crate::authorization::resource_param(self.resource));
        let url = AuthRequest {
            flow,
            client_id: &self.creds.client_id,
            redirect_uri: &redirect_uri,
            code_challenge: pkce.challenge(),
            state: &state,
            scopes,
            resource: resource.as_deref(),
            audience: self.quirks.audience.as_deref(),
            extra: &self.quirks.extra_authorize_params,
        }
        .url();
        // No display (an SSH host, a container): xdg-open would "succeed" and show nothing.
        let headless = self.no_browser || browser::no_display();
        // No browser could be started (none found, WSL without a Windows opener): the URL is
        // printed, and the address the browser ends on may be pasted back as when headless.
        let mut url_printed = headless;
        if headless {
            (self.progress)(Progress::OpenThisUrl {
                url: url.to_string(),
            });
        } else {
            match browser::open(url.as_str()) {
                Ok(()) => (self.progress)(Progress::BrowserOpened {
                    url: url.to_string(),
                }),
                Err(detail) => {
                    tracing::warn!("browser: {detail}");
                    url_printed = true;
                    (self.progress)(Progress::OpenThisUrl {
                        url: url.to_string(),
                    })
                }
            }
        }
        let callback = paste::callback_or_paste(
            self.listener,
            self.paste.filter(|_| url_printed),
            &state,
            self.as_meta.issuer_str(),
            self.as_meta.authorization_response_iss_parameter_supported,
            timeout_from_env(),
        )
        .await?;
        (self.progress)(Progress::ExchangingCode);
        let params = TokenParams {
            resource,
            audience: self.quirks.audience.clone(),
            scope: None,
            dpop: self.dpop.clone(),
        };
        let requested = (!scopes.is_empty()).then(|| scopes.join(" "));
        let exchange = |creds: ClientCredentials| {
            let (params, requested) = (params.clone(), requested.clone());
            let (code, verifier, redirect_uri) = (&callback.code, pkce.verifier(), &redirect_uri);
            async move {
                endpoint::exchange_code(
                    self.http,
                    &self.as_meta.token_endpoint,
                    &creds,
                    code,
                    verifier,
                    redirect_uri,
                    &params,
                    requested.as_deref(),
                )
                .await
            }
        };
        self.with_client_auth(self.creds.method, exchange)
            .await
            .map(|(tokens, _)| tokens)
    }

    /// A token endpoint request (`request`, given the client's credentials) authenticated by
    /// `method`; when the endpoint refuses how the client authenticated, once more with the
    /// other listed method, remembered in the registration when it works. Returns the method
    /// that worked, for the next request of the same sign-in (the device grant's polls).
    pub(super) async fn with_client_auth<T, Fut>(
        &self,
        method: TokenAuthMethod,
        request: impl Fn(ClientCredentials) -> Fut,
    ) -> Result<(T, TokenAuthMethod), Error>
    where
        Fut: std::future::Future<Output = Result<T, TokenError>>,
    {
        let creds = |method| ClientCredentials {
            method,
            ..self.creds.clone()
        };
        let first = match request(creds(method)).await {
            Ok(t) => return Ok((t, method)),
            Err(e) if e.refused_client_auth() => e,
            Err(e) => return Err(e.into()),
        };
        // Servers differ in which of the listed methods they really take (the Python MCP SDK
        // wants `client_id` in the form, some proxies only Basic): try the other one once,
        // and remember it in the registration when it works.
        let supported = &self.as_meta.token_endpoint_auth_methods_supported;
        let refused = |tried: String| FlowError::ExchangeRefused {
            issuer: self.as_meta.issuer_str().to_owned(),
            client_id: self.creds.client_id.clone(),
            tried,
            detail: first.to_string(),
        };
        let Some(other) = method.alternative(supported) else {
            return Err(refused(method.as_str().to_owned()).into());
        };
        match request(creds(other)).await {
            Ok(t) => {
                tracing::info!(
                    "{} refused {} but took {}; remembered",
                    self.as_meta.issuer_str(),
                    method.as_str(),
                    other.as_str()
                );
                self.remember_method(other);
                Ok((t, other))
            }
            Err(_) => Err(refused(format!("{} and {}", method.as_str(), other.as_str())).into()),
        }
    }

    /// Record in this machine's registration at the issuer the method the token endpoint took.
    fn remember_method(&self, method: TokenAuthMethod) {
        let Some(f) = self.state_file else {
            return;
        };
        let issuer = &self.as_meta.issuer;
        let client_id = &self.creds.client_id;
        let saved = f.update(|st: &mut State| {
            if let Some(reg) = st.registration_mut(issuer)
                && &reg.client_id == client_id
            {
                reg.token_endpoint_auth_method = method.as_str().to_owned();
            }
            Ok::<_, Error>(())
        });
        if let Err(e) = saved {
            tracing::warn!("could not remember the token endpoint's auth method: {e}");
        }
    }
}

/// One MCP operation.
#[derive(Debug, Clone)]
pub(crate) enum McpOp {
    ListTools,
    Call { tool: String, args: Value },
}

/// What the operations returned.
#[derive(Debug, Default)]
pub(crate) struct McpResults {
    pub tools: Option<Vec<Tool>>,
    pub call: Option<Value>,
}

pub(crate) async fn run_ops(client: &mut McpClient, ops: &[McpOp]) -> Result<McpResults, McpError> {
    let mut out = McpResults::default();
    for op in ops {
        match op {
            McpOp::ListTools => out.tools = Some(client.list_tools().await?),
            McpOp::Call { tool, args } => {
                out.call = Some(client.call_tool(tool, args.clone()).await?)
            }
        }
    }
    Ok(out)
}

/// Run `ops` with freshly obtained tokens; on 403 `insufficient_scope` re-authorize with the
/// union of scopes (at most [`MAX_STEP_UPS`] times). `tokens` and `scopes` end as the last ones
/// obtained, whatever the outcome (a failure must still revoke them). Returns the results and
/// the endpoint as it answered (settled after a same-origin redirect).
pub(crate) async fn ops_with_step_up(
    auth: &AuthContext<'_>,
    url: &Url,
    tokens: &mut TokenSet,
    scopes: &mut Vec<String>,
    ops: &[McpOp],
) -> Result<(McpResults, Url), Error> {
    let mut step_ups = 0;
    let mut url = url.clone();
    loop {
        (auth.progress)(Progress::CallingServer);
        let mut client = McpClient::new(
            auth.http.clone(),
            url.clone(),
            auth.quirks.header_name(),
            tokens.header_value(),
        );
        client.set_dpop(auth.dpop.clone());
        let outcome = run_ops(&mut client, ops).await;
        url = client.url().clone();
        match outcome {
            Ok(r) => return Ok((r, url)),
            Err(McpError::InsufficientScope { scope, .. }) => {
                let union = step_up_scopes(scopes, scope.as_deref());
                if step_ups >= MAX_STEP_UPS || (union == *scopes && step_ups > 0) {
                    return Err(FlowError::StepUpLimit(step_ups, scope.unwrap_or_default()).into());
                }
                step_ups += 1;
                *scopes = union;
                (auth.progress)(Progress::StepUp {
                    scopes: scopes.clone(),
                });
                *tokens = auth.authorize(scopes).await?;
            }
            Err(McpError::Unauthorized { .. }) => {
                return Err(FlowError::FreshTokenRefused {
                    url: url.to_string(),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A new registration's secrets go to the keychain first (an earlier client's are removed), then
/// the record that points at them is returned for the state file.
pub(crate) fn keep_registration(
    secrets: &dyn SecretStore,
    issuer: &Url,
    client: &registration::RegisteredClient,
    fallback_redirect_uris: Vec<String>,
) -> Result<Registration, store::SecretError> {
    let key = issuer.as_str();
    match &client.client_secret {
        Some(s) => secrets.set(&store::registration_secret_key(key), s)?,
        None => secrets.delete(&store::registration_secret_key(key))?,
    }
    match &client.registration_access_token {
        Some(t) => secrets.set(&store::registration_token_key(key), t)?,
        None => secrets.delete(&store::registration_token_key(key))?,
    }
    Ok(Registration {
        issuer: issuer.clone(),
        client_id: client.client_id.clone(),
        metadata: client.metadata.clone(),
        redirect_uris: if client.redirect_uris.is_empty() {
            fallback_redirect_uris
        } else {
            client.redirect_uris.clone()
        },
        token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
        has_secret: client.client_secret.is_some(),
        registration_client_uri: client.registration_client_uri.clone(),
        has_registration_access_token: client.registration_access_token.is_some(),
        dead: false,
        registered_at: crate::tokens::set::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::store::MemoryStore;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An RFC 7592 endpoint whose read answers with a rotated registration access token.
    async fn rotating_endpoint() -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/reg/c1", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                let body = if head.contains("authorization: bearer rat-1") {
                    r#"{"client_id":"c1","redirect_uris":["http://127.0.0.1/cb"],"registration_access_token":"rat-2"}"#
                } else {
                    "{}"
                };
                let status = if body == "{}" {
                    "401 Unauthorized"
                } else {
                    "200 OK"
                };
                let out = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn a_registration_access_token_rotated_by_a_read_is_kept() {
        let uri = rotating_endpoint().await;
        let issuer = Url::parse("https://idp.example").unwrap();
        let reg = Registration {
            issuer: issuer.clone(),
            client_id: "c1".into(),
            metadata: serde_json::json!({}),
            redirect_uris: vec![],
            token_endpoint_auth_method: "none".into(),
            has_secret: false,
            registration_client_uri: Some(uri),
            has_registration_access_token: true,
            dead: false,
            registered_at: 0,
        };
        let secrets = MemoryStore::new();
        let key = store::registration_token_key(issuer.as_str());
        secrets.set(&key, "rat-1").unwrap();
        let http = crate::http::oauth_client().unwrap();
        let token_endpoint = Url::parse("https://idp.example/token").unwrap();
        assert_eq!(
            still_registered(&http, &reg, &secrets, &token_endpoint, &[]).await,
            Some(true)
        );
        assert_eq!(secrets.get(&key).unwrap().as_deref(), Some("rat-2"));
    }
}
