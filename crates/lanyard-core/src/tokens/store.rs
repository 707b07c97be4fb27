//! Secrets: the OS keychain via `keyring` (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), or memory for `--ephemeral` runs.
//!
//! Items are namespaced by the install id (service `lanyard/<install-id>`), so many sandboxes
//! sharing one Secret Service never see each other's tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
    /// Linux without a Secret Service (or without a session bus): SSH hosts, containers.
    #[error(
        "there is no Secret Service on this machine (the keychain Lanyard keeps tokens in on Linux), so Lanyard has nowhere safe to keep them ({0})"
    )]
    NoSecretService(String),
    /// The opt-in file store ([`super::file_store`]) could not be read or written.
    #[error("the token file {0}")]
    File(String),
    #[error("the OS keychain refused to {action} the item \"{key}\": {detail}")]
    Failed {
        action: &'static str,
        key: String,
        detail: String,
    },
    /// The keychain service itself failed (on Linux: a D-Bus error, the Secret Service
    /// restarting): the same call may work a moment later.
    #[error("the OS keychain did not {action} the item \"{key}\": {detail}")]
    Interrupted {
        action: &'static str,
        key: String,
        detail: String,
    },
}

impl SecretError {
    /// Worth trying again shortly (see [`SecretError::Interrupted`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Interrupted { .. })
    }
}

impl UserFacing for SecretError {
    fn code(&self) -> &'static str {
        match self {
            SecretError::Unavailable(..) => "keychain.unavailable",
            SecretError::NoSecretService(..) => "keychain.no-secret-service",
            SecretError::File(..) => "keychain.file",
            SecretError::Failed { .. } => "keychain.failed",
            SecretError::Interrupted { .. } => "keychain.interrupted",
        }
    }
    fn next_step(&self) -> String {
        match self {
            SecretError::NoSecretService(..) => return NO_SECRET_SERVICE_WAYS_IN.into(),
            SecretError::File(..) => return "Check that the file and Lanyard's folder belong to you and the disk is not full, then run the command again.".into(),
            _ => {}
        }
        "Unlock your keychain (on Linux: a Secret Service such as gnome-keyring must be running and unlocked), then run the command again.".into()
    }
}

/// The ways in when Linux has no Secret Service.
pub const NO_SECRET_SERVICE_WAYS_IN: &str = "Start a Secret Service and run the command again: gnome-keyring (`gnome-keyring-daemon --start --components=secrets` in a session with a D-Bus session bus, e.g. under `dbus-run-session`), or KeePassXC with its Secret Service integration turned on. Or let your laptop's Lanyard be the agent, keeping nothing here: on the laptop `lanyard agent share NAME` and `ssh -R /tmp/lanyard-agent.sock:$(lanyard agent path --forward) HOST`, here `export LANYARD_AGENT_SOCK=/tmp/lanyard-agent.sock`. Or sign in here with a code approved on another device (`lanyard add URL --device`) or by pasting the redirected address back (`--no-browser`), after you opt in to the file store: `lanyard store use-file --i-understand-the-risk` (or LANYARD_STORE=file) keeps tokens in a file only your user can read; anyone who can read your files (root, a backup, a copied disk) can then use them.";

/// A keychain failure that means "no Secret Service here" (no session bus, or nobody owning
/// `org.freedesktop.secrets` on it).
fn no_secret_service(detail: &str) -> bool {
    cfg!(all(unix, not(target_os = "macos")))
        && [
            "org.freedesktop.secrets",
            "ServiceUnknown",
            "NameHasNoOwner",
        ]
        .iter()
        .any(|m| detail.contains(m))
}

/// Where secrets go. Keys are short ASCII names such as `tokens:NAME`.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError>;
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError>;
    /// Deleting an absent item is not an error.
    fn delete(&self, key: &str) -> Result<(), SecretError>;
    /// Whether the store answers at all (a Secret Service on the bus, an unlocked keychain),
    /// asked before a sign-in so that nothing is registered for secrets with nowhere to go.
    /// Writes nothing.
    fn check(&self) -> Result<(), SecretError> {
        Ok(())
    }
}

