//! The session with the company IdP: an OpenID Connect sign-in (authorization code + PKCE S256
//! through the system browser and the loopback listener, the same steps as a server's
//! sign-in), its ID token and refresh token kept in the keychain, and the ID token renewed with
//! the refresh token once it has expired. A session can also begin from an ID token another
//! program obtained (`idp add --id-token-stdin`): then it lasts as long as that ID token.

use url::Url;

use super::claims::Claims;
use super::error::EnterpriseError;
use super::store::{self, Idp, IdpFile, IdpTokens};
use crate::Error;
use crate::authorization::callback::timeout_from_env;
use crate::authorization::pkce::{Pkce, random_state};
use crate::authorization::{AuthRequest, Listener, PasteBack, browser, paste};
use crate::discovery::AuthServerMetadata;
use crate::discovery::auth_server;
use crate::http::Http;
use crate::registration::{self, ClientOptions, ClientPlan, DcrRequest};
use crate::servers::{Registration, State, StateFile};
use crate::tokens::grant::grant_json;
use crate::tokens::set::now;
use crate::tokens::store::SecretStore;
use crate::tokens::{ClientCredentials, TokenAuthMethod, TokenError};

/// An ID token this close to its expiry is renewed before a token exchange (seconds).
const ID_TOKEN_MARGIN: i64 = 30;

/// What a sign-in needs from the engine.
pub struct Context<'a> {
    pub http: &'a reqwest::Client,
    pub state_file: &'a StateFile,
    pub secrets: &'a dyn SecretStore,
}

impl Context<'_> {
    fn idp_file(&self) -> IdpFile {
        IdpFile::new(self.state_file.paths().clone())
    }
}

/// The IdP's metadata, looked up by its issuer identifier (RFC 8414, then OpenID Connect
/// discovery; the `issuer` must be the identifier asked for).
pub async fn discover(issuer: &str) -> Result<AuthServerMetadata, Error> {
    let url = Url::parse(issuer.trim()).map_err(|e| EnterpriseError::SignIn {
        idp: issuer.to_owned(),
        detail: format!("not a URL ({e})"),
    })?;
    let http = Http::new()?;
    let mut last = None;
    for candidate in auth_server::candidates(&url) {
        let Ok(resp) = http.get_json(&candidate).await else {
            continue;
        };
        if !resp.is_success() {
            continue;
        }
        let Ok(doc) = resp.json_value() else {
            continue;
        };
        match auth_server::validate(&candidate, &doc, issuer.trim(), &[]) {
            Ok(m) => return Ok(m),
            Err(e) => last = Some(e.to_string()),
        }
    }
    Err(EnterpriseError::SignIn {
        idp: issuer.to_owned(),
        detail: last.unwrap_or_else(|| {
            "it publishes no OpenID Connect or OAuth metadata at its well-known addresses".into()
        }),
    }
    .into())
}

