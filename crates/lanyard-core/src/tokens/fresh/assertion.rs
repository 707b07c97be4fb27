//! Servers whose tokens come from an identity assertion instead of a refresh token
//! (enterprise-managed authorization: a new ID-JAG from the company IdP, redeemed at the
//! server's authorization server). The mechanism lives above this module
//! ([`crate::enterprise`]); it registers itself here once per process, so that every path to
//! a token ([`super::token_for`]: commands, the bridge, the engine, the detached refresh child)
//! renews such servers the same way.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use crate::servers::{Server, StateFile};
use crate::tokens::set::TokenSet;
use crate::tokens::store::SecretStore;

/// Why a renewal failed.
#[derive(Debug)]
pub enum RenewError {
    /// The user must sign in again (the IdP session ended): why, and how.
    NeedsSignIn(String),
    /// Anything else: the user-facing parts of the error.
    Failed {
        what: String,
        next: String,
        code: &'static str,
    },
}

/// What a renewal returns.
pub type Renewed<'a> = Pin<Box<dyn Future<Output = Result<TokenSet, RenewError>> + Send + 'a>>;

/// Renews the tokens of servers that get them through an identity assertion.
pub trait AssertionRenewal: Send + Sync {
    /// Whether `server` gets its tokens this way (a refresh token, if any, is then not used).
    fn manages(&self, state_file: &StateFile, server: &str) -> bool;
    /// New tokens for `server` (called under its refresh lock; the caller stores them).
    fn renew<'a>(
        &'a self,
        state_file: &'a StateFile,
        secrets: &'a dyn SecretStore,
        http: reqwest::Client,
        server: &'a Server,
    ) -> Renewed<'a>;
}

static RENEWAL: OnceLock<&'static dyn AssertionRenewal> = OnceLock::new();

/// Install the renewal of this process (the first one set stays).
pub fn set_assertion_renewal(renewal: &'static dyn AssertionRenewal) {
    let _ = RENEWAL.set(renewal);
}

/// The renewal that manages `server`, if any.
pub(super) fn managing(
    state_file: &StateFile,
    server: &str,
) -> Option<&'static dyn AssertionRenewal> {
    RENEWAL
        .get()
        .copied()
        .filter(|r| r.manages(state_file, server))
}
