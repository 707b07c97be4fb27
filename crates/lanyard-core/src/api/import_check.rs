//! Before an imported entry's sign-in: what choosing it costs (from the registry entry and the
//! saved servers alone, no request), then — once the user chose it — where it signs in
//! (discovery only: no registration, no browser, no token request) and whether that issuer
//! already signs Lanyard in elsewhere ([`super::consent`]'s rule, over the saved servers *and*
//! the other entries chosen with it). The shells show that and ask before any sign-in; the
//! issuer and endpoints shown go into `add` as [`Confirmed`], so an entry that changes its
//! metadata in between is stopped before anything reaches its identity provider.

use serde::Serialize;
use url::Url;

use super::consent::{Confirmed, same_issuer, shared_issuer_among};
use super::facade::Lanyard;
use crate::Error;
use crate::registry::Entry;
use crate::servers::State;

/// What choosing an entry will cost, known without contacting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Cost {
    /// Its URL is saved already: nothing to add.
    AlreadyAdded { name: String },
    /// It is served from the origin of saved servers that all sign in at `issuer` (`via` is one
    /// of them): likely a sign-in there, which the identity provider's session usually lets
    /// through without asking again. A guess from the address: the check says for sure.
    KnownIssuer { issuer: String, via: String },
    /// A sign-in at an identity provider learnt only once the entry is checked.
    SignIn,
}

/// Where a chosen entry signs in, learnt by discovery before any sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryCheck {
    /// The registry's name of the entry.
    pub entry: String,
    pub url: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// The shared-issuer warning ([`super::consent::SharedIssuer::warning`]): the issuer also
    /// signs Lanyard in to saved servers, or to other chosen entries, of other origins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl EntryCheck {
    /// What the user confirmed by going ahead: `add` refuses to sign in anywhere else.
    pub fn confirmed(&self) -> Confirmed {
        Confirmed {
            issuer: self.issuer.clone(),
            authorization_endpoint: Some(self.authorization_endpoint.clone()),
            token_endpoint: Some(self.token_endpoint.clone()),
        }
    }
}

/// A chosen entry not signed in to, because the user did not confirm where it signs in.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The shared-issuer warning stands and nobody answered it (no terminal, no
    /// `--expect-issuer` naming that issuer).
    #[error("{entry} was not signed in to: {warning}")]
    IssuerNotConfirmed {
        entry: String,
        issuer: String,
        warning: String,
    },
    /// `--expect-issuer` names other issuers than the one the entry signs in at.
    #[error("{entry} signs in at {issuer}, not at the issuer(s) you named ({expected})")]
    UnexpectedIssuer {
        entry: String,
        issuer: String,
        expected: String,
    },
    /// The user answered no at the warning.
    #[error("{entry} was not signed in to: you declined signing in at {issuer} for it")]
    Declined { entry: String, issuer: String },
}

impl crate::error::UserFacing for ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::IssuerNotConfirmed { .. } => "import.issuer-not-confirmed",
            ImportError::UnexpectedIssuer { .. } => "import.unexpected-issuer",
            ImportError::Declined { .. } => "import.declined",
        }
    }
    fn next_step(&self) -> String {
        match self {
            ImportError::IssuerNotConfirmed { entry, issuer, .. } => format!(
                "Nothing was sent to {issuer}. If you trust {entry} with that sign-in, import it again with `--expect-issuer {issuer}` (or answer the question on a terminal)."
            ),
            ImportError::UnexpectedIssuer { .. } => "Nothing was sent to its identity provider. Check the entry with `lanyard probe URL`; import it only if you trust where it signs in.".into(),
            ImportError::Declined { .. } => "Nothing was sent to its identity provider.".into(),
        }
    }
}

impl EntryCheck {
    /// Whether the user confirmed this check, by the rules of a shell without a window: an
    /// `expected` list (`--expect-issuer`) must name its issuer, and then also answers the
    /// warning; without one, an entry without a warning goes ahead (the user chose it from a
    /// listing that showed its URL) and one with a warning needs `answered` (a terminal's yes).
    pub fn go_ahead(&self, expected: &[String], answered: Option<bool>) -> Result<(), ImportError> {
        if !expected.is_empty() {
            if expected.iter().any(|e| same_issuer(e, &self.issuer)) {
                return Ok(());
            }
            return Err(ImportError::UnexpectedIssuer {
                entry: self.entry.clone(),
                issuer: self.issuer.clone(),
                expected: expected.join(", "),
            });
        }
        match (&self.warning, answered) {
            (None, _) | (Some(_), Some(true)) => Ok(()),
            (Some(_), Some(false)) => Err(ImportError::Declined {
                entry: self.entry.clone(),
                issuer: self.issuer.clone(),
            }),
            (Some(w), None) => Err(ImportError::IssuerNotConfirmed {
                entry: self.entry.clone(),
                issuer: self.issuer.clone(),
                warning: w.clone(),
            }),
        }
    }
}

