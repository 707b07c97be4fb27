//! `add` (discover → client id → sign in → first tool call → save) and `call URL`, the same
//! flow in memory.

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::FlowError;
use super::facade::Lanyard;
use super::naming::{derive_name, valid_name};
use super::progress::{Progress, ProgressFn};
use super::signin::{self, AuthContext, McpOp};
use super::views::client_id_of;
use crate::Error;
use crate::discovery::Discovery;
use crate::mcp::{McpClient, McpError, Tool};
use crate::registration::ClientOptions;
use crate::servers::{ClientSource, Quirks, Server, ServerStatus, State, StateError, StateFile};
use crate::tokens::set::now;
use crate::tokens::store;
use crate::tokens::{self as tok, TokenSet};

/// Options of `add` (and of `call URL`, which runs the same flow).
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub name: Option<String>,
    pub client: ClientOptions,
    /// `--scope`: overrides the challenge / PRM scopes.
    pub scopes: Option<Vec<String>>,
    pub quirks: Quirks,
    pub no_browser: bool,
    /// `--device`: sign in by the RFC 8628 device authorization grant (chosen anyway when this
    /// machine has no display and the AS offers it).
    pub device: bool,
    /// The issuer (and endpoints) the user confirmed after a check: `add` aborts before any
    /// registration or sign-in when discovery now says otherwise (issue 12).
    pub confirmed: Option<super::Confirmed>,
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddOutcome {
    pub name: String,
    pub url: String,
    pub issuer: String,
    pub client_source: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
    pub tools: Vec<Tool>,
    /// Through a company IdP session ("via IdP as user"), or the server's own sign-in and why.
    pub sign_in: super::idp_path::IdpPath,
}

/// What one interactive sign-in produced.
pub(super) struct Interactive {
    pub(super) results: signin::McpResults,
    pub(super) tokens: TokenSet,
    pub(super) source: ClientSource,
    pub(super) scopes: Vec<String>,
    pub(super) discovery: Discovery,
    pub(super) port: u16,
    /// The MCP endpoint as it answered (after a same-origin redirect, e.g. `…/mcp/` → `…/mcp`).
    pub(super) url: Url,
    /// Whether the tokens came through a company IdP session, or why not.
    pub(super) idp: super::idp_path::IdpPath,
    /// The DPoP key the tokens are bound to (not saved yet), when the server uses DPoP.
    pub(super) dpop: Option<tok::dpop::Dpop>,
}

/// The MCP endpoint to call: the URL the user gave, or the server's own name for it (its
/// Protected Resource Metadata `resource`) when the two differ only by a trailing slash. People
/// paste `…/mcp/`; many servers (the TypeScript SDK's, better-auth's) answer it 404 after the
/// sign-in, while the metadata names `…/mcp`, the URL they do serve.
pub fn settled_url(url: &Url, resource: &Url) -> Url {
    let same_but_slash = url.origin() == resource.origin()
        && url.query() == resource.query()
        && url.path() != resource.path()
        && url.path().trim_end_matches('/') == resource.path().trim_end_matches('/');
    if same_but_slash {
        resource.clone()
    } else {
        url.clone()
    }
}