/// Key of a server's token set.
pub fn tokens_key(server: &str) -> String {
    format!("tokens:{server}")
}
/// Key of the client secret of a registration (per issuer).
pub fn registration_secret_key(issuer: &str) -> String {
    format!("client-secret:{issuer}")
}
/// Key of an RFC 7592 registration access token (per issuer).
pub fn registration_token_key(issuer: &str) -> String {
    format!("registration-token:{issuer}")
}
/// Key of a pre-registered client's secret (per server).
/// A server's DPoP key pair (RFC 9449), when its tokens are bound to one.
pub fn dpop_key(server: &str) -> String {
    format!("dpop-key:{server}")
}

pub fn server_secret_key(server: &str) -> String {
    format!("client-secret:server:{server}")
}

/// The OS keychain.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    pub fn new(install_id: &str) -> KeyringStore {
        KeyringStore {
            service: format!("lanyard/{install_id}"),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, key).map_err(|e| match e {
            // The store is set up once per process; its own error says why it could not be.
            keyring::Error::NoDefaultStore if cfg!(all(unix, not(target_os = "macos"))) => {
                let why = match keyring::Entry::store_status() {
                    Err(init) => init.to_string(),
                    Ok(()) => e.to_string(),
                };
                SecretError::NoSecretService(why)
            }
            keyring::Error::NoDefaultStore | keyring::Error::NoStorageAccess(_) => {
                SecretError::Unavailable(e.to_string())
            }
            other => SecretError::Failed {
                action: "open",
                key: key.to_owned(),
                detail: other.to_string(),
            },
        })
    }
}

/// A key no install writes: reading it only tells whether the keychain answers.
const CHECK_KEY: &str = "availability-check";

impl SecretStore for KeyringStore {
    fn check(&self) -> Result<(), SecretError> {
        self.get(CHECK_KEY).map(|_| ())
    }
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        match self.entry(key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) if no_secret_service(&e.to_string()) => {
                Err(SecretError::NoSecretService(e.to_string()))
            }
            Err(e) => Err(SecretError::Failed {
                action: "read",
                key: key.to_owned(),
                detail: e.to_string(),
            }),
        }
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.entry(key)?.set_password(value).map_err(|e| {
            let (action, key, detail) = ("write", key.to_owned(), e.to_string());
            if no_secret_service(&detail) {
                return SecretError::NoSecretService(detail);
            }
            match e {
                keyring::Error::PlatformFailure(_) => SecretError::Interrupted {
                    action,
                    key,
                    detail,
                },
                keyring::Error::NoStorageAccess(_) => SecretError::Unavailable(detail),
                _ => SecretError::Failed {
                    action,
                    key,
                    detail,
                },
            }
        })
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) if no_secret_service(&e.to_string()) => {
                Err(SecretError::NoSecretService(e.to_string()))
            }
            Err(e) => Err(SecretError::Failed {
                action: "delete",
                key: key.to_owned(),
                detail: e.to_string(),
            }),
        }
    }
}

/// The OS keychain of an install whose id is only read (or created) on first use, so commands
/// that fail before touching a secret leave nothing behind.
pub struct LazyKeyringStore {
    paths: crate::paths::Paths,
    inner: std::sync::OnceLock<Result<KeyringStore, String>>,
}

impl LazyKeyringStore {
    pub fn new(paths: crate::paths::Paths) -> LazyKeyringStore {
        LazyKeyringStore {
            paths,
            inner: std::sync::OnceLock::new(),
        }
    }
    fn store(&self) -> Result<&KeyringStore, SecretError> {
        self.inner
            .get_or_init(|| {
                self.paths
                    .install_id()
                    .map(|id| KeyringStore::new(&id))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| SecretError::Unavailable(e.clone()))
    }
}

impl SecretStore for LazyKeyringStore {
    fn check(&self) -> Result<(), SecretError> {
        // Without an install id yet, ask under a service no install uses, so that a check that
        // is followed by a refusal (bad URL, hostile metadata) leaves no id behind.
        if self.inner.get().is_none() && !self.paths.install_id_file().exists() {
            return KeyringStore::new(CHECK_KEY).check();
        }
        self.store()?.check()
    }
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        self.store()?.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.store()?.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.store()?.delete(key)
    }
}

/// Secrets that die with the process (`--ephemeral`, unit tests).
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        Ok(self
            .items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trips_and_deletes_idempotently() {
        let s = MemoryStore::new();
        assert_eq!(s.get("a").unwrap(), None);
        s.set("a", "1").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("1"));
        s.delete("a").unwrap();
        s.delete("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
    }
}
