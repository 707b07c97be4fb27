//! Using a saved server: a valid token (single-flight refresh), its header, `tools` and `call`
//! (refresh once on 401, step-up sign-in on 403), `login` again, quirks.

use serde_json::Value;

use super::FlowError;
use super::add::{AddOptions, Interactive};
use super::facade::Lanyard;
use super::progress::{Progress, ProgressFn};
use super::signin::{self, McpOp};
use crate::Error;
use crate::mcp::{McpClient, McpError, Tool};
use crate::registration::ClientOptions;
use crate::servers::{ClientSource, Quirks, Server, ServerStatus, StateError};
use crate::tokens::store;
use crate::tokens::{self as tok, TokenSet};

impl Lanyard {
    /// `lanyard login NAME`: sign in again (re-registering when the registration is dead),
    /// with the scopes of the last sign-in; verified by `tools/list`.
    pub async fn login(
        &self,
        name: &str,
        no_browser: bool,
        progress: ProgressFn<'_>,
    ) -> Result<(), Error> {
        self.login_by(name, no_browser, false, progress).await
    }

    /// `lanyard login NAME --device`: [`Lanyard::login`] by the RFC 8628 device grant (an error
    /// when the authorization server does not offer it).
    pub async fn login_by_device(&self, name: &str, progress: ProgressFn<'_>) -> Result<(), Error> {
        self.login_by(name, false, true, progress).await
    }

    async fn login_by(
        &self,
        name: &str,
        no_browser: bool,
        device: bool,
        progress: ProgressFn<'_>,
    ) -> Result<(), Error> {
        let (_, server) = self.server(name)?;
        let extra = (!server.scopes.is_empty()).then(|| server.scopes.clone());
        self.sign_in_again(&server, extra, no_browser, device, progress)
            .await
            .map(|_| ())
    }

    /// Sign a saved server in again (login, step-up) and save the new tokens and scopes.
    pub(super) async fn sign_in_again(
        &self,
        server: &Server,
        scopes: Option<Vec<String>>,
        no_browser: bool,
        device: bool,
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
            ClientSource::Machine { .. } => {
                return self.machine_sign_in_again(server, progress).await;
            }
        }
        let opts = AddOptions {
            name: Some(server.name.clone()),
            client: client_opts,
            scopes,
            quirks: server.quirks.clone(),
            no_browser,
            device,
            confirmed: None,
        };
        let Interactive {
            tokens,
            source,
            scopes,
            discovery: disc,
            port,
            dpop,
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
        if let Some(d) = &dpop {
            d.key().save(&*self.secrets, &server.name)?;
        }
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
        let http = || self.http().cloned();
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

    /// A saved server's DPoP key, when its tokens are bound to one (what each request to it
    /// must prove possession of, besides carrying the token).
    pub fn dpop(&self, name: &str) -> Result<Option<tok::dpop::Dpop>, Error> {
        Ok(tok::dpop::for_server(&*self.secrets, name)?)
    }

    /// The header name and value carrying `token` to a saved server.
    pub fn header_for(&self, name: &str, token: &TokenSet) -> Result<(String, String), Error> {
        let (_, server) = self.server(name)?;
        Ok((server.quirks.header_name().to_owned(), token.header_value()))
    }

    /// A 403 `insufficient_scope` from `name`'s server: sign in again with the saved scopes plus
    /// the ones the challenge asks for (`lanyard call`, `tools`, the bridge). The widened scopes
    /// are saved with the new tokens, so only when the sign-in succeeds.
    pub async fn step_up(
        &self,
        name: &str,
        scope: Option<&str>,
        progress: ProgressFn<'_>,
    ) -> Result<TokenSet, Error> {
        let (_, current) = self.server(name)?;
        let union = crate::authorization::request::step_up_scopes(&current.scopes, scope);
        progress(Progress::StepUp {
            scopes: union.clone(),
        });
        self.sign_in_again(&current, Some(union), false, false, progress)
            .await
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
    pub(super) async fn saved_ops(
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
                self.http()?.clone(),
                server.url.clone(),
                server.quirks.header_name(),
                tokens.header_value(),
            );
            client.set_dpop(self.dpop(name)?);
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
                    tokens = self.step_up(name, scope.as_deref(), progress).await?;
                }
                Err(McpError::InsufficientScope { scope, .. }) => {
                    return Err(FlowError::StepUpLimit(step_ups, scope.unwrap_or_default()).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
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
}
