//! What a person confirmed before a sign-in, and the warning that makes the confirmation
//! meaningful (issue 12, the `lanyard://add` confused deputy).
//!
//! A server's protected resource metadata may name *any* authorization server, including the
//! user's company IdP. Most enterprise IdPs ignore RFC 8707 `resource`, so a token obtained
//! there for a stranger's server also works at the company's real servers. Two guards:
//! - [`shared_issuer`]: after discovery, before sign-in, the shells warn when the issuer
//!   already signs Lanyard in to servers of another origin.
//! - [`Confirmed`]: the issuer and endpoints the user saw are carried into `add`, which
//!   aborts before any registration or sign-in when discovery now says otherwise (a server
//!   that changes its metadata between the check and the sign-in).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::discovery::AuthServerMetadata;

use super::views::ServerView;

/// The discovery result a person confirmed (issuer, and optionally its endpoints).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmed {
    /// The issuer identifier exactly as shown.
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
}

impl Confirmed {
    pub fn issuer(issuer: impl Into<String>) -> Self {
        Confirmed {
            issuer: issuer.into(),
            ..Default::default()
        }
    }

    /// `Err` names the first field that differs from what the authorization server now says.
    pub fn check(&self, meta: &AuthServerMetadata) -> Result<(), super::FlowError> {
        let differs = |field: &str, confirmed: &str, now: &str| super::FlowError::NotConfirmed {
            field: field.to_owned(),
            confirmed: confirmed.to_owned(),
            now: now.to_owned(),
        };
        if !same_issuer(&self.issuer, meta.issuer_str()) {
            return Err(differs("issuer", &self.issuer, meta.issuer_str()));
        }
        let now = meta.authorization_endpoint.as_ref().map(Url::as_str);
        if let Some(a) = &self.authorization_endpoint
            && Some(a.as_str()) != now
        {
            return Err(differs("authorization endpoint", a, now.unwrap_or("none")));
        }
        if let Some(t) = &self.token_endpoint
            && t != meta.token_endpoint.as_str()
        {
            return Err(differs("token endpoint", t, meta.token_endpoint.as_str()));
        }
        Ok(())
    }
}

/// Issuer identifiers compare as strings (RFC 8414 §3.3); a bare origin's trailing slash is
/// the one spelling difference a parsed URL introduces, so it is ignored.
pub(super) fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `https://host:port` of a URL string (`None` when it does not parse or has no host).
fn origin(u: &str) -> Option<String> {
    let u = Url::parse(u).ok()?;
    u.host_str()?;
    Some(u.origin().ascii_serialization())
}

/// What a host is called on screen: host[:port] (`evil.example`, `127.0.0.1:8080`).
fn authority(u: &str) -> String {
    match Url::parse(u) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => u.to_string(),
        },
        Err(_) => u.to_owned(),
    }
}

/// The issuer is already trusted for servers of other origins than the one being added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedIssuer {
    pub issuer: String,
    /// Origin of the server being added.
    pub new_origin: String,
    /// The saved servers (name, origin) that sign in at the same issuer from other origins.
    pub others: Vec<(String, String)>,
    /// The sentence the shells show, e.g. "evil.example will receive tokens from your sign-in
    /// at idp.corp (which also signs you in to corp-gw: https://gw.corp)".
    pub warning: String,
}

/// The warning rule: `issuer` already signs Lanyard in to a saved server whose origin differs
/// from `url`'s. Servers at the same origin (another path on the same gateway) are no warning:
/// they already receive each other's tokens' audience by being the same site.
pub fn shared_issuer(existing: &[ServerView], url: &Url, issuer: &str) -> Option<SharedIssuer> {
    shared_issuer_among(
        existing
            .iter()
            .map(|s| (s.name.as_str(), s.url.as_str(), s.issuer.as_str())),
        url,
        issuer,
    )
}

