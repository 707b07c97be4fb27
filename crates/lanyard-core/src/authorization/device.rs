//! RFC 8628 device authorization grant: the answer of the device authorization endpoint and the
//! polling rules (`interval`, `slow_down` adds 5 s, `authorization_pending`, `access_denied`,
//! `expired_token`). The HTTP requests themselves are `tokens::device_grant`'s; this module only
//! decides when to ask. When the grant is chosen: `api::device_signin`.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::UserFacing;

/// How a sign-in uses the device grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceGrant {
    /// The browser round trip (loopback callback, or a pasted redirect).
    No,
    /// `--device`: the device grant or an error.
    Asked,
    /// Chosen for a machine without a display: when the AS refuses it for this client (a
    /// registration made before, a pre-registered client without the grant), the browser
    /// round trip after all.
    Chosen,
}

/// The grant type of the device code at the token endpoint (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 §3.2: the interval when the AS names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 §3.5: `slow_down` adds 5 seconds to every later interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    /// Google's device endpoint spells it `verification_url` (pre-RFC draft name).
    #[serde(alias = "verification_url")]
    pub verification_uri: Url,
    #[serde(default)]
    pub verification_uri_complete: Option<Url>,
    pub expires_in: u64,
    #[serde(default)]
    pub interval: Option<u64>,
}

impl DeviceAuthorization {
    pub fn interval(&self) -> Duration {
        self.interval
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_INTERVAL)
    }
}

/// One answer of the token endpoint to a device code poll.
pub enum Poll<T> {
    Tokens(T),
    Pending,
    SlowDown,
    Denied(Option<String>),
    Expired,
    Failed(crate::Error),
}

/// Poll with `poll` until it yields tokens or a final answer: waits `interval` before each poll,
/// 5 s more after every `slow_down`, and gives up when the device code expires.
pub async fn poll_until<T, F, Fut>(auth: &DeviceAuthorization, mut poll: F) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Poll<T>>,
{
    let mut interval = auth.interval();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(auth.expires_in);
    loop {
        if tokio::time::Instant::now() + interval > deadline {
            return Err(DeviceError::Expired {
                after: auth.expires_in,
            }
            .into());
        }
        tokio::time::sleep(interval).await;
        match poll().await {
            Poll::Tokens(t) => return Ok(t),
            Poll::Pending => {}
            Poll::SlowDown => interval += SLOW_DOWN_STEP,
            Poll::Denied(description) => return Err(DeviceError::Denied { description }.into()),
            Poll::Expired => {
                return Err(DeviceError::Expired {
                    after: auth.expires_in,
                }
                .into());
            }
            Poll::Failed(e) => return Err(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "the identity provider {issuer} does not offer the device authorization grant (no device_authorization_endpoint in its metadata)"
    )]
    NotOffered { issuer: String },
    #[error("the device authorization endpoint {endpoint} refused the request: {detail}")]
    Refused { endpoint: Url, detail: String },
    #[error(
        "the device authorization endpoint {endpoint} sent an answer Lanyard cannot use: {detail}"
    )]
    BadResponse { endpoint: Url, detail: String },
    #[error("the sign-in was declined at the identity provider (access_denied{})", .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied { description: Option<String> },
    #[error("the device code expired before the sign-in was approved (after {after} s)")]
    Expired { after: u64 },
}

