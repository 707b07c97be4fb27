//! `import`: list a registry's remote servers, then add the ones the user chose.
//!
//! Listing reads the registry only — no request goes to an entry's URL before the user chose
//! it (an entry's URL is untrusted input, like a link's). A registry that answers 401 is signed
//! in to with the same discovery and sign-in engine as any server and saved as one (its token
//! refreshes, logs out and uninstalls like the others); its list request proves the sign-in.

use super::add::{AddOptions, AddOutcome, unique_name};
use super::facade::Lanyard;
use super::import_check::EntryCheck;
use super::progress::ProgressFn;
use crate::Error;
use crate::http::Http;
use crate::registry::{self, Catalogue, Entry, RegistryError};

/// What listing a registry found, and the saved server holding its token when it is protected.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    #[serde(flatten)]
    pub catalogue: Catalogue,
    /// The name the registry's own sign-in is saved under (protected registries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_server: Option<String>,
}

impl Lanyard {
    /// List a registry. When it answers 401: with its token when it is already a saved server,
    /// else after signing in to it (`sign_in` options: `--no-browser`, `--client-id`, …), saved
    /// as a server named after it.
    pub async fn import_list(
        &self,
        registry_url: &str,
        sign_in: AddOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Listing, Error> {
        let list = registry::list_url(registry_url)?;
        let http = Http::new()?;
        let (saved, listed) = self.list_with_saved_token(&http, &list).await?;
        match listed {
            Ok(catalogue) => Ok(Listing {
                catalogue,
                registry_server: saved,
            }),
            Err(RegistryError::Unauthorized {
                www_authenticate: Some(_),
                ..
            }) if saved.is_none() => {
                let mut opts = sign_in;
                if opts.name.is_none() {
                    let st = self.state_file()?.load()?;
                    opts.name = Some(unique_name(&st, &registry_name(&list)));
                }
                let added = self.add_after(list.as_str(), opts, &[], progress).await?;
                let auth = self.auth_header(&added.name).await?;
                let catalogue = registry::fetch(&http, &list, Some(&auth)).await?;
                Ok(Listing {
                    catalogue,
                    registry_server: Some(added.name),
                })
            }
            Err(RegistryError::Unauthorized { url, .. }) if saved.is_some() => {
                Err(RegistryError::TokenRefused {
                    url,
                    name: saved.unwrap_or_default(),
                }
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One listing of `list` with the token of its saved sign-in when it is a saved server
    /// (never a new sign-in): the saved server's name, and the registry's answer.
    pub(super) async fn list_with_saved_token(
        &self,
        http: &Http,
        list: &url::Url,
    ) -> Result<(Option<String>, Result<Catalogue, RegistryError>), Error> {
        let saved = match &self.state {
            Some(f) => f
                .load()?
                .servers
                .iter()
                .find(|s| &s.url == list)
                .map(|s| s.name.clone()),
            None => None,
        };
        let auth = match &saved {
            Some(name) => Some(self.auth_header(name).await?),
            None => None,
        };
        let listed = registry::fetch(http, list, auth.as_ref()).await;
        Ok((saved, listed))
    }

    /// Add one chosen entry through `add` (same discovery, sign-in, first tool call and
    /// all-or-nothing save), under its short name (made unique) and with the sign-in hints it
    /// carries where the user gave none. `check` is what the user saw before choosing to go
    /// ahead ([`Lanyard::import_check`]): the sign-in happens only at that issuer and those
    /// endpoints (`add` stops before any registration or browser otherwise).
    pub async fn import_entry(
        &self,
        entry: &Entry,
        check: &EntryCheck,
        base: &AddOptions,
        progress: ProgressFn<'_>,
    ) -> Result<AddOutcome, Error> {
        let mut opts = base.clone();
        opts.confirmed = Some(check.confirmed());
        if opts.name.is_none() {
            let st = self.state_file()?.load()?;
            opts.name = Some(unique_name(&st, &entry.short));
        }
        if opts.client.client_id.is_none() {
            opts.client.client_id = entry.hints.client_id.clone();
        }
        if opts.quirks.callback_port.is_none() {
            opts.quirks.callback_port = entry.hints.callback_port;
        }
        if opts.quirks.token_header.is_none() {
            opts.quirks.token_header = entry.hints.token_header.clone();
        }
        self.add(entry.url.as_str(), opts, progress).await
    }
}

/// `registry-HOSTLABEL` (`registry-gw` for gw.example.com, `registry-local` on loopback).
fn registry_name(list: &url::Url) -> String {
    let label = match list.host() {
        Some(url::Host::Domain(d)) if d != "localhost" => d
            .split('.')
            .find(|l| !matches!(*l, "www" | "mcp" | "api" | "registry"))
            .unwrap_or(d)
            .to_owned(),
        _ => "local".into(),
    };
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("registry-{}", label.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_is_saved_under_a_name_that_says_so() {
        let n = |s: &str| registry_name(&url::Url::parse(s).unwrap());
        assert_eq!(
            n("https://registry.corp.example/v0.1/servers"),
            "registry-corp"
        );
        assert_eq!(n("https://gw.example.com/v0.1/servers"), "registry-gw");
        assert_eq!(n("http://127.0.0.1:9/v0.1/servers"), "registry-local");
    }
}
