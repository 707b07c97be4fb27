//! `add` and `login` for a headless agent's own client (client credentials, workload
//! identity): discovery as for a person, then the grant instead of a browser.

use std::path::PathBuf;

use url::Url;

use super::FlowError;
use super::add::{AddOptions, AddOutcome, put_new, settled_url, url_and_name};
use super::facade::Lanyard;
use super::progress::{Progress, ProgressFn};
use super::signin::{McpOp, run_ops};
use crate::Error;
use crate::error::UserFacing;
use crate::mcp::{McpClient, McpError};
use crate::servers::{ClientSource, MachineGrant, Server, ServerStatus, StateError};
use crate::tokens::machine::{self, MachineClient};
use crate::tokens::set::now;
use crate::tokens::{self as tok, TokenSet, store};

/// How a machine client is set up (`lanyard add URL --client-credentials …` or
/// `--workload-token-file …`).
#[derive(Debug, Clone)]
pub struct MachineOptions {
    pub client_id: Option<String>,
    /// The client secret (read from its file by the shell); kept in the keychain.
    pub client_secret: Option<String>,
    pub grant: MachineGrant,
}

/// A machine client set up wrong (before anything is sent).
#[derive(Debug, thiserror::Error)]
pub enum MachineSetupError {
    #[error("{0} needs a client id")]
    NoClientId(&'static str),
    #[error("the client secret grant needs the secret")]
    NoSecret,
    #[error("{path} cannot be used: {detail}")]
    BadPath { path: PathBuf, detail: String },
}

impl UserFacing for MachineSetupError {
    fn code(&self) -> &'static str {
        match self {
            MachineSetupError::NoClientId(_) => "machine.no-client-id",
            MachineSetupError::NoSecret => "machine.no-secret",
            MachineSetupError::BadPath { .. } => "machine.bad-path",
        }
    }
    fn next_step(&self) -> String {
        match self {
            MachineSetupError::NoClientId(_) => "Add --client-id ID with the client id the authorization server's admin registered for this agent.".into(),
            MachineSetupError::NoSecret => "Add --client-secret-file FILE (a file holding only the secret), or use --private-key-file.".into(),
            MachineSetupError::BadPath { .. } => "Give a path this user can read.".into(),
        }
    }
}

impl MachineOptions {
    fn check(&mut self) -> Result<(), MachineSetupError> {
        let what = match &self.grant {
            MachineGrant::ClientSecret => Some("the client credentials grant"),
            MachineGrant::PrivateKeyJwt { .. } => Some("private_key_jwt"),
            MachineGrant::Workload { .. } => None,
        };
        if let Some(what) = what
            && self.client_id.as_deref().is_none_or(str::is_empty)
        {
            return Err(MachineSetupError::NoClientId(what));
        }
        if matches!(self.grant, MachineGrant::ClientSecret)
            && self.client_secret.as_deref().is_none_or(str::is_empty)
        {
            return Err(MachineSetupError::NoSecret);
        }
        // Saved as absolute paths: the daemon and the assistants' helpers run elsewhere.
        let absolute = |p: &PathBuf| {
            std::path::absolute(p).map_err(|e| MachineSetupError::BadPath {
                path: p.clone(),
                detail: e.to_string(),
            })
        };
        match &mut self.grant {
            MachineGrant::PrivateKeyJwt { key_file, .. } => *key_file = absolute(key_file)?,
            MachineGrant::Workload { token_file } => *token_file = absolute(token_file)?,
            MachineGrant::ClientSecret => {}
        }
        Ok(())
    }
}

/// The scopes to ask for: the user's, else what the server asks for — without
/// `offline_access`, which only buys a refresh token these grants never issue (OAuth 2.1 §4.2).
fn machine_scopes(disc: &crate::discovery::Discovery, user: Option<&[String]>) -> Vec<String> {
    match user {
        Some(u) if !u.is_empty() => u.to_vec(),
        _ => disc
            .scopes_to_request()
            .into_iter()
            .filter(|s| s != "offline_access")
            .collect(),
    }
}

