//! RFC 8693 token exchange at the IdP: the ID token for an Identity Assertion JWT
//! Authorization Grant (ID-JAG) for one server — `audience` the issuer of the server's
//! authorization server, `resource` the server (RFC 8707), `scope` the server's scopes.

use super::claims::Claims;
use super::error::EnterpriseError;
use super::store::Idp;
use super::{ID_JAG, ID_TOKEN, TOKEN_EXCHANGE};
use crate::tokens::ClientCredentials;
use crate::tokens::grant::grant_json;
use crate::tokens::set::now;

/// An ID-JAG as the IdP issued it.
#[derive(Debug, Clone)]
pub struct IdJag {
    /// The signed JWT, for the server's authorization server to verify.
    pub assertion: String,
    /// The client the IdP named for the server's authorization server (its `client_id` claim).
    pub client_id: Option<String>,
    /// Unix seconds (`expires_in`, else the JWT's `exp`).
    pub expires_at: Option<i64>,
}

/// What the token exchange asks for.
pub struct Request<'a> {
    pub id_token: &'a str,
    /// The issuer identifier of the server's authorization server.
    pub audience: &'a str,
    /// The server's resource identifier.
    pub resource: &'a str,
    pub scopes: &'a [String],
}

/// Exchange the ID token at `idp` (the client authenticated as `client`).
pub async fn exchange(
    http: &reqwest::Client,
    idp: &Idp,
    client: &ClientCredentials,
    req: &Request<'_>,
) -> Result<IdJag, EnterpriseError> {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE.to_owned()),
        ("requested_token_type", ID_JAG.to_owned()),
        ("audience", req.audience.to_owned()),
        ("resource", req.resource.to_owned()),
        ("subject_token", req.id_token.to_owned()),
        ("subject_token_type", ID_TOKEN.to_owned()),
    ];
    if !req.scopes.is_empty() {
        form.push(("scope", req.scopes.join(" ")));
    }
    let answer = grant_json(http, &idp.token_endpoint, client, form)
        .await
        .map_err(|source| EnterpriseError::ExchangeRefused {
            idp: idp.issuer.clone(),
            audience: req.audience.to_owned(),
            source,
        })?;
    read(&idp.issuer, &answer)
}

/// The token exchange answer: `issued_token_type` must be the ID-JAG's, `access_token` the JWT.
fn read(idp: &str, answer: &serde_json::Value) -> Result<IdJag, EnterpriseError> {
    let bad = |detail: String| EnterpriseError::NotAnIdJag {
        idp: idp.to_owned(),
        detail,
    };
    let issued = answer.get("issued_token_type").and_then(|v| v.as_str());
    if issued != Some(ID_JAG) {
        return Err(bad(format!(
            "issued_token_type is {issued:?}, not {ID_JAG}"
        )));
    }
    let assertion = answer
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("it has no access_token".into()))?;
    let claims =
        Claims::of(assertion).ok_or_else(|| bad("its access_token is not a JWT".into()))?;
    let expires_at = answer
        .get("expires_in")
        .and_then(|v| v.as_i64())
        .map(|s| now() + s)
        .or(claims.exp);
    Ok(IdJag {
        assertion: assertion.to_owned(),
        client_id: claims.client_id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn only_an_answer_that_says_it_issued_an_id_jag_is_one() {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.s",
            b(r#"{"typ":"oauth-id-jag+jwt"}"#),
            b(r#"{"client_id":"c9","exp":5}"#)
        );
        let ok = serde_json::json!({"issued_token_type": ID_JAG, "access_token": jwt, "token_type": "N_A"});
        let jag = read("idp", &ok).unwrap();
        assert_eq!(jag.client_id.as_deref(), Some("c9"));
        assert_eq!(jag.expires_at, Some(5));
        let access = serde_json::json!({"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "access_token": jwt});
        assert!(read("idp", &access).is_err());
        let opaque = serde_json::json!({"issued_token_type": ID_JAG, "access_token": "opaque"});
        assert!(read("idp", &opaque).is_err());
    }
}
