//! The registration probe behind `lanyard probe --try-register`: an anonymous RFC 7591
//! registration of a throwaway client, deleted again (RFC 7592) when the answer allows.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use url::Url;

use super::dcr::{classify_refusal, hostname};
use crate::discovery::chain::ms;
use crate::discovery::{AuthServerMetadata, ProbeStep, Recorder};
use crate::error::UserFacing;
use crate::http::{Http, Method, Request};

/// What an anonymous registration attempt told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RegistrationProbeOutcome {
    /// The AS publishes no `registration_endpoint`.
    NoEndpoint,
    /// Anonymous DCR works. The test client was deleted again when the AS supports RFC 7592.
    Accepted {
        client_id: String,
        deleted: bool,
        note: String,
    },
    /// The AS refused; `what` and `next_step` explain (Keycloak policies recognised).
    Refused {
        status: u16,
        what: String,
        next_step: String,
    },
    /// No usable answer (network, size, junk).
    Failed { what: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationProbe {
    pub steps: Vec<ProbeStep>,
    pub outcome: RegistrationProbeOutcome,
}

/// Try an anonymous RFC 7591 registration of a throwaway native client, and delete it again
/// (RFC 7592) when the answer allows. Says whether DCR is actually usable, not just advertised.
pub async fn probe_registration(http: &Http, m: &AuthServerMetadata) -> RegistrationProbe {
    let mut rec = Recorder::default();
    let Some(ep) = m.registration_endpoint.clone() else {
        return RegistrationProbe {
            steps: rec.steps,
            outcome: RegistrationProbeOutcome::NoEndpoint,
        };
    };
    let host = hostname();
    let body = serde_json::json!({
        "client_name": format!("Lanyard probe on {host} (test registration, deleted right away)"),
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "software_id": "lanyard",
        "software_version": env!("CARGO_PKG_VERSION"),
    });
    let t = Instant::now();
    let r = match http.post_json(&ep, &body, None).await {
        Ok(r) => r,
        Err(e) => {
            rec.push(
                "registration",
                "POST",
                &ep,
                None,
                ms(t),
                false,
                e.to_string(),
            );
            return RegistrationProbe {
                steps: rec.steps,
                outcome: RegistrationProbeOutcome::Failed {
                    what: e.to_string(),
                },
            };
        }
    };
    if !r.is_success() {
        let e = classify_refusal(&ep, r.status, &r.body);
        rec.answered("registration", "POST", &ep, &r, false, e.what());
        return RegistrationProbe {
            steps: rec.steps,
            outcome: RegistrationProbeOutcome::Refused {
                status: r.status,
                what: e.what(),
                next_step: e.next_step(),
            },
        };
    }
    let v = match r.json_value() {
        Ok(v) => v,
        Err(e) => {
            rec.answered("registration", "POST", &ep, &r, false, e.to_string());
            return RegistrationProbe {
                steps: rec.steps,
                outcome: RegistrationProbeOutcome::Failed {
                    what: e.to_string(),
                },
            };
        }
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let Some(client_id) = s("client_id") else {
        let what = format!("{ep} answered {} without a client_id", r.status);
        rec.answered("registration", "POST", &ep, &r, false, what.clone());
        return RegistrationProbe {
            steps: rec.steps,
            outcome: RegistrationProbeOutcome::Failed { what },
        };
    };
    rec.answered(
        "registration",
        "POST",
        &ep,
        &r,
        true,
        format!("anonymous registration accepted: client {client_id}"),
    );
    let (deleted, note) = match (
        s("registration_client_uri").and_then(|u| Url::parse(&u).ok()),
        s("registration_access_token"),
    ) {
        (Some(uri), Some(tok)) => {
            let t = Instant::now();
            match http
                .send(Request::new(Method::DELETE, uri.clone()).bearer(&tok))
                .await
            {
                Ok(d) if d.is_success() => {
                    rec.answered(
                        "delete test client",
                        "DELETE",
                        &uri,
                        &d,
                        true,
                        "deleted (RFC 7592)",
                    );
                    (true, "the test client was deleted again".to_owned())
                }
                Ok(d) => {
                    rec.answered(
                        "delete test client",
                        "DELETE",
                        &uri,
                        &d,
                        false,
                        "not deleted",
                    );
                    (
                        false,
                        format!(
                            "the test client {client_id} could not be deleted (HTTP {}); an admin may remove it",
                            d.status
                        ),
                    )
                }
                Err(e) => {
                    rec.push(
                        "delete test client",
                        "DELETE",
                        &uri,
                        None,
                        ms(t),
                        false,
                        e.to_string(),
                    );
                    (
                        false,
                        format!(
                            "the test client {client_id} could not be deleted ({e}); an admin may remove it"
                        ),
                    )
                }
            }
        }
        _ => (
            false,
            format!(
                "the AS offers no RFC 7592 management, so the test client {client_id} stays registered; an admin may remove it"
            ),
        ),
    };
    RegistrationProbe {
        steps: rec.steps,
        outcome: RegistrationProbeOutcome::Accepted {
            client_id,
            deleted,
            note,
        },
    }
}