impl Lanyard {
    /// `lanyard add URL` for a machine client: discover (401 → RFC 9728 → RFC 8414), obtain a
    /// token with the grant, first tool call (`tools/list`), then save (secret and tokens
    /// first). Nothing is saved when any step fails; a token obtained for a failed `add` is
    /// revoked when the AS can.
    pub async fn add_machine(
        &self,
        url: &str,
        opts: AddOptions,
        machine: MachineOptions,
        progress: ProgressFn<'_>,
    ) -> Result<AddOutcome, Error> {
        let mut machine = machine;
        machine.check()?;
        let state_file = self.state_file()?;
        let (url, name) = url_and_name(state_file, url, opts.name.as_deref())?;
        self.secrets.check()?;

        progress(Progress::Discovering {
            url: url.to_string(),
        });
        let disc = self.discover(&url).await?;
        progress(Progress::Discovered {
            issuer: disc.auth_server.issuer_str().to_owned(),
            resource: disc.resource.resource.to_string(),
        });
        if let Some(c) = &opts.confirmed {
            c.check(&disc.auth_server)?;
        }
        let client = MachineClient {
            client_id: machine.client_id.as_deref(),
            secret: machine.client_secret.as_deref(),
            grant: &machine.grant,
        };
        machine::check_offered(&disc.auth_server, client.grant_type())?;
        // Pre-registered by an admin, never registered here ("reused", in the progress's terms).
        progress(Progress::ClientReady {
            client_id: machine
                .client_id
                .clone()
                .unwrap_or_else(|| "none (the workload token names the agent)".into()),
            source: machine.grant.label(),
            reused: true,
        });
        let mut server = Server {
            name: name.clone(),
            url: settled_url(&url, &disc.resource.resource),
            resource: disc.resource.resource.clone(),
            auth_server: disc.auth_server.clone(),
            client: ClientSource::Machine {
                client_id: machine.client_id.clone(),
                has_secret: machine.client_secret.is_some(),
                grant: machine.grant.clone(),
            },
            scopes: machine_scopes(&disc, opts.scopes.as_deref()),
            quirks: opts.quirks.clone(),
            status: ServerStatus::Ok,
            added_at: now(),
        };
        let http = self.http()?;
        let tokens =
            machine::request_token(http, &disc.auth_server, client, &machine::params(&server))
                .await
                .map_err(Error::new)?;
        let tools = match self.first_call(&server, &tokens, progress).await {
            Ok((tools, answered)) => {
                server.url = answered;
                tools
            }
            Err(e) => {
                self.revoke_unused(&server, machine.client_secret.clone(), &tokens)
                    .await;
                return Err(e);
            }
        };

        // Save: secrets first, then the state that refers to them.
        if let Some(secret) = &machine.client_secret {
            self.secrets.set(&store::server_secret_key(&name), secret)?;
        }
        if let Err(e) = self
            .secrets
            .set(&store::tokens_key(&name), &tokens.to_json())
        {
            let _ = self.secrets.delete(&store::server_secret_key(&name));
            return Err(e.into());
        }
        let saved = state_file.update(|st| put_new(st, &server));
        if let Err(e) = saved {
            let _ = self.secrets.delete(&store::tokens_key(&name));
            let _ = self.secrets.delete(&store::server_secret_key(&name));
            return Err(e);
        }
        progress(Progress::Saved { name: name.clone() });
        Ok(AddOutcome {
            client_id: machine.client_id.unwrap_or_default(),
            name,
            url: server.url.to_string(),
            issuer: disc.auth_server.issuer_str().to_owned(),
            client_source: machine.grant.label().into(),
            scopes: server.scopes,
            expires_at: tokens.expires_at,
            tools,
            sign_in: Default::default(),
        })
    }

    /// `lanyard login NAME` for a machine server: make the grant again and store the token.
    pub(super) async fn machine_sign_in_again(
        &self,
        server: &Server,
        progress: ProgressFn<'_>,
    ) -> Result<TokenSet, Error> {
        let state_file = self.state_file()?;
        let tokens = match machine::for_server(self.http()?, server, &*self.secrets).await {
            Some(r) => r.map_err(Error::new)?,
            None => return Err(StateError::UnknownServer(server.name.clone()).into()),
        };
        self.secrets
            .set(&store::tokens_key(&server.name), &tokens.to_json())?;
        state_file.update(|st| {
            let s = st
                .server_mut(&server.name)
                .ok_or_else(|| StateError::UnknownServer(server.name.clone()))?;
            s.status = ServerStatus::Ok;
            Ok::<_, Error>(())
        })?;
        progress(Progress::Saved {
            name: server.name.clone(),
        });
        Ok(tokens)
    }

    /// `tools/list` with a token just obtained; the tools and the endpoint as it answered.
    async fn first_call(
        &self,
        server: &Server,
        tokens: &TokenSet,
        progress: ProgressFn<'_>,
    ) -> Result<(Vec<crate::mcp::Tool>, Url), Error> {
        progress(Progress::CallingServer);
        let mut client = McpClient::new(
            self.http()?.clone(),
            server.url.clone(),
            server.quirks.header_name(),
            tokens.header_value(),
        );
        match run_ops(&mut client, &[McpOp::ListTools]).await {
            Ok(r) => Ok((r.tools.unwrap_or_default(), client.url().clone())),
            Err(McpError::Unauthorized { .. }) => Err(FlowError::FreshTokenRefused {
                url: server.url.to_string(),
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Revoke (RFC 7009, best effort) the token of an `add` that failed after the grant.
    async fn revoke_unused(&self, server: &Server, secret: Option<String>, tokens: &TokenSet) {
        let Some(endpoint) = &server.auth_server.revocation_endpoint else {
            return;
        };
        let ClientSource::Machine { client_id, .. } = &server.client else {
            return;
        };
        let supported = &server.auth_server.token_endpoint_auth_methods_supported;
        let creds = tok::ClientCredentials {
            client_id: client_id.clone().unwrap_or_default(),
            method: tok::TokenAuthMethod::choose(supported, secret.is_some(), None),
            secret,
        };
        let creds = tok::revoke::for_revocation(&server.auth_server, creds, None);
        let Ok(http) = self.http() else { return };
        if let Err(e) = tok::revoke::revoke_one(
            http,
            &server.auth_server,
            endpoint,
            &creds,
            &tokens.access_token,
            "access_token",
        )
        .await
        {
            tracing::warn!("could not revoke the unused access token: {e}");
        }
    }
}
