//! A valid access token for a managed server, refreshed first when needed, with a
//! cross-process single flight: one refresh per server at a time on the whole machine.
//!
//! Fast path (fresh token): one keychain read — no state file, no lock, no network.
//! Slow path: take `locks/<server>.lock`, re-read the keychain under the lock, and refresh only
//! if the token seen is still the stale one; the rotated refresh token is written to the
//! keychain before the new access token is returned.

pub mod assertion;

use super::endpoint::{self, ClientCredentials, TokenAuthMethod, TokenError, TokenParams};
use super::set::{TokenId, TokenSet, now};
use super::store::{self, SecretError, SecretStore};
use crate::error::UserFacing;
use crate::http::HttpError;
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
    #[error("renewing the token of {server} failed: {source}")]
    Machine {
        server: String,
        #[source]
        source: crate::tokens::machine::MachineError,
    },
    /// A renewal through an identity assertion ([`assertion`]) failed for another reason than
    /// an ended IdP session (that is [`FreshError::NeedsSignIn`]).
    #[error("renewing the token of {server} through the company identity provider failed: {what}")]
    Assertion {
        server: String,
        what: String,
        next: String,
        code: &'static str,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl UserFacing for FreshError {
    fn code(&self) -> &'static str {
        match self {
            FreshError::NeedsSignIn { .. } => "tokens.needs-sign-in",
            FreshError::RegistrationDead { .. } => "tokens.registration-dead",
            FreshError::Refresh { source, .. } => source.code(),
            FreshError::Lock { .. } => "tokens.lock",
            FreshError::LockBusy { .. } => "tokens.lock-busy",
            FreshError::Assertion { code, .. } => code,
            FreshError::Machine { source, .. } => source.code(),
            FreshError::State(e) => e.code(),
            FreshError::Secret(e) => e.code(),
            FreshError::Http(e) => e.code(),
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
            FreshError::Machine { source, server } => format!(
                "{} Then `lanyard login {server}` asks again (or wait for the next renewal).",
                source.next_step()
            ),
            FreshError::Assertion { next, .. } => next.clone(),
            FreshError::LockBusy { .. } => "A Lanyard process (daemon, tray or token helper) seems stuck: stop it, or wait for it to finish, then try again.".into(),
            FreshError::Lock { .. } => {
                "Check that Lanyard's state directory is writable, then try again.".into()
            }
            FreshError::State(e) => e.next_step(),
            FreshError::Secret(e) => e.next_step(),
            FreshError::Http(e) => e.next_step(),
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
    // A client given with the server: its secret, if it has one, saved under the server's name.
    let with_saved_secret = |client_id: String, has_secret: bool| {
        let secret = if has_secret {
            secrets.get(&store::server_secret_key(&server.name))?
        } else {
            None
        };
        let method = TokenAuthMethod::choose(supported, secret.is_some(), None);
        Ok(ClientCredentials {
            client_id,
            secret,
            method,
        })
    };
    match &server.client {
        ClientSource::PreRegistered {
            client_id,
            has_secret,
        } => with_saved_secret(client_id.clone(), *has_secret),
        ClientSource::MetadataDocument { client_id } => Ok(ClientCredentials {
            client_id: client_id.to_string(),
            secret: None,
            method: TokenAuthMethod::None,
        }),
        // What revocation can use: a client secret; a private_key_jwt or workload client is
        // named only (an AS that wants its assertion there refuses, and sign-out says so).
        ClientSource::Machine {
            client_id,
            has_secret,
            ..
        } => with_saved_secret(client_id.clone().unwrap_or_default(), *has_secret),
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
        dpop: None,
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
    http: impl FnOnce() -> Result<reqwest::Client, HttpError>,
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
    http: impl FnOnce() -> Result<reqwest::Client, HttpError>,
    name: &str,
    want: Want,
) -> Result<TokenSet, FreshError> {
    // Fast path: one keychain read, not even the state file (a still-valid access token is
    // valid whatever happened to the grant since). A token that cannot be refreshed is used
    // as it is until it expires: no lock, nothing to wait for.
    let stored = stored_tokens(secrets, name)?;
    if let Some(t) = &stored
        && usable_without_refresh(t, want)
    {
        return Ok(t.clone());
    }
    ensure_signed_in(&state_file.load()?, name)?;
    let seen = stored.ok_or_else(|| needs_sign_in(name, "no tokens are stored for it"))?;

    // Slow path: one refresh per server across every process.
    let lock = match lock_for_refresh(state_file, secrets, name, want).await? {
        Locked::Held(lock) => lock,
        Locked::Gave(t) => return Ok(t),
    };
    let current = stored_tokens(secrets, name)?
        .ok_or_else(|| needs_sign_in(name, "its tokens were removed"))?;
    if let Some(renewal) = assertion::managing(state_file, name) {
        let renewed = renew_by_assertion(
            renewal, state_file, secrets, http, name, &current, &seen, want,
        );
        let out = renewed.await;
        drop(lock);
        return out;
    }
    let refresh_token = match decide_under_lock(&current, &seen, want) {
        UnderLock::Use(t) => return Ok(t),
        UnderLock::SignIn(reason) => {
            mark_needs_sign_in(state_file, name, &reason)?;
            return Err(needs_sign_in(name, &reason));
        }
        UnderLock::Refresh(rt) => rt,
        UnderLock::Reissue => {
            let t = reissue(state_file, secrets, http, name, &current, want).await;
            drop(lock);
            return t;
        }
    };
    // Re-read state under the refresh lock: the registration may have changed.
    let state = state_file.load()?;
    let server = ensure_signed_in(&state, name)?;
    let client = client_credentials(&state, server, secrets)?;
    let mut params = token_params(server, true);
    // A refresh token bound to a key needs that key; a damaged one needs a sign-in.
    params.dpop = super::dpop::for_server(secrets, name).map_err(|e| match e {
        super::dpop::DpopError::Keychain(e) => FreshError::Secret(e),
        e => needs_sign_in(name, &e.to_string()),
    })?;
    let result = endpoint::refresh(
        &http()?,
        &server.auth_server.token_endpoint,
        &client,
        &refresh_token,
        &params,
        current.scope.as_deref(),
    )
    .await;
    match result {
        Ok(new) => {
            let handed_out = store_rotated(secrets, name, &current, new).await?;
            drop(lock);
            Ok(handed_out)
        }
        Err(e) => refresh_failed(state_file, name, server, client, &current, want, e),
    }
}

/// A server whose tokens come from an identity assertion ([`assertion`]), under its lock: the
/// tokens read are used when still good for `want`; else new ones are obtained and stored.
/// When that fails, a token that has not expired is still handed out; a renewal that needs
/// the user (the IdP session ended) marks the server.
#[allow(clippy::too_many_arguments)] // the same inputs as the refresh it replaces
async fn renew_by_assertion(
    renewal: &dyn assertion::AssertionRenewal,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: impl FnOnce() -> Result<reqwest::Client, HttpError>,
    name: &str,
    current: &TokenSet,
    seen: &TokenSet,
    want: Want,
) -> Result<TokenSet, FreshError> {
    let t_now = now();
    if (!current.is(seen.id()) && want.usable_as_is(current, t_now))
        || !want.wants_refresh(current, t_now)
    {
        return Ok(current.clone());
    }
    let state = state_file.load()?;
    let server = ensure_signed_in(&state, name)?;
    match renewal.renew(state_file, secrets, http()?, server).await {
        Ok(new) => store_rotated(secrets, name, current, new).await,
        Err(_) if want.usable_as_is(current, now()) => Ok(current.clone()),
        Err(assertion::RenewError::NeedsSignIn(reason)) => {
            mark_needs_sign_in(state_file, name, &reason)?;
            Err(needs_sign_in(name, &reason))
        }
        Err(assertion::RenewError::Failed { what, next, code }) => Err(FreshError::Assertion {
            server: name.to_owned(),
            what,
            next,
            code,
        }),
    }
}

/// The fast path's test: `t` can be handed out without a lock (fresh enough for `want`, or
/// not refreshable and still usable).
fn usable_without_refresh(t: &TokenSet, want: Want) -> bool {
    let t_now = now();
    !want.wants_refresh(t, t_now) || (!t.refreshable() && want.usable_as_is(t, t_now))
}

fn needs_sign_in(name: &str, reason: &str) -> FreshError {
    FreshError::NeedsSignIn {
        server: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The saved server, unless it is unknown or signed out (or flagged) — then the error.
fn ensure_signed_in<'a>(state: &'a State, name: &str) -> Result<&'a Server, FreshError> {
    let server = state
        .server(name)
        .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
    if let ServerStatus::NeedsSignIn { reason } = &server.status {
        return Err(needs_sign_in(name, reason));
    }
    Ok(server)
}

/// The refresh lock, or what to do without it.
enum Locked {
    Held(std::fs::File),
    /// Another process held the lock too long, and this stored token is still usable.
    Gave(TokenSet),
}

/// Take the server's refresh lock, waiting at most [`lock_wait`]. Another process that holds it
/// longer (stuck, or a very slow IdP) is never refreshed around: the newest stored token is
/// handed out if it has not expired, else [`FreshError::LockBusy`].
async fn lock_for_refresh(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    name: &str,
    want: Want,
) -> Result<Locked, FreshError> {
    let lock_path = state_file.paths().server_lock(name);
    if let Some(lock) = take_lock_bounded(&lock_path, lock_wait()).await? {
        return Ok(Locked::Held(lock));
    }
    match stored_tokens(secrets, name)? {
        Some(t) if want.usable_as_is(&t, now()) => Ok(Locked::Gave(t)),
        _ => Err(FreshError::LockBusy {
            server: name.to_owned(),
            secs: lock_wait().as_secs(),
            path: lock_path.display().to_string(),
        }),
    }
}

/// What to do with the tokens read under the lock.
enum UnderLock {
    Use(TokenSet),
    /// Refresh with this refresh token.
    Refresh(String),
    /// A machine client's token: make the grant again.
    Reissue,
    /// Nothing to refresh with and nothing usable: the server needs a new sign-in (why).
    SignIn(String),
}

/// Decisions under the lock compare one read of the keychain (`current`) with the one made
/// before it (`seen`), by token identity.
fn decide_under_lock(current: &TokenSet, seen: &TokenSet, want: Want) -> UnderLock {
    if !current.is(seen.id()) && want.usable_as_is(current, now()) {
        // Someone refreshed while we waited.
        return UnderLock::Use(current.clone());
    }
    if !want.wants_refresh(current, now()) {
        return UnderLock::Use(current.clone());
    }
    match current.refresh_token.clone().filter(|r| !r.is_empty()) {
        Some(rt) => UnderLock::Refresh(rt),
        None if current.reissuable => UnderLock::Reissue,
        None if want.usable_as_is(current, now()) => UnderLock::Use(current.clone()),
        None => UnderLock::SignIn(no_refresh_token_reason(current.fresh_at(now(), 0))),
    }
}

/// Store a rotated token set and return it — unless the tokens refreshed are no longer the
/// stored ones, then the stored ones. Whoever deletes or replaces tokens takes the refresh lock
/// (logout, remove, uninstall: [`crate::tokens::revoke::sign_out`]), but a sign-in stores new
/// ones without it: never write a rotated set over tokens that are no longer the ones
/// refreshed, nor back after they were deleted.
async fn store_rotated(
    secrets: &dyn SecretStore,
    name: &str,
    refreshed: &TokenSet,
    new: TokenSet,
) -> Result<TokenSet, FreshError> {
    match stored_tokens(secrets, name)? {
        Some(t) if t.is(refreshed.id()) => {}
        Some(other) => return Ok(other),
        None => return Err(needs_sign_in(name, "its tokens were removed")),
    }
    // Rotation safety: the new refresh token is stored before anyone sees the access token.
    persist_rotated(
        secrets,
        &store::tokens_key(name),
        &new.to_json(),
        &KEYCHAIN_RETRY,
    )
    .await?;
    Ok(new)
}

/// A refresh the IdP refused or that could not reach it: `invalid_grant` needs a sign-in,
/// `invalid_client` marks the registration dead; otherwise the old token stays usable until it
/// really expires.
fn refresh_failed(
    state_file: &StateFile,
    name: &str,
    server: &Server,
    client: ClientCredentials,
    current: &TokenSet,
    want: Want,
    e: TokenError,
) -> Result<TokenSet, FreshError> {
    match e {
        TokenError::InvalidGrant { description, .. } => {
            let reason = format!(
                "the identity provider refused the refresh token (invalid_grant{})",
                description.map(|d| format!(": {d}")).unwrap_or_default()
            );
            mark_needs_sign_in(state_file, name, &reason)?;
            Err(needs_sign_in(name, &reason))
        }
        TokenError::InvalidClient { .. } => {
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
        // IdP down or 5xx: the old token stays usable until it really expires.
        _ if want.usable_as_is(current, now()) => Ok(current.clone()),
        e => Err(FreshError::Refresh {
            server: name.to_owned(),
            source: e,
        }),
    }
}

/// A new token for the machine server `name`, stored in place of `current` (the refresh lock
/// is held by the caller). A failure leaves the server as it is — nobody can sign in for it,
/// the next attempt may succeed (a rotated workload token, the AS back) — and hands out
/// `current` while it is still usable for `want`.
async fn reissue(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: impl FnOnce() -> Result<reqwest::Client, HttpError>,
    name: &str,
    current: &TokenSet,
    want: Want,
) -> Result<TokenSet, FreshError> {
    let state = state_file.load()?;
    let server = ensure_signed_in(&state, name)?;
    let result = match crate::tokens::machine::for_server(&http()?, server, secrets).await {
        Some(r) => r,
        None => {
            return Err(FreshError::NeedsSignIn {
                server: name.to_owned(),
                reason: "its token was issued to a machine client it no longer uses".into(),
            });
        }
    };
    match result {
        Ok(new) => store_rotated(secrets, name, current, new).await,
        Err(e) if want.usable_as_is(current, now()) => {
            tracing::warn!(
                "renewing the token of {name} failed ({e}); the current one is still valid"
            );
            Ok(current.clone())
        }
        Err(source) => Err(FreshError::Machine {
            server: name.to_owned(),
            source,
        }),
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
mod tests;
