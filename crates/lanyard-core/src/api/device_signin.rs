//! Sign-in by the RFC 8628 device authorization grant: when this machine has no display (an SSH
//! host, a container) and the authorization server offers it, or when asked (`--device`). The
//! user approves on any other device; Lanyard polls the token endpoint meanwhile.

use super::progress::Progress;
use super::signin::AuthContext;
use crate::Error;
use crate::authorization::device::{self, DeviceError, DeviceGrant, Poll};
use crate::discovery::{AuthServerMetadata, DiscoveryFailure};
use crate::tokens::device_grant::{poll_once, read_device_code, request_device_code};
use crate::tokens::endpoint::TokenParams;
use crate::tokens::{ClientCredentials, TokenSet};

/// Whether a sign-in uses the device grant: always when asked (`--device`, an error when the AS
/// does not offer it), else when nothing here can show the sign-in page and the AS offers it.
/// `--no-browser` keeps the authorization URL (printed, or pasted back), the user's choice.
pub(crate) fn use_device_grant(
    asked: bool,
    no_browser: bool,
    as_meta: &AuthServerMetadata,
) -> Result<DeviceGrant, Error> {
    let offered = as_meta.device_authorization_endpoint.is_some();
    if asked && !offered {
        return Err(DeviceError::NotOffered {
            issuer: as_meta.issuer_str().to_owned(),
        }
        .into());
    }
    Ok(if asked {
        DeviceGrant::Asked
    } else if offered && !no_browser && crate::authorization::browser::no_display() {
        DeviceGrant::Chosen
    } else {
        DeviceGrant::No
    })
}

/// What a person's sign-in needs of the AS, checked before any registration or request: the
/// authorization code flow with PKCE S256 ([`AuthServerMetadata::require_code_flow`]), except
/// by the device grant, which uses neither (RFC 8628 has no PKCE and no authorization
/// endpoint). A device sign-in chosen for want of a display and then refused by the AS falls
/// back to the browser only where the code flow is offered (`authorize` checks it again).
pub(crate) fn check_person_sign_in(
    device: DeviceGrant,
    as_meta: &AuthServerMetadata,
) -> Result<(), DiscoveryFailure> {
    match device {
        DeviceGrant::No => as_meta.require_code_flow().map(|_| ()),
        DeviceGrant::Asked | DeviceGrant::Chosen => Ok(()),
    }
}

impl AuthContext<'_> {
    /// The sign-in by device code when this context uses it; `None` for the browser round trip
    /// (also after the AS refused the grant it was chosen for, not asked).
    pub(crate) async fn by_device(&self, scopes: &[String]) -> Option<Result<TokenSet, Error>> {
        match self.device {
            DeviceGrant::No => None,
            DeviceGrant::Asked => Some(self.authorize_device(scopes).await),
            DeviceGrant::Chosen => match self.authorize_device(scopes).await {
                Err(e) if matches!(e.downcast_ref(), Some(DeviceError::Refused { .. })) => {
                    tracing::warn!("device sign-in refused, using the browser sign-in: {e}");
                    None
                }
                other => Some(other),
            },
        }
    }

    /// Device code (with `scope` and `resource`) → user code shown → poll → tokens.
    async fn authorize_device(&self, scopes: &[String]) -> Result<TokenSet, Error> {
        let Some(endpoint) = &self.as_meta.device_authorization_endpoint else {
            return Err(DeviceError::NotOffered {
                issuer: self.as_meta.issuer_str().to_owned(),
            }
            .into());
        };
        let params = TokenParams {
            resource: (!self.quirks.no_resource)
                .then(|| crate::authorization::resource_param(self.resource)),
            audience: self.quirks.audience.clone(),
            scope: None,
            dpop: self.dpop.clone(),
        };
        let requested = (!scopes.is_empty())
            .then(|| scopes.join(" "))
            .or_else(|| self.registered_scope());
        let ask = |creds: ClientCredentials| {
            let (params, requested) = (&params, &requested);
            async move {
                request_device_code(self.http, endpoint, &creds, requested.as_deref(), params).await
            }
        };
        let (answer, worked) = self
            .with_client_auth(self.creds.method, ask)
            .await
            .map_err(|e| refused(endpoint, e))?;
        let auth = read_device_code(endpoint, &answer)?;
        (self.progress)(Progress::EnterCode {
            verification_uri: auth.verification_uri.to_string(),
            verification_uri_complete: auth
                .verification_uri_complete
                .as_ref()
                .map(|u| u.to_string()),
            user_code: auth.user_code.clone(),
            expires_in: auth.expires_in,
        });
        let poll = |creds: ClientCredentials| {
            let (params, requested, device_code) = (&params, &requested, &auth.device_code);
            async move {
                poll_once(
                    self.http,
                    &self.as_meta.token_endpoint,
                    &creds,
                    device_code,
                    params,
                    requested.as_deref(),
                )
                .await
            }
        };
        // The method that worked, kept for the following polls.
        let method = std::cell::Cell::new(worked);
        let tokens = device::poll_until(&auth, || async {
            match self.with_client_auth(method.get(), poll).await {
                Ok((answer, worked)) => {
                    method.set(worked);
                    answer
                }
                Err(e) => Poll::Failed(e),
            }
        })
        .await?;
        (self.progress)(Progress::ExchangingCode);
        Ok(tokens)
    }
}