/// The cost of one entry against the saved servers.
pub fn cost_of(st: &State, entry: &Entry) -> Cost {
    if let Some(s) = st.servers.iter().find(|s| s.url == entry.url) {
        return Cost::AlreadyAdded {
            name: s.name.clone(),
        };
    }
    let here = entry.url.origin().ascii_serialization();
    let mut same_origin = st
        .servers
        .iter()
        .filter(|s| s.url.origin().ascii_serialization() == here);
    let Some(first) = same_origin.next() else {
        return Cost::SignIn;
    };
    let issuer = first.auth_server.issuer_str();
    // Two issuers at one origin: which one this entry uses is known only once checked.
    if same_origin.any(|s| !same_issuer(s.auth_server.issuer_str(), issuer)) {
        return Cost::SignIn;
    }
    Cost::KnownIssuer {
        issuer: issuer.to_owned(),
        via: first.name.clone(),
    }
}

/// The warning for each checked entry: its issuer against the saved servers and the other
/// checked entries (under the names they would be saved as, marked as chosen now).
fn warnings(st: &State, checks: &mut [(String, EntryCheck)]) {
    let saved: Vec<(String, String, String)> = st
        .servers
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.url.to_string(),
                s.auth_server.issuer_str().to_owned(),
            )
        })
        .collect();
    let chosen: Vec<(String, String, String)> = checks
        .iter()
        .map(|(short, c)| {
            (
                format!("{short} (chosen with it)"),
                c.url.clone(),
                c.issuer.clone(),
            )
        })
        .collect();
    for (i, (_, c)) in checks.iter_mut().enumerate() {
        let Ok(url) = Url::parse(&c.url) else {
            continue;
        };
        let others = saved
            .iter()
            .chain(
                chosen
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| o),
            )
            .map(|(n, u, iss)| (n.as_str(), u.as_str(), iss.as_str()));
        c.warning = shared_issuer_among(others, &url, &c.issuer).map(|w| w.warning);
    }
}

impl Lanyard {
    /// The cost of each entry (same order), from the saved servers alone: no request.
    pub fn import_costs(&self, entries: &[Entry]) -> Result<Vec<Cost>, Error> {
        let st = self.state_file()?.load()?;
        Ok(entries.iter().map(|e| cost_of(&st, e)).collect())
    }

