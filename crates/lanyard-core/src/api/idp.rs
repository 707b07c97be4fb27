//! Enterprise-managed authorization in the facade: `idp add` / `list` / `logout` / `remove`,
//! and the first choice of `add` — when the server's authorization server takes ID-JAGs and a
//! company IdP session will vouch for the user, the server's tokens come through the IdP with
//! no browser; otherwise the normal sign-in runs, and the outcome says why.

use serde::Serialize;
use url::Url;

use super::FlowError;
use super::add::{AddOptions, Interactive, settled_url};
use super::facade::Lanyard;
use super::idp_path::{IdpChoice, IdpPath};
use super::signin::{McpOp, run_ops};
use crate::Error;
use crate::authorization::PasteBack;
use crate::discovery::Discovery;
use crate::enterprise::renew::{self, AsClient, Target};
use crate::enterprise::session::{self, Context, SignInOptions};
use crate::enterprise::{EnterpriseError, Idp, IdpFile, redeem, signout};
use crate::mcp::{McpClient, McpError};
use crate::registration::ClientOptions;
use crate::servers::ClientSource;
use crate::tokens::TokenAuthMethod;

/// How `idp add` signs in.
#[derive(Default)]
pub struct IdpAddOptions {
    pub client: ClientOptions,
    pub no_browser: bool,
    /// Begin from an ID token another program obtained instead of a browser sign-in.
    pub id_token: Option<String>,
    /// With `id_token`: the IdP's token endpoint, when it publishes no usable metadata.
    pub token_endpoint: Option<Url>,
}

/// What `idp add` did.
#[derive(Debug, Clone, Serialize)]
pub struct IdpAdded {
    pub issuer: String,
    pub user: Option<String>,
    /// The servers it serves, each renewed (`None`) or why not.
    pub renewed: Vec<(String, Option<String>)>,
}

/// One IdP session as `idp list` and the tray show it.
#[derive(Debug, Clone, Serialize)]
pub struct IdpView {
    pub issuer: String,
    pub label: String,
    pub user: Option<String>,
    pub client_id: String,
    /// "ok", or "ended" (then `ended_reason`).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
    /// Unix seconds: the ID token's expiry (renewed with the refresh token when there is one).
    pub id_token_expires_at: Option<i64>,
    pub refreshable: bool,
    pub servers: Vec<String>,
}

/// What ending a session did.
#[derive(Debug, Clone, Serialize)]
pub struct IdpEnded {
    pub issuer: String,
    pub revoked: Vec<String>,
    pub failures: Vec<String>,
    pub servers: Vec<String>,
}

impl Lanyard {
    fn idp_file(&self) -> Result<IdpFile, Error> {
        Ok(IdpFile::new(self.state_file()?.paths().clone()))
    }

    /// The session with `issuer` (its exact identifier, or its label as `idp list` shows it).
    fn find_idp(&self, issuer: &str) -> Result<Idp, Error> {
        let f = self.idp_file()?.load()?;
        let wanted = issuer.trim();
        f.idps
            .iter()
            .find(|i| {
                i.issuer == wanted
                    || i.issuer.trim_end_matches('/') == wanted.trim_end_matches('/')
                    || i.label() == wanted
            })
            .cloned()
            .ok_or_else(|| EnterpriseError::UnknownIdp(wanted.to_owned()).into())
    }

