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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::servers::ServerStatus;
    use crate::tokens::fresh::{FreshError, Want, token_for};
    use crate::tokens::set::now;
    use crate::tokens::store::{self as keys, MemoryStore};

    /// Renews `assertion-*` servers: `assertion-ended` as an ended IdP session would.
    struct Fake;
    impl AssertionRenewal for Fake {
        fn manages(&self, _: &StateFile, server: &str) -> bool {
            server.starts_with("assertion-")
        }
        fn renew<'a>(
            &'a self,
            _: &'a StateFile,
            _: &'a dyn SecretStore,
            _: reqwest::Client,
            server: &'a Server,
        ) -> Renewed<'a> {
            Box::pin(async move {
                if server.name == "assertion-ended" {
                    return Err(RenewError::NeedsSignIn("the IdP session ended".into()));
                }
                Ok(tokens("renewed", 300))
            })
        }
    }
    static FAKE: Fake = Fake;

    fn tokens(at: &str, expires_in: i64) -> TokenSet {
        TokenSet {
            access_token: at.into(),
            token_type: "Bearer".into(),
            expires_at: now() + expires_in,
            refresh_token: None,
            reissuable: true,
            scope: None,
            obtained_at: now() - 600,
        }
    }

    #[tokio::test]
    async fn an_expired_token_of_an_assertion_server_is_renewed_and_an_ended_session_marks_it() {
        // Each test runs in its own process under nextest (scripts/test): this renewal is the
        // process's. A runner that shares the process may have installed the real one first.
        set_assertion_renewal(&FAKE);
        let ours = RENEWAL
            .get()
            .is_some_and(|r| std::ptr::addr_eq(*r as *const dyn AssertionRenewal, &FAKE));
        if !ours {
            eprintln!("skipped: another renewal is installed in this process");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path()));
        let secrets = MemoryStore::default();
        for name in ["assertion-ok", "assertion-ended"] {
            file.update(|st| {
                st.put_server(crate::servers::test_server(name));
                Ok::<_, crate::servers::StateError>(())
            })
            .unwrap();
            secrets
                .set(&keys::tokens_key(name), &tokens("old", -5).to_json())
                .unwrap();
        }
        let http = || crate::http::oauth_client();

        let t = token_for(&file, &secrets, http, "assertion-ok", Want::Usable)
            .await
            .unwrap();
        assert_eq!(t.access_token, "renewed");
        let stored = TokenSet::from_json(
            &secrets
                .get(&keys::tokens_key("assertion-ok"))
                .unwrap()
                .unwrap(),
        );
        assert_eq!(stored.unwrap().access_token, "renewed");

        let e = token_for(&file, &secrets, http, "assertion-ended", Want::Usable).await;
        assert!(matches!(e, Err(FreshError::NeedsSignIn { .. })), "{e:?}");
        let st = file.load().unwrap();
        assert!(matches!(
            st.server("assertion-ended").unwrap().status,
            ServerStatus::NeedsSignIn { .. }
        ));
    }
}
