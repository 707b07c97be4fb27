//! [`Lanyard`]: the public face of the engine for the CLI, the tray and the daemon.

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::FlowError;
use super::naming::{derive_name, valid_name};
use super::signin::{self, AuthContext, McpOp, ProgressFn};
use crate::Error;
use crate::authorization::Listener;
use crate::discovery::Discovery;
use crate::mcp::{McpClient, McpError, Tool};
use crate::paths::Paths;
use crate::registration::{self, ClientOptions, RegistrationError};
use crate::servers::{ClientSource, Quirks, Server, ServerStatus, State, StateError, StateFile};
use crate::tokens::set::now;
use crate::tokens::store::{self, LazyKeyringStore, MemoryStore, SecretStore};
use crate::tokens::{self as tok, TokenSet};

/// What the flow is doing, for progress lines (CLI) and the tray's timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Progress {
    Discovering {
        url: String,
    },
    Discovered {
        issuer: String,
        resource: String,
    },
    Registering {
        endpoint: String,
    },
    ClientReady {
        client_id: String,
        source: &'static str,
        reused: bool,
    },
    /// The browser was started on this URL.
    BrowserOpened {
        url: String,
    },
    /// No browser (`--no-browser`, or it could not start): the user must open this URL.
    OpenThisUrl {
        url: String,
    },
    ExchangingCode,
    CallingServer,
    StepUp {
        scopes: Vec<String>,
    },
    Saved {
        name: String,
    },
}

/// Options of `add` (and of `call URL`, which runs the same flow).
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub name: Option<String>,
    pub client: ClientOptions,
    /// `--scope`: overrides the challenge / PRM scopes.
    pub scopes: Option<Vec<String>>,
    pub quirks: Quirks,
    pub no_browser: bool,
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
}

/// One server as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    pub name: String,
    pub url: String,
    pub resource: String,
    pub issuer: String,
    pub client_source: String,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    /// "ok", "needs_sign_in", "expired" (refreshable), "no_tokens".
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub quirks: Quirks,
}

/// One registration as `list --json` / cleanup see it.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationView {
    pub issuer: String,
    pub client_id: String,
    pub registration_client_uri: Option<String>,
    pub dead: bool,
    pub servers: Vec<String>,
}

/// What `logout` did at the authorization server.
#[derive(Debug, Clone, Serialize)]
pub struct LogoutOutcome {
    /// Tokens revoked at the AS (RFC 7009).
    pub revoked: bool,
    /// Why not, when not.
    pub note: Option<String>,
    /// The identity provider refused to revoke (or could not be asked): what stays usable
    /// there, until when. The tokens are forgotten here all the same.
    pub still_valid: Option<String>,
}

/// The engine. Cheap to build; the HTTP client is made on first network use (so `token` with a
/// fresh token never pays for it).
pub struct Lanyard {
    state: Option<StateFile>,
    secrets: Arc<dyn SecretStore>,
    http: OnceLock<reqwest::Client>,
    /// Refreshes run in a detached `lanyard` child ([`tok::detached`]): only for the user's
    /// Lanyard, whose state and keychain the child finds from the same environment.
    detached: bool,
}

impl Lanyard {
    /// The user's Lanyard: state under the platform config dir, secrets in the OS keychain
    /// (namespaced by this install's id).
    pub fn open() -> Result<Lanyard, Error> {
        let paths = Paths::from_env()?;
        Ok(Lanyard {
            detached: true,
            ..Lanyard::with(paths.clone(), Arc::new(LazyKeyringStore::new(paths)))
        })
    }

    /// Explicit state directory and secret store (tests, the tray).
    pub fn with(paths: Paths, secrets: Arc<dyn SecretStore>) -> Lanyard {
        Lanyard {
            state: Some(StateFile::new(paths)),
            secrets,
            http: OnceLock::new(),
            detached: false,
        }
    }

