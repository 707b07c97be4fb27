//! A token set that always knows when it expires.

use serde::{Deserialize, Serialize};

/// Used when the token response has no `expires_in` and the access token carries no JWT `exp`.
pub const DEFAULT_LIFETIME_SECS: i64 = 600;
/// A longer promised lifetime is capped to this (a day).
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;
/// Commands refresh when the access token expires within this many seconds — but never a
/// token younger than half its life (see [`refresh_lead`]).
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The one refresh rule, for the engine and every command: how long before its expiry a token
/// of this `lifetime` is refreshed — 10 % of its life, at least `margin`, but never more than
/// half of it, so a token younger than half its life is never refreshed (a 15 s token is
/// refreshed 7.5 s after it was issued, not by every caller). Any unit, as long as both agree.
/// The engine passes a larger margin than commands so that, with it running, a command seldom
/// meets a token due for refresh.
pub fn refresh_lead(lifetime: i64, margin: i64) -> i64 {
    if lifetime <= 0 {
        return 0;
    }
    (lifetime / 10).max(margin).min(lifetime / 2)
}

/// The identity of an access token: a hash of it, exact where expiries are whole seconds (two
/// tokens issued in the same second are still two tokens), and safe to pass on a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId([u8; 16]);

impl TokenId {
    /// The identity of `access_token`.
    pub fn of(access_token: &str) -> TokenId {
        use sha2::Digest;
        let d = sha2::Sha256::new()
            .chain_update(b"lanyard token id\0")
            .chain_update(access_token.as_bytes())
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        TokenId(id)
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for TokenId {
    type Err = String;
    fn from_str(s: &str) -> Result<TokenId, String> {
        let s = s.trim();
        if s.len() != 32 || !s.is_ascii() {
            return Err(format!("not a token id (32 hex digits): {s:?}"));
        }
        let mut id = [0u8; 16];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("not a token id (32 hex digits): {s:?}"))?;
        }
        Ok(TokenId(id))
    }
}

