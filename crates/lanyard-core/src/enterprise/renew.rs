//! A server's tokens through the IdP session: the session's ID token (renewed when it has
//! expired), a token exchange for an ID-JAG, its redemption at the server's authorization
//! server. Used by `add`, by every refresh of such a server (registered with
//! [`crate::tokens::fresh::assertion`] by [`install`]), and after a new IdP sign-in, which
//! renews every server of that IdP at once ([`renew_all`]).

use url::Url;

use super::error::EnterpriseError;
use super::exchange::{self, IdJag};
use super::redeem;
use super::session;
use super::store::{Idp, IdpFile};
use crate::Error;
use crate::discovery::AuthServerMetadata;
use crate::servers::{Server, ServerStatus, StateFile};
use crate::tokens::fresh::assertion::{
    AssertionRenewal, RenewError, Renewed, set_assertion_renewal,
};
use crate::tokens::fresh::client_credentials;
use crate::tokens::store::{self as keys, SecretStore};
use crate::tokens::{ClientCredentials, TokenAuthMethod, TokenSet};

/// Lanyard's client at the server's authorization server.
pub enum AsClient {
    /// Known: an admin's (`--client-id`, `--client-secret`) or the one saved with the server.
    Given(ClientCredentials),
    /// The client the IdP names in the ID-JAG (`client_id` claim), a public client: the IdP
    /// keeps the mapping from Lanyard's client at the IdP to its client at each server's
    /// authorization server (draft-ietf-oauth-identity-assertion-authz-grant §6).
    FromAssertion,
}

/// The server to obtain tokens for.
pub struct Target<'a> {
    pub auth_server: &'a AuthServerMetadata,
    pub resource: &'a Url,
    /// Send no RFC 8707 `resource` to the authorization server (the server's quirk).
    pub no_resource: bool,
    pub scopes: &'a [String],
    pub client: AsClient,
}

/// What one pass produced.
pub struct Obtained {
    pub tokens: TokenSet,
    /// The credentials the authorization server took.
    pub client: ClientCredentials,
    pub jag: IdJag,
}