    /// Nothing read or written on disk or in the keychain (`--ephemeral`).
    pub fn ephemeral() -> Lanyard {
        Lanyard {
            state: None,
            secrets: Arc::new(MemoryStore::new()),
            http: OnceLock::new(),
            detached: false,
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(crate::net::client)
    }
    pub fn secrets(&self) -> &dyn SecretStore {
        &*self.secrets
    }
    pub fn state_file(&self) -> Result<&StateFile, Error> {
        self.state
            .as_ref()
            .ok_or_else(|| FlowError::Ephemeral.into())
    }

    fn server(&self, name: &str) -> Result<(State, Server), Error> {
        let st = self.state_file()?.load()?;
        let s = st
            .server(name)
            .cloned()
            .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
        Ok((st, s))
    }

    async fn discover(&self, url: &Url) -> Result<Discovery, Error> {
        super::discover_step(url).await
    }

    /// Bind the loopback listener before anything needs the redirect URI: the server's fixed
    /// port (must be free), else the machine's remembered port, else any free port.
    async fn listener(&self, quirks: &Quirks) -> Result<Listener, Error> {
        if let Some(p) = quirks.callback_port {
            return Ok(Listener::bind(p).await?);
        }
        let remembered = match &self.state {
            Some(f) => f.load()?.callback_port,
            None => None,
        };
        Ok(Listener::bind_preferring(remembered).await?)
    }

    /// The first port used becomes the machine's stable port; a fallback used while it was
    /// busy does not replace it.
    fn remember_port(st: &mut State, quirks: &Quirks, port: u16) {
        if quirks.callback_port.is_none() && st.callback_port.is_none() {
            st.callback_port = Some(port);
        }
    }

    /// `lanyard add URL`: discover, get a client id, sign in, first tool call (`tools/list`),
    /// then save (secrets first). Nothing is saved when any step fails (but see the module docs
    /// about new registrations).
    pub async fn add(
        &self,
        url: &str,
        opts: AddOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<AddOutcome, Error> {
        let state_file = self.state_file()?;
        let url = parse_url(url)?;
        let st = state_file.load()?;
        if let Some(existing) = st.servers.iter().find(|s| s.url == url) {
            return Err(FlowError::AlreadyAdded {
                url: url.to_string(),
                name: existing.name.clone(),
            }
            .into());
        }
        let name = match &opts.name {
            Some(n) if !valid_name(n) => return Err(FlowError::BadName(n.clone()).into()),
            Some(n) if st.server(n).is_some() => {
                return Err(StateError::NameTaken(n.clone()).into());
            }
            Some(n) => n.clone(),
            None => unique_name(&st, &derive_name(&url)),
        };
        let done = self
            .interactive(&url, &name, &opts, &[McpOp::ListTools], progress)
            .await?;
        let Interactive {
            results,
            tokens,
            source,
            scopes,
            discovery: disc,
            port,
            url,
        } = done;
        let tools = results.tools.unwrap_or_default();

        // Save: secrets first, then the state that refers to them.
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
            if st.server(&name).is_some() {
                return Err(Error::from(StateError::NameTaken(name.clone())));
            }
            if let Some(existing) = st.servers.iter().find(|s| s.url == url) {
                return Err(FlowError::AlreadyAdded {
                    url: url.to_string(),
                    name: existing.name.clone(),
                }
                .into());
            }
            st.put_server(server.clone());
            Self::remember_port(st, &opts.quirks, port);
            Ok(())
        });
        if let Err(e) = saved {
            let _ = self.secrets.delete(&store::tokens_key(&name));
            let _ = self.secrets.delete(&store::server_secret_key(&name));
            return Err(e);
        }
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
        })
    }

    /// Discovery + client + browser sign-in + `ops` with step-up. Saves nothing except a new
    /// dynamic registration and the callback port.
    async fn interactive(
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
            let mut anon = McpClient::anonymous(self.http().clone(), url.clone());
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
            let listener = self.listener(&opts.quirks).await?;
            let client = signin::obtain_client(
                self.http(),
                &disc.auth_server,
                &opts.client,
                &listener.redirect_uri(),
                self.state.as_ref(),
                &*self.secrets,
                progress,
            )
            .await?;
            let scopes = crate::authorization::choose_scopes(&disc, opts.scopes.as_deref());
            let auth = AuthContext {
                http: self.http(),
                state_file: self.state.as_ref(),
                as_meta: &disc.auth_server,
                creds: &client.creds,
                listener: &listener,
                resource: &disc.resource.resource,
                quirks: &opts.quirks,
                no_browser: opts.no_browser,
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
            });
        }
    }

    /// A sign-in that cannot be used (its first MCP operation failed): revoke the tokens it
    /// obtained (RFC 7009, best effort) and delete the client it registered for it (RFC 7592,
    /// when the IdP allows), so a failed `add` leaves nothing live behind. A client reused
    /// from an earlier sign-in stays: other servers may use it.
    async fn undo_sign_in(
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
                let revoked =
                    tok::revoke::revoke_one(self.http(), as_meta, endpoint, &creds, token, hint)
                        .await;
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

    /// `lanyard login NAME`: sign in again (re-registering when the registration is dead),
    /// with the scopes of the last sign-in; verified by `tools/list`.
    pub async fn login(
        &self,
        name: &str,
        no_browser: bool,
        progress: ProgressFn<'_>,
    ) -> Result<(), Error> {
        let (_, server) = self.server(name)?;
        let extra = (!server.scopes.is_empty()).then(|| server.scopes.clone());
        self.sign_in_again(&server, extra, no_browser, progress)
            .await
            .map(|_| ())
    }

    /// Sign a saved server in again (login, step-up) and save the new tokens and scopes.
    async fn sign_in_again(
        &self,
        server: &Server,
        scopes: Option<Vec<String>>,
        no_browser: bool,
        progress: ProgressFn<'_>,
    ) -> Result<TokenSet, Error> {
        let state_file = self.state_file()?;
        let mut client_opts = ClientOptions::default();
        match &server.client {
            ClientSource::PreRegistered {
                client_id,
                has_secret,
            } => {
                client_opts.client_id = Some(client_id.clone());
                if *has_secret {
                    client_opts.client_secret =
                        self.secrets.get(&store::server_secret_key(&server.name))?;
                }
            }
            ClientSource::MetadataDocument { client_id } => {
                client_opts.client_metadata_url = Some(client_id.clone());
            }
            ClientSource::Dynamic => {}
        }
        let opts = AddOptions {
            name: Some(server.name.clone()),
            client: client_opts,
            scopes,
            quirks: server.quirks.clone(),
            no_browser,
            confirmed: None,
        };
        let Interactive {
            tokens,
            source,
            scopes,
            discovery: disc,
            port,
            ..
        } = self
            .interactive(
                &server.url,
                &server.name,
                &opts,
                &[McpOp::ListTools],
                progress,
            )
            .await?;
        self.secrets
            .set(&store::tokens_key(&server.name), &tokens.to_json())?;
        state_file.update(|st| {
            let s = st
                .server_mut(&server.name)
                .ok_or_else(|| StateError::UnknownServer(server.name.clone()))?;
            s.status = ServerStatus::Ok;
            s.scopes = scopes.clone();
            s.client = source.clone();
            s.auth_server = disc.auth_server.clone();
            s.resource = disc.resource.resource.clone();
            Self::remember_port(st, &server.quirks, port);
            Ok::<_, Error>(())
        })?;
        progress(Progress::Saved {
            name: server.name.clone(),
        });
        Ok(tokens)
    }

    /// A valid access token for a saved server (fast path: no network; single-flight refresh
    /// across processes when due: [`TokenSet::refresh_due`]).
    pub async fn token(&self, name: &str) -> Result<TokenSet, Error> {
        self.fresh_token(name, tok::fresh::Want::Usable).await
    }

    /// A token for `want`. The refresh, when one is due, runs in a detached child (for the
    /// user's Lanyard): killing this process never loses a rotated grant.
    pub async fn fresh_token(&self, name: &str, want: tok::fresh::Want) -> Result<TokenSet, Error> {
        let state_file = self.state_file()?;
        let http = || self.http().clone();
        Ok(if self.detached {
            tok::obtain(state_file, &*self.secrets, http, name, want).await?
        } else {
            tok::fresh::token_for(state_file, &*self.secrets, http, name, want).await?
        })
    }

    /// The stored token set, fresh or not: one keychain read, no lock, no network (the headers
    /// helper's fast path). `None` when none is stored.
    pub fn stored_token(&self, name: &str) -> Result<Option<TokenSet>, Error> {
        match tok::stored_tokens(&*self.secrets, name) {
            Ok(t) => Ok(t),
            // A name Lanyard does not manage is the error to report, not a keychain that is
            // locked or absent (the keychain is read first: it is the helper's fast path).
            Err(e) => {
                if let Ok(f) = self.state_file()
                    && let Ok(st) = f.load()
                    && st.server(name).is_none()
                {
                    return Err(StateError::UnknownServer(name.to_owned()).into());
                }
                Err(e.into())
            }
        }
    }

    /// The header name and value to send a saved server (custom header quirk honoured).
    pub async fn auth_header(&self, name: &str) -> Result<(String, String), Error> {
        let t = self.token(name).await?;
        self.header_for(name, &t)
    }

    /// The header name and value carrying `token` to a saved server.
    pub fn header_for(&self, name: &str, token: &TokenSet) -> Result<(String, String), Error> {
        let (_, server) = self.server(name)?;
        Ok((server.quirks.header_name().to_owned(), token.header_value()))
    }

    /// `tools NAME`.
    pub async fn tools(&self, name: &str, progress: ProgressFn<'_>) -> Result<Vec<Tool>, Error> {
        Ok(self
            .saved_ops(name, &[McpOp::ListTools], progress)
            .await?
            .tools
            .unwrap_or_default())
    }

    /// `call NAME TOOL --args JSON`.
    pub async fn call(
        &self,
        name: &str,
        tool: &str,
        args: Value,
        progress: ProgressFn<'_>,
    ) -> Result<Value, Error> {
        let op = McpOp::Call {
            tool: tool.to_owned(),
            args,
        };
        Ok(self
            .saved_ops(name, &[op], progress)
            .await?
            .call
            .unwrap_or(Value::Null))
    }

    /// MCP operations on a saved server: refresh once on 401, step-up sign-in on 403
    /// `insufficient_scope` (bounded).
    async fn saved_ops(
        &self,
        name: &str,
        ops: &[McpOp],
        progress: ProgressFn<'_>,
    ) -> Result<signin::McpResults, Error> {
        let (_, server) = self.server(name)?;
        let mut tokens = self.token(name).await?;
        let mut refreshed = false;
        let mut step_ups = 0;
        loop {
            let mut client = McpClient::new(
                self.http().clone(),
                server.url.clone(),
                server.quirks.header_name(),
                tokens.header_value(),
            );
            match signin::run_ops(&mut client, ops).await {
                Ok(r) => return Ok(r),
                Err(McpError::Unauthorized { .. }) if !refreshed => {
                    refreshed = true;
                    tokens = self
                        .fresh_token(name, tok::fresh::Want::Refused(tokens.id()))
                        .await?;
                }
                Err(McpError::InsufficientScope { scope, .. })
                    if step_ups < signin::MAX_STEP_UPS =>
                {
                    step_ups += 1;
                    let (_, current) = self.server(name)?;
                    let union = crate::authorization::request::step_up_scopes(
                        &current.scopes,
                        scope.as_deref(),
                    );
                    progress(Progress::StepUp {
                        scopes: union.clone(),
                    });
                    tokens = self
                        .sign_in_again(&current, Some(union), false, progress)
                        .await?;
                }
                Err(McpError::InsufficientScope { scope, .. }) => {
                    return Err(FlowError::StepUpLimit(step_ups, scope.unwrap_or_default()).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `logout NAME`: revoke at the AS (RFC 7009) when it has a revocation endpoint, forget the
    /// tokens, mark the server "needs sign-in".
    pub async fn logout(&self, name: &str) -> Result<LogoutOutcome, Error> {
        let state_file = self.state_file()?;
        let (st, server) = self.server(name)?;
        // The server's refresh lock: a refresh in flight ends first (and its rotated tokens are
        // the ones revoked); one waiting finds the tokens gone and the server signed out.
        let _refresh_lock = tok::fresh::take_lock(&state_file.paths().server_lock(name)).await?;
        let outcome = self.revoke_tokens(&st, &server).await;
        self.secrets.delete(&store::tokens_key(name))?;
        state_file.update(|st| {
            if let Some(s) = st.server_mut(name) {
                s.status = ServerStatus::NeedsSignIn {
                    reason: "you signed out".into(),
                };
            }
            Ok::<_, Error>(())
        })?;
        Ok(outcome)
    }

    /// Revoke a server's stored tokens at its AS (refresh token first: it takes the grant's
    /// access tokens with it on most IdPs; then the access token).
    pub async fn revoke_tokens(&self, st: &State, server: &Server) -> LogoutOutcome {
        let tokens = match tok::stored_tokens(&*self.secrets, &server.name) {
            Ok(Some(t)) => t,
            Ok(None) => {
                return LogoutOutcome {
                    revoked: false,
                    note: Some("no tokens were stored".into()),
                    still_valid: None,
                };
            }
            Err(e) => {
                return LogoutOutcome {
                    revoked: false,
                    note: Some(e.to_string()),
                    still_valid: None,
                };
            }
        };
        // The same revocation as `lanyard uninstall`: client authentication chosen for the
        // revocation endpoint, a refusal reported as one (never as a dead client).
        let r = tok::revoke::revoke_server_tokens(self.http(), st, server, &tokens, &*self.secrets)
            .await;
        let still_valid = match (r.still_valid, r.retry) {
            (Some(s), _) => Some(s),
            (None, Some((why, _))) => Some(format!(
                "the tokens could not be revoked ({why}); the access token stays valid until {}, the refresh token until its own expiry or the end of the grant, which Lanyard cannot know",
                tok::revoke::clock_utc(tokens.expires_at)
            )),
            (None, None) => None,
        };
        LogoutOutcome {
            revoked: r.revoked && still_valid.is_none(),
            note: (!r.notes.is_empty()).then(|| r.notes.join("; ")),
            still_valid,
        }
    }

    /// `remove NAME`: revoke (best effort), delete its keychain items, forget it. The issuer's
    /// registration stays for the other servers and later adds (cleanup deletes it).
    pub async fn remove(&self, name: &str) -> Result<LogoutOutcome, Error> {
        let state_file = self.state_file()?;
        let (st, server) = self.server(name)?;
        let _refresh_lock = tok::fresh::take_lock(&state_file.paths().server_lock(name)).await?;
        let outcome = self.revoke_tokens(&st, &server).await;
        self.secrets.delete(&store::tokens_key(name))?;
        self.secrets.delete(&store::server_secret_key(name))?;
        state_file.update(|st| {
            st.servers.retain(|s| s.name != name);
            Ok::<_, Error>(())
        })?;
        Ok(outcome)
    }

    /// RFC 7592 DELETE of this machine's registration at `issuer`, then forget it (and its
    /// keychain items). For cleanup/uninstall.
    pub async fn delete_registration(&self, issuer: &Url) -> Result<(), Error> {
        let state_file = self.state_file()?;
        let st = state_file.load()?;
        let Some(reg) = st.registration(issuer).cloned() else {
            return Ok(());
        };
        let key = store::registration_token_key(issuer.as_str());
        if let (Some(uri), Some(token)) = (&reg.registration_client_uri, self.secrets.get(&key)?) {
            registration::delete_registration(self.http(), uri, &token, &reg.client_id).await?;
        } else if !reg.dead {
            return Err(RegistrationError::Management {
                endpoint: issuer.clone(),
                client_id: reg.client_id.clone(),
                status: None,
                detail: "the IdP gave no registration_client_uri / registration_access_token (RFC 7592), so Lanyard cannot delete it".into(),
            }
            .into());
        }
        self.secrets.delete(&key)?;
        self.secrets
            .delete(&store::registration_secret_key(issuer.as_str()))?;
        state_file.update(|st| {
            st.registrations.retain(|r| &r.issuer != issuer);
            Ok::<_, Error>(())
        })?;
        Ok(())
    }

    /// Change a saved server's IdP quirks (issue 3: settings, not code paths). The closure edits
    /// a copy; the new quirks are saved atomically and returned. Takes effect at the next
    /// refresh or sign-in (`resource`/`audience`/authorize parameters) or at once (header name).
    pub fn update_quirks(
        &self,
        name: &str,
        edit: impl FnOnce(&mut Quirks) -> Result<(), Error>,
    ) -> Result<Quirks, Error> {
        self.state_file()?.update(|st| {
            let s = st
                .server_mut(name)
                .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
            let mut q = s.quirks.clone();
            edit(&mut q)?;
            s.quirks = q.clone();
            Ok(q)
        })
    }

    /// Saved servers with their token status (reads the keychain, no network).
    pub fn list(&self) -> Result<Vec<ServerView>, Error> {
        let st = self.state_file()?.load()?;
        let t = now();
        st.servers
            .iter()
            .map(|s| {
                let tokens = tok::stored_tokens(&*self.secrets, &s.name)?;
                let (status, reason) = match (&s.status, &tokens) {
                    (ServerStatus::NeedsSignIn { reason }, _) => {
                        ("needs_sign_in", Some(reason.clone()))
                    }
                    (_, None) => ("no_tokens", None),
                    (_, Some(tk)) if tk.fresh_at(t, 0) => ("ok", None),
                    (_, Some(tk)) if tk.refresh_token.is_some() => {
                        ("expired", Some("refreshed on next use".into()))
                    }
                    (_, Some(_)) => (
                        "needs_sign_in",
                        Some("the token expired and cannot be refreshed".into()),
                    ),
                };
                Ok(ServerView {
                    name: s.name.clone(),
                    url: s.url.to_string(),
                    resource: s.resource.to_string(),
                    issuer: s.auth_server.issuer_str().to_owned(),
                    client_source: s.client.label().into(),
                    client_id: client_id_of(&st, s),
                    scopes: s.scopes.clone(),
                    status: status.into(),
                    status_reason: reason,
                    expires_at: tokens.map(|t| t.expires_at),
                    quirks: s.quirks.clone(),
                })
            })
            .collect()
    }

    /// This machine's registrations and the servers using each.
    pub fn registrations(&self) -> Result<Vec<RegistrationView>, Error> {
        let st = self.state_file()?.load()?;
        Ok(st
            .registrations
            .iter()
            .map(|r| RegistrationView {
                issuer: r.issuer.to_string(),
                client_id: r.client_id.clone(),
                registration_client_uri: r.registration_client_uri.as_ref().map(Url::to_string),
                dead: r.dead,
                servers: st
                    .servers
                    .iter()
                    .filter(|s| {
                        s.client == ClientSource::Dynamic && s.auth_server.issuer == r.issuer
                    })
                    .map(|s| s.name.clone())
                    .collect(),
            })
            .collect())
    }
}

/// What one interactive sign-in produced.
struct Interactive {
    results: signin::McpResults,
    tokens: TokenSet,
    source: ClientSource,
    scopes: Vec<String>,
    discovery: Discovery,
    port: u16,
    /// The MCP endpoint as it answered (after a same-origin redirect, e.g. `…/mcp/` → `…/mcp`).
    url: Url,
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

fn client_id_of(st: &State, s: &Server) -> Option<String> {
    match &s.client {
        ClientSource::PreRegistered { client_id, .. } => Some(client_id.clone()),
        ClientSource::MetadataDocument { client_id } => Some(client_id.to_string()),
        ClientSource::Dynamic => st
            .registration(&s.auth_server.issuer)
            .map(|r| r.client_id.clone()),
    }
}

fn parse_url(s: &str) -> Result<Url, Error> {
    let url = Url::parse(s.trim()).map_err(|_| FlowError::BadUrl(s.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(FlowError::BadUrl(s.to_owned()).into());
    }
    Ok(url)
}

fn unique_name(st: &State, base: &str) -> String {
    if st.server(base).is_none() {
        return base.to_owned();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| st.server(n).is_none())
        .unwrap_or_else(|| base.to_owned())
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