impl UserFacing for DeviceError {
    fn code(&self) -> &'static str {
        match self {
            DeviceError::NotOffered { .. } => "device.not-offered",
            DeviceError::Refused { .. } => "device.refused",
            DeviceError::BadResponse { .. } => "device.bad-response",
            DeviceError::Denied { .. } => "device.denied",
            DeviceError::Expired { .. } => "device.expired",
        }
    }
    fn next_step(&self) -> String {
        match self {
            DeviceError::NotOffered { .. } => "Sign in with the browser instead (leave out --device; on a machine without one, `--no-browser` prints the URL to open elsewhere).".into(),
            DeviceError::Refused { .. } => "The identity provider may not allow the device grant for this client; ask your admin to enable it, or sign in without --device.".into(),
            DeviceError::BadResponse { .. } => "This identity provider does not follow RFC 8628 §3.2; report it to your admin, and sign in without --device meanwhile.".into(),
            DeviceError::Denied { .. } => "Run the command again and approve the request on the verification page (check that the code shown there matches).".into(),
            DeviceError::Expired { .. } => "Run the command again and enter the code sooner: it is valid only for the time shown.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    fn auth(interval: Option<u64>, expires_in: u64) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: "dc".into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri: Url::parse("http://127.0.0.1:1/device").unwrap(),
            verification_uri_complete: None,
            expires_in,
            interval,
        }
    }

    /// Polls with scripted answers; returns the result and the seconds (since start) of each poll.
    async fn run(
        auth: &DeviceAuthorization,
        answers: Vec<&'static str>,
    ) -> (crate::Result<&'static str>, Vec<u64>) {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let out = poll_until(auth, || {
            let (times, answers) = (times.clone(), answers.clone());
            async move {
                times.lock().unwrap().push(start.elapsed().as_secs());
                match answers.lock().unwrap().next().unwrap_or("pending") {
                    "pending" => Poll::Pending,
                    "slow_down" => Poll::SlowDown,
                    "denied" => Poll::Denied(None),
                    "expired" => Poll::Expired,
                    _ => Poll::Tokens("tokens"),
                }
            }
        })
        .await;
        let times = times.lock().unwrap().clone();
        (out, times)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_the_interval_until_approved() {
        let (out, times) = run(&auth(Some(2), 60), vec!["pending", "pending", "ok"]).await;
        assert_eq!(out.unwrap(), "tokens");
        assert_eq!(times, [2, 4, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_down_adds_five_seconds_to_every_later_interval() {
        let (out, times) = run(
            &auth(Some(1), 60),
            vec!["pending", "slow_down", "pending", "slow_down", "ok"],
        )
        .await;
        assert_eq!(out.unwrap(), "tokens");
        assert_eq!(times, [1, 2, 8, 14, 25]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_interval_polls_every_five_seconds() {
        let (_, times) = run(&auth(None, 60), vec!["pending", "ok"]).await;
        assert_eq!(times, [5, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn access_denied_ends_the_polling_with_a_denial() {
        let (out, times) = run(&auth(Some(1), 60), vec!["pending", "denied"]).await;
        assert_eq!(out.unwrap_err().code(), "device.denied");
        assert_eq!(times, [1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_token_ends_the_polling() {
        let (out, _) = run(&auth(Some(1), 60), vec!["expired"]).await;
        assert_eq!(out.unwrap_err().code(), "device.expired");
    }

    #[tokio::test(start_paused = true)]
    async fn polling_stops_when_the_device_code_expires_unanswered() {
        let (out, times) = run(&auth(Some(4), 10), vec![]).await;
        assert_eq!(out.unwrap_err().code(), "device.expired");
        assert_eq!(times, [4, 8], "no poll after the code expired");
    }

    #[test]
    fn a_device_authorization_response_without_interval_waits_five_seconds() {
        let parsed: DeviceAuthorization = serde_json::from_value(serde_json::json!({
            "device_code": "d", "user_code": "U", "verification_uri": "http://127.0.0.1:1/device",
            "expires_in": 600
        }))
        .unwrap();
        assert_eq!(parsed.interval(), Duration::from_secs(5));
        assert!(parsed.verification_uri_complete.is_none());
        let google: DeviceAuthorization = serde_json::from_value(serde_json::json!({
            "device_code": "d", "user_code": "U", "verification_url": "https://www.google.com/device",
            "expires_in": 1800, "interval": 5
        }))
        .unwrap();
        assert_eq!(
            google.verification_uri.as_str(),
            "https://www.google.com/device"
        );
    }
}
