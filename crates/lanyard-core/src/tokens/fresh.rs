//! A valid access token for a managed server, refreshed first when needed, with a
//! cross-process single flight: one refresh per server at a time on the whole machine.
//!
//! Fast path (fresh token): one keychain read — no state file, no lock, no network.
//! Slow path: take `locks/<server>.lock`, re-read the keychain under the lock, and refresh only
//! if the token seen is still the stale one; the rotated refresh token is written to the
//! keychain before the new access token is returned.

use super::endpoint::{self, ClientCredentials, TokenAuthMethod, TokenError, TokenParams};
use super::set::{TokenId, TokenSet, now};
use super::store::{self, SecretError, SecretStore};
use crate::error::UserFacing;
use crate::servers::{
    ClientSource, Registration, Server, ServerStatus, State, StateError, StateFile,
};

#[derive(Debug, thiserror::Error)]
pub enum FreshError {
    #[error("{server} needs you to sign in again: {reason}")]
    NeedsSignIn { server: String, reason: String },
    #[error(
        "the identity provider of {server} no longer knows Lanyard's client {client_id} (it was deleted or disabled)"
    )]
    RegistrationDead { server: String, client_id: String },
    #[error("refreshing the token of {server} failed: {source}")]
    Refresh {
        server: String,
        #[source]
        source: TokenError,
    },
    #[error("Lanyard could not take the refresh lock {path}: {detail}")]
    Lock { path: String, detail: String },
    #[error(
        "another Lanyard process has been refreshing the token of {server} for more than {secs} s (lock {path}), and the current token has expired"
    )]
    LockBusy {
        server: String,
        secs: u64,
        path: String,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl UserFacing for FreshError {
    fn code(&self) -> &'static str {
        match self {
            FreshError::NeedsSignIn { .. } => "tokens.needs-sign-in",
            FreshError::RegistrationDead { .. } => "tokens.registration-dead",
            FreshError::Refresh { source, .. } => source.code(),
            FreshError::Lock { .. } => "tokens.lock",
            FreshError::LockBusy { .. } => "tokens.lock-busy",
            FreshError::State(e) => e.code(),
            FreshError::Secret(e) => e.code(),
        }
    }
    fn next_step(&self) -> String {
        match self {
            FreshError::NeedsSignIn { server, .. } => {
                format!("Run `lanyard login {server}` to sign in again.")
            }
            FreshError::RegistrationDead { server, .. } => format!(
                "Run `lanyard login {server}`: Lanyard registers a new client and signs you in (or ask your admin for a client id and use `lanyard add URL --client-id ID`)."
            ),
            FreshError::Refresh { source, .. } => source.next_step(),
            FreshError::LockBusy { .. } => "A Lanyard process (daemon, tray or token helper) seems stuck: stop it, or wait for it to finish, then try again.".into(),
            FreshError::Lock { .. } => {
                "Check that Lanyard's state directory is writable, then try again.".into()
            }
            FreshError::State(e) => e.next_step(),
            FreshError::Secret(e) => e.next_step(),
        }
    }
}

/// The credentials of this machine's registration at an issuer: its secret from the keychain
/// when it has one, the authentication method it registered when the AS (`supported`) allows.
pub fn registration_credentials(
    reg: &Registration,
    supported: &[String],
    secrets: &dyn SecretStore,
) -> Result<ClientCredentials, SecretError> {
    let secret = if reg.has_secret {
        secrets.get(&store::registration_secret_key(reg.issuer.as_str()))?
    } else {
        None
    };
    let method = TokenAuthMethod::choose(
        supported,
        secret.is_some(),
        Some(&reg.token_endpoint_auth_method),
    );
    Ok(ClientCredentials {
        client_id: reg.client_id.clone(),
        secret,
        method,
    })
}

