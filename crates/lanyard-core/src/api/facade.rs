//! [`Lanyard`]: the public face of the engine for the CLI, the tray and the daemon — what it
//! holds (state file, secret store, HTTP client) and the small helpers every operation uses.

use std::sync::{Arc, OnceLock};

use url::Url;

use super::FlowError;
use crate::Error;
use crate::authorization::{Listener, PasteBack};
use crate::discovery::Discovery;
use crate::paths::Paths;
use crate::servers::{Quirks, Server, State, StateError, StateFile};
use crate::tokens::store::{MemoryStore, SecretStore};

/// The engine. Cheap to build; the HTTP client is made on first network use (so `token` with a
/// fresh token never pays for it).
pub struct Lanyard {
    pub(super) state: Option<StateFile>,
    pub(super) secrets: Arc<dyn SecretStore>,
    pub(super) http: OnceLock<reqwest::Client>,
    /// Refreshes run in a detached `lanyard` child ([`tok::detached`]): only for the user's
    /// Lanyard, whose state and keychain the child finds from the same environment.
    pub(super) detached: bool,
    /// Pasted redirect addresses, when the caller can take them ([`Lanyard::with_paste_back`]).
    pub(super) paste: Option<Arc<PasteBack>>,
    /// Whether `add` may get tokens through a company IdP session ([`Lanyard::with_idp`]).
    pub(super) idp_choice: super::idp_path::IdpChoice,
}

impl Lanyard {
    /// The user's Lanyard: state under the platform config dir, secrets in the OS keychain
    /// (namespaced by this install's id).
    pub fn open() -> Result<Lanyard, Error> {
        let paths = Paths::from_env()?;
        Ok(Lanyard {
            detached: true,
            ..Lanyard::with(paths.clone(), crate::tokens::store_choice::open(&paths)?)
        })
    }

    /// Explicit state directory and secret store (tests, the tray).
    pub fn with(paths: Paths, secrets: Arc<dyn SecretStore>) -> Lanyard {
        crate::enterprise::install();
        Lanyard {
            state: Some(StateFile::new(paths)),
            secrets,
            http: OnceLock::new(),
            detached: false,
            paste: None,
            idp_choice: Default::default(),
        }
    }

    /// Sign-ins whose browser cannot reach the loopback listener (`--no-browser`, no display)
    /// also take the redirected address pasted through `paste`.
    pub fn with_paste_back(mut self, paste: PasteBack) -> Lanyard {
        self.paste = Some(Arc::new(paste));
        self
    }

    /// Whether `add` may get a server's tokens through a company IdP session (`--idp URL`,
    /// `--no-idp`; default: any session that vouches for the user).
    pub fn with_idp(mut self, choice: super::idp_path::IdpChoice) -> Lanyard {
        self.idp_choice = choice;
        self
    }

    /// Nothing read or written on disk or in the keychain (`--ephemeral`).
    pub fn ephemeral() -> Lanyard {
        crate::enterprise::install();
        Lanyard {
            state: None,
            secrets: Arc::new(MemoryStore::new()),
            http: OnceLock::new(),
            detached: false,
            paste: None,
            idp_choice: Default::default(),
        }
    }

    /// The guarded client of token, registration, revocation and MCP requests
    /// ([`crate::http::oauth_client`]), built on first use.
    pub fn http(&self) -> Result<&reqwest::Client, crate::http::HttpError> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let c = crate::http::oauth_client()?;
        Ok(self.http.get_or_init(|| c))
    }

    pub fn secrets(&self) -> &dyn SecretStore {
        &*self.secrets
    }

    pub fn state_file(&self) -> Result<&StateFile, Error> {
        self.state
            .as_ref()
            .ok_or_else(|| FlowError::Ephemeral.into())
    }

    pub(super) fn server(&self, name: &str) -> Result<(State, Server), Error> {
        let st = self.state_file()?.load()?;
        let s = st
            .server(name)
            .cloned()
            .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
        Ok((st, s))
    }

    pub(super) async fn discover(&self, url: &Url) -> Result<Discovery, Error> {
        super::discover_step(url).await
    }

    /// Bind the loopback listener before anything needs the redirect URI: the server's fixed
    /// port (must be free), else the machine's remembered port, else any free port.
    pub(super) async fn listener(&self, quirks: &Quirks) -> Result<Listener, Error> {
        if let Some(p) = quirks.callback_port {
            return Ok(Listener::bind(p).await?);
        }
        let remembered = match &self.state {
            Some(f) => f.load()?.callback_port,
            None => None,
        };
        Ok(Listener::bind_preferring(remembered).await?)
    }

    /// The first port used becomes the machine's stable port; a fallback used while it was
    /// busy does not replace it.
    pub(super) fn remember_port(st: &mut State, quirks: &Quirks, port: u16) {
        // Port 0: no listener was used (a sign-in through the company IdP).
        if port != 0 && quirks.callback_port.is_none() && st.callback_port.is_none() {
            st.callback_port = Some(port);
        }
    }
}
