//! The claims of a JWT as sent (ID tokens from the IdP's token endpoint, ID-JAGs): read, never
//! trusted for anything but what the sender itself says about it. An ID token received
//! straight from the token endpoint over TLS is the IdP's own answer (OpenID Connect Core
//! §3.1.3.7: the TLS server check may replace the signature check there); the ID-JAG is for
//! the server's authorization server to verify, Lanyard only reads which client it names.

use base64::Engine;
use serde::Deserialize;

/// The claims Lanyard reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<Audience>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// ID-JAG: the client at the server's authorization server.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `aud`: one string or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, s: &str) -> bool {
        match self {
            Audience::One(a) => a == s,
            Audience::Many(v) => v.iter().any(|a| a == s),
        }
    }
}

impl Claims {
    /// The payload of a compact JWS; `None` when `jwt` is not one.
    pub fn of(jwt: &str) -> Option<Claims> {
        let mut parts = jwt.split('.');
        let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Who signed in, as a person would read it.
    pub fn user(&self) -> Option<String> {
        self.email
            .clone()
            .or_else(|| self.preferred_username.clone())
            .or_else(|| self.name.clone())
            .or_else(|| self.sub.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"RS256"}"#), b(payload))
    }

    #[test]
    fn an_id_token_names_its_user_by_email_first_then_by_subject() {
        let c = Claims::of(&jwt(
            r#"{"sub":"u1","email":"a@corp.example","aud":["x","y"]}"#,
        ))
        .unwrap();
        assert_eq!(c.user().as_deref(), Some("a@corp.example"));
        assert!(c.aud.unwrap().contains("y"));
        let c = Claims::of(&jwt(r#"{"sub":"u1","aud":"x"}"#)).unwrap();
        assert_eq!(c.user().as_deref(), Some("u1"));
    }

    #[test]
    fn something_that_is_no_jwt_has_no_claims() {
        assert!(Claims::of("opaque-token").is_none());
        assert!(Claims::of("a.b").is_none());
        assert!(Claims::of("a.!!!.c").is_none());
        assert!(Claims::of(&format!("{}.x", jwt("{}"))).is_none());
    }
}
