//! The registry's list endpoint, `GET /v0.1/servers`, page by page (`cursor` →
//! `metadata.nextCursor`), through the one guarded client ([`crate::http::Http`]: URL policy,
//! 1 MiB per page, same-origin redirects only).

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::entry::{Entry, Judged, Skipped, judge};
use super::error::RegistryError;
use crate::http::{Http, Method, Redirects, Request};

/// At most this many pages are read (a registry that never stops paginating is cut off and
/// the listing says so).
pub const MAX_PAGES: usize = 50;
/// Entries asked per page.
pub const PAGE_SIZE: usize = 100;

/// Everything a registry lists, judged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalogue {
    /// The list endpoint that answered.
    pub url: String,
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    pub pages: usize,
    /// The page cap was reached (or a cursor repeated) before the registry said it was done.
    pub truncated: bool,
}

/// The list endpoint of the registry the user named: its `/v0.1/servers` URL as given, or a
/// base URL (`https://gw.example.com`, `…/registry/`) with `v0.1/servers` appended.
pub fn list_url(input: &str) -> Result<Url, RegistryError> {
    let bad = || RegistryError::BadUrl(input.to_owned());
    let mut url = Url::parse(input.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad());
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/v0.1/servers") {
        url.set_path(&format!("{path}/v0.1/servers"));
    } else {
        url.set_path(&path);
    }
    Ok(url)
}

/// Read every page. `auth` is the header carrying the registry's token, when it has one.
pub async fn fetch(
    http: &Http,
    list: &Url,
    auth: Option<&(String, String)>,
) -> Result<Catalogue, RegistryError> {
    let mut out = Catalogue {
        url: list.to_string(),
        ..Catalogue::default()
    };
    let mut seen_cursors = std::collections::HashSet::new();
    let mut seen_names = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        if out.pages == MAX_PAGES {
            out.truncated = true;
            break;
        }
        let mut url = list.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &PAGE_SIZE.to_string());
            q.append_pair("version", "latest");
            if let Some(c) = &cursor {
                q.append_pair("cursor", c);
            }
        }
        let mut req = Request::new(Method::GET, url.clone())
            .header("Accept", "application/json")
            .redirects(Redirects::SameOrigin);
        if let Some((name, value)) = auth {
            req = req.header(name, value);
        }
        let r = http.send(req).await?;
        if r.status == 401 {
            return Err(RegistryError::Unauthorized {
                url: list.to_string(),
                www_authenticate: r.header("www-authenticate").map(str::to_owned),
            });
        }
        if !r.is_success() {
            return Err(RegistryError::Status {
                url: url.to_string(),
                status: r.status,
                excerpt: r.excerpt(),
            });
        }
        let not_a_list = |detail: String| RegistryError::NotAList {
            url: url.to_string(),
            detail,
        };
        let page: Value = r.json_value().map_err(|e| not_a_list(e.to_string()))?;
        let Some(servers) = page.get("servers").and_then(Value::as_array) else {
            return Err(not_a_list("no \"servers\" array".into()));
        };
        out.pages += 1;
        for item in servers {
            match judge(item) {
                Judged::Remote(e) => {
                    // A registry listing several versions of one server: the first one counts.
                    if seen_names.insert(e.name.clone()) {
                        out.entries.push(*e);
                    }
                }
                Judged::Skipped(s) => out.skipped.push(s),
                Judged::Hidden => {}
            }
        }
        let next = page
            .get("metadata")
            .and_then(|m| m.get("nextCursor"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        match next {
            None => break,
            Some(c) if !seen_cursors.insert(c.clone()) => {
                out.truncated = true;
                break;
            }
            Some(c) => cursor = Some(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_the_list_path_and_a_list_url_is_kept() {
        for (given, want) in [
            (
                "https://gw.example.com",
                "https://gw.example.com/v0.1/servers",
            ),
            (
                "https://gw.example.com/",
                "https://gw.example.com/v0.1/servers",
            ),
            (
                "https://gw.example.com/registry/",
                "https://gw.example.com/registry/v0.1/servers",
            ),
            (
                "https://gw.example.com/v0.1/servers",
                "https://gw.example.com/v0.1/servers",
            ),
            (
                "https://gw.example.com/v0.1/servers/?cursor=x",
                "https://gw.example.com/v0.1/servers",
            ),
            (
                "http://127.0.0.1:9/r/v0.1/servers",
                "http://127.0.0.1:9/r/v0.1/servers",
            ),
        ] {
            assert_eq!(list_url(given).unwrap().as_str(), want, "{given}");
        }
        for bad in ["gw.example.com", "ftp://gw.example.com", "file:///tmp/x"] {
            assert!(
                matches!(list_url(bad), Err(RegistryError::BadUrl(_))),
                "{bad}"
            );
        }
    }
}
