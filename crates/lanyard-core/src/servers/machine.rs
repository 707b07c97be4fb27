//! Servers used by a headless agent, not a person: no browser, no refresh token — a new access
//! token is simply requested again before the old one expires.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How a machine client gets its tokens. Stored in the state file: paths only, never secrets
/// (a client secret is in the keychain under `client-secret:server:<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant", rename_all = "snake_case")]
pub enum MachineGrant {
    /// OAuth 2.1 client credentials (SEP-1046), the client authenticated by its secret
    /// (`client_secret_basic`, or `client_secret_post` when that is all the AS lists).
    ClientSecret,
    /// OAuth 2.1 client credentials, the client authenticated by a JWT signed with its private
    /// key (RFC 7523 §2.2, `private_key_jwt`). The key stays in its PEM file, read at each
    /// request: whoever provisions it (a secret manager's mount) can rotate it in place.
    PrivateKeyJwt {
        key_file: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
    /// Workload identity federation (SEP-1933): the platform's identity token (Kubernetes
    /// projected token, CI OIDC token) read from `token_file` at each request — it rotates —
    /// and presented with the RFC 7523 §2.1 JWT-bearer grant.
    Workload { token_file: PathBuf },
}

impl MachineGrant {
    /// Short label for `list`.
    pub fn label(&self) -> &'static str {
        match self {
            MachineGrant::ClientSecret => "client-credentials",
            MachineGrant::PrivateKeyJwt { .. } => "client-credentials (private_key_jwt)",
            MachineGrant::Workload { .. } => "workload-identity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::ClientSource;

    #[test]
    fn a_machine_client_round_trips_through_the_state_file_and_old_kinds_still_load() {
        for grant in [
            MachineGrant::ClientSecret,
            MachineGrant::PrivateKeyJwt {
                key_file: "/k.pem".into(),
                key_id: Some("k1".into()),
            },
            MachineGrant::Workload {
                token_file: "/var/run/token".into(),
            },
        ] {
            let c = ClientSource::Machine {
                client_id: Some("agent".into()),
                has_secret: matches!(grant, MachineGrant::ClientSecret),
                grant,
            };
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(
                serde_json::from_str::<ClientSource>(&json).unwrap(),
                c,
                "{json}"
            );
        }
        let wif: ClientSource =
            serde_json::from_str(r#"{"kind":"machine","grant":"workload","token_file":"/t"}"#)
                .unwrap();
        assert_eq!(
            wif,
            ClientSource::Machine {
                client_id: None,
                has_secret: false,
                grant: MachineGrant::Workload {
                    token_file: "/t".into()
                }
            }
        );
        let old: ClientSource =
            serde_json::from_str(r#"{"kind":"pre_registered","client_id":"c","has_secret":false}"#)
                .unwrap();
        assert_eq!(old.label(), "pre-registered");
    }
}
