//! Signing out: `logout` and `remove` revoke (RFC 7009) and forget a server's tokens under its
//! refresh lock; `delete_registration` (RFC 7592).

use serde::Serialize;
use url::Url;

use super::facade::Lanyard;
use crate::Error;
use crate::registration::{self, RegistrationError};
use crate::servers::{Server, ServerStatus, State};
use crate::tokens::store;
use crate::tokens::{self as tok};

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

impl Lanyard {
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
}
