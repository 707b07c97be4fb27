//! The production [`Backend`]: servers from the state file, tokens from the keychain, refresh
//! through [`crate::tokens::valid_token`] (the cross-process single flight), re-registration
//! through [`crate::registration::register`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::DateTime;

use super::scheduler::{Backend, RefreshOutcome, ServerEntry, ServerState, TokenTimes};
use crate::registration::{self, DcrRequest};
use crate::servers::{ClientSource, ServerStatus, StateError, StateFile};
use crate::tokens::fresh::{Want, token_for};
use crate::tokens::{FreshError, SecretStore, TokenError, TokenSet, stored_tokens};

/// How a refresh is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRunner {
    /// In this process.
    InProcess,
    /// In a child process `EXE daemon --refresh-one NAME --seen-token ID` (the `lanyard`
    /// binary) in its own process group (see [`crate::tokens::detached`]). The IdP rotates the refresh token the moment it
    /// answers; if the engine were killed (kill -9, OOM, logout) between that answer and the
    /// keychain write, the new refresh token would be lost and the next use of the old one
    /// would revoke the whole grant. The child outlives the engine, stores what it received,
    /// and only then exits: killing the engine mid-refresh never loses the grant.
    Helper { exe: PathBuf },
}

/// Tokens, state and network as the rest of Lanyard uses them.
#[derive(Clone)]
pub struct LiveBackend {
    state_file: StateFile,
    secrets: Arc<dyn SecretStore>,
    /// The guarded client ([`crate::http::oauth_client`]); its error is each refresh's.
    http: Result<reqwest::Client, crate::http::HttpError>,
    runner: RefreshRunner,
    /// Re-registrations run one at a time in this process (they are per issuer).
    reregistering: Arc<tokio::sync::Mutex<()>>,
    /// Token times last read per server, with the server's state entry they were read for: a
    /// rescan reads the keychain only for servers whose entry changed (with a thousand servers,
    /// a state-file change must not mean a thousand keychain round trips).
    known: Arc<std::sync::Mutex<HashMap<String, (String, TokenTimes)>>>,
}

impl LiveBackend {
    pub fn new(
        state_file: StateFile,
        secrets: Arc<dyn SecretStore>,
        runner: RefreshRunner,
    ) -> LiveBackend {
        LiveBackend {
            state_file,
            secrets,
            http: crate::http::oauth_client(),
            runner,
            reregistering: Arc::default(),
            known: Arc::default(),
        }
    }

    fn remember(&self, name: &str, times: TokenTimes) {
        if let Ok(mut known) = self.known.lock()
            && let Some(entry) = known.get_mut(name)
        {
            entry.1 = times;
        }
    }

    /// One refresh in this process, as the helper child runs it (`daemon --refresh-one`).
    /// `want`: which token to replace ([`Want::Renew`] / [`Want::Refused`]); `None`: the one
    /// stored now.
    pub async fn refresh_in_process(&self, server: &str, want: Option<Want>) -> RefreshOutcome {
        let this = self.clone();
        let name = server.to_owned();
        // The whole single flight (file lock, keychain, network) runs on a blocking thread:
        // the keychain calls block, the async workers must not.
        let handle = tokio::runtime::Handle::current();
        match blocking(move || handle.block_on(this.refresh_now(&name, want))).await {
            Ok(outcome) => outcome,
            Err(reason) => RefreshOutcome::Failed { reason },
        }
    }

    async fn refresh_in_helper(
        &self,
        exe: &std::path::Path,
        server: &str,
        want: Option<Want>,
    ) -> RefreshOutcome {
        let child = crate::tokens::detached::run_child(
            exe.to_path_buf(),
            server.to_owned(),
            want.unwrap_or(Want::Usable),
            std::process::Stdio::inherit(),
        )
        .await;
        let (status, stdout) = match child {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(
                    "cannot start the refresh helper {} ({e}); refreshing in-process",
                    exe.display()
                );
                return self.refresh_in_process(server, want).await;
            }
        };
        match stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<RefreshOutcome>(l).ok())
        {
            Some(outcome) => outcome,
            None => RefreshOutcome::Failed {
                reason: format!("the refresh helper exited with {status} without an answer"),
            },
        }
    }
}

/// Times of a stored token set, as the engine schedules them.
pub fn times_of(t: &TokenSet) -> TokenTimes {
    TokenTimes {
        obtained_at: DateTime::from_timestamp(t.obtained_at, 0),
        expires_at: DateTime::from_timestamp(t.expires_at, 0),
        refreshable: t.refreshable(),
        token: Some(t.id()),
    }
}

/// Run blocking work (keychain, state file, file locks) off the async worker threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal task failed: {e}"))
}

/// Whether a failed refresh is worth retrying later (IdP down, timeout, 5xx, 429).
fn transient(e: &TokenError) -> bool {
    match e {
        TokenError::Network { .. } => true,
        TokenError::Rejected { status, .. } => *status >= 500 || *status == 429,
        TokenError::BadResponse { .. } => true, // a proxy's HTML error page during an outage
        TokenError::InvalidGrant { .. } | TokenError::InvalidClient { .. } => false,
        TokenError::Proof { .. } => false,
    }
}

