//! Signing out: `logout` and `remove` revoke (RFC 7009) and forget a server's tokens under its
//! refresh lock; `delete_registration` (RFC 7592).

use serde::Serialize;
use url::Url;

use super::facade::Lanyard;
use crate::Error;
use crate::registration::{self, RegistrationError};
use crate::servers::{ServerStatus, StateError};
use crate::tokens::revoke::SignedOut;
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
    /// tokens, mark the server "needs sign-in" — under the server's refresh lock
    /// ([`tok::revoke::sign_out`]).
    pub async fn logout(&self, name: &str) -> Result<LogoutOutcome, Error> {
        let signed_out = tok::revoke::sign_out(
            self.state_file()?,
            &*self.secrets,
            self.http()?,
            name,
            false,
            |st| {
                if let Some(s) = st.server_mut(name) {
                    s.status = ServerStatus::NeedsSignIn {
                        reason: "you signed out".into(),
                    };
                }
            },
        )
        .await?;
        logout_outcome(name, signed_out)
    }

    /// `remove NAME`: revoke (best effort), delete its keychain items, forget it. The issuer's
    /// registration stays for the other servers and later adds (cleanup deletes it).
    pub async fn remove(&self, name: &str) -> Result<LogoutOutcome, Error> {
        let signed_out = tok::revoke::sign_out(
            self.state_file()?,
            &*self.secrets,
            self.http()?,
            name,
            false,
            |st| st.servers.retain(|s| s.name != name),
        )
        .await?;
        let outcome = logout_outcome(name, signed_out)?;
        self.secrets.delete(&store::server_secret_key(name))?;
        // A removed server no longer gets tokens through a company IdP session.
        self.link_idp(name, &super::idp_path::IdpPath::Browser)?;
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
            registration::delete_registration(self.http()?, uri, &token, &reg.client_id).await?;
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

/// What signing out came to, as `logout` / `remove` report it.
fn logout_outcome(name: &str, signed_out: SignedOut) -> Result<LogoutOutcome, Error> {
    let (tokens, r) = match signed_out {
        SignedOut::UnknownServer => return Err(StateError::UnknownServer(name.to_owned()).into()),
        SignedOut::NoTokens => {
            return Ok(LogoutOutcome {
                revoked: false,
                note: Some("no tokens were stored".into()),
                still_valid: None,
            });
        }
        SignedOut::Kept {
            tokens, revocation, ..
        }
        | SignedOut::Forgotten {
            tokens, revocation, ..
        } => (tokens, revocation),
    };
    let still_valid = match (r.still_valid, r.retry) {
        (Some(s), _) => Some(s),
        (None, Some((why, _))) => Some(format!(
            "the tokens could not be revoked ({why}); the access token stays valid until {}, the refresh token until its own expiry or the end of the grant, which Lanyard cannot know",
            tok::revoke::clock_utc(tokens.expires_at)
        )),
        (None, None) => None,
    };
    Ok(LogoutOutcome {
        revoked: r.revoked && still_valid.is_none(),
        note: (!r.notes.is_empty()).then(|| r.notes.join("; ")),
        still_valid,
    })
}