/// Lanyard's client at the IdP: the one an admin gave (`--client-id`), else this machine's
/// registration at the IdP (RFC 7591; registered once and kept with the other registrations).
async fn client(
    cx: &Context<'_>,
    meta: &AuthServerMetadata,
    opts: &ClientOptions,
    redirect_uri: &str,
) -> Result<(ClientCredentials, bool), Error> {
    let supported = &meta.token_endpoint_auth_methods_supported;
    match registration::plan(meta, opts)? {
        ClientPlan::PreRegistered {
            client_id,
            client_secret,
        } => {
            let method = TokenAuthMethod::choose(supported, client_secret.is_some(), None);
            Ok((
                ClientCredentials {
                    client_id,
                    secret: client_secret,
                    method,
                },
                false,
            ))
        }
        ClientPlan::MetadataDocument { client_id } => Ok((
            ClientCredentials {
                client_id: client_id.to_string(),
                secret: None,
                method: TokenAuthMethod::None,
            },
            false,
        )),
        ClientPlan::Dynamic {
            registration_endpoint,
        } => {
            let existing = cx.state_file.load()?.registration(&meta.issuer).cloned();
            if let Some(reg) = existing.filter(|r| !r.dead) {
                let creds =
                    crate::tokens::fresh::registration_credentials(&reg, supported, cx.secrets)?;
                return Ok((creds, true));
            }
            let mut request =
                DcrRequest::for_this_machine(vec![redirect_uri.to_owned()], supported);
            // The grant the ID-JAG exchange uses, when the IdP offers it: an IdP checks it
            // against the client's registered grant types like any other.
            if meta
                .grant_types_supported
                .as_ref()
                .is_some_and(|g| g.iter().any(|t| t == super::TOKEN_EXCHANGE))
            {
                request.grant_types.push(super::TOKEN_EXCHANGE.into());
            }
            let c = registration::register(cx.http, &registration_endpoint, &request).await?;
            let key = meta.issuer.as_str();
            match &c.client_secret {
                Some(s) => cx
                    .secrets
                    .set(&crate::tokens::store::registration_secret_key(key), s)?,
                None => cx
                    .secrets
                    .delete(&crate::tokens::store::registration_secret_key(key))?,
            }
            match &c.registration_access_token {
                Some(t) => cx
                    .secrets
                    .set(&crate::tokens::store::registration_token_key(key), t)?,
                None => cx
                    .secrets
                    .delete(&crate::tokens::store::registration_token_key(key))?,
            }
            let reg = Registration {
                issuer: meta.issuer.clone(),
                client_id: c.client_id.clone(),
                metadata: c.metadata.clone(),
                redirect_uris: if c.redirect_uris.is_empty() {
                    vec![redirect_uri.to_owned()]
                } else {
                    c.redirect_uris.clone()
                },
                token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
                has_secret: c.client_secret.is_some(),
                registration_client_uri: c.registration_client_uri.clone(),
                has_registration_access_token: c.registration_access_token.is_some(),
                dead: false,
                registered_at: now(),
            };
            cx.state_file.update(|st: &mut State| {
                st.put_registration(reg);
                Ok::<_, Error>(())
            })?;
            let method = TokenAuthMethod::choose(
                supported,
                c.client_secret.is_some(),
                Some(&c.token_endpoint_auth_method),
            );
            Ok((
                ClientCredentials {
                    client_id: c.client_id,
                    secret: c.client_secret,
                    method,
                },
                true,
            ))
        }
    }
}

/// The scopes asked of the IdP: `openid` (an ID token), `offline_access` when offered (a
/// refresh token, so the session outlives the ID token), `email profile` (who signed in).
fn idp_scopes(meta: &AuthServerMetadata) -> Vec<String> {
    let offered = |s: &str| {
        meta.scopes_supported
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == s))
    };
    ["openid", "offline_access", "email", "profile"]
        .into_iter()
        .filter(|s| *s == "openid" || offered(s))
        .map(str::to_owned)
        .collect()
}

/// How the sign-in goes.
pub struct SignInOptions<'a> {
    pub client: ClientOptions,
    pub no_browser: bool,
    pub listener: &'a Listener,
    pub paste: Option<&'a PasteBack>,
    /// Progress lines for the person waiting.
    pub say: &'a (dyn Fn(String) + Send + Sync),
}

/// Sign in to the IdP at `issuer` in the browser; the session is saved (tokens first, then
/// `idps.json`) and returned.
pub async fn sign_in(
    cx: &Context<'_>,
    issuer: &str,
    opts: SignInOptions<'_>,
) -> Result<Idp, Error> {
    let meta = discover(issuer).await?;
    // A person signs in at the IdP: PKCE S256 and the code flow, checked before registering.
    let flow = meta.require_code_flow()?;
    let redirect_uri = opts.listener.redirect_uri();
    let (creds, dynamic) = client(cx, &meta, &opts.client, &redirect_uri).await?;
    let pkce = Pkce::new();
    let state = random_state();
    let scopes = idp_scopes(&meta);
    let url = AuthRequest {
        flow,
        client_id: &creds.client_id,
        redirect_uri: &redirect_uri,
        code_challenge: pkce.challenge(),
        state: &state,
        scopes: &scopes,
        resource: None,
        audience: None,
        extra: &[],
    }
    .url();
    let headless = opts.no_browser || browser::no_display();
    let printed = headless || browser::open(url.as_str()).is_err();
    if printed {
        (opts.say)(format!(
            "Open this address to sign in to {issuer}:\n  {url}"
        ));
    } else {
        (opts.say)(format!("Opened your browser to sign in to {issuer}…"));
    }
    let callback = paste::callback_or_paste(
        opts.listener,
        opts.paste.filter(|_| printed),
        &state,
        meta.issuer_str(),
        meta.authorization_response_iss_parameter_supported,
        timeout_from_env(),
    )
    .await?;
    // No RFC 8707 resource at the IdP: the ID token is for Lanyard itself.
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", callback.code.clone()),
        ("redirect_uri", redirect_uri.clone()),
        ("code_verifier", pkce.verifier().to_owned()),
    ];
    let answer = grant_json(cx.http, &meta.token_endpoint, &creds, form)
        .await
        .map_err(|e| EnterpriseError::SignIn {
            idp: issuer.to_owned(),
            detail: e.to_string(),
        })?;
    let tokens = read_answer(meta.issuer_str(), &creds.client_id, &answer, None)?;
    let user = Claims::of(&tokens.id_token).and_then(|c| c.user());
    let idp = Idp {
        issuer: meta.issuer_str().to_owned(),
        token_endpoint: meta.token_endpoint.clone(),
        revocation_endpoint: meta.revocation_endpoint.clone(),
        token_endpoint_auth_methods_supported: meta.token_endpoint_auth_methods_supported.clone(),
        client_id: creds.client_id.clone(),
        has_secret: !dynamic && creds.secret.is_some(),
        dynamic,
        user,
        ended: None,
        servers: Vec::new(),
        signed_in_at: now(),
        metadata: Some(meta),
    };
    save(
        cx,
        &idp,
        &tokens,
        if dynamic {
            None
        } else {
            creds.secret.as_deref()
        },
    )?;
    Ok(idp)
}