/// The client credentials a server uses at its authorization server.
pub fn client_credentials(
    state: &State,
    server: &Server,
    secrets: &dyn SecretStore,
) -> Result<ClientCredentials, FreshError> {
    let supported = &server.auth_server.token_endpoint_auth_methods_supported;
    match &server.client {
        ClientSource::PreRegistered {
            client_id,
            has_secret,
        } => {
            let secret = if *has_secret {
                secrets.get(&store::server_secret_key(&server.name))?
            } else {
                None
            };
            let method = TokenAuthMethod::choose(supported, secret.is_some(), None);
            Ok(ClientCredentials {
                client_id: client_id.clone(),
                secret,
                method,
            })
        }
        ClientSource::MetadataDocument { client_id } => Ok(ClientCredentials {
            client_id: client_id.to_string(),
            secret: None,
            method: TokenAuthMethod::None,
        }),
        ClientSource::Dynamic => {
            let reg = state
                .registration(&server.auth_server.issuer)
                .ok_or_else(|| FreshError::NeedsSignIn {
                    server: server.name.clone(),
                    reason: "its client registration is missing".into(),
                })?;
            if reg.dead {
                return Err(FreshError::RegistrationDead {
                    server: server.name.clone(),
                    client_id: reg.client_id.clone(),
                });
            }
            Ok(registration_credentials(reg, supported, secrets)?)
        }
    }
}

/// Token request parameters of a server (resource unless `no_resource`, audience, scopes on
/// refresh when its quirk asks).
pub fn token_params(server: &Server, for_refresh: bool) -> TokenParams {
    TokenParams {
        resource: (!server.quirks.no_resource)
            .then(|| crate::authorization::resource_param(&server.resource)),
        audience: server.quirks.audience.clone(),
        scope: (for_refresh && server.quirks.scopes_on_refresh && !server.scopes.is_empty())
            .then(|| server.scopes.join(" ")),
    }
}

/// The stored tokens of a server, if any (no refresh, no network).
pub fn stored_tokens(
    secrets: &dyn SecretStore,
    server: &str,
) -> Result<Option<TokenSet>, SecretError> {
    Ok(secrets
        .get(&store::tokens_key(server))?
        .and_then(|s| TokenSet::from_json(&s)))
}

/// Why a caller asks for a token: the two reasons to refresh a token that has not expired yet
/// are different things and must not be confused. Tokens are named by their [`TokenId`] (exact,
/// unlike whole-second expiries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A usable token; refresh first only when it is due ([`TokenSet::refresh_due`]: never
    /// before half its life).
    Usable,
    /// The server just refused this access token (401) although it looked valid: it is no use,
    /// whatever its expiry. When the stored token is still this one, it is refreshed; without a
    /// refresh token, the server needs a new sign-in.
    Refused(TokenId),
    /// Refresh this access token ahead of its expiry, if it is still the stored one and at least
    /// half its life is over (the refresh engine, the detached refresh child). The token itself
    /// is still good: without a refresh token it is handed out as it is until it expires.
    Renew(TokenId),
}

impl Want {
    /// Whether `t` has to be replaced before it is handed out (or, for [`Want::Renew`], whether
    /// a refresh was asked for it and it is old enough).
    pub fn wants_refresh(&self, t: &TokenSet, now: i64) -> bool {
        match self {
            Want::Usable => t.refresh_due(now),
            Want::Refused(id) => t.is(*id) || t.refresh_due(now),
            Want::Renew(id) if t.is(*id) => t.past_half_life(now) || !t.fresh_at(now, 0),
            Want::Renew(_) => t.refresh_due(now),
        }
    }

    /// Whether `t` can be handed out as it is when it cannot be refreshed (no refresh token,
    /// IdP unreachable, lock held too long): it has not expired and the server did not refuse it.
    pub fn usable_as_is(&self, t: &TokenSet, now: i64) -> bool {
        t.fresh_at(now, 0) && !matches!(self, Want::Refused(r) if t.is(*r))
    }
}

