//! A token set that always knows when it expires.

use serde::{Deserialize, Serialize};

/// Used when the token response has no `expires_in` and the access token carries no JWT `exp`.
pub const DEFAULT_LIFETIME_SECS: i64 = 600;
/// A longer promised lifetime is capped to this (a day).
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;
/// `token` refreshes when the access token expires within this many seconds.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The RFC 6749 §5.1 token response, as received (untrusted).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Tokens of one server. Cannot be built without an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    pub token_type: String,
    /// Unix seconds; always set (see [`TokenSet::from_response`]).
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes, when the AS said (else the requested ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub obtained_at: i64,
}

impl TokenSet {
    /// Build from a token response received at `now` (unix seconds). `expires_in` missing or
    /// unreadable → the JWT `exp` when the token is a JWT, else [`DEFAULT_LIFETIME_SECS`];
    /// anything above [`MAX_LIFETIME_SECS`] (or negative) is clamped. A refresh response without
    /// a refresh token keeps `previous_refresh` (RFC 6749 §6: the old one stays valid).
    pub fn from_response(
        resp: TokenResponse,
        now: i64,
        requested_scope: Option<&str>,
        previous_refresh: Option<&str>,
    ) -> TokenSet {
        let promised = resp.expires_in.as_ref().and_then(|v| match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.min(i64::MAX as f64) as i64)),
            serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        });
        let lifetime = promised
            .or_else(|| jwt_exp(&resp.access_token).map(|exp| exp.saturating_sub(now)))
            .unwrap_or(DEFAULT_LIFETIME_SECS)
            .clamp(0, MAX_LIFETIME_SECS);
        TokenSet {
            access_token: resp.access_token,
            token_type: resp.token_type.unwrap_or_else(|| "Bearer".into()),
            expires_at: now.saturating_add(lifetime),
            refresh_token: resp
                .refresh_token
                .filter(|r| !r.is_empty())
                .or_else(|| previous_refresh.map(str::to_owned)),
            scope: resp.scope.or_else(|| requested_scope.map(str::to_owned)),
            obtained_at: now,
        }
    }

    /// Still usable for at least `margin` seconds at `now`.
    pub fn fresh_at(&self, now: i64, margin: i64) -> bool {
        self.expires_at.saturating_sub(now) > margin
    }

    /// Whether the IdP issued a refresh token. RFC 6749 §5.1 makes it optional (the Python MCP
    /// SDK's example server and some enterprise IdPs issue none): without one the access token
    /// is used until it expires, and then only a new sign-in helps.
    pub fn refreshable(&self) -> bool {
        self.refresh_token.as_deref().is_some_and(|r| !r.is_empty())
    }

    /// When a new sign-in will be needed (unix seconds): the expiry of an access token that
    /// cannot be refreshed; `None` when it can be.
    pub fn sign_in_needed_at(&self) -> Option<i64> {
        (!self.refreshable()).then_some(self.expires_at)
    }

    /// The value of the header: always `Bearer <token>` (RFC 6750), whatever case the AS used.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.access_token)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Option<TokenSet> {
        serde_json::from_str(s).ok()
    }
}

/// The `exp` claim of a JWT, without verifying it (only used as a lifetime hint).
fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("exp")?.as_i64()
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(expires_in: Option<serde_json::Value>, token: &str) -> TokenResponse {
        TokenResponse {
            access_token: token.into(),
            token_type: Some("bearer".into()),
            expires_in,
            refresh_token: None,
            scope: None,
        }
    }

    #[test]
    fn expiry_from_expires_in() {
        let t = TokenSet::from_response(resp(Some(300.into()), "x"), 1000, None, None);
        assert_eq!(t.expires_at, 1300);
        assert!(t.fresh_at(1000, 60));
        assert!(!t.fresh_at(1241, 60));
    }

    #[test]
    fn missing_expires_in_gets_default_or_jwt_exp() {
        let t = TokenSet::from_response(resp(None, "opaque"), 1000, None, None);
        assert_eq!(t.expires_at, 1000 + DEFAULT_LIFETIME_SECS);
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1120}"#);
        let jwt = format!("e30.{payload}.sig");
        let t = TokenSet::from_response(resp(None, &jwt), 1000, None, None);
        assert_eq!(t.expires_at, 1120);
    }

    #[test]
    fn huge_or_negative_or_odd_expires_in_is_clamped() {
        let t = TokenSet::from_response(resp(Some(1e300.into()), "x"), 0, None, None);
        assert_eq!(t.expires_at, MAX_LIFETIME_SECS);
        let t = TokenSet::from_response(resp(Some((-5).into()), "x"), 10, None, None);
        assert_eq!(t.expires_at, 10);
        let t = TokenSet::from_response(resp(Some("120".into()), "x"), 0, None, None);
        assert_eq!(t.expires_at, 120);
        let t = TokenSet::from_response(resp(Some(true.into()), "x"), 0, None, None);
        assert_eq!(t.expires_at, DEFAULT_LIFETIME_SECS);
    }

    #[test]
    fn refresh_without_new_refresh_token_keeps_the_old_one() {
        let t = TokenSet::from_response(resp(Some(1.into()), "x"), 0, Some("a b"), Some("old"));
        assert_eq!(t.refresh_token.as_deref(), Some("old"));
        assert_eq!(t.scope.as_deref(), Some("a b"));
        assert_eq!(t.header_value(), "Bearer x");
    }

    #[test]
    fn without_a_refresh_token_sign_in_is_needed_at_expiry() {
        let t = TokenSet::from_response(resp(Some(20.into()), "x"), 1000, None, None);
        assert!(!t.refreshable());
        assert_eq!(t.sign_in_needed_at(), Some(1020));
        let t = TokenSet::from_response(resp(Some(20.into()), "x"), 1000, None, Some("rt"));
        assert!(t.refreshable());
        assert_eq!(t.sign_in_needed_at(), None);
        let odd = TokenSet {
            refresh_token: Some(String::new()),
            ..t
        };
        assert!(!odd.refreshable(), "an empty refresh token is none");
    }
}