/// Begin a session from an ID token another program obtained for `client_id` at `issuer`
/// (whose token endpoint is `token_endpoint` when given, else discovered). Nothing renews it:
/// the session ends with the ID token.
pub async fn from_id_token(
    cx: &Context<'_>,
    issuer: &str,
    token_endpoint: Option<Url>,
    client: &ClientOptions,
    id_token: &str,
) -> Result<Idp, Error> {
    let client_id = client
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| EnterpriseError::BadIdToken {
            idp: issuer.to_owned(),
            problem: "the client id it was issued to is needed (--client-id)".into(),
        })?;
    let (token_endpoint, revocation_endpoint, supported, meta) = match token_endpoint {
        Some(t) => (t, None, Vec::new(), None),
        None => {
            let m = discover(issuer).await?;
            (
                m.token_endpoint.clone(),
                m.revocation_endpoint.clone(),
                m.token_endpoint_auth_methods_supported.clone(),
                Some(m),
            )
        }
    };
    let answer = serde_json::json!({ "id_token": id_token.trim() });
    let tokens = read_answer(issuer, &client_id, &answer, None)?;
    let idp = Idp {
        issuer: issuer.to_owned(),
        token_endpoint,
        revocation_endpoint,
        token_endpoint_auth_methods_supported: supported,
        metadata: meta,
        client_id,
        has_secret: client.client_secret.is_some(),
        dynamic: false,
        user: Claims::of(&tokens.id_token).and_then(|c| c.user()),
        ended: None,
        servers: Vec::new(),
        signed_in_at: now(),
    };
    save(cx, &idp, &tokens, client.client_secret.as_deref())?;
    Ok(idp)
}

/// Secrets first, then the record that points at them.
fn save(
    cx: &Context<'_>,
    idp: &Idp,
    tokens: &IdpTokens,
    secret: Option<&str>,
) -> Result<(), Error> {
    cx.secrets
        .set(&store::tokens_key(&idp.issuer), &tokens.to_json())?;
    match secret {
        Some(s) => cx.secrets.set(&store::secret_key(&idp.issuer), s)?,
        None => cx.secrets.delete(&store::secret_key(&idp.issuer))?,
    }
    cx.idp_file().update(|f| {
        f.put(idp.clone());
        Ok(())
    })?;
    Ok(())
}

