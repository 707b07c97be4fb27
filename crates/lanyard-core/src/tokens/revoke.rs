//! RFC 7009 revocation of one server's tokens — the one place that picks how the client
//! authenticates at the revocation endpoint and what an answer means — and [`sign_out`], the
//! one way a saved server's tokens are revoked and forgotten, under the server's refresh lock.
//! `logout` / `remove` ([`crate::api::Lanyard`]) and `lanyard uninstall`
//! ([`crate::cleanup::Cleanup`]) come to [`sign_out`]; a failed `add`, whose tokens were never
//! saved, to [`revoke_one`].
//!
//! A refusal is not a dead client: the official Python MCP SDK demands a `client_secret` even
//! from public clients (`unauthorized_client` / `invalid_client`), and some IdPs refuse public
//! clients with a bare 401. The client counts as gone only when its token endpoint says so
//! ([`client_standing`]: an explicit `invalid_client`); otherwise the tokens stay valid at the
//! IdP and are reported as such, with until when.

use url::Url;

use crate::discovery::AuthServerMetadata;
use crate::error::UserFacing;
use crate::servers::{ClientSource, Server, State, StateError, StateFile};
use crate::tokens::endpoint::{self, ClientCredentials, ClientStanding, TokenAuthMethod};
use crate::tokens::fresh::take_lock;
use crate::tokens::store;
use crate::tokens::{
    FreshError, SecretStore, TokenError, TokenSet, client_standing, stored_tokens,
};

/// The methods the revocation endpoint takes: `revocation_endpoint_auth_methods_supported`
/// when the metadata lists it, else the token endpoint's list.
pub fn revocation_methods(as_meta: &AuthServerMetadata) -> &[String] {
    as_meta
        .revocation_endpoint_auth_methods_supported
        .as_deref()
        .filter(|l| !l.is_empty())
        .unwrap_or(&as_meta.token_endpoint_auth_methods_supported)
}

/// `creds` (as the token endpoint takes them) made fit for the revocation endpoint: a method it
/// lists, the one the client registered (`registered`) first.
pub fn for_revocation(
    as_meta: &AuthServerMetadata,
    creds: ClientCredentials,
    registered: Option<&str>,
) -> ClientCredentials {
    let Some(list) = as_meta
        .revocation_endpoint_auth_methods_supported
        .as_ref()
        .filter(|l| !l.is_empty())
    else {
        return creds;
    };
    let listed = |m: &str| list.iter().any(|s| s == m);
    let method = if creds.secret.is_some()
        && !listed("client_secret_basic")
        && !listed("client_secret_post")
        && listed("none")
    {
        // The endpoint takes public clients only: send the id, not the secret.
        TokenAuthMethod::None
    } else {
        TokenAuthMethod::choose(list, creds.secret.is_some(), registered)
    };
    ClientCredentials { method, ..creds }
}

/// The client authentication for a saved server's revocation endpoint ([`for_revocation`] with
/// the method its dynamic registration recorded).
pub fn revocation_credentials(
    server: &Server,
    st: &State,
    creds: ClientCredentials,
) -> ClientCredentials {
    let registered = match &server.client {
        ClientSource::Dynamic => st
            .registration(&server.auth_server.issuer)
            .map(|r| r.token_endpoint_auth_method.clone()),
        _ => None,
    };
    for_revocation(&server.auth_server, creds, registered.as_deref())
}

/// Revoke `token` with `creds` made fit for the revocation endpoint, trying the other listed
/// method once when the client authentication is refused.
pub async fn revoke_one(
    http: &reqwest::Client,
    as_meta: &AuthServerMetadata,
    endpoint: &Url,
    creds: &ClientCredentials,
    token: &str,
    hint: &str,
) -> Result<(), TokenError> {
    let listed = revocation_methods(as_meta);
    endpoint::revoke_with_fallback(http, endpoint, creds, listed, token, hint).await
}

/// What revoking one server's tokens came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocation {
    /// At least one token was revoked at the IdP (HTTP 200).
    pub revoked: bool,
    /// The tokens were dead already: the grant was invalid, or the client is gone (its token
    /// endpoint said `invalid_client`).
    pub already_dead: bool,
    /// Tokens that stay usable at the IdP, one sentence (what was refused, until when).
    pub still_valid: Option<String>,
    /// Explanations worth showing (no revocation endpoint, an access token the IdP cannot
    /// revoke, ...).
    pub notes: Vec<String>,
    /// The IdP could not be asked (unreachable, 5xx, rate limited): nothing is known about the
    /// tokens; trying again may work. `(why, next step)`.
    pub retry: Option<(String, String)>,
}

/// `12:34 UTC`, or "soon" for a time that cannot be shown.
pub fn clock_utc(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_else(|| "soon".into())
}

/// The access token's remaining validity, as a clause.
fn access_validity(tokens: &TokenSet, now: i64) -> String {
    if tokens.expires_at <= now {
        "the access token has already expired".into()
    } else {
        format!(
            "the access token stays valid until {}",
            clock_utc(tokens.expires_at)
        )
    }
}