    /// Discovery of each chosen entry (same order): its issuer and endpoints, and the
    /// shared-issuer warning. Contacts only the chosen entries and the authorization servers
    /// their metadata names; nothing is registered or signed in. An entry whose discovery fails
    /// carries its error (the others are still checked).
    pub async fn import_check(
        &self,
        chosen: &[&Entry],
    ) -> Result<Vec<Result<EntryCheck, Error>>, Error> {
        let st = self.state_file()?.load()?;
        let mut found = Vec::with_capacity(chosen.len());
        for entry in chosen {
            // An imported entry is signed in to by a person: an AS without that sign-in
            // (PKCE S256, the code flow) fails its check.
            let check = |d: crate::discovery::Discovery| -> Result<_, Error> {
                let flow = d.auth_server.require_code_flow()?;
                Ok((
                    entry.short.clone(),
                    EntryCheck {
                        entry: entry.name.clone(),
                        url: entry.url.to_string(),
                        issuer: d.auth_server.issuer_str().to_owned(),
                        authorization_endpoint: flow.authorization_endpoint().to_string(),
                        token_endpoint: d.auth_server.token_endpoint.to_string(),
                        warning: None,
                    },
                ))
            };
            found.push(self.discover(&entry.url).await.and_then(check));
        }
        let mut ok: Vec<(String, EntryCheck)> = found
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .cloned()
            .collect();
        warnings(&st, &mut ok);
        let mut ok = ok.into_iter().map(|(_, c)| c);
        // `ok` holds one check per `Ok` of `found`, in order.
        Ok(found
            .into_iter()
            .filter_map(|r| match r {
                Ok(_) => ok.next().map(Ok),
                Err(e) => Some(Err(e)),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::auth_server::test_metadata;
    use crate::registry::test_entry as entry;

    fn state(servers: &[(&str, &str, &str)]) -> State {
        let mut st = State::default();
        for (name, url, issuer) in servers {
            let url = Url::parse(url).expect("url");
            st.put_server(crate::servers::Server {
                name: (*name).to_owned(),
                resource: url.clone(),
                url,
                auth_server: test_metadata(issuer),
                client: crate::servers::ClientSource::Dynamic,
                scopes: vec![],
                quirks: Default::default(),
                status: Default::default(),
                added_at: 0,
            });
        }
        st
    }

    fn check(entry: &str, url: &str, issuer: &str) -> (String, EntryCheck) {
        (
            entry.to_owned(),
            EntryCheck {
                entry: format!("x/{entry}"),
                url: url.to_owned(),
                issuer: issuer.to_owned(),
                authorization_endpoint: format!("{issuer}/auth"),
                token_endpoint: format!("{issuer}/token"),
                warning: None,
            },
        )
    }

    #[test]
    fn the_cost_is_read_from_the_saved_servers_without_a_request() {
        let st = state(&[("crm", "https://gw.corp/crm/mcp", "https://idp.corp/r")]);
        assert_eq!(
            cost_of(&st, &entry("corp/crm", "https://gw.corp/crm/mcp")),
            Cost::AlreadyAdded { name: "crm".into() }
        );
        assert_eq!(
            cost_of(&st, &entry("corp/wiki", "https://gw.corp/wiki/mcp")),
            Cost::KnownIssuer {
                issuer: "https://idp.corp/r".into(),
                via: "crm".into()
            }
        );
        assert_eq!(
            cost_of(&st, &entry("else/x", "https://else.example/mcp")),
            Cost::SignIn
        );
        let two = state(&[
            ("a", "https://gw.corp/a/mcp", "https://idp.corp/r"),
            ("b", "https://gw.corp/b/mcp", "https://idp.other/r"),
        ]);
        assert_eq!(
            cost_of(&two, &entry("corp/c", "https://gw.corp/c/mcp")),
            Cost::SignIn
        );
    }

    #[test]
    fn entries_chosen_together_warn_about_each_other_and_about_saved_servers() {
        let st = state(&[("corp", "https://gw.corp/mcp", "https://idp.corp/r")]);
        let mut checks = vec![
            check("evil", "https://evil.example/mcp", "https://idp.corp/r"),
            check("wiki", "https://gw.corp/wiki/mcp", "https://idp.corp/r"),
            check("own", "https://own.example/mcp", "https://idp.own/r"),
        ];
        warnings(&st, &mut checks);
        let evil = checks[0].1.warning.as_deref().expect("evil warns");
        assert!(
            evil.starts_with("evil.example will receive tokens from your sign-in at idp.corp")
                && evil.contains("corp: https://gw.corp")
                && evil.contains("wiki (chosen with it): https://gw.corp"),
            "{evil}"
        );
        // Same origin as the saved one, but evil (another origin, same issuer) is chosen too.
        let wiki = checks[1].1.warning.as_deref().expect("wiki warns");
        assert!(
            wiki.contains("evil (chosen with it): https://evil.example"),
            "{wiki}"
        );
        assert_eq!(checks[2].1.warning, None);

        // Alone and on the saved server's origin: no warning.
        let mut alone = vec![check(
            "wiki",
            "https://gw.corp/wiki/mcp",
            "https://idp.corp/r",
        )];
        warnings(&st, &mut alone);
        assert_eq!(alone[0].1.warning, None);
    }

    #[test]
    fn a_warned_entry_goes_ahead_only_when_its_issuer_was_named_or_the_answer_was_yes() {
        let (_, plain) = check("own", "https://own.example/mcp", "https://idp.own/r");
        let (_, mut warned) = check("evil", "https://evil.example/mcp", "https://idp.corp/r");
        warned.warning = Some("evil.example will receive tokens…".into());
        assert!(plain.go_ahead(&[], None).is_ok());
        let code =
            |r: Result<(), ImportError>| crate::error::UserFacing::code(&r.expect_err("refused"));
        assert_eq!(
            code(warned.go_ahead(&[], None)),
            "import.issuer-not-confirmed"
        );
        assert_eq!(code(warned.go_ahead(&[], Some(false))), "import.declined");
        assert!(warned.go_ahead(&[], Some(true)).is_ok());
        assert!(
            warned
                .go_ahead(&["https://idp.corp/r/".into()], None)
                .is_ok()
        );
        assert_eq!(
            code(plain.go_ahead(&["https://idp.corp/r".into()], None)),
            "import.unexpected-issuer"
        );
    }
}
