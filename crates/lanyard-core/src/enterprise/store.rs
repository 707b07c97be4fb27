//! Which company IdP sessions this machine holds and which servers get their tokens through
//! them: `idps.json` beside the state file (non-secret, replaced atomically under its own
//! lock). The IdP's tokens and a pre-registered client's secret are in the keychain.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::EnterpriseError;
use crate::discovery::AuthServerMetadata;
use crate::fsutil;
use crate::paths::Paths;
use crate::tokens::store::{self, SecretError, SecretStore};
use crate::tokens::{ClientCredentials, TokenAuthMethod};

/// One company identity provider session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idp {
    /// The issuer identifier exactly as the IdP spells it (compared as a string).
    pub issuer: String,
    pub token_endpoint: Url,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// The validated metadata a browser sign-in uses; `None` for a session begun from an ID
    /// token another program obtained (`idp add --id-token-stdin`).
    #[serde(default)]
    pub metadata: Option<AuthServerMetadata>,
    /// Lanyard's client at the IdP.
    pub client_id: String,
    /// A pre-registered client's secret is in the keychain ([`secret_key`]).
    #[serde(default)]
    pub has_secret: bool,
    /// The client was registered by Lanyard (RFC 7591): its record is among the state file's
    /// registrations, which uninstall deletes.
    #[serde(default)]
    pub dynamic: bool,
    /// Who signed in (the ID token's email, else its name or subject).
    #[serde(default)]
    pub user: Option<String>,
    /// Set when the session ended (refresh refused, revoked): why.
    #[serde(default)]
    pub ended: Option<String>,
    /// The servers whose tokens come through this IdP.
    #[serde(default)]
    pub servers: Vec<String>,
    /// Unix seconds.
    pub signed_in_at: i64,
}

impl Idp {
    /// The IdP as `list` names it: its host (and port when not the default).
    pub fn label(&self) -> String {
        Url::parse(&self.issuer)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            })
            .unwrap_or_else(|| self.issuer.clone())
    }

    /// "via IdP as user", for `list` and the tray.
    pub fn via(&self) -> String {
        match &self.user {
            Some(u) => format!("via {} as {u}", self.label()),
            None => format!("via {}", self.label()),
        }
    }

    /// Lanyard's credentials at the IdP's token endpoint.
    pub fn credentials(&self, secrets: &dyn SecretStore) -> Result<ClientCredentials, SecretError> {
        let secret = if self.has_secret {
            secrets.get(&secret_key(&self.issuer))?
        } else if self.dynamic {
            secrets.get(&store::registration_secret_key(self.issuer_url().as_str()))?
        } else {
            None
        };
        let method = TokenAuthMethod::choose(
            &self.token_endpoint_auth_methods_supported,
            secret.is_some(),
            None,
        );
        Ok(ClientCredentials {
            client_id: self.client_id.clone(),
            secret,
            method,
        })
    }

    /// The issuer as a URL (the key of registrations in the state file).
    pub fn issuer_url(&self) -> Url {
        match &self.metadata {
            Some(m) => m.issuer.clone(),
            None => Url::parse(&self.issuer).unwrap_or_else(|_| self.token_endpoint.clone()),
        }
    }
}

/// The IdP's tokens: the ID token the exchanges present, and what renews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpTokens {
    pub id_token: String,
    /// Unix seconds: the ID token's `exp` (a token exchange wants an unexpired one).
    pub id_token_expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub obtained_at: i64,
}

impl IdpTokens {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Option<IdpTokens> {
        serde_json::from_str(s).ok()
    }
}

/// Keychain key of an IdP session's tokens.
pub fn tokens_key(issuer: &str) -> String {
    format!("idp-tokens:{issuer}")
}

/// Keychain key of a pre-registered IdP client's secret.
pub fn secret_key(issuer: &str) -> String {
    format!("client-secret:idp:{issuer}")
}

/// The stored tokens of an IdP session.
pub fn stored(secrets: &dyn SecretStore, issuer: &str) -> Result<Option<IdpTokens>, SecretError> {
    Ok(secrets
        .get(&tokens_key(issuer))?
        .and_then(|s| IdpTokens::from_json(&s)))
}