/// The IdP's token answer: an ID token issued by `issuer` for `client_id` that has not
/// expired. A refresh answer without a new refresh token keeps `previous_refresh`.
fn read_answer(
    issuer: &str,
    client_id: &str,
    answer: &serde_json::Value,
    previous_refresh: Option<&str>,
) -> Result<IdpTokens, EnterpriseError> {
    let bad = |problem: String| EnterpriseError::BadIdToken {
        idp: issuer.to_owned(),
        problem,
    };
    let text = |k: &str| {
        answer
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let id_token = text("id_token").ok_or_else(|| {
        bad("the answer has no id_token (was the `openid` scope granted?)".into())
    })?;
    let claims = Claims::of(id_token).ok_or_else(|| bad("it is not a JWT".into()))?;
    if claims.iss.as_deref() != Some(issuer) {
        return Err(bad(format!(
            "it was issued by {:?}, not by {issuer}",
            claims.iss.unwrap_or_default()
        )));
    }
    if !claims.aud.as_ref().is_some_and(|a| a.contains(client_id)) {
        return Err(bad(format!("it is not for Lanyard's client {client_id}")));
    }
    let exp = claims
        .exp
        .ok_or_else(|| bad("it has no expiry (exp)".into()))?;
    if exp <= now() {
        return Err(bad("it has expired".into()));
    }
    Ok(IdpTokens {
        id_token: id_token.to_owned(),
        id_token_expires_at: exp,
        access_token: text("access_token").map(str::to_owned),
        refresh_token: text("refresh_token")
            .map(str::to_owned)
            .or_else(|| previous_refresh.map(str::to_owned)),
        obtained_at: now(),
    })
}

/// A usable ID token of the session with `idp`: the stored one while it lives, else a new one
/// from the IdP's refresh token (under a lock, so two processes never both spend a rotating
/// refresh token). When the IdP refuses, or there is nothing to refresh with, the session has
/// ended: it is marked so, and [`EnterpriseError::SessionEnded`] returned.
pub async fn current_id_token(
    http: &reqwest::Client,
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    idp: &Idp,
) -> Result<String, Error> {
    let ended = |reason: String| -> Error {
        let _ = IdpFile::new(state_file.paths().clone()).update(|f| {
            if let Some(i) = f.get_mut(&idp.issuer) {
                i.ended = Some(reason.clone());
            }
            Ok(())
        });
        EnterpriseError::SessionEnded {
            idp: idp.issuer.clone(),
            reason,
        }
        .into()
    };
    if let Some(reason) = &idp.ended {
        return Err(EnterpriseError::SessionEnded {
            idp: idp.issuer.clone(),
            reason: reason.clone(),
        }
        .into());
    }
    let fresh = |t: &IdpTokens| t.id_token_expires_at - now() > ID_TOKEN_MARGIN;
    match store::stored(secrets, &idp.issuer)? {
        Some(t) if fresh(&t) => return Ok(t.id_token),
        None => return Err(ended("its tokens are gone from the keychain".into())),
        Some(_) => {}
    }
    let lock_path = state_file
        .paths()
        .server_lock(&format!("idp {}", idp.issuer));
    let _lock = crate::tokens::fresh::take_lock(&lock_path).await?;
    let current = match store::stored(secrets, &idp.issuer)? {
        Some(t) if fresh(&t) => return Ok(t.id_token),
        Some(t) => t,
        None => return Err(ended("its tokens are gone from the keychain".into())),
    };
    let Some(rt) = current.refresh_token.clone() else {
        return Err(ended(
            "the ID token expired and the IdP issued no refresh token".into(),
        ));
    };
    let creds = idp.credentials(secrets)?;
    let form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", rt.clone()),
    ];
    match grant_json(http, &idp.token_endpoint, &creds, form).await {
        Ok(answer) => {
            let tokens = read_answer(&idp.issuer, &idp.client_id, &answer, Some(&rt))?;
            secrets.set(&store::tokens_key(&idp.issuer), &tokens.to_json())?;
            Ok(tokens.id_token)
        }
        Err(TokenError::InvalidGrant { description, .. }) => Err(ended(format!(
            "the IdP refused its refresh token (invalid_grant{})",
            description.map(|d| format!(": {d}")).unwrap_or_default()
        ))),
        Err(e) => Err(EnterpriseError::SignIn {
            idp: idp.issuer.clone(),
            detail: e.to_string(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn id_token(iss: &str, aud: &str, exp: i64) -> String {
        let b = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.sig",
            b(r#"{"alg":"RS256"}"#.into()),
            b(format!(
                r#"{{"iss":"{iss}","aud":"{aud}","exp":{exp},"sub":"u","email":"a@corp.example"}}"#
            ))
        )
    }

    #[test]
    fn an_id_token_is_taken_only_from_its_issuer_for_lanyards_client_unexpired() {
        let iss = "http://127.0.0.1:1";
        let later = now() + 600;
        let ok = serde_json::json!({ "id_token": id_token(iss, "c", later), "refresh_token": "r" });
        let t = read_answer(iss, "c", &ok, None).unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("r"));
        assert_eq!(t.id_token_expires_at, later);
        for (answer, why) in [
            (
                serde_json::json!({ "id_token": id_token("http://evil", "c", later) }),
                "issuer",
            ),
            (
                serde_json::json!({ "id_token": id_token(iss, "other", later) }),
                "audience",
            ),
            (
                serde_json::json!({ "id_token": id_token(iss, "c", now() - 1) }),
                "expiry",
            ),
            (serde_json::json!({ "access_token": "a" }), "no id token"),
        ] {
            assert!(read_answer(iss, "c", &answer, None).is_err(), "{why}");
        }
        let kept = serde_json::json!({ "id_token": id_token(iss, "c", later) });
        let t = read_answer(iss, "c", &kept, Some("old")).unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("old"));
    }
}