impl Serialize for TokenId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TokenId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

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
    /// Renewed by asking for a new one (client credentials, workload identity): no refresh
    /// token, no person needed, so it counts as refreshable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reissuable: bool,
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
            reissuable: false,
            scope: resp.scope.or_else(|| requested_scope.map(str::to_owned)),
            obtained_at: now,
        }
    }

    /// Still usable for at least `margin` seconds at `now`.
    pub fn fresh_at(&self, now: i64, margin: i64) -> bool {
        self.expires_at.saturating_sub(now) > margin
    }

    /// The identity of its access token.
    pub fn id(&self) -> TokenId {
        TokenId::of(&self.access_token)
    }

    /// Whether it is `id`.
    pub fn is(&self, id: TokenId) -> bool {
        self.id() == id
    }

    /// The unix second from which a command refreshes it ([`refresh_lead`] with `margin`).
    pub fn refresh_at(&self, margin: i64) -> i64 {
        let lifetime = self.expires_at.saturating_sub(self.obtained_at);
        self.expires_at
            .saturating_sub(refresh_lead(lifetime, margin))
    }

    /// Due for a refresh by a command at `now` (the one rule: [`refresh_lead`]).
    pub fn refresh_due(&self, now: i64) -> bool {
        now >= self.refresh_at(REFRESH_MARGIN_SECS)
    }

    /// At least half of its life is over at `now`: younger than that, it is never refreshed
    /// ahead of its expiry, whoever asks.
    pub fn past_half_life(&self, now: i64) -> bool {
        let lifetime = self.expires_at.saturating_sub(self.obtained_at);
        lifetime <= 0 || now >= self.expires_at.saturating_sub(lifetime / 2)
    }

    /// Whether the IdP issued a refresh token. RFC 6749 §5.1 makes it optional (the Python MCP
    /// SDK's example server and some enterprise IdPs issue none): without one the access token
    /// is used until it expires, and then only a new sign-in helps — unless it is
    /// [`TokenSet::reissuable`] (a machine client asks again).
    pub fn refreshable(&self) -> bool {
        self.reissuable || self.refresh_token.as_deref().is_some_and(|r| !r.is_empty())
    }

    /// When a new sign-in will be needed (unix seconds): the expiry of an access token that
    /// cannot be refreshed; `None` when it can be.
    pub fn sign_in_needed_at(&self) -> Option<i64> {
        (!self.refreshable()).then_some(self.expires_at)
    }

    /// The value of the header: `DPoP <token>` for a DPoP-bound token (RFC 9449 §7.1; each
    /// request then needs a proof too), else `Bearer <token>` (RFC 6750), whatever case the AS
    /// used.
    pub fn header_value(&self) -> String {
        if self.dpop_bound() {
            format!("DPoP {}", self.access_token)
        } else {
            format!("Bearer {}", self.access_token)
        }
    }

    /// Whether the AS bound the token to a DPoP key (`token_type` `DPoP`, RFC 9449 §5).
    pub fn dpop_bound(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("dpop")
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
    use proptest::strategy::Strategy as _;

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
    fn a_token_is_never_due_before_half_its_life_whatever_the_margin() {
        // 15 s token: the 60 s margin would make it due at once; half its life is the floor.
        let t = TokenSet::from_response(resp(Some(15.into()), "x"), 1000, None, None);
        assert!(!t.refresh_due(1000));
        assert!(!t.refresh_due(1007));
        assert!(t.refresh_due(1008));
        assert!(!t.past_half_life(1007));
        assert!(t.past_half_life(1008));
        // 3-minute token: 60 s ahead; 1 hour: 10 % (6 min) ahead.
        let t = TokenSet::from_response(resp(Some(180.into()), "x"), 1000, None, None);
        assert!(!t.refresh_due(1119));
        assert!(t.refresh_due(1120));
        let t = TokenSet::from_response(resp(Some(3600.into()), "x"), 0, None, None);
        assert_eq!(t.refresh_at(REFRESH_MARGIN_SECS), 3240);
        // Already expired or no lifetime at all: due.
        let t = TokenSet::from_response(resp(Some(0.into()), "x"), 1000, None, None);
        assert!(t.refresh_due(1000));
        assert_eq!(refresh_lead(300_000, 75_000), 75_000);
        assert_eq!(refresh_lead(10, 75), 5);
    }

    #[test]
    fn token_ids_are_exact_and_round_trip() {
        let a = TokenId::of("a");
        assert_ne!(a, TokenId::of("b"));
        assert_eq!(a, TokenId::of("a"));
        let shown = a.to_string();
        assert_eq!(shown.len(), 32);
        assert_eq!(shown.parse::<TokenId>(), Ok(a));
        assert!("zz".parse::<TokenId>().is_err());
        assert!("é".repeat(16).parse::<TokenId>().is_err());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<TokenId>(&json).unwrap(), a);
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
            reissuable: false,
            ..t
        };
        assert!(!odd.refreshable(), "an empty refresh token is none");
    }

    proptest::proptest! {
        /// Any token response a server can send (any `expires_in`, any access token, JWT-shaped
        /// or not): no panic, and the expiry always lies within the clamp.
        #[test]
        fn any_token_response_gives_a_bounded_expiry(
            access in "\\PC{0,120}",
            expires_in in proptest::prop_oneof![
                proptest::prelude::any::<i64>().prop_map(|n| serde_json::json!(n)),
                proptest::prelude::any::<f64>().prop_map(|f| serde_json::json!(f)),
                "\\PC{0,20}".prop_map(|s| serde_json::json!(s)),
                proptest::prelude::Just(serde_json::Value::Null),
            ],
            now in 0i64..4_000_000_000,
        ) {
            let resp = TokenResponse {
                access_token: access,
                token_type: None,
                expires_in: Some(expires_in),
                refresh_token: None,
                scope: None,
            };
            let t = TokenSet::from_response(resp, now, None, None);
            proptest::prop_assert!(t.expires_at >= now);
            proptest::prop_assert!(t.expires_at <= now + MAX_LIFETIME_SECS);
        }
    }
}