/// Why a server without a refresh token needs a new sign-in (the identity provider issued none:
/// RFC 6749 §5.1 makes it optional).
pub fn no_refresh_token_reason(refused: bool) -> String {
    if refused {
        "the server refused the access token and the identity provider issued no refresh token"
            .into()
    } else {
        "the access token expired and the identity provider issued no refresh token".into()
    }
}

/// A valid access token for `name`, refreshing it first (in this process) when it is due.
///
/// `rejected`: an access token the server just refused with 401 although it looked valid —
/// when the stored token is still that one, it is refreshed regardless of its expiry
/// ([`Want::Refused`]; see [`token_for`] for the other reasons).
/// `http` is only called when a refresh is needed.
pub async fn valid_token(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: impl FnOnce() -> reqwest::Client,
    name: &str,
    rejected: Option<&str>,
) -> Result<TokenSet, FreshError> {
    let want = match rejected {
        Some(token) => Want::Refused(TokenId::of(token)),
        None => Want::Usable,
    };
    token_for(state_file, secrets, http, name, want).await
}

/// A valid access token for `name`, for the reason `want` (see [`Want`]).
///
/// A token set without a refresh token is handed out until it expires (whatever `want`, unless
/// the server refused it); only then, or once refused, does the server need a new sign-in.
/// `http` is only called when a refresh is needed.
pub async fn token_for(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: impl FnOnce() -> reqwest::Client,
    name: &str,
    want: Want,
) -> Result<TokenSet, FreshError> {
    // Fast path: one keychain read, not even the state file (a still-valid access token is
    // valid whatever happened to the grant since). A token that cannot be refreshed is used
    // as it is until it expires: no lock, nothing to wait for.
    let stored = stored_tokens(secrets, name)?;
    if let Some(t) = &stored {
        let t_now = now();
        if !want.wants_refresh(t, t_now) || (!t.refreshable() && want.usable_as_is(t, t_now)) {
            return Ok(t.clone());
        }
    }
    let state = state_file.load()?;
    let server = state
        .server(name)
        .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
    if let ServerStatus::NeedsSignIn { reason } = &server.status {
        return Err(FreshError::NeedsSignIn {
            server: name.to_owned(),
            reason: reason.clone(),
        });
    }
    let seen = stored.ok_or_else(|| FreshError::NeedsSignIn {
        server: name.to_owned(),
        reason: "no tokens are stored for it".into(),
    })?;

    // Slow path: one refresh per server across every process.
    let lock_path = state_file.paths().server_lock(name);
    let lock = match take_lock_bounded(&lock_path, lock_wait()).await? {
        Some(lock) => lock,
        None => {
            // Another process has held the refresh lock for too long (stuck, or a very slow
            // IdP). Never refresh without it; the newest stored token is still usable if it
            // has not expired.
            let current = stored_tokens(secrets, name)?;
            return match current {
                Some(t) if want.usable_as_is(&t, now()) => Ok(t),
                _ => Err(FreshError::LockBusy {
                    server: name.to_owned(),
                    secs: lock_wait().as_secs(),
                    path: lock_path.display().to_string(),
                }),
            };
        }
    };
    let current = stored_tokens(secrets, name)?.ok_or_else(|| FreshError::NeedsSignIn {
        server: name.to_owned(),
        reason: "its tokens were removed".into(),
    })?;
    // Decisions under the lock compare this one read of the keychain, by token identity.
    if !current.is(seen.id()) && want.usable_as_is(&current, now()) {
        // Someone refreshed while we waited.
        return Ok(current);
    }
    if !want.wants_refresh(&current, now()) {
        return Ok(current);
    }
    let Some(refresh_token) = current.refresh_token.clone().filter(|r| !r.is_empty()) else {
        if want.usable_as_is(&current, now()) {
            return Ok(current);
        }
        let reason = no_refresh_token_reason(current.fresh_at(now(), 0));
        mark_needs_sign_in(state_file, name, &reason)?;
        return Err(FreshError::NeedsSignIn {
            server: name.to_owned(),
            reason,
        });
    };
    // Re-read state under the refresh lock: the registration may have changed.
    let state = state_file.load()?;
    let server = state
        .server(name)
        .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
    if let ServerStatus::NeedsSignIn { reason } = &server.status {
        // Signed out (or flagged) while we waited for the lock.
        return Err(FreshError::NeedsSignIn {
            server: name.to_owned(),
            reason: reason.clone(),
        });
    }
    let client = client_credentials(&state, server, secrets)?;
    let params = token_params(server, true);
    let http = http();
    let result = endpoint::refresh(
        &http,
        &server.auth_server.token_endpoint,
        &client,
        &refresh_token,
        &params,
        current.scope.as_deref(),
    )
    .await;
    match result {
        Ok(new) => {
            // Whoever deletes or replaces tokens takes this lock (logout, remove, uninstall), but
            // a sign-in stores new ones without it: never write a rotated set over tokens that
            // are no longer the ones refreshed, nor back after they were deleted.
            match stored_tokens(secrets, name)? {
                Some(t) if t.is(current.id()) => {}
                Some(other) => return Ok(other),
                None => {
                    return Err(FreshError::NeedsSignIn {
                        server: name.to_owned(),
                        reason: "its tokens were removed".into(),
                    });
                }
            }
            // Rotation safety: the new refresh token is stored before anyone sees the access token.
            persist_rotated(
                secrets,
                &store::tokens_key(name),
                &new.to_json(),
                &KEYCHAIN_RETRY,
            )
            .await?;
            drop(lock);
            Ok(new)
        }
        Err(TokenError::InvalidGrant { description, .. }) => {
            let reason = format!(
                "the identity provider refused the refresh token (invalid_grant{})",
                description.map(|d| format!(": {d}")).unwrap_or_default()
            );
            mark_needs_sign_in(state_file, name, &reason)?;
            Err(FreshError::NeedsSignIn {
                server: name.to_owned(),
                reason,
            })
        }
        Err(TokenError::InvalidClient { .. }) => {
            let issuer = server.auth_server.issuer.clone();
            let dynamic = matches!(server.client, ClientSource::Dynamic);
            state_file.update(|st| {
                if dynamic && let Some(reg) = st.registration_mut(&issuer) {
                    reg.dead = true;
                }
                if let Some(s) = st.server_mut(name) {
                    s.status = ServerStatus::NeedsSignIn {
                        reason: "the identity provider no longer knows Lanyard's client".into(),
                    };
                }
                Ok::<_, FreshError>(())
            })?;
            Err(FreshError::RegistrationDead {
                server: name.to_owned(),
                client_id: client.client_id,
            })
        }
        Err(e) => {
            // IdP down or 5xx: the old token stays usable until it really expires.
            if want.usable_as_is(&current, now()) {
                return Ok(current);
            }
            Err(FreshError::Refresh {
                server: name.to_owned(),
                source: e,
            })
        }
    }
}