impl Backend for LiveBackend {
    async fn servers(&self) -> Result<Vec<ServerEntry>, String> {
        let state_file = self.state_file.clone();
        let secrets = self.secrets.clone();
        let known = self.known.clone();
        blocking(move || {
            let state = state_file.load().map_err(|e| e.to_string())?;
            let mut cache = known.lock().map(|k| k.clone()).unwrap_or_default();
            let mut fresh_cache = HashMap::with_capacity(state.servers.len());
            let mut out = Vec::with_capacity(state.servers.len());
            for server in &state.servers {
                let entry_json = serde_json::to_string(server).unwrap_or_default();
                let state = match &server.status {
                    ServerStatus::NeedsSignIn { reason } => ServerState::NeedsSignIn {
                        reason: reason.clone(),
                    },
                    ServerStatus::Ok => match cache.remove(&server.name) {
                        Some((json, times)) if json == entry_json => {
                            fresh_cache.insert(server.name.clone(), (json, times));
                            ServerState::SignedIn(times)
                        }
                        _ => match stored_tokens(&*secrets, &server.name) {
                            Ok(Some(t)) => {
                                let times = times_of(&t);
                                fresh_cache.insert(server.name.clone(), (entry_json, times));
                                ServerState::SignedIn(times)
                            }
                            Ok(None) => ServerState::NeedsSignIn {
                                reason: "no tokens are stored for it".into(),
                            },
                            Err(e) => return Err(e.to_string()),
                        },
                    },
                };
                out.push(ServerEntry {
                    name: server.name.clone(),
                    state,
                });
            }
            if let Ok(mut k) = known.lock() {
                *k = fresh_cache;
            }
            Ok(out)
        })
        .await?
    }

    async fn refresh(&self, server: &str, seen: Option<TokenTimes>) -> RefreshOutcome {
        let want = seen.and_then(|t| t.token).map(Want::Renew);
        let outcome = match &self.runner {
            RefreshRunner::InProcess => self.refresh_in_process(server, want).await,
            RefreshRunner::Helper { exe } => self.refresh_in_helper(exe, server, want).await,
        };
        if let RefreshOutcome::Fresh { times, .. } = &outcome {
            self.remember(server, *times);
        }
        outcome
    }

    /// In this process even with [`RefreshRunner::Helper`]: without a refresh token nothing can
    /// be rotated, so there is nothing a killed engine could lose, and no helper to start.
    async fn expired(&self, server: &str, seen: Option<TokenTimes>) -> RefreshOutcome {
        let want = seen.and_then(|t| t.token).map(Want::Renew);
        let outcome = self.refresh_in_process(server, want).await;
        if let RefreshOutcome::Fresh { times, .. } = &outcome {
            self.remember(server, *times);
        }
        outcome
    }

    async fn reregister(&self, server: &str) -> Result<String, String> {
        let _one_at_a_time = self.reregistering.lock().await;
        let this = self.clone();
        let name = server.to_owned();
        let handle = tokio::runtime::Handle::current();
        blocking(move || handle.block_on(this.reregister_now(&name))).await?
    }

    async fn mark_needs_sign_in(&self, server: &str, reason: &str) {
        let state_file = self.state_file.clone();
        let name = server.to_owned();
        let reason = reason.to_owned();
        let _ = blocking(move || {
            state_file.update(|st| {
                if let Some(s) = st.server_mut(&name)
                    && matches!(s.status, ServerStatus::Ok)
                {
                    s.status = ServerStatus::NeedsSignIn { reason };
                }
                Ok::<_, StateError>(())
            })
        })
        .await;
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        vec![self.state_file.paths().state_file()]
    }
}

impl LiveBackend {
    async fn refresh_now(&self, name: &str, want: Option<Want>) -> RefreshOutcome {
        let want = match want {
            Some(w) => w,
            None => match stored_tokens(&*self.secrets, name) {
                Ok(Some(t)) => Want::Renew(t.id()),
                Ok(None) => {
                    return match self.state_file.load() {
                        Ok(st) if st.server(name).is_none() => RefreshOutcome::Removed,
                        _ => RefreshOutcome::GrantGone {
                            reason: "no tokens are stored for it".into(),
                        },
                    };
                }
                Err(e) => {
                    return RefreshOutcome::Failed {
                        reason: e.to_string(),
                    };
                }
            },
        };
        let seen = match want {
            Want::Renew(id) | Want::Refused(id) => Some(id),
            Want::Usable => None,
        };
        // Refresh exactly the token seen: under the lock, `token_for` reads the keychain once and
        // refreshes only if it still holds that token (and it is due: never before half its
        // life), else returns the newer one. Not a refusal: a token without a refresh token
        // comes back as it is while it is valid.
        let http = self.http.clone();
        let result = token_for(&self.state_file, &*self.secrets, move || http, name, want).await;
        match result {
            Ok(t) => RefreshOutcome::Fresh {
                times: times_of(&t),
                at_idp: seen.is_some_and(|id| !t.is(id)),
            },
            Err(FreshError::NeedsSignIn { reason, .. }) => RefreshOutcome::GrantGone { reason },
            Err(FreshError::RegistrationDead { client_id, .. }) => RefreshOutcome::ClientGone {
                reason: format!("client {client_id} is unknown to the identity provider"),
            },
            Err(FreshError::Refresh { source, .. }) if transient(&source) => {
                RefreshOutcome::Unreachable {
                    reason: source.to_string(),
                }
            }
            Err(FreshError::State(StateError::UnknownServer(_))) => RefreshOutcome::Removed,
            Err(e) => RefreshOutcome::Failed {
                reason: e.to_string(),
            },
        }
    }

