//! The registries the user imported from, with what each listed when the user last saw it
//! (`registries.json` in the state folder, so uninstall removes it with the rest), and what
//! changed since: servers that appeared (offered, never added) and servers that left (named,
//! with the name they are still saved under). Checking never signs in: a protected registry is
//! listed with its saved sign-in's token, or reported as needing one.

use serde::{Deserialize, Serialize};

use super::facade::Lanyard;
use super::import::Listing;
use crate::Error;
use crate::fsutil;
use crate::http::Http;
use crate::registry::{self, Entry};
use crate::servers::{State, StateError};
use crate::tokens::set::now;

/// One entry as remembered: the registry's name and its URL (a new URL is a new server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEntry {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SeenRegistry {
    /// The list URL (`…/v0.1/servers`).
    url: String,
    entries: Vec<SeenEntry>,
    /// Unix seconds.
    seen_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    #[serde(default)]
    registries: Vec<SeenRegistry>,
}

/// An entry that left the registry, and the name its URL is still saved under, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gone {
    #[serde(flatten)]
    pub entry: SeenEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_as: Option<String>,
}

/// What changed in one remembered registry since the user last saw its listing.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryNews {
    /// The list URL, as remembered.
    pub registry: String,
    /// Entries listed now that were not (or at another URL) then.
    pub added: Vec<Entry>,
    pub removed: Vec<Gone>,
    /// The registry could not be listed this time (`added`/`removed` are then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RegistryNews {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

fn seen_of(entries: &[Entry]) -> Vec<SeenEntry> {
    entries
        .iter()
        .map(|e| SeenEntry {
            name: e.name.clone(),
            url: e.url.to_string(),
        })
        .collect()
}

/// New and gone entries between what was seen and what is listed now.
fn diff(before: &[SeenEntry], now: &[Entry]) -> (Vec<Entry>, Vec<SeenEntry>) {
    let now_seen = seen_of(now);
    let added = now
        .iter()
        .zip(&now_seen)
        .filter(|(_, s)| !before.contains(s))
        .map(|(e, _)| e.clone())
        .collect();
    let removed = before
        .iter()
        .filter(|b| !now_seen.contains(b))
        .cloned()
        .collect();
    (added, removed)
}

/// What changed from `before` to `now`, with the names gone entries are still saved under.
fn news_of(st: &State, registry: String, before: &[SeenEntry], now: &[Entry]) -> RegistryNews {
    let (added, removed) = diff(before, now);
    RegistryNews {
        registry,
        added,
        removed: removed
            .into_iter()
            .map(|entry| Gone {
                saved_as: st
                    .servers
                    .iter()
                    .find(|s| s.url.as_str() == entry.url)
                    .map(|s| s.name.clone()),
                entry,
            })
            .collect(),
        error: None,
    }
}

impl Lanyard {
    fn seen_path(&self) -> Result<std::path::PathBuf, Error> {
        Ok(self.state_file()?.paths().dir().join("registries.json"))
    }