    /// `lanyard idp add URL`: sign in to the company IdP (or take an ID token given), keep the
    /// session, and renew every server it already serves.
    pub async fn idp_add(
        &self,
        issuer: &str,
        opts: IdpAddOptions,
        say: &(dyn Fn(String) + Send + Sync),
    ) -> Result<IdpAdded, Error> {
        self.secrets.check()?;
        let state_file = self.state_file()?;
        let cx = Context {
            http: self.http()?,
            state_file,
            secrets: &*self.secrets,
        };
        // A sign-in again keeps the client Lanyard has there unless another is given.
        let known = self.find_idp(issuer).ok();
        let mut client = opts.client.clone();
        if client.client_id.is_none()
            && let Some(k) = known.as_ref().filter(|k| !k.dynamic)
        {
            client.client_id = Some(k.client_id.clone());
            if client.client_secret.is_none() && k.has_secret {
                client.client_secret = self
                    .secrets
                    .get(&crate::enterprise::store::secret_key(&k.issuer))?;
            }
        }
        let issuer = known.as_ref().map_or(issuer.trim(), |k| k.issuer.as_str());
        let idp = match &opts.id_token {
            Some(t) => {
                session::from_id_token(&cx, issuer, opts.token_endpoint.clone(), &client, t).await?
            }
            None => {
                let listener = self.listener(&Default::default()).await?;
                let paste: Option<&PasteBack> = self.paste.as_deref();
                let idp = session::sign_in(
                    &cx,
                    issuer,
                    SignInOptions {
                        client,
                        no_browser: opts.no_browser,
                        listener: &listener,
                        paste,
                        say,
                    },
                )
                .await?;
                let port = listener.port();
                state_file.update(|st| {
                    Self::remember_port(st, &Default::default(), port);
                    Ok::<_, Error>(())
                })?;
                idp
            }
        };
        // The record as saved (with the servers it already served).
        let idp = self.find_idp(&idp.issuer)?;
        let renewed = renew::renew_all(self.http()?, state_file, &*self.secrets, &idp)
            .await
            .into_iter()
            .map(|(name, r)| (name, r.err().map(|e| e.paragraph())))
            .collect();
        Ok(IdpAdded {
            issuer: idp.issuer.clone(),
            user: idp.user.clone(),
            renewed,
        })
    }

    /// `lanyard idp list`.
    pub fn idp_list(&self) -> Result<Vec<IdpView>, Error> {
        let f = self.idp_file()?.load()?;
        f.idps
            .iter()
            .map(|i| {
                let tokens = crate::enterprise::store::stored(&*self.secrets, &i.issuer)?;
                let ended = i.ended.clone().or_else(|| {
                    tokens
                        .is_none()
                        .then(|| "its tokens are gone from the keychain".to_owned())
                });
                Ok(IdpView {
                    issuer: i.issuer.clone(),
                    label: i.label(),
                    user: i.user.clone(),
                    client_id: i.client_id.clone(),
                    status: if ended.is_some() { "ended" } else { "ok" }.into(),
                    ended_reason: ended,
                    id_token_expires_at: tokens.as_ref().map(|t| t.id_token_expires_at),
                    refreshable: tokens.as_ref().is_some_and(|t| t.refresh_token.is_some()),
                    servers: i.servers.clone(),
                })
            })
            .collect()
    }

    /// `lanyard idp logout [URL]`: revoke the session (RFC 7009) and delete its tokens; its
    /// servers stay linked (their tokens live until they expire), and `idp add` renews them.
    /// `forget` (`idp remove`): forget the IdP too, and its servers sign in on their own.
    pub async fn idp_end(&self, issuer: &str, forget: bool) -> Result<IdpEnded, Error> {
        let idp = self.find_idp(issuer)?;
        let ended = signout::end(
            self.http()?,
            self.state_file()?,
            &*self.secrets,
            &idp,
            forget,
        )
        .await?;
        if forget {
            self.state_file()?.update(|st| {
                for name in &idp.servers {
                    if let Some(s) = st.server_mut(name) {
                        s.status = crate::servers::ServerStatus::NeedsSignIn {
                            reason: format!(
                                "it got its tokens through {}, which Lanyard no longer signs in to",
                                idp.label()
                            ),
                        };
                    }
                }
                Ok::<_, Error>(())
            })?;
        }
        Ok(IdpEnded {
            issuer: idp.issuer.clone(),
            revoked: ended.revoked.iter().map(|s| s.to_string()).collect(),
            failures: ended.failures,
            servers: idp.servers.clone(),
        })
    }

    /// "via IdP as user" for a saved server served by an IdP.
    pub fn via_of(&self, server: &str) -> Option<String> {
        let f = self.idp_file().ok()?.load().ok()?;
        f.serving(server).map(|i| i.via())
    }

    /// Record which IdP (if any) serves a server just saved by `add` or `login`.
    pub(super) fn link_idp(&self, server: &str, path: &IdpPath) -> Result<(), Error> {
        let issuer = match path {
            IdpPath::Idp { issuer, .. } => Some(issuer.as_str()),
            _ => None,
        };
        let file = self.idp_file()?;
        if issuer.is_none() && file.load()?.serving(server).is_none() {
            return Ok(());
        }
        file.update(|f| {
            f.link(server, issuer);
            Ok(())
        })?;
        Ok(())
    }