    /// Replace the dead registration of `name`'s issuer with a new one (RFC 7591), once: when
    /// the registration in the state file is no longer the dead one, someone already did it.
    async fn reregister_now(&self, name: &str) -> Result<String, String> {
        let state = self.state_file.load().map_err(|e| e.to_string())?;
        let server = state
            .server(name)
            .ok_or_else(|| format!("no server named {name}"))?;
        let issuer = server.auth_server.issuer.clone();
        if !matches!(server.client, ClientSource::Dynamic) {
            return Err(
                "its client id was not dynamically registered; ask the admin for a new one".into(),
            );
        }
        let Some(dead) = state.registration(&issuer).filter(|r| r.dead) else {
            return Ok(issuer.to_string()); // already replaced (or never there): nothing to do
        };
        let endpoint = server
            .auth_server
            .registration_endpoint
            .clone()
            .ok_or("the identity provider no longer offers dynamic client registration")?;
        let request = DcrRequest::for_this_machine(
            dead.redirect_uris.clone(),
            &server.auth_server.token_endpoint_auth_methods_supported,
        );
        let http = self.http.as_ref().map_err(|e| e.to_string())?;
        let client = registration::register(http, &endpoint, &request)
            .await
            .map_err(|e| e.to_string())?;
        // Secrets first, then the state that points at them.
        let reg = crate::api::signin::keep_registration(
            &*self.secrets,
            &issuer,
            &client,
            dead.redirect_uris.clone(),
        )
        .map_err(|e| e.to_string())?;
        self.state_file
            .update(|st| {
                st.put_registration(reg);
                Ok::<_, StateError>(())
            })
            .map_err(|e| e.to_string())?;
        tracing::info!(
            "registered client {} with {issuer} (the old one was deleted there)",
            client.client_id
        );
        Ok(issuer.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::tokens::MemoryStore;
    use crate::tokens::set::now;

    /// A server whose IdP issued an access token living `expires_in` more seconds and no
    /// refresh token; its token endpoint is a closed port (no refresh may be tried).
    fn without_refresh_token(expires_in: i64) -> (tempfile::TempDir, LiveBackend, TokenSet) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(Paths::at(dir.path()));
        file.update(|st| {
            st.put_server(crate::servers::test_server("s"));
            Ok::<_, StateError>(())
        })
        .expect("state");
        let t = TokenSet {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_at: now() + expires_in,
            refresh_token: None,
            reissuable: false,
            scope: None,
            obtained_at: now() - 10,
        };
        let secrets = MemoryStore::new();
        secrets
            .set(&crate::tokens::store::tokens_key("s"), &t.to_json())
            .expect("store");
        let backend = LiveBackend::new(file, Arc::new(secrets), RefreshRunner::InProcess);
        (dir, backend, t)
    }

    fn status(backend: &LiveBackend) -> ServerStatus {
        let st = backend.state_file.load().expect("state");
        st.server("s").expect("server").status.clone()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refreshing_a_valid_token_without_refresh_token_keeps_the_sign_in() {
        // 20 s left: what `lanyard token`'s child and the engine see right after `add`.
        let (_dir, backend, t) = without_refresh_token(20);
        let outcome = backend
            .refresh_in_process("s", Some(Want::Renew(t.id())))
            .await;
        assert_eq!(
            outcome,
            RefreshOutcome::Fresh {
                times: times_of(&t),
                at_idp: false
            }
        );
        assert_eq!(
            status(&backend),
            ServerStatus::Ok,
            "not flagged while valid"
        );
        match backend.servers().await.expect("servers").as_slice() {
            [
                ServerEntry {
                    state: ServerState::SignedIn(times),
                    ..
                },
            ] => assert!(!times.refreshable),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_expiry_a_token_without_refresh_token_needs_sign_in_saying_why() {
        let (_dir, backend, t) = without_refresh_token(-1);
        match backend.expired("s", Some(times_of(&t))).await {
            RefreshOutcome::GrantGone { reason } => {
                assert!(reason.contains("issued no refresh token"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(status(&backend), ServerStatus::NeedsSignIn { .. }));
    }
}