    fn seen(&self) -> Result<Seen, Error> {
        let path = self.seen_path()?;
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|source| StateError::Corrupt { path, source }.into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Seen::default()),
            Err(source) => Err(StateError::Read { path, source }.into()),
        }
    }

    /// Remember `listing` as what the user has seen of its registry (the tray calls this when
    /// it shows the listing); later [`Lanyard::registry_news`] reports changes against it.
    /// Returns what changed since the registry was last remembered (`None` the first time).
    pub fn remember_registry(&self, listing: &Listing) -> Result<Option<RegistryNews>, Error> {
        let paths = self.state_file()?.paths().clone();
        paths.ensure_dir().map_err(StateError::from)?;
        let path = self.seen_path()?;
        let url = listing.catalogue.url.clone();
        let entries = seen_of(&listing.catalogue.entries);
        let before = fsutil::update_json(
            &path,
            &paths.dir().join("registries.lock"),
            || self.seen(),
            |seen: &mut Seen| {
                let before = seen
                    .registries
                    .iter()
                    .position(|r| r.url == url)
                    .map(|i| seen.registries.remove(i).entries);
                seen.registries.push(SeenRegistry {
                    url: url.clone(),
                    entries,
                    seen_at: now(),
                });
                Ok(before)
            },
            |e| Error::from(StateError::from(e)),
        )?;
        let Some(before) = before else {
            return Ok(None);
        };
        let st = self.state_file()?.load()?;
        Ok(Some(news_of(&st, url, &before, &listing.catalogue.entries)))
    }

    /// What changed between two listings of the registry at `registry` (`import --watch`), with
    /// the names gone entries are still saved under (none when the state cannot be read).
    pub fn registry_changes(
        &self,
        registry: &str,
        before: &[Entry],
        now: &[Entry],
    ) -> RegistryNews {
        let st = self
            .state_file()
            .and_then(|f| Ok(f.load()?))
            .unwrap_or_default();
        news_of(&st, registry.to_owned(), &seen_of(before), now)
    }

    /// The list URLs of the remembered registries.
    pub fn remembered_registries(&self) -> Result<Vec<String>, Error> {
        Ok(self.seen()?.registries.into_iter().map(|r| r.url).collect())
    }

    /// List every remembered registry again (with saved tokens only) and say what changed.
    /// Nothing is added, removed or remembered: the user decides (and the shell remembers the
    /// listing it then shows).
    pub async fn registry_news(&self) -> Result<Vec<RegistryNews>, Error> {
        let seen = self.seen()?;
        if seen.registries.is_empty() {
            return Ok(Vec::new());
        }
        let http = Http::new()?;
        let st = self.state_file()?.load()?;
        let mut out = Vec::new();
        for r in seen.registries {
            let mut news = RegistryNews {
                registry: r.url.clone(),
                added: Vec::new(),
                removed: Vec::new(),
                error: None,
            };
            let listed = match registry::list_url(&r.url) {
                Ok(list) => match self.list_with_saved_token(&http, &list).await {
                    Ok((_, l)) => l.map_err(Error::from),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            };
            match listed {
                Ok(c) => out.push(news_of(&st, r.url, &r.entries, &c.entries)),
                Err(e) => {
                    news.error = Some(e.what());
                    out.push(news);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Catalogue;
    use crate::registry::test_entry as entry;
    use crate::tokens::store::MemoryStore;
    use serde_json::json;

    #[test]
    fn new_moved_and_gone_entries_are_told_apart() {
        let before = seen_of(&[
            entry("x/a", "https://a.example/mcp"),
            entry("x/b", "https://b.example/mcp"),
        ]);
        let now = [
            entry("x/a", "https://a.example/mcp"),
            entry("x/b", "https://evil.example/mcp"),
            entry("x/c", "https://c.example/mcp"),
        ];
        let (added, removed) = diff(&before, &now);
        let added: Vec<&str> = added.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(added, ["https://evil.example/mcp", "https://c.example/mcp"]);
        assert_eq!(removed, vec![before[1].clone()]);
    }

    #[test]
    fn a_registry_seen_again_replaces_what_was_remembered_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let lanyard = Lanyard::with(
            crate::paths::Paths::at(dir.path()),
            std::sync::Arc::new(MemoryStore::new()),
        );
        let listing = |entries: Vec<Entry>| Listing {
            catalogue: Catalogue {
                url: "https://gw.example/v0.1/servers".into(),
                entries,
                ..Catalogue::default()
            },
            registry_server: None,
        };
        assert!(lanyard.remembered_registries().unwrap().is_empty());
        let first = lanyard
            .remember_registry(&listing(vec![entry("x/a", "https://a.example/mcp")]))
            .unwrap();
        assert!(first.is_none(), "nothing to compare with the first time");
        let news = lanyard
            .remember_registry(&listing(vec![entry("x/b", "https://b.example/mcp")]))
            .unwrap()
            .expect("news the second time");
        assert_eq!(news.added[0].name, "x/b");
        assert_eq!(news.removed[0].entry.name, "x/a");
        assert_eq!(
            lanyard.remembered_registries().unwrap(),
            ["https://gw.example/v0.1/servers"]
        );
        let seen = lanyard.seen().unwrap();
        assert_eq!(seen.registries[0].entries[0].name, "x/b");
    }

    /// A registry on loopback answering one page with `servers` (name, url), whatever is asked.
    async fn registry(servers: Vec<(&'static str, &'static str)>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let items: Vec<serde_json::Value> = servers
            .iter()
            .map(|(n, u)| json!({"server": {"name": n, "remotes": [{"type": "streamable-http", "url": u}]}}))
            .collect();
        let body = json!({"servers": items, "metadata": {"count": items.len()}}).to_string();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        format!("{base}/v0.1/servers")
    }

    #[tokio::test]
    async fn news_names_what_appeared_and_what_left_since_the_listing_was_seen_and_adds_nothing() {
        let list = registry(vec![
            ("x/a", "http://127.0.0.1:9/a/mcp"),
            ("x/c", "http://127.0.0.1:9/c/mcp"),
        ])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let lanyard = Lanyard::with(
            crate::paths::Paths::at(dir.path()),
            std::sync::Arc::new(MemoryStore::new()),
        );
        assert!(lanyard.registry_news().await.unwrap().is_empty());
        let seen = Listing {
            catalogue: Catalogue {
                url: list.clone(),
                entries: vec![
                    entry("x/a", "http://127.0.0.1:9/a/mcp"),
                    entry("x/b", "http://127.0.0.1:9/b/mcp"),
                ],
                ..Catalogue::default()
            },
            registry_server: None,
        };
        lanyard.remember_registry(&seen).unwrap();
        let news = lanyard.registry_news().await.unwrap();
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].error, None);
        let added: Vec<&str> = news[0].added.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(added, ["x/c"]);
        assert_eq!(news[0].removed.len(), 1);
        assert_eq!(news[0].removed[0].entry.name, "x/b");
        assert_eq!(news[0].removed[0].saved_as, None);
        // Asking again reports the same: only showing a listing (remember) moves the mark.
        assert_eq!(lanyard.registry_news().await.unwrap()[0].added.len(), 1);
        assert!(
            lanyard
                .state_file()
                .unwrap()
                .load()
                .unwrap()
                .servers
                .is_empty()
        );
    }
}