/// The content of `idps.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Idps {
    #[serde(default)]
    pub idps: Vec<Idp>,
}

impl Idps {
    pub fn get(&self, issuer: &str) -> Option<&Idp> {
        self.idps.iter().find(|i| i.issuer == issuer)
    }
    pub fn get_mut(&mut self, issuer: &str) -> Option<&mut Idp> {
        self.idps.iter_mut().find(|i| i.issuer == issuer)
    }
    /// The IdP a server gets its tokens through.
    pub fn serving(&self, server: &str) -> Option<&Idp> {
        self.idps
            .iter()
            .find(|i| i.servers.iter().any(|s| s == server))
    }
    /// Insert or replace an IdP (its list of servers is kept).
    pub fn put(&mut self, mut idp: Idp) {
        match self.get_mut(&idp.issuer) {
            Some(old) => {
                idp.servers = std::mem::take(&mut old.servers);
                *old = idp;
            }
            None => self.idps.push(idp),
        }
    }
    /// `server` gets its tokens through `issuer` from now on (and through no other IdP);
    /// `None`: through none.
    pub fn link(&mut self, server: &str, issuer: Option<&str>) {
        for i in &mut self.idps {
            i.servers.retain(|s| s != server);
            if Some(i.issuer.as_str()) == issuer {
                i.servers.push(server.to_owned());
            }
        }
    }
}

/// `idps.json`.
#[derive(Debug, Clone)]
pub struct IdpFile {
    paths: Paths,
}

impl IdpFile {
    pub fn new(paths: Paths) -> IdpFile {
        IdpFile { paths }
    }

    fn path(&self) -> PathBuf {
        self.paths.dir().join("idps.json")
    }

    fn err(path: &std::path::Path, detail: impl std::fmt::Display) -> EnterpriseError {
        EnterpriseError::File {
            path: path.display().to_string(),
            detail: detail.to_string(),
        }
    }

    /// The sessions (an absent file: none).
    pub fn load(&self) -> Result<Idps, EnterpriseError> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Self::err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Idps::default()),
            Err(e) => Err(Self::err(&path, e)),
        }
    }

    /// Read-modify-write under `idps.lock`.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut Idps) -> Result<T, EnterpriseError>,
    ) -> Result<T, EnterpriseError> {
        let path = self.path();
        self.paths.ensure_dir().map_err(|e| Self::err(&path, e))?;
        fsutil::update_json(
            &path,
            &self.paths.dir().join("idps.lock"),
            || self.load(),
            f,
            |e| Self::err(&e.path, e.source),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp(issuer: &str) -> Idp {
        Idp {
            issuer: issuer.into(),
            token_endpoint: Url::parse(&format!("{issuer}/token")).unwrap(),
            revocation_endpoint: None,
            token_endpoint_auth_methods_supported: vec![],
            metadata: None,
            client_id: "c".into(),
            has_secret: false,
            dynamic: false,
            user: Some("alice@corp.example".into()),
            ended: None,
            servers: vec![],
            signed_in_at: 0,
        }
    }

    #[test]
    fn a_server_is_served_by_one_idp_at_a_time_and_a_new_sign_in_keeps_the_servers() {
        let dir = tempfile::tempdir().unwrap();
        let file = IdpFile::new(Paths::at(dir.path()));
        file.update(|f| {
            f.put(idp("http://127.0.0.1:1"));
            f.put(idp("http://127.0.0.1:2"));
            f.link("docs", Some("http://127.0.0.1:1"));
            f.link("docs", Some("http://127.0.0.1:2"));
            f.put(idp("http://127.0.0.1:2"));
            Ok(())
        })
        .unwrap();
        let f = file.load().unwrap();
        assert_eq!(f.serving("docs").unwrap().issuer, "http://127.0.0.1:2");
        assert!(f.get("http://127.0.0.1:1").unwrap().servers.is_empty());
        assert_eq!(
            f.serving("docs").unwrap().via(),
            "via 127.0.0.1:2 as alice@corp.example"
        );
        file.update(|f| {
            f.link("docs", None);
            Ok(())
        })
        .unwrap();
        assert!(file.load().unwrap().serving("docs").is_none());
    }
}