/// The same rule over any `(name, url, issuer)` triples: saved servers, and the other entries
/// chosen in one import (which will sign in at the same issuer moments later).
pub fn shared_issuer_among<'a>(
    others: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    url: &Url,
    issuer: &str,
) -> Option<SharedIssuer> {
    let new_origin = url.origin().ascii_serialization();
    let others: Vec<(String, String)> = others
        .into_iter()
        .filter(|(_, _, i)| same_issuer(i, issuer))
        .filter_map(|(n, u, _)| Some((n.to_owned(), origin(u)?)))
        .filter(|(_, o)| *o != new_origin)
        .collect();
    if others.is_empty() {
        return None;
    }
    let list = others
        .iter()
        .map(|(n, o)| format!("{n}: {o}"))
        .collect::<Vec<_>>()
        .join(", ");
    let warning = format!(
        "{} will receive tokens from your sign-in at {} (which also signs you in to {list}). \
         Identity providers often accept such a token at every server they protect: continue \
         only if you trust {}.",
        authority(url.as_str()),
        authority(issuer),
        authority(url.as_str()),
    );
    Some(SharedIssuer {
        issuer: issuer.to_owned(),
        new_origin,
        others,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::auth_server::test_metadata;
    use crate::servers::Quirks;

    fn view(name: &str, url: &str, issuer: &str) -> ServerView {
        ServerView {
            name: name.into(),
            url: url.into(),
            resource: url.into(),
            issuer: issuer.into(),
            client_source: "dcr".into(),
            client_id: Some("c".into()),
            scopes: vec![],
            status: "ok".into(),
            status_reason: None,
            expires_at: None,
            quirks: Quirks::default(),
            via: None,
        }
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn an_issuer_used_by_another_origin_warns_with_both_hosts() {
        let saved = [view(
            "corp",
            "https://gw.corp/mcp",
            "https://idp.corp/realms/x",
        )];
        let w = shared_issuer(
            &saved,
            &u("https://evil.example/mcp"),
            "https://idp.corp/realms/x",
        )
        .expect("a warning");
        assert_eq!(w.others, vec![("corp".into(), "https://gw.corp".into())]);
        assert!(
            w.warning
                .starts_with("evil.example will receive tokens from your sign-in at idp.corp"),
            "{}",
            w.warning
        );
    }

    #[test]
    fn same_origin_new_issuer_or_no_servers_is_no_warning() {
        let saved = [view("corp", "https://gw.corp/mcp", "https://idp.corp")];
        // Another path on the same gateway.
        assert_eq!(
            shared_issuer(&saved, &u("https://gw.corp/other/mcp"), "https://idp.corp"),
            None
        );
        // An issuer nobody uses yet.
        assert_eq!(
            shared_issuer(&saved, &u("https://evil.example/mcp"), "https://idp.evil"),
            None
        );
        assert_eq!(
            shared_issuer(&[], &u("https://evil.example/mcp"), "https://idp.corp"),
            None
        );
    }

    #[test]
    fn ports_are_origins_and_a_trailing_slash_is_the_same_issuer() {
        let saved = [view(
            "a",
            "http://127.0.0.1:4000/mcp",
            "http://127.0.0.1:5000/",
        )];
        let w = shared_issuer(
            &saved,
            &u("http://127.0.0.1:4001/mcp"),
            "http://127.0.0.1:5000",
        )
        .expect("another port is another origin");
        assert!(w.warning.starts_with("127.0.0.1:4001 will receive tokens"));
    }

    #[test]
    fn a_confirmed_discovery_must_still_hold() {
        let m = test_metadata("https://idp.corp");
        assert!(Confirmed::issuer("https://idp.corp").check(&m).is_ok());
        assert!(Confirmed::issuer("https://idp.corp/").check(&m).is_ok());
        let e = Confirmed::issuer("https://idp.other")
            .check(&m)
            .unwrap_err();
        assert!(e.to_string().contains("issuer"), "{e}");
        let moved = Confirmed {
            issuer: "https://idp.corp".into(),
            authorization_endpoint: Some("https://idp.corp/auth".into()),
            token_endpoint: Some("https://lookalike.example/token".into()),
        };
        assert!(
            moved
                .check(&m)
                .unwrap_err()
                .to_string()
                .contains("token endpoint")
        );
        // The authorization endpoint the user saw is gone from the metadata now.
        let mut gone = test_metadata("https://idp.corp");
        gone.authorization_endpoint = None;
        let confirmed = Confirmed {
            token_endpoint: None,
            ..moved
        };
        let e = confirmed.check(&gone).unwrap_err().to_string();
        assert!(e.contains("authorization endpoint"), "{e}");
    }
}