/// Waits before each new attempt to store a rotated token set.
const KEYCHAIN_RETRY: [std::time::Duration; 4] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(400),
    std::time::Duration::from_millis(1500),
    std::time::Duration::from_millis(3000),
];

/// Stores a token set the IdP has just rotated. The old refresh token is dead from now on, so
/// failing here means signing in again: a keychain service that failed (the Secret Service
/// restarting, a D-Bus hiccup) is given a few more tries, under the refresh lock, before the
/// error is returned. A refusal that would only repeat (a locked keychain, an item too long) is
/// returned at once.
async fn persist_rotated(
    secrets: &dyn SecretStore,
    key: &str,
    value: &str,
    waits: &[std::time::Duration],
) -> Result<(), SecretError> {
    let mut waits = waits.iter();
    loop {
        match secrets.set(key, value) {
            Ok(()) => return Ok(()),
            Err(e) => match waits.next().filter(|_| e.is_transient()) {
                Some(w) => {
                    tracing::warn!("storing the rotated tokens failed ({e}); retrying");
                    tokio::time::sleep(*w).await;
                }
                None => return Err(e),
            },
        }
    }
}

fn mark_needs_sign_in(state_file: &StateFile, name: &str, reason: &str) -> Result<(), FreshError> {
    state_file.update(|st| {
        if let Some(s) = st.server_mut(name) {
            s.status = ServerStatus::NeedsSignIn {
                reason: reason.to_owned(),
            };
        }
        Ok::<_, FreshError>(())
    })
}

