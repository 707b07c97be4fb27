//! The items that talk to authorization servers: RFC 7009 revocation and RFC 7592 deletion.

use url::Url;

use super::outcome::Outcome;
use super::plan::{foreign_client_ids, users_of};
use super::{Cleanup, Purpose};
use crate::error::UserFacing;
use crate::http::{self, Http, Method, Request};
use crate::servers::{ServerStatus, StateError};
use crate::tokens::endpoint::{self, ClientCredentials, ClientStanding, TokenAuthMethod};
use crate::tokens::revoke::SignedOut;
use crate::tokens::store;

impl Cleanup {
    /// Revoke one server's tokens, delete them from the keychain and mark the server "needs
    /// sign-in" ([`crate::tokens::revoke::sign_out`], under the server's refresh lock, so a
    /// running engine cannot rotate the tokens meanwhile).
    pub(crate) async fn revoke_tokens(&self, name: &str) -> Outcome {
        let state_file = self.state_file();
        let http = match self.http() {
            Ok(h) => h,
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        let signed_out = crate::tokens::revoke::sign_out(
            &state_file,
            &*self.secrets,
            http,
            name,
            !self.force,
            |st| {
                if let Some(s) = st.server_mut(name) {
                    s.status = ServerStatus::NeedsSignIn {
                        reason: "its tokens were revoked by `lanyard uninstall`".into(),
                    };
                }
            },
        )
        .await;
        let (server, tokens, r) = match signed_out {
            Err(e) => return Outcome::failed(e.what(), e.next_step()),
            Ok(SignedOut::UnknownServer) => {
                return Outcome::gone("the server is no longer managed");
            }
            Ok(SignedOut::NoTokens) => return Outcome::gone("no tokens are stored"),
            Ok(SignedOut::Kept { revocation, .. }) => {
                // A revocation that could not be tried (IdP unreachable): the tokens stay in
                // the keychain for the next run — unless `--force` gives up on them.
                let (why, next) = revocation.retry.unwrap_or_default();
                return Outcome::failed(
                    why,
                    format!(
                        "{next} Or run `lanyard uninstall --force` to finish on this machine and list what stays at the identity provider."
                    ),
                );
            }
            Ok(SignedOut::Forgotten {
                server,
                tokens,
                revocation,
            }) => (server, tokens, revocation),
        };
        let mut notes = r.notes.clone();
        if let Some((why, _)) = r.retry {
            notes.insert(
                0,
                format!(
                    "not revoked ({why}); --force: the tokens were deleted here and stay usable at {} until they expire ({}), the refresh token until its own expiry or the end of the grant, which Lanyard cannot know",
                    server.auth_server.issuer,
                    crate::tokens::revoke::clock_utc(tokens.expires_at)
                ),
            );
            return Outcome::LeftRemote {
                why: notes.join("; "),
            };
        }
        if let Some(still) = r.still_valid {
            notes.insert(0, still);
            return Outcome::LeftRemote {
                why: notes.join("; "),
            };
        }
        let detail = (!notes.is_empty()).then(|| notes.join("; "));
        if r.already_dead && !r.revoked {
            Outcome::AlreadyGone {
                detail: detail.unwrap_or_default(),
            }
        } else {
            Outcome::Done { detail }
        }
    }

    /// RFC 7592 DELETE of the registration at `issuer`; on success (or when it is already
    /// gone) the registration and its keychain items are forgotten.
    pub(crate) async fn delete_client(&self, issuer: &str, purpose: Purpose) -> Outcome {
        let state_file = self.state_file();
        let st = match state_file.load() {
            Ok(s) => s,
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        let Ok(issuer_url) = Url::parse(issuer) else {
            return Outcome::gone("no registration is recorded for this issuer");
        };
        let Some(reg) = st.registration(&issuer_url).cloned() else {
            return Outcome::gone("no registration is recorded for this issuer any more");
        };
        if foreign_client_ids(&st).contains(&reg.client_id) {
            return Outcome::Kept {
                why: "a server uses this client id as a pre-registered or CIMD client: Lanyard never deletes those".into(),
            };
        }
        if purpose == Purpose::Prune {
            let users = users_of(&st, &issuer_url);
            if !users.is_empty() {
                return Outcome::Kept {
                    why: format!("now used by {}", users.join(", ")),
                };
            }
        }
        let token_key = store::registration_token_key(issuer_url.as_str());
        // Ask the keychain only when there is something to read: without an install id, asking
        // would create one (and a keychain may not even be running).
        let token = if reg.registration_client_uri.is_some()
            && reg.has_registration_access_token
            && self.has_secrets()
        {
            match self.secrets.get(&token_key) {
                Ok(t) => t,
                Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
            }
        } else {
            None
        };
        let (Some(uri), Some(token)) = (reg.registration_client_uri.clone(), token) else {
            let out = Outcome::LeftForAdmin {
                why: format!(
                    "client {} at {issuer}: {}",
                    reg.client_id,
                    if reg.registration_client_uri.is_none() {
                        "the identity provider does not support RFC 7592, so Lanyard cannot delete it"
                    } else {
                        "its registration access token is missing from the keychain, so Lanyard cannot delete it"
                    }
                ),
            };
            return self.forget_registration(&issuer_url, purpose, out);
        };
        let req = Request::new(Method::DELETE, uri.clone())
            .bearer(&token)
            .header("Accept", "application/json");
        let http = match self.http() {
            Ok(h) => h.clone(),
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        let (status, body) = match Http::over(http).send(req).await {
            Ok(r) => (r.status, r.body),
            Err(e) if e.is_transport() => {
                return Outcome::failed(
                    e.to_string(),
                    "Check the network and that the identity provider is up, then run the command again.",
                );
            }
            // A broken rule (an oversized answer, a redirect): nothing was deleted for sure.
            Err(e) => {
                return Outcome::failed(
                    e.to_string(),
                    "Show this answer to your identity provider's admin, or ask them to delete the client.",
                );
            }
        };
        let out = match status {
            200..=299 => Outcome::Done {
                detail: Some(format!("HTTP {status}")),
            },
            // RFC 7592 answers 401 for a deleted client, but also for a stale token; 404/405 can
            // mean "deleted" or "this IdP has no DELETE": the token endpoint tells which.
            401 | 403 | 404 | 405 | 410 => self.confirm_gone(&st, &reg, status).await,
            _ => Outcome::failed(
                format!(
                    "{uri} answered HTTP {status} to the RFC 7592 DELETE: {}",
                    http::excerpt(&body)
                ),
                if status >= 500 {
                    "The identity provider has a problem; run the command again later."
                } else {
                    "Show this answer to your identity provider's admin, or ask them to delete the client."
                },
            ),
        };
        match out {
            Outcome::Failed { .. } | Outcome::Kept { .. } => out,
            _ => self.forget_registration(&issuer_url, purpose, out),
        }
    }

    /// The registration access token was refused. RFC 7592 answers 401 both for a deleted
    /// client and for a stale token, so ask the token endpoint whether it still knows the client
    /// (a refresh with a made-up token: `invalid_client` = gone, `invalid_grant` = still there).
    async fn confirm_gone(
        &self,
        st: &crate::servers::State,
        reg: &crate::servers::Registration,
        status: u16,
    ) -> Outcome {
        let refused = match status {
            401 | 403 => format!(
                "the identity provider refused the registration access token (HTTP {status})"
            ),
            _ => format!("the RFC 7592 DELETE answered HTTP {status}"),
        };
        let known = st
            .servers
            .iter()
            .find(|s| s.auth_server.issuer == reg.issuer)
            .map(|s| {
                (
                    s.auth_server.token_endpoint.clone(),
                    s.auth_server.token_endpoint_auth_methods_supported.clone(),
                )
            });
        let meta = match known {
            Some(m) => Some(m),
            None => self.fetch_token_endpoint(&reg.issuer).await,
        };
        let Some((token_endpoint, methods)) = meta else {
            return if matches!(status, 401 | 410) {
                Outcome::gone(format!("{refused}: the client was already deleted"))
            } else {
                Outcome::failed(
                    format!(
                        "{refused}, and the authorization server's metadata could not be read to check whether client {} still exists",
                        reg.client_id
                    ),
                    "Check that the identity provider is up, then run the command again.",
                )
            };
        };
        let secret = if reg.has_secret && self.has_secrets() {
            self.secrets
                .get(&store::registration_secret_key(reg.issuer.as_str()))
                .ok()
                .flatten()
        } else {
            None
        };
        let creds = ClientCredentials {
            client_id: reg.client_id.clone(),
            method: TokenAuthMethod::choose(
                &methods,
                secret.is_some(),
                Some(&reg.token_endpoint_auth_method),
            ),
            secret,
        };
        let http = match self.http() {
            Ok(h) => h,
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        match endpoint::client_standing(http, &token_endpoint, &creds).await {
            ClientStanding::Unknown => Outcome::gone(format!(
                "{refused} and its token endpoint no longer knows client {}: it was already deleted",
                reg.client_id
            )),
            ClientStanding::Unreachable(detail) => Outcome::failed(
                format!(
                    "{refused}, and its token endpoint could not be reached to check whether client {} still exists: {detail}",
                    reg.client_id
                ),
                "Check the network and that the identity provider is up, then run the command again.",
            ),
            _ => Outcome::LeftForAdmin {
                why: format!(
                    "client {} at {}: {refused} but the client still exists ({}); an admin must delete it",
                    reg.client_id,
                    reg.issuer,
                    if matches!(status, 401 | 403) {
                        "the registration token was rotated or revoked elsewhere"
                    } else {
                        "this identity provider does not support RFC 7592 DELETE"
                    }
                ),
            },
        }
    }

    /// The token endpoint of an issuer no saved server points at any more: its metadata, at the
    /// OIDC append and RFC 8414 well-known URLs. `None` when neither answers usefully.
    async fn fetch_token_endpoint(&self, issuer: &Url) -> Option<(Url, Vec<String>)> {
        let base = issuer.as_str().trim_end_matches('/');
        let mut candidates = vec![format!("{base}/.well-known/openid-configuration")];
        let path = issuer.path().trim_end_matches('/');
        let mut origin = issuer.clone();
        origin.set_path("");
        let origin = origin.as_str().trim_end_matches('/').to_owned();
        candidates.push(format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ));
        for url in candidates {
            let Ok(url) = Url::parse(&url) else {
                continue;
            };
            let Ok(http) = self.http() else {
                return None;
            };
            let Ok(resp) = Http::over(http.clone()).get_json(&url).await else {
                continue;
            };
            if !resp.is_success() {
                continue;
            }
            let Ok(v) = resp.json_value() else {
                continue;
            };
            if v.get("issuer")
                .and_then(|i| i.as_str())
                .map(|i| i.trim_end_matches('/'))
                != Some(base)
            {
                continue;
            }
            let Some(ep) = v
                .get("token_endpoint")
                .and_then(|t| t.as_str())
                .and_then(|t| Url::parse(t).ok())
            else {
                continue;
            };
            let methods = v
                .get("token_endpoint_auth_methods_supported")
                .and_then(|m| m.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            return Some((ep, methods));
        }
        None
    }

    /// `--force` after a failed RFC 7592 DELETE: the client stays at the IdP; forget it here
    /// (state entry, keychain items) and report it with its client id and issuer.
    pub(crate) fn give_up_registration(&self, issuer: &str, why: &str) -> Outcome {
        let Ok(issuer_url) = Url::parse(issuer) else {
            return Outcome::failed(
                format!("{why} (and the issuer {issuer} is not a URL)"),
                "Delete Lanyard's state directory by hand.",
            );
        };
        let client_id = self
            .state_file()
            .load()
            .ok()
            .and_then(|st| st.registration(&issuer_url).map(|r| r.client_id.clone()))
            .unwrap_or_else(|| "(unknown)".into());
        let out = Outcome::LeftForAdmin {
            why: format!(
                "client {client_id} at {issuer} was not deleted ({why}); --force: Lanyard forgot it on this machine, so only an admin of the identity provider can delete it now"
            ),
        };
        self.forget_registration(&issuer_url, Purpose::Uninstall, out)
    }

    /// Forget a registration after its item finished: the state entry and its keychain items.
    /// A prune keeps a registration left for the admin (it may still be reused).
    fn forget_registration(&self, issuer: &Url, purpose: Purpose, out: Outcome) -> Outcome {
        if purpose == Purpose::Prune && matches!(out, Outcome::LeftForAdmin { .. }) {
            return out;
        }
        let keys = [
            store::registration_token_key(issuer.as_str()),
            store::registration_secret_key(issuer.as_str()),
        ];
        for key in keys.iter().filter(|_| self.has_secrets()) {
            if let Err(e) = self.secrets.delete(key) {
                return Outcome::failed(e.to_string(), e.next_step());
            }
        }
        let r = self.state_file().update(|st| {
            st.registrations.retain(|r| &r.issuer != issuer);
            Ok::<_, StateError>(())
        });
        match r {
            Ok(()) => out,
            Err(e) => Outcome::failed(e.to_string(), e.next_step()),
        }
    }
}
