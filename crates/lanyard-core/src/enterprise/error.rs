//! What can go wrong between the company IdP and a server's authorization server.

use crate::error::UserFacing;
use crate::tokens::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum EnterpriseError {
    #[error("Lanyard holds no session with the company identity provider {0}")]
    UnknownIdp(String),
    #[error("the session with the company identity provider {idp} has ended: {reason}")]
    SessionEnded { idp: String, reason: String },
    #[error("{idp} did not sign you in: {detail}")]
    SignIn { idp: String, detail: String },
    #[error("the ID token from {idp} cannot be used: {problem}")]
    BadIdToken { idp: String, problem: String },
    #[error("{idp} refused to issue an ID-JAG for {audience}: {source}")]
    ExchangeRefused {
        idp: String,
        audience: String,
        #[source]
        source: TokenError,
    },
    #[error("{idp} answered the token exchange with something that is no ID-JAG: {detail}")]
    NotAnIdJag { idp: String, detail: String },
    #[error(
        "the authorization server {issuer} does not accept ID-JAGs (its metadata lists no grant type {grant})"
    )]
    NotAccepted { issuer: String, grant: &'static str },
    #[error("the authorization server {issuer} refused the ID-JAG from {idp}: {source}")]
    RedeemRefused {
        issuer: String,
        idp: String,
        #[source]
        source: TokenError,
    },
    #[error("the ID-JAG from {idp} names no client for {issuer}, and no --client-id was given")]
    NoClient { idp: String, issuer: String },
    #[error("Lanyard could not read or write {path}: {detail}")]
    File { path: String, detail: String },
}

impl UserFacing for EnterpriseError {
    fn code(&self) -> &'static str {
        match self {
            EnterpriseError::UnknownIdp(..) => "enterprise.unknown-idp",
            EnterpriseError::SessionEnded { .. } => "enterprise.session-ended",
            EnterpriseError::SignIn { .. } => "enterprise.sign-in",
            EnterpriseError::BadIdToken { .. } => "enterprise.bad-id-token",
            EnterpriseError::ExchangeRefused { .. } => "enterprise.exchange-refused",
            EnterpriseError::NotAnIdJag { .. } => "enterprise.not-an-id-jag",
            EnterpriseError::NotAccepted { .. } => "enterprise.not-accepted",
            EnterpriseError::RedeemRefused { .. } => "enterprise.redeem-refused",
            EnterpriseError::NoClient { .. } => "enterprise.no-client",
            EnterpriseError::File { .. } => "enterprise.file",
        }
    }
    fn next_step(&self) -> String {
        match self {
            EnterpriseError::UnknownIdp(_) => {
                "Sign in to your company first with `lanyard idp add URL` (`lanyard idp list` shows the sessions Lanyard holds).".into()
            }
            EnterpriseError::SessionEnded { idp, .. } => format!(
                "Sign in to your company again with `lanyard idp add {idp}`: every server it serves is renewed at once."
            ),
            EnterpriseError::SignIn { .. } | EnterpriseError::BadIdToken { .. } => {
                "Try `lanyard idp add URL` again; if it keeps failing, ask your admin whether Lanyard may sign in to the company identity provider.".into()
            }
            EnterpriseError::ExchangeRefused { .. } | EnterpriseError::NotAnIdJag { .. } => {
                "Ask your admin to allow Lanyard to reach this server through the company identity provider, or sign in to the server itself with `lanyard add URL --no-idp`.".into()
            }
            EnterpriseError::NotAccepted { .. } => {
                "Sign in to the server itself: `lanyard add URL --no-idp`.".into()
            }
            EnterpriseError::RedeemRefused { .. } | EnterpriseError::NoClient { .. } => {
                "Ask your admin for the client id (and secret) Lanyard has at this server's authorization server and pass them with `--client-id ID --client-secret SECRET`, or sign in to the server itself with `--no-idp`.".into()
            }
            EnterpriseError::File { .. } => {
                "Check the permissions of Lanyard's state directory and the free disk space, then try again.".into()
            }
        }
    }
}