/// How long a caller waits for another process's refresh (`LANYARD_LOCK_WAIT_SECS`, default 20).
pub(crate) fn lock_wait() -> std::time::Duration {
    std::env::var("LANYARD_LOCK_WAIT_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs)
        .unwrap_or(std::time::Duration::from_secs(20))
}

/// Like [`take_lock`], but gives up after `wait` (`Ok(None)`): a stuck holder must not hang
/// every IDE's headers helper forever. The waiter blocks in `flock` on a blocking thread, so it
/// wakes the moment the holder releases the lock (no polling); when it gives up, that thread
/// lets go of the lock as soon as it gets it.
pub(crate) async fn take_lock_bounded(
    path: &std::path::Path,
    wait: std::time::Duration,
) -> Result<Option<std::fs::File>, FreshError> {
    let shown = path.display().to_string();
    let err = |e: std::io::Error| FreshError::Lock {
        path: shown.clone(),
        detail: e.to_string(),
    };
    if let Some(f) = crate::fsutil::try_lock(path).map_err(|e| err(e.source))? {
        return Ok(Some(f));
    }
    if wait.is_zero() {
        return Ok(None);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("lanyard-lock-wait".into())
        .spawn(move || {
            let r = crate::fsutil::lock(&owned).map_err(|e| e.source);
            // A waiter that gave up has dropped `rx`: the file (and the lock) is dropped here.
            let _ = tx.send(r);
        })
        .map_err(err)?;
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(Ok(f))) => Ok(Some(f)),
        Ok(Ok(Err(e))) => Err(err(e)),
        Ok(Err(_)) => Err(err(std::io::Error::other("the lock waiter stopped"))),
        Err(_) => Ok(None),
    }
}

