//! What `list` shows: saved servers with their token status, and this machine's registrations.

use serde::Serialize;
use url::Url;

use super::facade::Lanyard;
use crate::Error;
use crate::servers::{ClientSource, Quirks, Server, ServerStatus, State};
use crate::tokens::set::now;
use crate::tokens::{self as tok};

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
    /// "via IdP as user": its tokens come through a company IdP session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
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

pub(super) fn client_id_of(st: &State, s: &Server) -> Option<String> {
    match &s.client {
        ClientSource::PreRegistered { client_id, .. } => Some(client_id.clone()),
        ClientSource::MetadataDocument { client_id } => Some(client_id.to_string()),
        ClientSource::Machine { client_id, .. } => client_id.clone(),
        ClientSource::Dynamic => st
            .registration(&s.auth_server.issuer)
            .map(|r| r.client_id.clone()),
    }
}

impl Lanyard {
    /// Saved servers with their token status (reads the keychain, no network).
    pub fn list(&self) -> Result<Vec<ServerView>, Error> {
        let st = self.state_file()?.load()?;
        let t = now();
        let idps = crate::enterprise::IdpFile::new(self.state_file()?.paths().clone()).load()?;
        st.servers
            .iter()
            .map(|s| {
                let tokens = tok::stored_tokens(&*self.secrets, &s.name)?;
                let idp = idps.serving(&s.name);
                let (status, reason) = match (&s.status, &tokens) {
                    (ServerStatus::NeedsSignIn { reason }, _) => {
                        ("needs_sign_in", Some(reason.clone()))
                    }
                    (_, None) => ("no_tokens", None),
                    (_, Some(tk)) if tk.fresh_at(t, 0) => ("ok", None),
                    (_, Some(_)) if let Some(i) = idp => (
                        "expired",
                        Some(format!("renewed through {} on next use", i.label())),
                    ),
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
                    via: idp.map(|i| i.via()),
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