impl AuthContext<'_> {
    /// The scopes this client was registered with (RFC 7591 `scope` in the registration
    /// answer), for a device code that would otherwise ask for none. Without `scope` the AS
    /// must apply its default (RFC 6749 §3.3); better-auth 1.7 does at its authorization endpoint
    /// (the client's scopes) but gives a device code a token with no scope, which its own
    /// resource server refuses. Naming the registered scopes asks for that default explicitly.
    fn registered_scope(&self) -> Option<String> {
        let state = self.state_file?.load().ok()?;
        let reg = state.registration(&self.as_meta.issuer)?;
        if reg.client_id != self.creds.client_id {
            return None;
        }
        let scope = reg.metadata.get("scope")?.as_str()?.trim();
        (!scope.is_empty()).then(|| scope.to_owned())
    }
}

/// The device authorization endpoint's refusal (the browser sign-in may follow, when the grant
/// was chosen rather than asked for); a network failure stays what it is.
fn refused(endpoint: &url::Url, e: Error) -> Error {
    if e.code() == "token-endpoint.network" {
        return e;
    }
    DeviceError::Refused {
        endpoint: endpoint.clone(),
        detail: e.what(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UserFacing;
    use url::Url;

    fn meta(device: bool) -> AuthServerMetadata {
        AuthServerMetadata {
            device_authorization_endpoint: device
                .then(|| Url::parse("http://127.0.0.1:1/device/auth").unwrap()),
            ..crate::discovery::auth_server::test_metadata("http://127.0.0.1:1")
        }
    }

    #[test]
    fn device_flag_against_an_as_without_the_grant_is_refused() {
        let e = use_device_grant(true, false, &meta(false)).unwrap_err();
        assert_eq!(e.code(), "device.not-offered");
        assert_eq!(
            use_device_grant(true, false, &meta(true)).unwrap(),
            DeviceGrant::Asked
        );
    }

    #[test]
    fn only_the_browser_sign_in_needs_pkce_s256_and_the_code_flow() {
        let mut no_pkce = meta(true);
        no_pkce.code_challenge_methods_supported.clear();
        no_pkce.authorization_endpoint = None;
        let refused = check_person_sign_in(DeviceGrant::No, &no_pkce).unwrap_err();
        assert_eq!(refused.code(), "discovery.no-pkce-s256");
        for device in [DeviceGrant::Asked, DeviceGrant::Chosen] {
            assert_eq!(check_person_sign_in(device, &no_pkce), Ok(()), "{device:?}");
        }
        assert_eq!(check_person_sign_in(DeviceGrant::No, &meta(false)), Ok(()));
    }

    #[test]
    fn no_browser_keeps_the_authorization_url_flow() {
        assert_eq!(
            use_device_grant(false, true, &meta(true)).unwrap(),
            DeviceGrant::No
        );
        assert_eq!(
            use_device_grant(false, false, &meta(false)).unwrap(),
            DeviceGrant::No
        );
    }
}
