//! A client's private key from its PEM file, and the RFC 7523 §2.2 client assertion it signs.

use std::path::{Path, PathBuf};

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

use crate::error::UserFacing;

/// How long a client assertion is valid: long enough for one token request.
const ASSERTION_LIFETIME_SECS: i64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("Lanyard could not read the private key file {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("{path} holds no PEM private key Lanyard can use ({detail})")]
    Unsupported { path: PathBuf, detail: String },
    #[error("signing the client assertion with the key in {path} failed")]
    Sign { path: PathBuf },
}

impl UserFacing for KeyError {
    fn code(&self) -> &'static str {
        match self {
            KeyError::Read { .. } => "machine.key-read",
            KeyError::Unsupported { .. } => "machine.key-unsupported",
            KeyError::Sign { .. } => "machine.key-sign",
        }
    }
    fn next_step(&self) -> String {
        match self {
            KeyError::Read { .. } => {
                "Check that the file exists and that this user may read it (the key is read at every token request).".into()
            }
            KeyError::Unsupported { .. } => "Give an unencrypted PKCS#8 key (-----BEGIN PRIVATE KEY-----: EC P-256/P-384, RSA or Ed25519) or a PKCS#1 RSA key; convert with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8.pem`.".into(),
            KeyError::Sign { .. } => "Try again; if it keeps failing, create a new key pair and register its public key with the authorization server.".into(),
        }
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair, &'static str),
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key and the JWS algorithm it signs with (ES256, ES384, RS256 or EdDSA).
pub struct SigningKey {
    pair: Pair,
    path: PathBuf,
}

impl SigningKey {
    /// Read and parse the PEM file at `path`.
    pub fn from_pem_file(path: &Path) -> Result<SigningKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let unsupported = |detail: &str| KeyError::Unsupported {
            path: path.to_path_buf(),
            detail: detail.to_owned(),
        };
        let (label, der) = pem_block(&text).ok_or_else(|| unsupported("no PEM block"))?;
        let rng = SystemRandom::new();
        let pair = match label.as_str() {
            "PRIVATE KEY" => pkcs8(&der, &rng).ok_or_else(|| {
                unsupported("a PKCS#8 key that is not EC P-256/P-384, RSA or Ed25519")
            })?,
            "RSA PRIVATE KEY" => Pair::Rsa(
                RsaKeyPair::from_der(&der).map_err(|e| unsupported(&format!("RSA key: {e}")))?,
            ),
            "EC PRIVATE KEY" => return Err(unsupported("a SEC1 EC key; Lanyard reads PKCS#8")),
            "ENCRYPTED PRIVATE KEY" => return Err(unsupported("an encrypted key")),
            other => return Err(unsupported(&format!("a \"{other}\" block"))),
        };
        Ok(SigningKey {
            pair,
            path: path.to_path_buf(),
        })
    }

    /// The JWS `alg` of this key.
    pub fn alg(&self) -> &'static str {
        match &self.pair {
            Pair::Ecdsa(_, alg) => alg,
            Pair::Rsa(_) => "RS256",
            Pair::Ed25519(_) => "EdDSA",
        }
    }

    /// A compact JWS over `header` and `claims`.
    pub fn sign_jwt(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, KeyError> {
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let input = format!("{}.{}", b64(header), b64(claims));
        let failed = || KeyError::Sign {
            path: self.path.clone(),
        };
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Ecdsa(k, _) => k
                .sign(&rng, input.as_bytes())
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| failed())?;
                sig
            }
            Pair::Ed25519(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        ))
    }

    /// The RFC 7523 §2.2 client assertion: `iss` = `sub` = the client id, `aud` = the
    /// authorization server's issuer identifier (the audience RFC 7523bis settles on, and the
    /// one the MCP conformance suite checks; oidc-provider, Keycloak and Okta accept it), a
    /// fresh `jti`, two minutes of life.
    pub fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<String, KeyError> {
        let mut header = serde_json::json!({ "alg": self.alg(), "typ": "JWT" });
        if let Some(kid) = key_id {
            header["kid"] = kid.into();
        }
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": crate::paths::random_hex(16),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        self.sign_jwt(&header, &claims)
    }

    /// The public key as a JWK (for registering the client, and for tests).
    pub fn public_jwk(&self) -> serde_json::Value {
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        match &self.pair {
            Pair::Ecdsa(k, alg) => {
                // Uncompressed point: 0x04 || x || y.
                let p = k.public_key().as_ref();
                let n = (p.len() - 1) / 2;
                let crv = if *alg == "ES256" { "P-256" } else { "P-384" };
                serde_json::json!({"kty": "EC", "crv": crv, "x": b64(&p[1..1 + n]), "y": b64(&p[1 + n..])})
            }
            Pair::Rsa(k) => {
                let c = k.public().as_ref();
                let (n, e) = rsa_public(c).unwrap_or_default();
                serde_json::json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)})
            }
            Pair::Ed25519(k) => {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())})
            }
        }
    }
}