    /// `add`'s first choice: the server's tokens through a company IdP session. `Ok(Err(why))`:
    /// not this way (the normal sign-in runs); an error only for what would fail either way.
    pub(super) async fn via_idp(
        &self,
        url: &Url,
        disc: &Discovery,
        opts: &AddOptions,
        ops: &[McpOp],
    ) -> Result<Result<Interactive, IdpPath>, Error> {
        let Some(state_file) = self.state.as_ref() else {
            return Ok(Err(IdpPath::Browser));
        };
        let sessions = IdpFile::new(state_file.paths().clone()).load()?;
        let linked = opts.name.as_deref().and_then(|n| sessions.serving(n));
        let only;
        let candidates: Vec<&Idp> = match &self.idp_choice {
            IdpChoice::Never => return Ok(Err(IdpPath::Browser)),
            IdpChoice::Only(i) => {
                only = self.find_idp_in(&sessions, i)?;
                vec![&only]
            }
            // A saved server signing in again (`login`) goes through the IdP that serves it.
            IdpChoice::Any => match linked {
                Some(l) => vec![l],
                None => sessions.idps.iter().collect(),
            },
        };
        if candidates.is_empty() {
            return Ok(Err(IdpPath::Browser));
        }
        let because = |why: String| Ok(Err(IdpPath::BrowserBecause { why }));
        if !redeem::accepts_id_jag(&disc.auth_server) {
            return because(format!(
                "its authorization server {} does not take ID-JAGs (no {} grant in its metadata)",
                disc.auth_server.issuer_str(),
                crate::enterprise::JWT_BEARER
            ));
        }
        let scopes = crate::authorization::choose_scopes(disc, opts.scopes.as_deref());
        let mut refusals = Vec::new();
        for idp in candidates {
            let client = match &opts.client.client_id {
                Some(id) => {
                    let secret = opts.client.client_secret.clone();
                    let method = TokenAuthMethod::choose(
                        &disc.auth_server.token_endpoint_auth_methods_supported,
                        secret.is_some(),
                        None,
                    );
                    AsClient::Given(crate::tokens::ClientCredentials {
                        client_id: id.clone(),
                        secret,
                        method,
                    })
                }
                None => AsClient::FromAssertion,
            };
            let target = Target {
                auth_server: &disc.auth_server,
                resource: &disc.resource.resource,
                no_resource: opts.quirks.no_resource,
                scopes: &scopes,
                client,
            };
            let got = renew::through(self.http()?, state_file, &*self.secrets, idp, target).await;
            let got = match got {
                Ok(g) => g,
                // Its own IdP failing is that server's answer: its authorization server may
                // have no sign-in of its own to fall back to.
                Err(e) if linked.is_some() => return Err(e),
                Err(e) => {
                    refusals.push(format!("{}: {}", idp.label(), e.what()));
                    continue;
                }
            };
            let endpoint = settled_url(url, &disc.resource.resource);
            let mut mcp = McpClient::new(
                self.http()?.clone(),
                endpoint,
                opts.quirks.header_name(),
                got.tokens.header_value(),
            );
            let results = match run_ops(&mut mcp, ops).await {
                Ok(r) => r,
                Err(McpError::Unauthorized { .. }) => {
                    return Err(FlowError::FreshTokenRefused {
                        url: url.to_string(),
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            };
            let has_secret = got.client.secret.is_some();
            return Ok(Ok(Interactive {
                results,
                tokens: got.tokens,
                source: ClientSource::PreRegistered {
                    client_id: got.client.client_id.clone(),
                    has_secret,
                },
                scopes,
                discovery: disc.clone(),
                port: 0,
                url: mcp.url().clone(),
                dpop: None,
                idp: IdpPath::Idp {
                    issuer: idp.issuer.clone(),
                    via: idp.via(),
                },
            }));
        }
        because(format!(
            "no company sign-in vouched for you there ({})",
            refusals.join("; ")
        ))
    }

    fn find_idp_in(&self, f: &crate::enterprise::store::Idps, issuer: &str) -> Result<Idp, Error> {
        f.idps
            .iter()
            .find(|i| i.issuer == issuer || i.label() == issuer)
            .cloned()
            .ok_or_else(|| EnterpriseError::UnknownIdp(issuer.to_owned()).into())
    }
}
