//! Where the bridge gets its `Authorization` (or custom) header: the [`Credentials`] the CLI
//! hands it, and [`Anonymous`] for a server that needs no sign-in.

use std::future::Future;
use std::pin::Pin;

use super::error::BridgeError;

/// A header name and value, when it is ready.
pub type HeaderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(String, String), crate::Error>> + 'a>>;

/// Where the bridge gets its `Authorization` (or custom) header.
pub trait Credentials {
    /// The header name and value. `rejected`: the value the server just refused (force a
    /// refresh unless someone else already replaced it).
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a>;

    /// The server's DPoP key (RFC 9449), when its tokens are bound to one: a `DPoP …` header
    /// value then goes with a proof made with it on every request. None by default.
    fn dpop(&self) -> Option<crate::tokens::dpop::Dpop> {
        None
    }

    /// A header with more scope, after the server refused `rejected` with 403
    /// `insufficient_scope` asking for `scope` (a sign-in again, with the user). By default
    /// there is none: the request is answered with an error saying what the server asked for.
    fn step_up<'a>(&'a self, rejected: &'a str, scope: Option<&'a str>) -> HeaderFuture<'a> {
        let _ = rejected;
        Box::pin(async move {
            Err(BridgeError::NeedsScope {
                scope: scope.unwrap_or_default().to_owned(),
            }
            .into())
        })
    }
}

/// No credential: for a server that needs no sign-in (`lanyard bridge --url`). A 401 is
/// answered with [`BridgeError::SignInNeeded`].
pub struct Anonymous;

impl Credentials for Anonymous {
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            match rejected {
                None => Ok((String::new(), String::new())),
                Some(_) => Err(BridgeError::SignInNeeded.into()),
            }
        })
    }
}