fn pkcs8(der: &[u8], rng: &SystemRandom) -> Option<Pair> {
    if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, rng) {
        return Some(Pair::Ecdsa(k, "ES256"));
    }
    if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, der, rng) {
        return Some(Pair::Ecdsa(k, "ES384"));
    }
    if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
        return Some(Pair::Rsa(k));
    }
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .ok()
        .map(Pair::Ed25519)
}

/// The first PEM block of `text`: its label and decoded bytes.
fn pem_block(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest.find(&end_marker)?;
    let body: String = rest[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if body.contains(':') {
        // "Proc-Type: 4,ENCRYPTED" headers: an encrypted traditional key.
        return Some(("ENCRYPTED PRIVATE KEY".into(), Vec::new()));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

/// Modulus and exponent of a DER RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }).
fn rsa_public(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)? as usize;
        let (len, head) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let body = b.get(head..head + len)?;
        Some((tag, body, &b[head + len..]))
    }
    let (_, seq, _) = tlv(der)?;
    let (_, n, rest) = tlv(seq)?;
    let (_, e, _) = tlv(rest)?;
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    Some((strip(n), strip(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    fn p256_pem() -> String {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    }

    #[test]
    fn a_pkcs8_p256_key_signs_an_assertion_its_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_pem_file(&write(&dir, "k.pem", &p256_pem())).unwrap();
        assert_eq!(key.alg(), "ES256");
        let jwt = key
            .client_assertion("agent-1", "https://as.example", Some("k1"), 1_000)
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let dec = |s: &str| {
            serde_json::from_slice::<serde_json::Value>(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .unwrap(),
            )
            .unwrap()
        };
        let (h, c) = (dec(parts[0]), dec(parts[1]));
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], "k1");
        assert_eq!(c["iss"], "agent-1");
        assert_eq!(c["sub"], "agent-1");
        assert_eq!(c["aud"], "https://as.example");
        assert_eq!(c["exp"], 1_000 + ASSERTION_LIFETIME_SECS);
        let jwk = key.public_jwk();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap())
            .unwrap();
        let y = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk["y"].as_str().unwrap())
            .unwrap();
        let point = [vec![4u8], x, y].concat();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .expect("the signature verifies with the public JWK");
    }

    #[test]
    fn a_sec1_or_encrypted_or_garbage_key_is_refused_with_the_conversion_hint() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            (
                "sec1.pem",
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            ),
            (
                "enc.pem",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            ),
            (
                "cert.pem",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            ("none.pem", "hello"),
        ] {
            let err = SigningKey::from_pem_file(&write(&dir, name, body))
                .err()
                .expect(name);
            assert_eq!(err.code(), "machine.key-unsupported", "{name}");
            assert!(err.next_step().contains("openssl pkcs8"));
        }
        let missing = SigningKey::from_pem_file(&dir.path().join("absent.pem"))
            .err()
            .expect("absent");
        assert_eq!(missing.code(), "machine.key-read");
    }
}