pub(super) fn parse_url(s: &str) -> Result<Url, Error> {
    let url = Url::parse(s.trim()).map_err(|_| FlowError::BadUrl(s.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(FlowError::BadUrl(s.to_owned()).into());
    }
    Ok(url)
}

/// The URL and the name of a server to add: the name the user gave (valid and free) or one
/// made from the URL; refused when a saved server has that URL already.
pub(super) fn url_and_name(
    state_file: &StateFile,
    url: &str,
    name: Option<&str>,
) -> Result<(Url, String), Error> {
    let url = parse_url(url)?;
    let st = state_file.load()?;
    if let Some(existing) = st.servers.iter().find(|s| s.url == url) {
        return Err(FlowError::AlreadyAdded {
            url: url.to_string(),
            name: existing.name.clone(),
        }
        .into());
    }
    let name = match name {
        Some(n) if !valid_name(n) => return Err(FlowError::BadName(n.to_owned()).into()),
        Some(n) if st.server(n).is_some() => {
            return Err(StateError::NameTaken(n.to_owned()).into());
        }
        Some(n) => n.to_owned(),
        None => unique_name(&st, &derive_name(&url)),
    };
    Ok((url, name))
}

/// Put the new `server` in the state, unless another process saved one of its name or URL
/// since [`url_and_name`] checked.
pub(super) fn put_new(st: &mut State, server: &Server) -> Result<(), Error> {
    if st.server(&server.name).is_some() {
        return Err(StateError::NameTaken(server.name.clone()).into());
    }
    if let Some(existing) = st.servers.iter().find(|s| s.url == server.url) {
        return Err(FlowError::AlreadyAdded {
            url: server.url.to_string(),
            name: existing.name.clone(),
        }
        .into());
    }
    st.put_server(server.clone());
    Ok(())
}

pub(super) fn unique_name(st: &State, base: &str) -> String {
    if st.server(base).is_none() {
        return base.to_owned();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| st.server(n).is_none())
        .unwrap_or_else(|| base.to_owned())
}

impl Lanyard {
    /// `lanyard add URL`: discover, get a client id, sign in, first tool call (`tools/list`),
    /// then save (secrets first). Nothing is saved when any step fails (but see the module docs
    /// about new registrations).
    pub async fn add(
        &self,
        url: &str,
        opts: AddOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<AddOutcome, Error> {
        self.add_after(url, opts, &[McpOp::ListTools], progress)
            .await
    }

    /// `add` with the operations that prove the sign-in: `tools/list` for an MCP server, none
    /// for a protected registry (`import`), whose list request proves it instead.
    pub(super) async fn add_after(
        &self,
        url: &str,
        opts: AddOptions,
        ops: &[McpOp],
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<AddOutcome, Error> {
        let state_file = self.state_file()?;
        let (url, name) = url_and_name(state_file, url, opts.name.as_deref())?;
        // The secret store must answer before anything is registered or signed in: a store that
        // fails only at the end (no Secret Service, a locked keychain refused) would leave a new
        // client at the IdP whose management token had nowhere to go.
        self.secrets.check()?;
        let done = self.interactive(&url, &name, &opts, ops, progress).await?;
        let Interactive {
            results,
            tokens,
            source,
            scopes,
            discovery: disc,
            port,
            url,
            idp,
            dpop,
        } = done;
        let tools = results.tools.unwrap_or_default();

        // Save: secrets first, then the state that refers to them.
        if let Some(d) = &dpop {
            d.key().save(&*self.secrets, &name)?;
        }
        self.secrets
            .set(&store::tokens_key(&name), &tokens.to_json())?;
        if let (
            ClientSource::PreRegistered {
                has_secret: true, ..
            },
            Some(secret),
        ) = (&source, &opts.client.client_secret)
        {
            self.secrets.set(&store::server_secret_key(&name), secret)?;
        }
        let server = Server {
            name: name.clone(),
            url: url.clone(),
            resource: disc.resource.resource.clone(),
            auth_server: disc.auth_server.clone(),
            client: source.clone(),
            scopes: scopes.clone(),
            quirks: opts.quirks.clone(),
            status: ServerStatus::Ok,
            added_at: now(),
        };
        let saved = state_file.update(|st| {
            put_new(st, &server)?;
            Self::remember_port(st, &opts.quirks, port);
            Ok(())
        });
        if let Err(e) = saved {
            let _ = self.secrets.delete(&store::tokens_key(&name));
            let _ = self.secrets.delete(&store::server_secret_key(&name));
            let _ = tok::dpop::forget(&*self.secrets, &name);
            return Err(e);
        }
        self.link_idp(&name, &idp)?;
        progress(Progress::Saved { name: name.clone() });
        let st = state_file.load()?;
        Ok(AddOutcome {
            client_id: client_id_of(&st, &server).unwrap_or_default(),
            name,
            url: url.to_string(),
            issuer: disc.auth_server.issuer_str().to_owned(),
            client_source: source.label().into(),
            scopes,
            expires_at: tokens.expires_at,
            tools,
            sign_in: idp,
        })
    }

    /// Discovery + client + browser sign-in + `ops` with step-up. Saves nothing except a new
    /// dynamic registration and the callback port.
    pub(super) async fn interactive(
        &self,
        url: &Url,
        name: &str,
        opts: &AddOptions,
        ops: &[McpOp],
        progress: ProgressFn<'_>,
    ) -> Result<Interactive, Error> {
        progress(Progress::Discovering {
            url: url.to_string(),
        });
        let mut disc = self.discover(url).await?;
        if disc.challenge.is_none() {
            // The server let the unauthenticated `initialize` through: its challenge (and the
            // scope it names) comes with the first operation that needs a token. Only a
            // read-only `tools/list` is tried without a token, never a tool call.
            let mut anon = McpClient::anonymous(self.http()?.clone(), url.clone());
            if let Err(McpError::Unauthorized {
                www_authenticate: Some(www),
                ..
            }) = anon.list_tools().await
                && let Some(challenge) = crate::discovery::BearerChallenge::parse(&www)
            {
                let http = crate::http::Http::new()?;
                disc =
                    crate::discovery::discover_after_challenge(&http, url, Some(challenge)).await?;
            }
        }
        let mut rediscovered = false;
        loop {
            progress(Progress::Discovered {
                issuer: disc.auth_server.issuer_str().to_owned(),
                resource: disc.resource.resource.to_string(),
            });
            if let Some(c) = &opts.confirmed {
                c.check(&disc.auth_server)?;
            }
            let idp_path = match self.via_idp(url, &disc, opts, ops).await? {
                Ok(done) => return Ok(done),
                Err(path) => path,
            };
            // A person signs in from here on: refused before anything is registered when the
            // AS does not offer it (a machine client's add does not come here).
            let device = super::device_signin::use_device_grant(
                opts.device,
                opts.no_browser,
                &disc.auth_server,
            )?;
            super::device_signin::check_person_sign_in(device, &disc.auth_server)?;
            let listener = self.listener(&opts.quirks).await?;
            let client = signin::obtain_client(
                self.http()?,
                &disc.auth_server,
                &opts.client,
                &listener.redirect_uri(),
                self.state.as_ref(),
                &*self.secrets,
                progress,
            )
            .await?;
            let scopes = crate::authorization::choose_scopes(&disc, opts.scopes.as_deref());
            let dpop = tok::dpop::for_sign_in(&*self.secrets, name, &disc)?;
            let auth = AuthContext {
                http: self.http()?,
                state_file: self.state.as_ref(),
                as_meta: &disc.auth_server,
                creds: &client.creds,
                listener: &listener,
                resource: &disc.resource.resource,
                quirks: &opts.quirks,
                no_browser: opts.no_browser,
                device,
                paste: self.paste.as_deref(),
                dpop: dpop.clone(),
                progress,
            };
            let mut scopes = scopes;
            // A sign-in that ends before tokens keeps its new registration: the next try reuses it.
            let mut tokens = auth.authorize(&scopes).await?;
            let _ = name;
            let endpoint = settled_url(url, &disc.resource.resource);
            let outcome =
                signin::ops_with_step_up(&auth, &endpoint, &mut tokens, &mut scopes, ops).await;
            let (results, settled_url) = match outcome {
                Ok(r) => r,
                // A token just obtained is refused: the server may have moved to another
                // authorization server (SEP-2352). Discover once more; a new issuer means a new
                // client there (credentials are per issuer), never the old client id.
                Err(e)
                    if !rediscovered
                        && matches!(
                            e.downcast_ref::<FlowError>(),
                            Some(FlowError::FreshTokenRefused { .. })
                        ) =>
                {
                    self.undo_sign_in(&disc.auth_server, &client, &tokens).await;
                    let again = self.discover(url).await?;
                    if again.auth_server.issuer_str() == disc.auth_server.issuer_str() {
                        return Err(e);
                    }
                    rediscovered = true;
                    disc = again;
                    continue;
                }
                Err(e) => {
                    self.undo_sign_in(&disc.auth_server, &client, &tokens).await;
                    return Err(e);
                }
            };
            return Ok(Interactive {
                results,
                tokens,
                source: client.source,
                scopes,
                discovery: disc,
                port: listener.port(),
                url: settled_url,
                idp: idp_path,
                dpop,
            });
        }
    }

    /// A sign-in that cannot be used (its first MCP operation failed): revoke the tokens it
    /// obtained (RFC 7009, best effort) and delete the client it registered for it (RFC 7592,
    /// when the IdP allows), so a failed `add` leaves nothing live behind. A client reused
    /// from an earlier sign-in stays: other servers may use it.
    pub(super) async fn undo_sign_in(
        &self,
        as_meta: &crate::discovery::AuthServerMetadata,
        client: &signin::ObtainedClient,
        tokens: &TokenSet,
    ) {
        if let Some(endpoint) = &as_meta.revocation_endpoint {
            let creds = tok::revoke::for_revocation(
                as_meta,
                client.creds.clone(),
                Some(client.creds.method.as_str()),
            );
            let mut pending = Vec::new();
            if let Some(rt) = &tokens.refresh_token {
                pending.push((rt.as_str(), "refresh_token"));
            }
            pending.push((tokens.access_token.as_str(), "access_token"));
            for (token, hint) in pending {
                let revoked = match self.http() {
                    Ok(http) => {
                        tok::revoke::revoke_one(http, as_meta, endpoint, &creds, token, hint)
                            .await
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = revoked {
                    tracing::warn!("could not revoke the unused {hint}: {e}");
                }
            }
        }
        if client.registered_now && self.state.is_some() {
            match self.delete_registration(&as_meta.issuer).await {
                Ok(()) => tracing::info!(
                    "deleted client {} again at {}",
                    client.creds.client_id,
                    as_meta.issuer
                ),
                Err(e) => tracing::warn!(
                    "kept client {} (reused by the next sign-in, removed by uninstall): {e}",
                    client.creds.client_id
                ),
            }
        }
    }

    /// `lanyard call URL TOOL --ephemeral`: the whole flow in memory, then `tools/list` and the
    /// call. Works on an ephemeral engine (nothing touches disk or keychain).
    pub async fn call_url(
        &self,
        url: &str,
        tool: &str,
        args: Value,
        opts: AddOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Value, Error> {
        let url = parse_url(url)?;
        let ops = [
            McpOp::ListTools,
            McpOp::Call {
                tool: tool.to_owned(),
                args,
            },
        ];
        let name = opts.name.clone().unwrap_or_else(|| derive_name(&url));
        let done = self.interactive(&url, &name, &opts, &ops, progress).await?;
        Ok(done.results.call.unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_pasted_trailing_slash_settles_on_the_servers_own_name() {
        let resource = u("http://127.0.0.1:9/demo/mcp");
        assert_eq!(
            settled_url(&u("http://127.0.0.1:9/demo/mcp/"), &resource),
            resource
        );
        assert_eq!(settled_url(&resource, &resource), resource);
        // Anything more than the slash keeps the URL the user gave.
        let other = u("http://127.0.0.1:9/other/mcp/");
        assert_eq!(settled_url(&other, &resource), other);
        let host = u("http://localhost:9/demo/mcp/");
        assert_eq!(settled_url(&host, &resource), host);
        // A resource with the slash and a URL without: the server's name wins too.
        let slashed = u("http://127.0.0.1:9/mcp/");
        assert_eq!(settled_url(&u("http://127.0.0.1:9/mcp"), &slashed), slashed);
    }
}
