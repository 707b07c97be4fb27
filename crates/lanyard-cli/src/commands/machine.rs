//! `add`'s flags for a headless agent's own client: client credentials (secret or private key)
//! and workload identity federation.

use std::path::PathBuf;

use lanyard_core::api::{FlowError, MachineOptions};
use lanyard_core::servers::MachineGrant;

use super::common::SignInFlags;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct MachineFlags {
    /// No person, no browser: the OAuth client credentials grant with --client-id and
    /// --client-secret-file (or --client-secret / LANYARD_CLIENT_SECRET), or --private-key-file.
    #[arg(
        long,
        requires = "client_id",
        conflicts_with_all = ["device", "no_browser", "client_metadata_url", "callback_port", "authorize_params"]
    )]
    pub client_credentials: bool,
    /// File holding the client secret (kept in the keychain; the file may go afterwards).
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_credentials",
        conflicts_with = "client_secret"
    )]
    pub client_secret_file: Option<PathBuf>,
    /// PEM private key (PKCS#8: EC, RSA, Ed25519) the client signs its assertions with
    /// (private_key_jwt); read from this path at every token request.
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_credentials",
        conflicts_with_all = ["client_secret_file", "client_secret"]
    )]
    pub private_key_file: Option<PathBuf>,
    /// `kid` of the private key, when the authorization server has several for the client.
    #[arg(long, value_name = "K", requires = "private_key_file")]
    pub key_id: Option<String>,
    /// Workload identity: the file where the platform writes its identity token (a Kubernetes
    /// projected token, a CI OIDC token), read at every token request; no secret is kept.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["client_credentials", "client_secret", "device", "no_browser", "client_metadata_url", "callback_port", "authorize_params"]
    )]
    pub workload_token_file: Option<PathBuf>,
}

impl MachineFlags {
    /// The machine client these flags ask for, or `None` for a person's sign-in.
    pub fn to_options(&self, flags: &SignInFlags) -> lanyard_core::Result<Option<MachineOptions>> {
        let bad = |m: String| lanyard_core::Error::from(FlowError::BadFlag(m));
        if let Some(token_file) = &self.workload_token_file {
            return Ok(Some(MachineOptions {
                client_id: flags.client_id.clone(),
                client_secret: None,
                grant: MachineGrant::Workload {
                    token_file: token_file.clone(),
                },
            }));
        }
        if !self.client_credentials {
            return Ok(None);
        }
        let grant = match (
            &self.private_key_file,
            &self.client_secret_file,
            &flags.client_secret,
        ) {
            (Some(key_file), _, _) => MachineGrant::PrivateKeyJwt {
                key_file: key_file.clone(),
                key_id: self.key_id.clone(),
            },
            (None, Some(_), _) | (None, None, Some(_)) => MachineGrant::ClientSecret,
            (None, None, None) => {
                return Err(bad(
                    "--client-credentials needs --client-secret-file FILE or --private-key-file FILE"
                        .into(),
                ));
            }
        };
        let client_secret = match &self.client_secret_file {
            Some(f) => {
                let s = std::fs::read_to_string(f)
                    .map_err(|e| bad(format!("--client-secret-file {}: {e}", f.display())))?;
                let s = s.trim().to_owned();
                if s.is_empty() {
                    return Err(bad(format!(
                        "--client-secret-file {} is empty",
                        f.display()
                    )));
                }
                Some(s)
            }
            None if matches!(grant, MachineGrant::ClientSecret) => flags.client_secret.clone(),
            None => None,
        };
        Ok(Some(MachineOptions {
            client_id: flags.client_id.clone(),
            client_secret,
            grant,
        }))
    }
}
