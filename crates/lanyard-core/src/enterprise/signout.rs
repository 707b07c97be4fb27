//! Ending an IdP session: its tokens revoked at the IdP (RFC 7009, when it offers revocation),
//! then removed from the keychain; the record stays, marked ended, so its servers remain
//! linked and one new sign-in renews them all — unless the session is forgotten (`idp remove`,
//! uninstall).

use super::store::{self, Idp, IdpFile};
use crate::Error;
use crate::servers::StateFile;
use crate::tokens::endpoint::revoke_with_fallback;
use crate::tokens::store::SecretStore;

/// What happened to each token.
#[derive(Debug, Default)]
pub struct Ended {
    /// Tokens the IdP revoked (`refresh_token`, `access_token`).
    pub revoked: Vec<&'static str>,
    /// Why a token could not be revoked (it is deleted from the keychain all the same).
    pub failures: Vec<String>,
}

/// Revoke and delete the session's tokens; `forget`: remove the record (and its pre-registered
/// client secret) as well, else mark it ended.
pub async fn end(
    http: &reqwest::Client,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    idp: &Idp,
    forget: bool,
) -> Result<Ended, Error> {
    let mut out = Ended::default();
    if let (Some(endpoint), Some(tokens)) = (
        &idp.revocation_endpoint,
        store::stored(secrets, &idp.issuer)?,
    ) {
        let creds = idp.credentials(secrets)?;
        let pending = [
            (tokens.refresh_token.as_deref(), "refresh_token"),
            (tokens.access_token.as_deref(), "access_token"),
        ];
        for (token, hint) in pending {
            let Some(token) = token else { continue };
            match revoke_with_fallback(
                http,
                endpoint,
                &creds,
                &idp.token_endpoint_auth_methods_supported,
                token,
                hint,
            )
            .await
            {
                Ok(()) => out.revoked.push(hint),
                Err(e) => out.failures.push(format!("{hint}: {e}")),
            }
        }
    }
    secrets.delete(&store::tokens_key(&idp.issuer))?;
    if forget {
        secrets.delete(&store::secret_key(&idp.issuer))?;
    }
    IdpFile::new(state_file.paths().clone()).update(|f| {
        if forget {
            f.idps.retain(|i| i.issuer != idp.issuer);
        } else if let Some(i) = f.get_mut(&idp.issuer) {
            i.ended = Some("you signed out".into());
        }
        Ok(())
    })?;
    Ok(out)
}