/// ID token → ID-JAG → access token, for `target` through `idp`.
pub async fn through(
    http: &reqwest::Client,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    idp: &Idp,
    target: Target<'_>,
) -> Result<Obtained, Error> {
    let id_token = session::current_id_token(http, state_file, secrets, idp).await?;
    let at_idp = idp.credentials(secrets)?;
    let resource = crate::authorization::resource_param(target.resource);
    let exchanged = exchange::exchange(
        http,
        idp,
        &at_idp,
        &exchange::Request {
            id_token: &id_token,
            audience: target.auth_server.issuer_str(),
            resource: &resource,
            scopes: target.scopes,
        },
    )
    .await;
    let jag = match exchanged {
        Ok(j) => j,
        // The IdP no longer takes the ID token (the session was revoked, the user disabled):
        // the session has ended, whatever the token's expiry says.
        Err(EnterpriseError::ExchangeRefused {
            source: crate::tokens::TokenError::InvalidGrant { description, .. },
            ..
        }) => {
            let reason = format!(
                "the IdP refused its ID token (invalid_grant{})",
                description.map(|d| format!(": {d}")).unwrap_or_default()
            );
            IdpFile::new(state_file.paths().clone()).update(|f| {
                if let Some(i) = f.get_mut(&idp.issuer) {
                    i.ended = Some(reason.clone());
                }
                Ok(())
            })?;
            return Err(EnterpriseError::SessionEnded {
                idp: idp.issuer.clone(),
                reason,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let client = match target.client {
        AsClient::Given(c) => c,
        AsClient::FromAssertion => ClientCredentials {
            client_id: jag
                .client_id
                .clone()
                .ok_or_else(|| EnterpriseError::NoClient {
                    idp: idp.issuer.clone(),
                    issuer: target.auth_server.issuer_str().to_owned(),
                })?,
            secret: None,
            method: TokenAuthMethod::None,
        },
    };
    let tokens = redeem::redeem(
        http,
        target.auth_server,
        &client,
        &jag,
        &redeem::Request {
            idp: &idp.issuer,
            resource: (!target.no_resource).then_some(resource.as_str()),
            scopes: target.scopes,
        },
    )
    .await?;
    Ok(Obtained {
        tokens,
        client,
        jag,
    })
}

/// New tokens for a saved server of `idp`.
async fn for_server(
    http: &reqwest::Client,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    idp: &Idp,
    server: &Server,
) -> Result<TokenSet, Error> {
    let st = state_file.load()?;
    let client = client_credentials(&st, server, secrets)?;
    let target = Target {
        auth_server: &server.auth_server,
        resource: &server.resource,
        no_resource: server.quirks.no_resource,
        scopes: &server.scopes,
        client: AsClient::Given(client),
    };
    Ok(through(http, state_file, secrets, idp, target)
        .await?
        .tokens)
}

/// After a new sign-in to `idp`: new tokens for every server it serves, stored under each
/// server's refresh lock, and the servers marked signed in again. Returns each server's
/// name with its outcome.
pub async fn renew_all(
    http: &reqwest::Client,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    idp: &Idp,
) -> Vec<(String, Result<(), Error>)> {
    let mut out = Vec::new();
    // Servers removed since are left out (`remove` does not edit `idps.json`).
    let saved = state_file.load().map(|st| st.servers).unwrap_or_default();
    for name in idp
        .servers
        .iter()
        .filter(|n| saved.iter().any(|s| &s.name == *n))
    {
        let one = async {
            let st = state_file.load()?;
            let Some(server) = st.server(name) else {
                return Ok(());
            };
            let lock =
                crate::tokens::fresh::take_lock(&state_file.paths().server_lock(name)).await?;
            let tokens = for_server(http, state_file, secrets, idp, server).await?;
            secrets.set(&keys::tokens_key(name), &tokens.to_json())?;
            state_file.update(|st| {
                if let Some(s) = st.server_mut(name) {
                    s.status = ServerStatus::Ok;
                }
                Ok::<_, Error>(())
            })?;
            drop(lock);
            Ok(())
        };
        out.push((name.clone(), one.await));
    }
    out
}

/// The renewal every path to a token uses for servers served by an IdP.
struct Renewal;

static RENEWAL: Renewal = Renewal;

/// Register the renewal for this process (the engine's constructors call it).
pub fn install() {
    set_assertion_renewal(&RENEWAL);
}

impl AssertionRenewal for Renewal {
    fn manages(&self, state_file: &StateFile, server: &str) -> bool {
        IdpFile::new(state_file.paths().clone())
            .load()
            .is_ok_and(|f| f.serving(server).is_some())
    }

    fn renew<'a>(
        &'a self,
        state_file: &'a StateFile,
        secrets: &'a dyn SecretStore,
        http: reqwest::Client,
        server: &'a Server,
    ) -> Renewed<'a> {
        Box::pin(async move {
            let name = server.name.clone();
            let idp = IdpFile::new(state_file.paths().clone())
                .load()
                .ok()
                .and_then(|f| f.serving(&name).cloned());
            let Some(idp) = idp else {
                return Err(RenewError::NeedsSignIn(
                    "its company identity provider session is gone".into(),
                ));
            };
            for_server(&http, state_file, secrets, &idp, server)
                .await
                .map_err(renew_error)
        })
    }
}

/// An ended IdP session is a sign-in to do (the server is marked); anything else is reported
/// as it is, and the server's current token stays in use while it lives.
fn renew_error(e: Error) -> RenewError {
    if let Some(EnterpriseError::SessionEnded { idp, reason }) = e.downcast_ref::<EnterpriseError>()
    {
        return RenewError::NeedsSignIn(format!(
            "the company sign-in at {idp} ended ({reason}); `lanyard idp add {idp}` renews every server it serves"
        ));
    }
    RenewError::Failed {
        what: e.what(),
        next: e.next_step(),
        code: e.code(),
    }
}