/// How one revocation answer reads.
enum Answer {
    Revoked,
    /// `invalid_grant`: the token was no longer valid.
    AlreadyInvalid,
    /// `unsupported_token_type`: the IdP cannot revoke this kind of token.
    Unsupported,
    /// The IdP refused to revoke it (client authentication, policy): a definite answer.
    Refused(String),
    /// Nothing is known; asking again may work.
    Retry(TokenError),
}

fn read_answer(r: Result<(), TokenError>) -> Answer {
    match r {
        Ok(()) => Answer::Revoked,
        Err(TokenError::InvalidGrant { .. }) => Answer::AlreadyInvalid,
        Err(TokenError::Rejected { ref error, .. }) if error == "unsupported_token_type" => {
            Answer::Unsupported
        }
        // 408 and 429 pass; every other 4xx is the IdP's answer and asking again gets the same.
        Err(e @ TokenError::InvalidClient { .. }) => Answer::Refused(refusal(&e)),
        Err(e @ TokenError::Rejected { status, .. })
            if (400..500).contains(&status) && status != 408 && status != 429 =>
        {
            Answer::Refused(refusal(&e))
        }
        Err(e) => Answer::Retry(e),
    }
}

/// The refusal in a few words: `HTTP 401, unauthorized_client: needs a secret`.
fn refusal(e: &TokenError) -> String {
    match e {
        TokenError::InvalidClient { description, .. } => format!(
            "invalid_client{}",
            description
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        TokenError::Rejected {
            status,
            error,
            description,
            ..
        } => format!(
            "HTTP {status}, {error}{}",
            description
                .as_ref()
                .filter(|d| !d.is_empty())
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// Revoke a server's stored `tokens` at its AS: the refresh token first (it takes the grant
/// with it on most IdPs), then the access token while it is still valid. Neither deletes nor
/// writes anything: the caller forgets the tokens.
pub async fn revoke_server_tokens(
    http: &reqwest::Client,
    st: &State,
    server: &Server,
    tokens: &TokenSet,
    secrets: &dyn SecretStore,
) -> Revocation {
    let mut out = Revocation::default();
    let now = crate::tokens::set::now();
    let Some(ep) = server.auth_server.revocation_endpoint.clone() else {
        out.notes.push(format!(
            "{} has no revocation endpoint (RFC 7009): the tokens were deleted here and expire on their own ({})",
            server.auth_server.issuer,
            access_validity(tokens, now)
        ));
        return out;
    };
    let token_creds = match crate::tokens::client_credentials(st, server, secrets) {
        Ok(c) => c,
        Err(FreshError::RegistrationDead { client_id, .. }) => {
            out.already_dead = true;
            out.notes.push(format!(
                "the identity provider no longer knows client {client_id}, so its tokens are dead"
            ));
            return out;
        }
        Err(FreshError::NeedsSignIn { reason, .. }) => {
            out.notes.push(format!(
                "the tokens could not be revoked ({reason}); they were deleted here and expire on their own ({})",
                access_validity(tokens, now)
            ));
            return out;
        }
        Err(e) => {
            out.retry = Some((e.to_string(), e.next_step()));
            return out;
        }
    };
    let creds = revocation_credentials(server, st, token_creds.clone());
    let revoke = |token: &str, hint: &'static str| {
        let (as_meta, ep, creds) = (&server.auth_server, &ep, &creds);
        let token = token.to_owned();
        async move {
            match crate::tokens::machine::revoke_signed(http, server, ep, &token, hint).await {
                Some(signed) => signed,
                None => revoke_one(http, as_meta, ep, creds, &token, hint).await,
            }
        }
    };

    if let Some(rt) = &tokens.refresh_token {
        match read_answer(revoke(rt, "refresh_token").await) {
            Answer::Revoked => out.revoked = true,
            Answer::AlreadyInvalid => {
                out.already_dead = true;
                out.notes
                    .push("the refresh token was already invalid".into());
            }
            Answer::Unsupported => {
                out.still_valid = Some(format!(
                    "the identity provider cannot revoke the refresh token (unsupported_token_type): it stays usable at {} until its own expiry or the end of the grant, which Lanyard cannot know; {}",
                    server.auth_server.issuer,
                    access_validity(tokens, now)
                ));
                return out;
            }
            Answer::Refused(why) => {
                return refused(
                    http,
                    server,
                    &ep,
                    &token_creds,
                    tokens,
                    "refresh token",
                    why,
                    out,
                )
                .await;
            }
            Answer::Retry(e) => {
                out.retry = Some((e.to_string(), e.next_step()));
                return out;
            }
        }
    }
    if tokens.fresh_at(now, 0) {
        let answer = revoke(&tokens.access_token, "access_token").await;
        match read_answer(answer) {
            Answer::Revoked => out.revoked = true,
            Answer::AlreadyInvalid => {}
            // Mostly JWT access tokens: short-lived, and usually useless once the grant is gone.
            Answer::Unsupported => out.notes.push(format!(
                "the identity provider cannot revoke the access token (unsupported_token_type); it expires at {}",
                clock_utc(tokens.expires_at)
            )),
            Answer::Refused(why) if tokens.refresh_token.is_none() => {
                return refused(http, server, &ep, &token_creds, tokens, "access token", why, out)
                    .await;
            }
            Answer::Refused(why) => out.notes.push(format!(
                "the identity provider refused to revoke the access token ({why}); it expires at {}",
                clock_utc(tokens.expires_at)
            )),
            // The refresh token (the grant) is dealt with; the access token expires soon.
            Answer::Retry(e) if tokens.refresh_token.is_some() => out.notes.push(format!(
                "the access token could not be revoked ({e}); it expires at {}",
                clock_utc(tokens.expires_at)
            )),
            Answer::Retry(e) => out.retry = Some((e.to_string(), e.next_step())),
        }
    }
    out
}

/// What [`sign_out`] did with one server's tokens.
#[derive(Debug)]
pub enum SignedOut {
    /// The server is not (or no longer) in the state file.
    UnknownServer,
    /// No tokens were stored; `forget` ran all the same.
    NoTokens,
    /// The IdP could not be asked and the caller keeps tokens in that case: nothing was
    /// deleted, nothing forgotten.
    Kept {
        server: Box<Server>,
        tokens: TokenSet,
        revocation: Revocation,
    },
    /// The tokens were offered for revocation (the [`Revocation`] says what came of it), then
    /// deleted from the keychain, and `forget` ran.
    Forgotten {
        server: Box<Server>,
        tokens: TokenSet,
        revocation: Revocation,
    },
}

/// Sign one saved server out: the one way Lanyard revokes a saved server's tokens (`logout`,
/// `remove`, `lanyard uninstall`). Everything happens under the server's refresh lock, the
/// one a refresh takes ([`crate::tokens::fresh`]): a refresh in flight ends first and its
/// rotated tokens are the ones revoked; one waiting finds the tokens gone and the server
/// signed out, and never writes tokens back. Under the lock the state and the tokens are read
/// again, the tokens revoked (RFC 7009), deleted, and `forget` records it in the state file.
/// With `keep_on_retry`, tokens the IdP could not be asked about stay for a later run.
pub async fn sign_out(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: &reqwest::Client,
    name: &str,
    keep_on_retry: bool,
    forget: impl FnOnce(&mut State),
) -> Result<SignedOut, crate::Error> {
    let _refresh_lock = take_lock(&state_file.paths().server_lock(name)).await?;
    let st = state_file.load()?;
    let Some(server) = st.server(name).cloned() else {
        return Ok(SignedOut::UnknownServer);
    };
    let Some(tokens) = stored_tokens(secrets, name)? else {
        state_file.update(|st| {
            forget(st);
            Ok::<_, StateError>(())
        })?;
        return Ok(SignedOut::NoTokens);
    };
    let revocation = revoke_server_tokens(http, &st, &server, &tokens, secrets).await;
    let server = Box::new(server);
    if keep_on_retry && revocation.retry.is_some() {
        return Ok(SignedOut::Kept {
            server,
            tokens,
            revocation,
        });
    }
    secrets.delete(&store::tokens_key(name))?;
    super::dpop::forget(secrets, name)?;
    state_file.update(|st| {
        forget(st);
        Ok::<_, StateError>(())
    })?;
    Ok(SignedOut::Forgotten {
        server,
        tokens,
        revocation,
    })
}

/// The revocation endpoint refused: the client is gone only when its token endpoint says
/// `invalid_client`; otherwise the tokens stay valid and the report says until when.
#[allow(clippy::too_many_arguments)] // the pieces of one report
async fn refused(
    http: &reqwest::Client,
    server: &Server,
    endpoint: &Url,
    token_creds: &ClientCredentials,
    tokens: &TokenSet,
    what: &str,
    why: String,
    mut out: Revocation,
) -> Revocation {
    let now = crate::tokens::set::now();
    // A client that signs its requests cannot be probed with its bare id.
    if !crate::tokens::machine::signs_its_requests(server)
        && client_standing(http, &server.auth_server.token_endpoint, token_creds).await
            == ClientStanding::Unknown
    {
        out.already_dead = true;
        out.notes.push(format!(
            "{endpoint} refused to revoke the {what} ({why}) and the token endpoint no longer knows client {}: its tokens are dead",
            token_creds.client_id
        ));
        return out;
    }
    let mut sentence =
        format!("the identity provider refused to revoke the {what} ({why} at {endpoint}); ");
    if tokens.refresh_token.is_some() {
        sentence.push_str(&format!(
            "the refresh token stays usable at {} until its own expiry or the end of the grant, which Lanyard cannot know; ",
            server.auth_server.issuer
        ));
    }
    sentence.push_str(&access_validity(tokens, now));
    out.still_valid = Some(sentence);
    out
}
