//! Uninstall ends every company IdP session (enterprise-managed authorization): its tokens
//! revoked at the IdP (RFC 7009) before the client Lanyard registered there is deleted, then
//! removed from the keychain, and the session forgotten.

use super::Cleanup;
use super::outcome::Outcome;
use crate::enterprise::{IdpFile, signout};
use crate::error::UserFacing;

impl Cleanup {
    /// The IdP sessions that hold tokens, as `(issuer, revocation endpoint)`.
    pub(crate) fn idp_sessions(&self) -> Vec<(String, Option<String>)> {
        let Ok(f) = IdpFile::new(self.paths.clone()).load() else {
            return Vec::new();
        };
        f.idps
            .iter()
            .filter(|i| {
                crate::enterprise::store::stored(&*self.secrets, &i.issuer)
                    .is_ok_and(|t| t.is_some())
            })
            .map(|i| {
                (
                    i.issuer.clone(),
                    i.revocation_endpoint.as_ref().map(|u| u.to_string()),
                )
            })
            .collect()
    }

    pub(crate) async fn end_idp_session(&self, issuer: &str) -> Outcome {
        let file = IdpFile::new(self.paths.clone());
        let idp = match file.load() {
            Ok(f) => f.get(issuer).cloned(),
            Err(e) => return Outcome::failed(e.what(), e.next_step()),
        };
        let Some(idp) = idp else {
            return Outcome::gone("the session is no longer kept");
        };
        let http = match self.http() {
            Ok(h) => h,
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        match signout::end(http, &self.state_file(), &*self.secrets, &idp, true).await {
            Ok(ended) if ended.failures.is_empty() => Outcome::Done {
                detail: (!ended.revoked.is_empty())
                    .then(|| format!("revoked its {}", ended.revoked.join(" and "))),
            },
            Ok(ended) => Outcome::LeftRemote {
                why: format!(
                    "the IdP did not revoke: {} (it lives until it expires)",
                    ended.failures.join("; ")
                ),
            },
            Err(e) => Outcome::failed(e.what(), e.next_step()),
        }
    }
}