/// Open and exclusively lock a lock file (blocking, off the async threads).
pub(crate) async fn take_lock(path: &std::path::Path) -> Result<std::fs::File, FreshError> {
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    let res =
        tokio::task::spawn_blocking(move || crate::fsutil::lock(&path).map_err(|e| e.source)).await;
    match res {
        Ok(Ok(f)) => Ok(f),
        Ok(Err(e)) => Err(FreshError::Lock {
            path: shown,
            detail: e.to_string(),
        }),
        Err(e) => Err(FreshError::Lock {
            path: shown,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::servers::Server;
    use crate::tokens::MemoryStore;

    fn server(name: &str) -> Server {
        crate::servers::test_server(name)
    }

    fn tokens(expires_in: i64) -> TokenSet {
        TokenSet {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_at: now() + expires_in,
            refresh_token: Some("rt".into()),
            scope: None,
            obtained_at: now(),
        }
    }

    /// A keychain that fails its first `fails` writes.
    struct Flaky {
        fails: std::sync::atomic::AtomicUsize,
        inner: MemoryStore,
    }
    impl SecretStore for Flaky {
        fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
            use std::sync::atomic::Ordering;
            if self
                .fails
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(SecretError::Interrupted {
                    action: "write",
                    key: key.into(),
                    detail: "org.freedesktop.DBus.Error.NoReply".into(),
                });
            }
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), SecretError> {
            self.inner.delete(key)
        }
    }

    #[tokio::test]
    async fn a_rotated_token_set_survives_a_keychain_that_fails_briefly() {
        let waits = [std::time::Duration::ZERO; 3];
        let store = Flaky {
            fails: 2.into(),
            inner: MemoryStore::default(),
        };
        persist_rotated(&store, "tokens:s", "new", &waits)
            .await
            .unwrap();
        assert_eq!(store.get("tokens:s").unwrap().as_deref(), Some("new"));

        let down = Flaky {
            fails: 10.into(),
            inner: MemoryStore::default(),
        };
        let err = persist_rotated(&down, "tokens:s", "new", &waits).await;
        assert!(err.is_err(), "a keychain that stays down is reported");
        assert_eq!(
            down.fails.load(std::sync::atomic::Ordering::SeqCst),
            6,
            "1 try + 3 retries"
        );

        // A locked keychain is not asked again and again (each try may prompt the user).
        struct Locked(std::sync::atomic::AtomicUsize);
        impl SecretStore for Locked {
            fn get(&self, _: &str) -> Result<Option<String>, SecretError> {
                Ok(None)
            }
            fn set(&self, _: &str, _: &str) -> Result<(), SecretError> {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err(SecretError::Unavailable("locked".into()))
            }
            fn delete(&self, _: &str) -> Result<(), SecretError> {
                Ok(())
            }
        }
        let locked = Locked(0.into());
        assert!(
            persist_rotated(&locked, "tokens:s", "new", &waits)
                .await
                .is_err()
        );
        assert_eq!(locked.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn fresh_token_is_returned_without_network_or_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        file.update(|st| {
            st.put_server(server("s"));
            Ok::<_, StateError>(())
        })
        .unwrap();
        let secrets = MemoryStore::new();
        secrets
            .set(&store::tokens_key("s"), &tokens(600).to_json())
            .unwrap();
        let t = valid_token(&file, &secrets, || panic!("no network"), "s", None)
            .await
            .unwrap();
        assert_eq!(t.access_token, "at");
        assert!(!dir.path().join("locks").exists());
    }

    #[tokio::test]
    async fn needs_sign_in_status_and_missing_tokens_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        let mut s = server("s");
        s.status = ServerStatus::NeedsSignIn { reason: "x".into() };
        file.update(|st| {
            st.put_server(s);
            st.put_server(server("t"));
            Ok::<_, StateError>(())
        })
        .unwrap();
        let secrets = MemoryStore::new();
        let e = valid_token(&file, &secrets, || panic!(), "s", None)
            .await
            .unwrap_err();
        assert!(matches!(e, FreshError::NeedsSignIn { .. }));
        assert!(e.next_step().contains("lanyard login s"));
        let e = valid_token(&file, &secrets, || panic!(), "t", None)
            .await
            .unwrap_err();
        assert!(matches!(e, FreshError::NeedsSignIn { .. }));
    }

    fn without_refresh_token(expires_in: i64) -> TokenSet {
        TokenSet {
            refresh_token: None,
            ..tokens(expires_in)
        }
    }

    fn world_with(t: &TokenSet) -> (tempfile::TempDir, StateFile, MemoryStore) {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        file.update(|st| {
            st.put_server(server("s"));
            Ok::<_, StateError>(())
        })
        .unwrap();
        let secrets = MemoryStore::new();
        secrets.set(&store::tokens_key("s"), &t.to_json()).unwrap();
        (dir, file, secrets)
    }

    fn status_of(file: &StateFile) -> ServerStatus {
        file.load().unwrap().server("s").unwrap().status.clone()
    }

    #[tokio::test]
    async fn a_token_without_refresh_token_is_used_until_it_expires() {
        // 20 s left: within the refresh margin, but there is nothing to refresh it with.
        let t = without_refresh_token(20);
        let (dir, file, secrets) = world_with(&t);
        let got = valid_token(&file, &secrets, || panic!("no network"), "s", None)
            .await
            .unwrap();
        assert_eq!(got, t);
        // Asked to renew exactly this token (the engine, the token helper's child): the same
        // token, still good, and the server is not flagged.
        let got = token_for(
            &file,
            &secrets,
            || panic!("no network"),
            "s",
            Want::Renew(TokenId::of("at")),
        )
        .await
        .unwrap();
        assert_eq!(got, t);
        assert_eq!(status_of(&file), ServerStatus::Ok);
        assert!(
            !dir.path().join("locks").exists(),
            "nothing to refresh, so no refresh lock"
        );
    }

    #[tokio::test]
    async fn a_refused_token_without_refresh_token_needs_sign_in() {
        let (_dir, file, secrets) = world_with(&without_refresh_token(600));
        let e = valid_token(&file, &secrets, || panic!("no network"), "s", Some("at"))
            .await
            .unwrap_err();
        match &e {
            FreshError::NeedsSignIn { reason, .. } => {
                assert!(reason.contains("refused"), "{reason}");
                assert!(reason.contains("issued no refresh token"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(status_of(&file), ServerStatus::NeedsSignIn { .. }));
    }

    #[tokio::test]
    async fn an_expired_token_without_refresh_token_needs_sign_in_saying_why() {
        let (_dir, file, secrets) = world_with(&without_refresh_token(-1));
        for want in [Want::Usable, Want::Renew(TokenId::of("at"))] {
            let e = token_for(&file, &secrets, || panic!("no network"), "s", want)
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("issued no refresh token"),
                "{want:?}: {e}"
            );
            assert!(e.next_step().contains("lanyard login s"));
        }
        match status_of(&file) {
            ServerStatus::NeedsSignIn { reason } => {
                assert!(reason.contains("issued no refresh token"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn renew_of_a_token_already_replaced_returns_the_newer_one() {
        let newer = TokenSet {
            access_token: "newer".into(),
            ..tokens(600)
        };
        let (_dir, file, secrets) = world_with(&newer);
        let got = token_for(
            &file,
            &secrets,
            || panic!("no network"),
            "s",
            Want::Renew(TokenId::of("at")),
        )
        .await
        .unwrap();
        assert_eq!(got.access_token, "newer");
    }

    #[tokio::test]
    async fn a_stuck_lock_holder_is_waited_for_only_so_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks").join("s.lock");
        let held = take_lock_bounded(&path, std::time::Duration::ZERO)
            .await
            .unwrap()
            .expect("free lock is taken");
        let again = take_lock_bounded(&path, std::time::Duration::from_millis(60))
            .await
            .unwrap();
        assert!(again.is_none());
        drop(held);
        assert!(
            take_lock_bounded(&path, std::time::Duration::from_millis(60))
                .await
                .unwrap()
                .is_some()
        );
    }

    /// A token issued ten minutes ago that expires in 10 s: due for a refresh.
    fn due() -> TokenSet {
        TokenSet {
            obtained_at: now() - 600,
            ..tokens(10)
        }
    }

    /// A token endpoint on loopback answering every refresh with a new token set (`at-N`,
    /// `rt-N`, living `ttl` s); `on_request` runs before it answers. Returns the server (pointed
    /// at it) and the number of refreshes it answered.
    async fn token_endpoint(
        ttl: i64,
        on_request: impl Fn() + Send + Sync + 'static,
    ) -> (Server, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        let on_request = std::sync::Arc::new(on_request);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_lowercase();
                    if let Some(p) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if n == 0 || buf.len() >= p + 4 + len {
                            break;
                        }
                    } else if n == 0 {
                        break;
                    }
                }
                on_request();
                let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let body = format!(
                    r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":{ttl},"refresh_token":"rt-{n}"}}"#
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        let mut s = server("s");
        s.auth_server = crate::discovery::auth_server::test_metadata(&base);
        (s, count)
    }

    #[tokio::test]
    async fn a_short_lived_token_just_refreshed_is_not_refreshed_again() {
        // 15 s token obtained now: within the 60 s margin, but younger than half its life.
        let young = TokenSet {
            access_token: "new".into(),
            ..tokens(15)
        };
        let (_dir, file, secrets) = world_with(&young);
        let got = valid_token(&file, &secrets, || panic!("no network"), "s", None)
            .await
            .unwrap();
        assert_eq!(got, young);
        // The detached child asked to renew the token its caller saw ("at"), but another one
        // stored "new" meanwhile (in the same second: expiries cannot tell them apart).
        let got = token_for(
            &file,
            &secrets,
            || panic!("no network"),
            "s",
            Want::Renew(TokenId::of("at")),
        )
        .await
        .unwrap();
        assert_eq!(got, young);
        // Asked to renew exactly this young token: still not before half its life.
        let got = token_for(
            &file,
            &secrets,
            || panic!("no network"),
            "s",
            Want::Renew(young.id()),
        )
        .await
        .unwrap();
        assert_eq!(got, young);
    }

    #[tokio::test]
    async fn a_refresh_never_writes_tokens_back_after_they_were_deleted() {
        // The tokens are deleted (a logout that does not take the lock, an older Lanyard)
        // while the refresh request is at the IdP.
        let secrets = std::sync::Arc::new(MemoryStore::new());
        let deleter = secrets.clone();
        let (srv, count) = token_endpoint(600, move || {
            deleter.delete(&store::tokens_key("s")).unwrap();
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        file.update(|st| {
            st.put_server(srv);
            Ok::<_, StateError>(())
        })
        .unwrap();
        secrets
            .set(&store::tokens_key("s"), &due().to_json())
            .unwrap();
        let e = valid_token(&file, &*secrets, crate::net::client, "s", None)
            .await
            .unwrap_err();
        assert!(matches!(e, FreshError::NeedsSignIn { .. }), "{e:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(secrets.get(&store::tokens_key("s")).unwrap(), None);
    }

    #[tokio::test]
    async fn a_refresh_waiting_for_a_logout_finds_the_server_signed_out() {
        let (srv, count) = token_endpoint(600, || {}).await;
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        file.update(|st| {
            st.put_server(srv);
            Ok::<_, StateError>(())
        })
        .unwrap();
        let secrets = MemoryStore::new();
        secrets
            .set(&store::tokens_key("s"), &due().to_json())
            .unwrap();
        // "Logout" holds the lock, deletes the tokens, marks the server, then lets go.
        let lock = take_lock(&file.paths().server_lock("s")).await.unwrap();
        let refresh = valid_token(&file, &secrets, crate::net::client, "s", None);
        let logout = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            secrets.delete(&store::tokens_key("s")).unwrap();
            file.update(|st| {
                st.server_mut("s").unwrap().status = ServerStatus::NeedsSignIn {
                    reason: "you signed out".into(),
                };
                Ok::<_, StateError>(())
            })
            .unwrap();
            drop(lock);
        };
        let (r, ()) = tokio::join!(refresh, logout);
        assert!(matches!(r, Err(FreshError::NeedsSignIn { .. })), "{r:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(secrets.get(&store::tokens_key("s")).unwrap(), None);
    }

    #[tokio::test]
    async fn a_lock_waiter_that_gave_up_does_not_keep_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks").join("s.lock");
        let held = take_lock_bounded(&path, std::time::Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert!(
            take_lock_bounded(&path, std::time::Duration::from_millis(30))
                .await
                .unwrap()
                .is_none()
        );
        // A waiter with time to spare gets the lock when the holder lets go.
        let waiter = tokio::spawn({
            let path = path.clone();
            async move { take_lock_bounded(&path, std::time::Duration::from_secs(30)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        drop(held);
        let got = waiter.await.unwrap().unwrap().expect("lock after release");
        drop(got);
        // And the one that gave up let go of it as soon as it got it.
        assert!(
            take_lock_bounded(&path, std::time::Duration::from_secs(30))
                .await
                .unwrap()
                .is_some()
        );
    }
}
